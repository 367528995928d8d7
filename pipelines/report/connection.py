"""Which database the report reads, opened read-only, with the report's window as a temp view.

    >>> con, used = open_for_report(settings)          # the warehouse, or the snapshot if the writer holds it
    >>> window = Window.ending(date(2026, 11, 21), 7)
    >>> prepare(con, window, lang="da")                 # temp views report_trends, report_posts, report_topics
    >>> con.execute("SELECT period, count(*) FROM report_posts GROUP BY 1").fetchall()

Views added after an install was last migrated (follow_ups, action_outcomes) are created as temp views from
sql/views/ so an old warehouse or snapshot still renders every section.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb

from pipelines.errors import ListenError
from pipelines.paths import SQL_DIR
from pipelines.warehouse import WarehouseError, connect


class ReportError(ListenError):
    """The report cannot be written; the message says what to do."""


@dataclass(frozen=True)
class Window:
    """The last `days` days up to and including `as_of`, and the same number of days before."""

    as_of: dt.date
    days: int

    @classmethod
    def ending(cls, as_of: dt.date, days: int) -> "Window":
        if days <= 0:
            raise ReportError(f"--days {days}: use a positive number of days")
        return cls(as_of, days)

    @property
    def start(self) -> dt.date:
        return self.as_of - dt.timedelta(days=self.days - 1)

    @property
    def end(self) -> dt.date:
        return self.as_of

    @property
    def prev_start(self) -> dt.date:
        return self.start - dt.timedelta(days=self.days)

    @property
    def prev_end(self) -> dt.date:
        return self.start - dt.timedelta(days=1)

    def current_days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def all_days(self) -> list[dt.date]:
        return [self.prev_start + dt.timedelta(days=i) for i in range(2 * self.days)]


def open_for_report(settings) -> tuple[duckdb.DuckDBPyConnection, str]:
    """(read-only connection, 'warehouse' | 'snapshot'). The snapshot is used when the warehouse is locked."""
    warehouse, snapshot = settings.paths.warehouse, settings.paths.snapshot
    if warehouse.exists():
        try:
            return connect(warehouse, read_only=True), "warehouse"
        except WarehouseError as exc:
            if not snapshot.exists():
                raise ReportError(f"{exc} There is no snapshot to fall back on yet; rerun `listen report` "
                                  f"when the running job has finished.") from exc
    if snapshot.exists():
        return connect(snapshot, read_only=True), "snapshot"
    raise ReportError(f"no warehouse at {warehouse} and no snapshot at {snapshot}: run `listen init` and "
                      f"`listen run` (or `listen demo`) first")


def _existing_views(con) -> set[str]:
    rows = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    return {r[0] for r in rows}


def ensure_views(con, names: tuple[str, ...] = ("follow_ups", "action_outcomes")) -> None:
    """Create missing analyst views as temp views (allowed on a read-only connection)."""
    have = _existing_views(con)
    for name in names:
        if name in have:
            continue
        sql = (SQL_DIR / "views" / f"{name}.sql").read_text(encoding="utf-8")
        sql = re.sub(r"CREATE\s+OR\s+REPLACE\s+VIEW", "CREATE OR REPLACE TEMP VIEW", sql, count=1, flags=re.I)
        con.execute(sql)


def _has_column(con, schema: str, table: str, column: str) -> bool:
    """Whether a table or view has `column` (an install not yet migrated by this release may not)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
                            "AND schema_name = ? AND table_name = ? AND column_name = ?",
                            [schema, table, column]).fetchone()[0])


def prepare(con, window: Window, lang: str = "en") -> None:
    """UTC dates, missing views, and the window's temp views, the first two with `period` ('current' |
    'previous'): `report_trends`, the topic_trends rows of both periods (every volume in the report: per day,
    channel, community and topic); `report_posts`, the posts behind them with `day`, `in_lang`,
    `topic_similarity` and `customer_voice` (intents, sentiment labels, authors, quotes; wishes and complaints
    count customers' own posts only, not feed articles or the organisation's own accounts); and `report_topics`,
    each topic's label in `lang`, else in its main language. Deleted posts and near-duplicates (cross-posts) are
    left out, so nothing counts twice.
    """
    con.execute("SET TimeZone = 'UTC'")
    if "posts" not in _existing_views(con):
        raise ReportError("the database has no `posts` view: run `listen init` (it applies the migrations)")
    if lang not in ("da", "de", "en"):
        raise ReportError(f"report language {lang!r}: use da, de or en")
    ensure_views(con)
    similarity = "cp.topic_similarity" if _has_column(con, "core", "posts", "topic_similarity") else "NULL::REAL"
    # Dates come from datetime.date objects and lang from the three checked above, never from user text, so
    # inlining them is safe.
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW report_trends AS
        SELECT t.*, CASE WHEN t.day >= DATE '{window.start}' THEN 'current' ELSE 'previous' END AS period
        FROM topic_trends t
        WHERE t.day BETWEEN DATE '{window.prev_start}' AND DATE '{window.end}'
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW report_posts AS
        SELECT p.*, CAST(p.created_at AS DATE) AS day,
               CASE WHEN CAST(p.created_at AS DATE) >= DATE '{window.start}' THEN 'current' ELSE 'previous' END
                 AS period,
               coalesce(p.topic_id, -1) AS topic,
               coalesce(p.lang = '{lang}', false) AS in_lang,
               {similarity} AS topic_similarity,
               -- a customer's own voice, as the follow-up queue reads it: not an article of a news or company feed,
               -- not one of the organisation's own accounts
               NOT (p.channel = 'feed' AND p.kind = 'post')
                 AND (p.author_key IS NULL OR p.author_key NOT IN (SELECT author_key FROM core.own_accounts))
                 AS customer_voice
        FROM posts p LEFT JOIN core.posts cp USING (post_id)
        WHERE NOT p.is_deleted AND p.duplicate_of IS NULL
          AND CAST(p.created_at AS DATE) BETWEEN DATE '{window.prev_start}' AND DATE '{window.end}'
    """)
    label = f"coalesce(labels['{lang}'], label)" if _has_column(con, "main", "topics", "labels") else "label"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW report_topics AS
        SELECT topic_id, {label} AS label, keywords, representative_ids FROM topics
    """)
