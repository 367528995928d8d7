"""Alerts in the warehouse: stored once by key, delivery recorded per destination, read back for every reader.

    >>> new = store_alerts(con, found, run_id="r1", t=Strings("da"))      # the ids not stored before
    >>> recent_alerts(con, since=date(2026, 11, 15))[0]["message"]

`recent_alerts` is what the report, `listen status`, e-mails and webhooks show: each alert with its topic label,
example posts (id, url, redacted text) and delivery state (sent_to, send_errors), newest first.
"""

from __future__ import annotations

import datetime as dt
import json

from pipelines.alerts.detect import Alert
from pipelines.alerts.messages import describe
from pipelines.report.i18n import Strings
from pipelines.warehouse import transaction

ALERTS_SQL = """
SELECT a.alert_id, a.day, a.raised_at, a.kind, a.topic_id, t.label, a.channel, a.community, a.source, a.score,
       a.message, a.example_post_ids, a.detail, v.sent_at, v.sent_to, v.send_errors
FROM core.alerts a
JOIN alerts v USING (alert_id)
LEFT JOIN core.topics t ON t.topic_id = a.topic_id
WHERE a.day >= $since AND ($until IS NULL OR a.day <= $until)
ORDER BY a.raised_at DESC, a.score DESC NULLS LAST, a.alert_id
LIMIT $limit
"""

EXAMPLES_SQL = """
SELECT post_id, url, coalesce(nullif(trim(body), ''), title, '') FROM core.posts
WHERE list_contains($ids, post_id) AND NOT is_deleted
"""


def has_alerts(con) -> bool:
    """Whether this database has the alerts tables (a snapshot published before migration 082 has not)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'core' AND table_name = "
                            "'alert_deliveries'").fetchone()[0])


def _labels(con, topic_ids: set[int]) -> dict[int, str]:
    if not topic_ids:
        return {}
    return dict(con.execute("SELECT topic_id, label FROM core.topics WHERE list_contains($ids, topic_id)",
                            {"ids": sorted(topic_ids)}).fetchall())


def store_alerts(con, found: list[Alert], run_id: str, t: Strings) -> list[str]:
    """Insert the alerts whose key is not stored yet (message in `t`'s language); returns the new ids."""
    if not found:
        return []
    labels = _labels(con, {a.topic_id for a in found if a.topic_id is not None})
    with transaction(con):
        known = {r[0] for r in con.execute("SELECT alert_id FROM core.alerts WHERE list_contains($ids, alert_id)",
                                           {"ids": [a.alert_id for a in found]}).fetchall()}
        new = [a for a in found if a.alert_id not in known]
        for a in new:
            fields = {**a.__dict__, "label": labels.get(a.topic_id)}
            con.execute("INSERT INTO core.alerts VALUES ($id, $day, $run, now(), $kind, $topic, $channel, $community, "
                        "$source, $score, $message, $examples, $detail)",
                        {"id": a.alert_id, "day": a.day, "run": run_id, "kind": a.kind, "topic": a.topic_id,
                         "channel": a.channel, "community": a.community, "source": a.source, "score": a.score,
                         "message": describe(fields, t), "examples": a.example_post_ids,
                         "detail": json.dumps(a.detail, default=str)})
    return [a.alert_id for a in new]


def recent_alerts(con, since: dt.date, until: dt.date | None = None, limit: int = 100,
                  examples: bool = True) -> list[dict]:
    """The alerts raised for the days since `since` (up to `until`), newest first, as plain dicts with `label`,
    `detail` (parsed), `examples` ([{post_id, url, text}] when asked) and the delivery state of the view."""
    cur = con.execute(ALERTS_SQL, {"since": since, "until": until, "limit": limit})
    columns = [d[0] for d in cur.description]
    found = [dict(zip(columns, row)) for row in cur.fetchall()]
    for alert in found:
        alert["detail"] = json.loads(alert["detail"]) if isinstance(alert["detail"], str) else (alert["detail"] or {})
        alert["example_post_ids"] = list(alert["example_post_ids"] or [])
    if examples:
        ids = sorted({post_id for a in found for post_id in a["example_post_ids"]})
        posts = {row[0]: {"post_id": row[0], "url": row[1], "text": row[2]}
                 for row in (con.execute(EXAMPLES_SQL, {"ids": ids}).fetchall() if ids else [])}
        for alert in found:
            alert["examples"] = [posts[i] for i in alert["example_post_ids"] if i in posts]
    return found


def unsent(con, destination: str, since: dt.date, until: dt.date) -> list[str]:
    """Ids of the alerts of days since..until not yet delivered to `destination`, oldest first."""
    return [r[0] for r in con.execute("""
        SELECT a.alert_id FROM core.alerts a
        LEFT JOIN core.alert_deliveries d ON d.alert_id = a.alert_id AND d.destination = $destination
        WHERE a.day BETWEEN $since AND $until AND d.sent_at IS NULL
        ORDER BY a.raised_at, a.alert_id""", {"destination": destination, "since": since, "until": until}).fetchall()]


def record_delivery(con, alert_ids: list[str], destination, outcome) -> None:
    """Add this send's attempts to each alert's delivery row for `destination`: sent, or the error."""
    with transaction(con):
        for alert_id in alert_ids:
            con.execute("""
                INSERT INTO core.alert_deliveries VALUES ($id, $destination, $via, $attempts, now(),
                    CASE WHEN $ok THEN now() END, $error)
                ON CONFLICT (alert_id, destination) DO UPDATE SET
                    attempts = alert_deliveries.attempts + excluded.attempts, last_attempt_at = excluded.last_attempt_at,
                    sent_at = coalesce(alert_deliveries.sent_at, excluded.sent_at),
                    error = excluded.error""",
                        {"id": alert_id, "destination": destination.name, "via": destination.kind,
                         "attempts": outcome.attempts, "ok": outcome.ok, "error": None if outcome.ok else outcome.error})
