"""The report's numbers: one function per section, each a few readable SQL queries over the window's views.

    >>> prepare(con, window, lang="da")
    >>> data = collect(con, window, sources=["r-denmark", "app-reviews"])
    >>> data["channels"][0]
    {'channel': 'reddit', 'posts': 812, 'posts_prev': 640, 'sentiment': -0.08, ...}

Volumes and mean sentiment (per day, channel, community, topic) are read from the topic_trends contract
(`report_trends`), so the report says what analysts get from `SELECT ... FROM topic_trends`; what a trend row
does not hold (intents, sentiment labels, authors, languages, quotes) is read from `report_posts`. Everything
returned is plain Python (dicts, lists, numbers, dates) and language-free; wording happens in build.py. Topic
labels come from `report_topics` (in the report's language where the topic has one) and quotes prefer posts in
that language. Quotes are the stored, already redacted text, shortened here.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from pipelines.report.connection import Window
from pipelines.report.scores import topic_scores
from pipelines.text import shorten

QUOTE_CHARS = 220
MAX_TOPICS = 5  # rising, and falling, each
MAX_MAP_ROWS, MAX_MAP_COLS = 10, 8
MAX_FOLLOW_UPS = 15
MAX_WARNINGS = 25  # listed in Data health; `listen status --warnings` lists them all
MAX_ALERTS = 10  # at the top of the report; the `alerts` view holds them all


def rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


def _volume(period: str) -> str:
    """SQL over report_trends rows: the posts of `period`."""
    return f"coalesce(sum(posts) FILTER (WHERE period = '{period}'), 0)"


def _mean_sentiment(period: str) -> str:
    """SQL over report_trends rows: the mean sentiment of `period`'s posts (each row's mean weighted by its posts)."""
    return (f"round(sum(sentiment * posts) FILTER (WHERE period = '{period}') / "
            f"nullif(sum(posts) FILTER (WHERE period = '{period}' AND sentiment IS NOT NULL), 0), 3)")


def totals(con) -> dict:
    volume = rows(con, f"""
        SELECT {_volume('current')} AS posts, {_volume('previous')} AS posts_prev,
               {_mean_sentiment('current')} AS sentiment, {_mean_sentiment('previous')} AS sentiment_prev
        FROM report_trends""")[0]
    # wishes and complaints are customers' (feed articles and the organisation's own posts are neither), so
    # their shares are of customers' posts
    intents = rows(con, """
        SELECT count(*) FILTER (WHERE period = 'current' AND intent = 'complaint') AS complaints,
               count(*) FILTER (WHERE period = 'previous' AND intent = 'complaint') AS complaints_prev,
               count(*) FILTER (WHERE period = 'current' AND intent = 'wish') AS wishes,
               count(*) FILTER (WHERE period = 'current') AS voices,
               count(*) FILTER (WHERE period = 'previous') AS voices_prev
        FROM report_posts WHERE customer_voice""")[0]
    return {**volume, **intents}


def channels(con) -> list[dict]:
    """Volume and sentiment per channel, both periods; busiest channel first."""
    return rows(con, f"""
        WITH volume AS (
            SELECT channel, {_volume('current')} AS posts, {_volume('previous')} AS posts_prev,
                   {_mean_sentiment('current')} AS sentiment, {_mean_sentiment('previous')} AS sentiment_prev
            FROM report_trends GROUP BY channel
        ), labels AS (
            SELECT channel,
                   round(count(*) FILTER (WHERE period = 'current' AND sentiment_label = 'negative')
                         / nullif(count(*) FILTER (WHERE period = 'current' AND sentiment_label IS NOT NULL), 0), 3)
                     AS negative_share
            FROM report_posts GROUP BY channel
        )
        SELECT v.*, l.negative_share FROM volume v LEFT JOIN labels l USING (channel)
        ORDER BY posts DESC, posts_prev DESC, channel""")


def daily(con, window: Window) -> dict[str, list[int]]:
    """{channel: posts per day over both periods (2 × days values, oldest first)}."""
    found = rows(con, "SELECT channel, day, sum(posts) AS posts FROM report_trends GROUP BY ALL")
    days = window.all_days()
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[int]] = {}
    for r in found:
        series.setdefault(r["channel"], [0] * len(days))[index[r["day"]]] = r["posts"]
    return dict(sorted(series.items(), key=lambda kv: -sum(kv[1])))


def _quotes(con, topic: int, period: str, intent: str | None = None, limit: int = 3) -> list[dict]:
    """The posts closest to the topic (cosine to its centroid), in the report's language first; text
    shortened, url as stored. Very short posts are left out: they say little on their own."""
    picked = rows(con, """
        SELECT r.post_id, r.url, r.channel, r.community, r.title, r.body, r.created_at, r.lang
        FROM report_posts r
        WHERE r.topic = ? AND r.period = ? AND (? IS NULL OR (r.intent = ? AND r.customer_voice))
          AND length(coalesce(r.body, r.title, '')) >= 20
        ORDER BY r.in_lang DESC, r.topic_similarity DESC NULLS LAST,
                 length(coalesce(r.body, '')) BETWEEN 60 AND 600 DESC, r.created_at DESC, r.post_id
        LIMIT ?""", [topic, period, intent, intent, limit])
    for q in picked:
        q["text"] = shorten(quote_text(q["title"], q["body"]), QUOTE_CHARS)
    return picked


_REPEATED_OPENING = re.compile(r"^(.{12,200}?)(?:\s*\1)+", re.S)


def quote_text(title: str | None, body: str | None) -> str:
    """What a quote shows: the body (the title when there is none), once. Scraped comments often open with their
    header twice ('10. april 2012 d. 17:35 - (0) 10. april 2012 d. 17:35 - (0) Det ville ...'): said once.

        >>> quote_text("Title", "Title")
        'Title'
    """
    text = (body or title or "").strip()
    return _REPEATED_OPENING.sub(r"\1", text)


def _topic_details(con, topic: int) -> dict:
    info = rows(con, "SELECT label, keywords FROM report_topics WHERE topic_id = ?", [topic])
    per_channel = rows(con, """
        SELECT channel, sum(posts) AS posts FROM report_trends WHERE topic_id = ? AND period = 'current'
        GROUP BY channel ORDER BY posts DESC, channel""", [topic])
    sentiment = rows(con, f"""
        SELECT {_mean_sentiment('current')} AS sentiment, {_mean_sentiment('previous')} AS sentiment_prev
        FROM report_trends WHERE topic_id = ?""", [topic])[0]
    return {
        "label": info[0]["label"] if info else None,
        "keywords": list(info[0]["keywords"] or [])[:6] if info else [],
        "channels": [f"{c['channel']} ({c['posts']})" for c in per_channel],
        **sentiment,
    }


def rising_and_falling(con) -> dict:
    """{'rising': [...], 'falling': [...], 'comparable': bool}; |score| >= 1 only."""
    scores = topic_scores(con)
    rising = [s for s in scores if s["score"] >= 1.0][:MAX_TOPICS]
    falling = sorted([s for s in scores if s["score"] <= -1.0], key=lambda s: (s["score"], s["topic_id"]))[:MAX_TOPICS]
    for row in rising + falling:
        row.update(_topic_details(con, row["topic_id"]))
        row["quotes"] = _quotes(con, row["topic_id"], "current") or _quotes(con, row["topic_id"], "previous")
    comparable = bool(con.execute("SELECT count(*) FROM report_trends WHERE period = 'previous'").fetchone()[0])
    return {"rising": rising, "falling": falling, "comparable": comparable}


def topic_map(con) -> dict:
    """Share of each (channel, community)'s current posts per topic, for the largest topics and places."""
    place = "channel, coalesce(nullif(community, ''), channel) AS community"  # trends store no community as ''
    cols = rows(con, f"""
        SELECT {place}, sum(posts) AS posts
        FROM report_trends WHERE period = 'current' GROUP BY ALL ORDER BY posts DESC, channel, community
        LIMIT ?""", [MAX_MAP_COLS])
    tops = rows(con, """
        SELECT r.topic_id, any_value(t.label) AS label, sum(r.posts) AS posts
        FROM report_trends r LEFT JOIN report_topics t ON t.topic_id = r.topic_id
        WHERE r.period = 'current' AND r.topic_id >= 0 GROUP BY r.topic_id ORDER BY posts DESC, topic_id LIMIT ?""",
        [MAX_MAP_ROWS])
    cells = rows(con, f"""
        SELECT topic_id, {place}, sum(posts) AS posts
        FROM report_trends WHERE period = 'current' AND topic_id >= 0 GROUP BY ALL""")
    lookup = {(c["topic_id"], c["channel"], c["community"]): c["posts"] for c in cells}
    matrix = [[round(lookup.get((t["topic_id"], c["channel"], c["community"]), 0) / c["posts"], 4) for c in cols]
              for t in tops]
    return {"columns": cols, "topics": tops, "matrix": matrix}


def wishes_and_complaints(con) -> dict:
    """{'wish': [...], 'complaint': [...]}: the biggest topic clusters of each intent among customers' own posts
    (report_posts.customer_voice), with quotes."""
    out = {}
    for intent in ("wish", "complaint"):
        groups = rows(con, """
            SELECT r.topic AS topic_id, any_value(t.label) AS label,
                   count(*) FILTER (WHERE period = 'current') AS posts,
                   count(*) FILTER (WHERE period = 'previous') AS posts_prev,
                   round(avg(sentiment) FILTER (WHERE period = 'current'), 3) AS sentiment
            FROM report_posts r LEFT JOIN report_topics t ON t.topic_id = r.topic
            WHERE r.intent = ? AND r.customer_voice GROUP BY r.topic
            HAVING count(*) FILTER (WHERE period = 'current') > 0
            ORDER BY posts DESC, topic_id LIMIT 6""", [intent])
        for g in groups:
            g["quotes"] = _quotes(con, g["topic_id"], "current", intent, limit=2)
        out[intent] = groups
    return out


def follow_ups(con, window: Window) -> list[dict]:
    """The open queue (follow_ups view) for posts written in this period, regulars first."""
    found = rows(con, """
        SELECT f.post_id, f.url, f.channel, f.community, f.intent, f.topic_id, t.label, f.excerpt, f.created_at,
               f.reason, f.is_regular, f.lang
        FROM follow_ups f LEFT JOIN report_topics t ON t.topic_id = f.topic_id
        WHERE CAST(f.created_at AS DATE) BETWEEN ? AND ?
        ORDER BY f.is_regular DESC, f.created_at DESC, f.post_id
        LIMIT ?""", [window.start, window.end, MAX_FOLLOW_UPS])
    for row in found:
        row["excerpt"] = quote_text(None, row["excerpt"])
    return found


def follow_up_count(con, window: Window) -> int:
    return con.execute("SELECT count(*) FROM follow_ups WHERE CAST(created_at AS DATE) BETWEEN ? AND ?",
                       [window.start, window.end]).fetchone()[0]


def regulars(con) -> dict:
    """Group sizes and sentiment for regulars vs newcomers, and the topics where their shares differ most."""
    groups = rows(con, """
        SELECT is_regular,
               count(*) FILTER (WHERE period = 'current') AS posts,
               count(DISTINCT author_key) FILTER (WHERE period = 'current') AS authors,
               round(avg(sentiment) FILTER (WHERE period = 'current'), 3) AS sentiment,
               round(avg(sentiment) FILTER (WHERE period = 'previous'), 3) AS sentiment_prev,
               round(count(*) FILTER (WHERE period = 'current' AND sentiment_label = 'negative')
                     / nullif(count(*) FILTER (WHERE period = 'current' AND sentiment_label IS NOT NULL), 0), 3)
                 AS negative_share
        FROM report_posts WHERE author_key IS NOT NULL GROUP BY is_regular ORDER BY is_regular DESC""")
    topics = rows(con, """
        WITH g AS (
            SELECT topic, is_regular, count(*) AS n FROM report_posts
            WHERE period = 'current' AND author_key IS NOT NULL GROUP BY ALL
        ), tot AS (SELECT is_regular, sum(n) AS total FROM g GROUP BY is_regular)
        SELECT g.topic AS topic_id, any_value(t.label) AS label,
               coalesce(sum(g.n) FILTER (WHERE g.is_regular), 0) AS regular_posts,
               coalesce(sum(g.n) FILTER (WHERE NOT g.is_regular), 0) AS newcomer_posts,
               round(coalesce(sum(g.n / tot.total) FILTER (WHERE g.is_regular), 0), 4) AS regular_share,
               round(coalesce(sum(g.n / tot.total) FILTER (WHERE NOT g.is_regular), 0), 4) AS newcomer_share
        FROM g JOIN tot USING (is_regular) LEFT JOIN report_topics t ON t.topic_id = g.topic
        WHERE g.topic >= 0 GROUP BY g.topic""")
    for t in topics:
        t["difference"] = round(t["regular_share"] - t["newcomer_share"], 4)
    topics.sort(key=lambda t: (-abs(t["difference"]), t["topic_id"]))
    return {"groups": groups, "topics": [t for t in topics if t["regular_posts"] + t["newcomer_posts"] >= 2][:8]}


def data_health(con, window: Window, sources: list[str]) -> dict:
    """Per source health, language mix and days without posts, for the current period."""
    start, end = window.start, window.end
    per_source = rows(con, """
        WITH names AS (
            SELECT unnest(?::VARCHAR[]) AS source
            UNION SELECT source FROM source_runs UNION SELECT DISTINCT source FROM report_posts
        ),
        runs AS (
            SELECT source,
                   max(finished_at) FILTER (WHERE status IN ('ok', 'partial')) AS last_success,
                   CAST(min(started_at) AS DATE) AS first_run,
                   count(*) FILTER (WHERE CAST(started_at AS DATE) BETWEEN ? AND ?) AS runs,
                   coalesce(sum(fetched) FILTER (WHERE CAST(started_at AS DATE) BETWEEN ? AND ?), 0) AS fetched,
                   count(*) FILTER (WHERE status = 'failed' AND CAST(started_at AS DATE) BETWEEN ? AND ?) AS errors,
                   arg_max(error, started_at) FILTER (WHERE error IS NOT NULL
                                                      AND CAST(started_at AS DATE) BETWEEN ? AND ?) AS last_error,
                   count(DISTINCT CAST(started_at AS DATE)) FILTER (WHERE status IN ('ok', 'partial')
                        AND CAST(started_at AS DATE) BETWEEN ? AND ?) AS days_with_success
            FROM source_runs GROUP BY source
        ),
        quarantined AS (
            SELECT coalesce(p.source, split_part(q.post_id, ':', 1)) AS source, count(DISTINCT q.post_id) AS n
            FROM quarantine q LEFT JOIN core.posts p USING (post_id) GROUP BY 1
        ),
        assigned AS (
            SELECT source, count(*) AS posts, count(*) FILTER (WHERE topic < 0) AS unassigned
            FROM report_posts WHERE period = 'current' GROUP BY source
        )
        SELECT n.source, r.last_success, coalesce(r.runs, 0) AS runs, coalesce(r.fetched, 0) AS fetched,
               coalesce(r.errors, 0) AS errors, r.last_error, coalesce(q.n, 0) AS quarantined,
               coalesce(a.posts, 0) AS posts,
               round(a.unassigned / nullif(a.posts, 0), 3) AS unassigned_share,
               -- days of the period since the source first ran (a source added yesterday has missed nothing
               -- before that), each without an ok or partial run; a source that never ran missed them all
               CASE WHEN r.first_run IS NULL THEN ?
                    ELSE greatest(date_diff('day', greatest(CAST(? AS DATE), r.first_run), CAST(? AS DATE)) + 1, 0)
                         - coalesce(r.days_with_success, 0) END AS missing_days
        FROM names n LEFT JOIN runs r USING (source) LEFT JOIN quarantined q USING (source)
        LEFT JOIN assigned a USING (source)
        ORDER BY n.source""",
        [sources, start, end, start, end, start, end, start, end, start, end, window.days, start, end])
    languages = rows(con, """
        SELECT lang, count(*) AS posts, round(count(*) / sum(count(*)) OVER (), 3) AS share
        FROM report_posts WHERE period = 'current' GROUP BY lang ORDER BY posts DESC, lang NULLS LAST""")
    busy = {r[0] for r in con.execute("SELECT DISTINCT day FROM report_posts WHERE period = 'current'").fetchall()}
    gaps = [d for d in window.current_days() if d not in busy]
    unassigned = rows(con, """
        SELECT round(count(*) FILTER (WHERE topic < 0) / nullif(count(*), 0), 3) AS share
        FROM report_posts WHERE period = 'current'""")[0]["share"]
    return {"sources": per_source, "languages": languages, "gaps": gaps, "unassigned_share": unassigned,
            **source_warnings(con, window)}


def source_warnings(con, window: Window) -> dict:
    """The newest warnings source runs of this period recorded (bad rows, unreadable dates, ...), and how many
    there were: {'warnings': [{'source', 'run_id', 'started_at', 'warning'}], 'warning_count': n}."""
    in_period = "CAST(started_at AS DATE) BETWEEN ? AND ?"
    listed = rows(con, f"""
        SELECT r.source, r.run_id, r.started_at, w.warning
        FROM source_runs r, unnest(r.warnings) WITH ORDINALITY AS w(warning, n)
        WHERE {in_period} ORDER BY r.started_at DESC, r.source, w.n LIMIT ?""", [window.start, window.end, MAX_WARNINGS])
    count = con.execute(f"SELECT coalesce(sum(len(warnings)), 0) FROM source_runs WHERE {in_period}",
                        [window.start, window.end]).fetchone()[0]
    return {"warnings": listed, "warning_count": int(count)}


def actions(con) -> list[dict]:
    return rows(con, """
        SELECT action_id, topic_id, label, CAST(decided_at AS DATE) AS decided, text, owner, posts_before,
               posts_after, days_after, per_day_before, per_day_after, sentiment_before, sentiment_after,
               volume_change
        FROM action_outcomes ORDER BY decided_at DESC, action_id DESC LIMIT 20""")


def method(con, window: Window) -> dict:
    """The latest topic model (version, fit date, documents, params, metrics) and the enrichment versions."""
    model = rows(con, """
        SELECT model_version, fitted_at, documents, params, metrics FROM core.topic_models
        ORDER BY fitted_at DESC LIMIT 1""")
    if model:
        for key in ("params", "metrics"):
            value = model[0][key]
            try:
                model[0][key] = json.loads(value) if isinstance(value, str) else (value or {})
            except ValueError:
                model[0][key] = {}
    versions = rows(con, """
        SELECT p.enrich_version AS version, count(*) AS posts FROM report_posts r JOIN core.posts p USING (post_id)
        WHERE r.period = 'current' AND p.enrich_version IS NOT NULL GROUP BY 1 ORDER BY posts DESC""")
    from pipelines.topics.stage import topics_state

    return {"topic_model": model[0] if model else None, "enrich_versions": versions, "topic_state": topics_state(con)}


def alerts(con, window: Window) -> list[dict]:
    """The alerts raised for the period's days (pipelines.alerts), newest first, with their example posts."""
    from pipelines.alerts.store import has_alerts, recent_alerts

    return recent_alerts(con, window.start, window.end, limit=MAX_ALERTS) if has_alerts(con) else []


def collect(con, window: Window, sources: list[str]) -> dict:
    """Every section's numbers for `window` (call connection.prepare first)."""
    return {
        "generated_at": dt.datetime.now(dt.timezone.utc),
        "alerts": alerts(con, window),
        "totals": totals(con),
        "channels": channels(con),
        "daily": daily(con, window),
        "topics": rising_and_falling(con),
        "map": topic_map(con),
        "intents": wishes_and_complaints(con),
        "follow_ups": follow_ups(con, window),
        "follow_up_count": follow_up_count(con, window),
        "regulars": regulars(con),
        "health": data_health(con, window, sources),
        "actions": actions(con),
        "method": method(con, window),
    }
