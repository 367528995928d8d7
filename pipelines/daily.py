"""The daily job as stage functions. `listen run` calls them in order in one process; the Airflow DAG calls
the same functions from separate tasks, passing only small dicts (paths, counts, cursors) between them.

    >>> plan = plan_sources(settings)                        # one read of the cursors
    >>> outcomes = [fetch_source(settings, item, run_id) for item in plan]   # parallel in the DAG
    >>> for outcome in outcomes: load_source(settings, outcome)   # single writer
    >>> enrich(settings); assign_topics(settings); check(settings, run_id); publish(settings, run_id)
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from pipelines.config import Settings
from pipelines.http import HttpClient
from pipelines.landing import read_landed, write_landed
from pipelines.load import RunInfo, load_records, read_cursor, record_source_run
from pipelines.pseudonyms import load_or_create_key
from pipelines.sources import source_module
from pipelines.sources.base import FetchContext, SourceError
from pipelines.warehouse import SNAPSHOT_META, open_warehouse, publish_snapshot, query_snapshot

Progress = Callable[[str, int], None]  # (source name, records so far)


def new_run_id(day: dt.date | None = None) -> str:
    """Sortable and unique: 2026-11-21T0630Z-3f9a."""
    now = dt.datetime.now(dt.timezone.utc)
    stamp = (day.isoformat() + now.strftime("T%H%M%SZ")) if day else now.strftime("%Y-%m-%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(2)}"


def init_install(settings: Settings) -> dict:
    """`listen init`: data directories, migrated warehouse with views, pseudonym key (0600)."""
    paths = settings.paths
    for directory in (paths.data_dir, paths.models):
        directory.mkdir(parents=True, exist_ok=True)
    if "://" not in paths.landing:
        from pathlib import Path

        Path(paths.landing).mkdir(parents=True, exist_ok=True)
    load_or_create_key(paths.key_file)
    with open_warehouse(paths.warehouse) as con:
        applied = [row[0] for row in con.execute("SELECT name FROM schema_migrations ORDER BY version").fetchall()]
    return {"warehouse": str(paths.warehouse), "migrations": applied, "key_file": str(paths.key_file)}


def plan_sources(settings: Settings, only: list[str] | None = None) -> list[dict]:
    """The enabled sources with their stored cursors: [{'source': name, 'cursor': {...}}, ...]."""
    chosen = [s for s in settings.sources if s.enabled and (not only or s.name in only)]
    if only:
        for name in only:
            settings.source(name)  # raises ConfigError for an unknown name
    with open_warehouse(settings.paths.warehouse) as con:
        return [{"source": s.name, "cursor": read_cursor(con, s.name)} for s in chosen]


def fetch_source(settings: Settings, item: dict, run_id: str, *, day: dt.date | None = None,
                 http: HttpClient | None = None, progress: Progress | None = None) -> dict:
    """Fetch one source and land its raw records. Never raises for a source problem: the outcome says it."""
    config = settings.source(item["source"])
    started = dt.datetime.now(dt.timezone.utc)
    ctx = FetchContext(run_id=run_id, http=http or HttpClient.from_settings(settings.raw.http),
                       config_dir=settings.paths.config_dir,
                       progress=(lambda n: progress(config.name, n)) if progress else (lambda n: None))
    outcome = {"source": config.name, "run_id": run_id, "started_at": started.isoformat(), "status": "failed",
               "landing_path": None, "cursor": None, "fetched": 0, "warnings": [], "error": None}
    try:
        batch = source_module(config.kind).fetch(config, item.get("cursor") or {}, ctx)
        outcome["landing_path"] = write_landed(settings.paths.landing, config.name, run_id, batch.records,
                                               day or started.date())
        outcome.update(status="partial" if batch.stopped_early else "ok", cursor=batch.cursor,
                       fetched=len(batch.records), warnings=batch.warnings)
        if batch.stopped_early:
            outcome["error"] = f"{config.name}: stopped early: {batch.stopped_early}"
    except SourceError as exc:
        outcome["error"] = str(exc)
    except Exception as exc:  # a bug or an unexpected payload in one source must not stop the others
        outcome["error"] = f"{config.name}: unexpected {exc.__class__.__name__}: {str(exc)[:300]}"
    outcome["fetched_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    return outcome


def load_source(settings: Settings, outcome: dict, con=None) -> dict:
    """Load one fetch outcome (its landed file) and advance its cursor in one transaction; record failures."""
    config = settings.source(outcome["source"])
    run = RunInfo(run_id=outcome["run_id"], started_at=dt.datetime.fromisoformat(outcome["started_at"]),
                  fetched_at=dt.datetime.fromisoformat(outcome.get("fetched_at") or outcome["started_at"]),
                  landing_path=outcome.get("landing_path"))

    def _load(con) -> dict:
        if outcome["status"] == "failed" or not outcome.get("landing_path"):
            record_source_run(con, run, config.name, status="failed", error=outcome.get("error"),
                              warnings=outcome.get("warnings"))
            return {"source": config.name, "status": "failed", "fetched": 0, "new": 0, "error": outcome.get("error")}
        key = load_or_create_key(settings.paths.key_file)
        # streamed as JSON lines, decoded and normalised in chunks (in worker processes when big), one transaction
        lines = read_landed(outcome["landing_path"], raw=True)
        result = load_records(con, config, lines, outcome.get("cursor"), run, key, status=outcome["status"],
                              warnings=outcome.get("warnings"), error=outcome.get("error"),
                              origin=outcome["landing_path"])
        return {"source": config.name, "status": outcome["status"], "fetched": result.fetched, "new": result.new,
                "error": outcome.get("error"), "warnings": result.warnings}

    if con is not None:
        return _load(con)
    with open_warehouse(settings.paths.warehouse) as own:
        return _load(own)


def ingest(settings: Settings, run_id: str, *, only: list[str] | None = None, day: dt.date | None = None,
           progress: Progress | None = None, workers: int = 4) -> list[dict]:
    """Fetch every source in parallel (politeness is per host in the HTTP client), then load one by one."""
    plan = plan_sources(settings, only)
    http = HttpClient.from_settings(settings.raw.http)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(plan) or 1))) as pool:
        outcomes = list(pool.map(lambda item: fetch_source(settings, item, run_id, day=day, http=http,
                                                           progress=progress), plan))
    with open_warehouse(settings.paths.warehouse) as con:
        results = [load_source(settings, outcome, con) for outcome in outcomes]
        mark_duplicates(con, run_id)
        return results


def mark_duplicates(con, run_id: str) -> int:
    """Flag near-duplicates (cross-posts, syndicated copies) among the posts this run loaded."""
    from pipelines.dedupe import mark_near_duplicates

    return mark_near_duplicates(con, run_id)


@dataclass
class StageResult:
    name: str
    ok: bool
    seconds: float
    detail: dict = field(default_factory=dict)
    error: str | None = None


def run_stage(name: str, func, *args, **kwargs) -> StageResult:
    """Run a stage, timing it; a failing stage is reported, not raised, so later stages can still run."""
    started = time.perf_counter()
    try:
        detail = func(*args, **kwargs) or {}
        return StageResult(name, True, time.perf_counter() - started, detail if isinstance(detail, dict) else {"result": detail})
    except Exception as exc:
        return StageResult(name, False, time.perf_counter() - started, error=f"{name}: {exc.__class__.__name__}: {exc}")


def retention(settings: Settings, day: dt.date | None = None) -> dict:
    """Enforce each source's retention_days (posts and landed files)."""
    from pipelines.forget import apply_retention

    with open_warehouse(settings.paths.warehouse) as con:
        return apply_retention(settings, con, day)


def enrich(settings: Settings, progress=None) -> dict:
    from pipelines.enrich.stage import enrich_new_posts

    with open_warehouse(settings.paths.warehouse) as con:
        return enrich_new_posts(con, settings, progress=progress)


def assign_topics(settings: Settings, refit: bool = False, progress=None) -> dict:
    from pipelines.topics.stage import assign_new_posts, refit as refit_topics
    from pipelines.topics.trends import update_topic_trends

    with open_warehouse(settings.paths.warehouse) as con:
        result = {"refit": refit_topics(con, settings, force=refit, progress=progress)}
        result["assigned"] = assign_new_posts(con, settings, progress=progress)
        result["trend_rows"] = update_topic_trends(con)
        return result


def check(settings: Settings, run_id: str) -> dict:
    from pipelines.quality import run_quality_checks

    with open_warehouse(settings.paths.warehouse) as con:
        result = run_quality_checks(con, run_id)
        if result.get("quarantined"):
            from pipelines.topics.trends import update_topic_trends

            update_topic_trends(con)  # quarantined posts leave the trend counts of their days
        return result


def publish(settings: Settings, run_id: str | None = None) -> dict:
    """Bring the snapshot analysts open up to date (incrementally, or a full copy when needed; the result says
    which); refused when today's quality gate failed critically."""
    with open_warehouse(settings.paths.warehouse) as con:
        if run_id:
            blocked = con.execute(
                "SELECT count(*) FROM core.quality_results WHERE run_id = ? AND critical AND NOT success", [run_id]
            ).fetchone()[0]
            if blocked:
                raise RuntimeError(f"{blocked} critical quality expectation(s) failed in run {run_id}; the snapshot "
                                   f"keeps the last good data (see `listen status`)")
        path = publish_snapshot(con, settings.paths.warehouse, settings.paths.snapshot)
        if run_id:
            con.execute("UPDATE core.pipeline_runs SET published = true WHERE run_id = ?", [run_id])
    _, rows = query_snapshot(path, f"SELECT mode, posts_copied FROM {SNAPSHOT_META}")
    return {"snapshot": str(path), "mode": rows[0][0], "posts_copied": rows[0][1]}


def _write_report(settings: Settings, day: dt.date) -> dict:
    from pipelines.report import write_report

    return write_report(settings, as_of=day)


def record_pipeline_run(settings: Settings, run_id: str, run_date: dt.date, status: str,
                        stages: list[StageResult] | None = None, message: str | None = None) -> None:
    stage_json = json.dumps([{"name": s.name, "ok": s.ok, "seconds": round(s.seconds, 2), "error": s.error}
                             for s in (stages or [])])
    with open_warehouse(settings.paths.warehouse) as con:
        con.execute(
            """INSERT INTO core.pipeline_runs (run_id, run_date, started_at, status, stages, message)
               VALUES (?, ?, now(), ?, ?, ?)
               ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, stages = excluded.stages,
                 message = excluded.message,
                 finished_at = CASE WHEN excluded.status = 'running' THEN NULL ELSE now() END""",
            [run_id, run_date, status, stage_json, message],
        )


@dataclass
class DailyResult:
    run_id: str
    sources: list[dict]
    stages: list[StageResult]

    @property
    def failed_sources(self) -> list[dict]:
        return [s for s in self.sources if s["status"] == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed_sources and all(stage.ok for stage in self.stages)


def run_daily(settings: Settings, *, day: dt.date | None = None, only: list[str] | None = None,
              report: bool = True, fetch_progress: Progress | None = None, stage_progress=None,
              on_stage: Callable[[StageResult], None] | None = None) -> DailyResult:
    """The whole daily job in-process: ingest -> enrich -> topics -> check -> publish -> report."""
    day = day or dt.date.today()
    run_id = new_run_id(day)
    record_pipeline_run(settings, run_id, day, "running")
    stages: list[StageResult] = []

    def stage(name, func, *args, **kwargs) -> StageResult:
        result = run_stage(name, func, *args, **kwargs)
        stages.append(result)
        if on_stage:
            on_stage(result)
        return result

    ingest_stage = stage("ingest", lambda: {"sources": ingest(settings, run_id, only=only, day=day,
                                                              progress=fetch_progress)})
    sources = ingest_stage.detail.get("sources", [])
    stage("retention", retention, settings, day)
    stage("enrich", enrich, settings, progress=stage_progress)
    stage("topics", assign_topics, settings, progress=stage_progress)
    checked = stage("check", check, settings, run_id)
    if checked.ok:
        stage("publish", publish, settings, run_id)
    else:
        stages.append(StageResult("publish", False, 0.0, error="publish: skipped because the quality check failed"))
    if report:
        stage("report", _write_report, settings, day)
    result = DailyResult(run_id, sources, stages)
    failed = [s["source"] for s in result.failed_sources] + [s.name for s in stages if not s.ok]
    record_pipeline_run(settings, run_id, day, "ok" if result.ok else "failed", stages,
                        message=("failed: " + ", ".join(failed)) if failed else None)
    return result
