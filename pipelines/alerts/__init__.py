"""Alerts: the daily check after publish that tells people when something moved, without opening the report.

    >>> summary = raise_and_send(settings, run_id="2026-11-21T0630Z-3f9a", day=date(2026, 11, 21))
    >>> summary["new"], summary["sent"], summary["failed"]
    (1, 2, 0)

Modules: detect (what moved: topic volume and negative share against each topic x channel's own history, with the
report's rising score; sources failing day after day), store (alerts stored once by key, deliveries per
destination, read back for the report and `listen status`), messages (da/de/en wording, e-mail and webhook
bodies), deliver (smtplib and the project's HTTP client, retries, secrets scrubbed). Configuration: `[alerts]` in
listen.toml (pipelines.config.AlertSettings); docs/alerts.md.

Idempotent: an alert's id is its key, so rerunning a day raises and sends nothing twice; an alert not yet
delivered to a destination (its server was down) is tried again by the runs of the next RESEND_DAYS days.
"""

from __future__ import annotations

import datetime as dt
import time

from pipelines.config import Settings

RESEND_DAYS = 2  # an undelivered alert is tried again by the runs of this many days after the one that raised it


def report_path(settings: Settings, day: dt.date) -> str | None:
    """Where the report of `day` is written (the report stage runs right after the alerts)."""
    formats = settings.raw.report.formats
    name = "editorial-report.html" if "html" in formats else "editorial-report.md" if "md" in formats else None
    return str(settings.paths.reports / day.isoformat() / name) if name else None


def raise_and_send(settings: Settings, run_id: str, day: dt.date, *, http=None, sleep=time.sleep) -> dict:
    """Detect and store today's alerts, then send every alert not yet delivered to each destination.

    Topic alerts are raised only when this run's quality gate passed (no critical failure recorded for run_id):
    an alert about data the gate rejected would be about a broken stage, not about customers. Source alerts are
    raised whatever the gate said. Returns counts for the run record; `changed` says whether anything was stored.
    """
    from pipelines.alerts.deliver import send
    from pipelines.alerts.detect import detect
    from pipelines.alerts.store import record_delivery, recent_alerts, store_alerts, unsent
    from pipelines.http import HttpClient
    from pipelines.report.i18n import Strings
    from pipelines.warehouse import open_warehouse

    config = settings.raw.alerts
    if not config.enabled:
        return {"enabled": False, "new": 0, "sent": 0, "failed": 0, "changed": False}
    t = Strings(config.lang or settings.raw.report.lang)
    http_settings = settings.raw.http
    client = http or HttpClient(user_agent=http_settings.user_agent, connect_timeout=http_settings.connect_timeout,
                                read_timeout=http_settings.read_timeout, retries=config.retries,
                                backoff=config.backoff, min_delay=0, sleep=sleep)
    sent = failed = 0
    errors: list[str] = []
    with open_warehouse(settings.paths.warehouse) as con:
        gate_failed = con.execute("SELECT count(*) FROM core.quality_results WHERE run_id = ? AND critical AND "
                                  "NOT success", [run_id]).fetchone()[0]
        found = detect(con, config, day, settings.sources, topics=not gate_failed)
        new = store_alerts(con, found, run_id, t)
        since = day - dt.timedelta(days=RESEND_DAYS)
        for destination in config.send_to:
            ids = unsent(con, destination.name, since, day)
            if not ids:
                continue
            alerts = [a for a in reversed(recent_alerts(con, since, day, limit=1000)) if a["alert_id"] in set(ids)]
            outcome = send(destination, alerts, t, report_path=report_path(settings, day), retries=config.retries,
                           backoff=config.backoff, http=client, sleep=sleep)
            record_delivery(con, ids, destination, outcome)
            if outcome.ok:
                sent += 1
            else:
                failed += 1
                errors.append(outcome.error)
    return {"enabled": True, "raised": len(found), "new": len(new), "new_ids": new, "sent": sent,
            "failed": failed, "send_errors": "; ".join(errors) or None, "topic_alerts_checked": not gate_failed,
            "changed": bool(new) or bool(sent or failed)}
