"""The quality gate: run the suites on a run's new rows, record every result, quarantine failing rows.

    >>> with open_warehouse(settings.paths.warehouse) as con:
    ...     summary = run_quality_checks(con, run_id)          # posts and topics (the check stage)
    ...     trends = check_trends(con, run_id, days)           # topic_trends of the days just refreshed
    >>> summary["critical_failures"], summary["quarantined"]
    (0, 2)

Every expectation lands in core.quality_results (a retry of the same run replaces its rows of that suite); posts
failing a row-level expectation land in core.quarantine, which the `posts` view leaves out. A post that passes
on a later check leaves quarantine again. Trends are counted from the posts that passed, so their suite runs
after the refresh that follows the check. `publish` refuses while a critical expectation of the run failed.
"""

from __future__ import annotations

import datetime as dt
import json
import time

from pipelines.quality.scope import posts_in_scope, topics_in_scope, trends_of_days
from pipelines.quality.suites import posts_checks, topics_checks, trends_checks
from pipelines.warehouse import transaction


def run_quality_checks(con, run_id: str, *, now: dt.datetime | None = None) -> dict:
    """Check the posts and topics `run_id` changed; returns counts, one entry per expectation and the GX time spent."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.timezone.utc)
    posts = posts_in_scope(con, run_id)
    frames = [("posts", posts_checks(now), posts, "post_id"),
              ("topics", topics_checks(), topics_in_scope(con), "topic_id")]
    summary, outcomes = _validate(run_id, frames, started)
    summary["quarantined"] = _record(con, run_id, now, frames, outcomes, list(posts["post_id"]))
    return summary


def check_trends(con, run_id: str, days, *, now: dt.datetime | None = None) -> dict:
    """Check the topic_trends rows of `days` (those a refresh just recomputed); same summary, nothing quarantined."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.timezone.utc)
    frames = [("topic_trends", trends_checks(), trends_of_days(con, days), None)]
    summary, outcomes = _validate(run_id, frames, started)
    _record(con, run_id, now, frames, outcomes)
    return summary


def _validate(run_id: str, frames: list, started: float) -> tuple[dict, list]:
    """Run each (suite, checks, frame, id column) with GX; (summary, outcomes)."""
    read_seconds = time.perf_counter() - started
    gx_started = time.perf_counter()
    from pipelines.quality.gx_runner import offline_context, validate_frame  # GX is heavy: import on use

    context = offline_context()
    outcomes = []
    for _, checks, frame, id_column in frames:
        outcomes += validate_frame(checks, frame, id_column, context=context)
    gx_seconds = time.perf_counter() - gx_started
    results = [{"suite": o.check.suite, "expectation": o.check.expectation, "column": o.check.column,
                "success": o.success, "critical": o.critical, "unexpected_count": o.unexpected_count,
                "checked": o.element_count} for o in outcomes]
    return {"run_id": run_id, "critical_failures": sum(1 for o in outcomes if o.critical and not o.success),
            "failed": sum(1 for o in outcomes if not o.success), "results": results,
            "rows_checked": {name: len(frame) for name, _, frame, _ in frames},
            "seconds": {"read": round(read_seconds, 3), "gx": round(gx_seconds, 3),
                        "total": round(time.perf_counter() - started, 3)}}, outcomes


def _record(con, run_id: str, now: dt.datetime, frames: list, outcomes, scope_ids: list | None = None) -> int:
    """Write the results of these suites (replacing the run's earlier ones) and, when `scope_ids` is given, give
    those posts a fresh quarantine verdict, in one transaction; returns how many posts are quarantined."""
    failing: dict[str, list[str]] = {}
    for o in outcomes:
        if o.check.quarantine and not o.success:
            for post_id in o.failing_ids:
                failing.setdefault(post_id, []).append(o.check.expectation)
    with transaction(con):
        con.execute("DELETE FROM core.quality_results WHERE run_id = ? AND suite IN (SELECT unnest(?::VARCHAR[]))",
                    [run_id, [name for name, *_ in frames]])
        con.executemany(
            """INSERT INTO core.quality_results (run_id, checked_at, suite, expectation, "column", success,
                                                 critical, unexpected_count, details)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [[run_id, now, o.check.suite, o.check.expectation, o.check.column, o.success, o.critical,
              o.unexpected_count, json.dumps(o.details, ensure_ascii=False)] for o in outcomes])
        if scope_ids is None:
            return 0
        # The rows checked now get a fresh verdict: release them, then hold back those that failed again.
        con.execute("CREATE OR REPLACE TEMP TABLE quality_scope AS SELECT unnest(?::VARCHAR[]) AS post_id",
                    [scope_ids])
        con.execute("DELETE FROM core.quarantine WHERE post_id IN (SELECT post_id FROM quality_scope)")
        pairs = [(post_id, expectation) for post_id, expectations in failing.items() for expectation in expectations]
        if pairs:
            con.execute("""INSERT INTO core.quarantine (post_id, run_id, suite, expectation, quarantined_at, row_data)
                           SELECT p.post_id, ?, 'posts', f.expectation, ?, to_json(p)
                           FROM (SELECT unnest(?::VARCHAR[]) AS post_id, unnest(?::VARCHAR[]) AS expectation) f
                           JOIN core.posts p ON p.post_id = f.post_id""",
                        [run_id, now, [a for a, _ in pairs], [b for _, b in pairs]])
        con.execute("DROP TABLE quality_scope")
    return len(failing)
