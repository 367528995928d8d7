"""The daily job, defined once: an ordered list of stages that `listen run` walks in-process and the Airflow DAG
(dags/listen_daily.py) turns into tasks, so the two runners cannot drift apart.

    >>> [stage.name for stage in STAGES]
    ['fetch', 'load', 'duplicates', 'retention', 'enrich', 'topics', 'check', 'trends', 'publish', 'alerts', 'report']
    >>> result = run_daily(settings, day=date(2026, 11, 21))          # what `listen run` does
    >>> result.ok, [s.name for s in result.stages if not s.ok], result.failed_sources

A Stage is a function of (settings, run) -> dict, or for a per-source stage (settings, run, item) -> dict called
once per source with what the previous per-source stage returned for it (the first gets the source's plan entry:
its name and stored cursor); what it reads and writes; whether it needs the warehouse's one writer (the DAG runs
those in the pool `listen_warehouse` of size 1; `listen run` runs them one after another); and which earlier
stages must have succeeded, or it is skipped. Per-source stages that need no writer run in parallel (threads
in-process, mapped tasks under Airflow). Adding a stage is one entry in STAGES: both runners run it.

Runs pass only small values between stages (run id, day, paths, counts, cursors): records travel through the
landing zone and the warehouse. A source's failure never stops the others; a failing stage is recorded and the
stages after it still run on what arrived, except those that need it. Both runners record the run, each stage's
outcome and the failed sources in core.pipeline_runs through `start_run` and `finish_run`.

This module imports no heavy library at module level: the DAG file reads STAGES each time Airflow parses it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipelines.config import Settings
from pipelines.errors import ListenError, StageFailed
from pipelines.http import HttpClient
from pipelines.pseudonyms import load_or_create_key
from pipelines.sources import source_module
from pipelines.sources.base import FetchContext, SourceError

Progress = Callable[[str, int], None]  # (source name, records so far)
FETCH_WORKERS = 4  # sources fetched at once in-process (politeness is per host, in the HTTP client)


class QualityGateFailed(StageFailed):
    """A critical expectation failed: the snapshot is not published, analysts keep the last good data."""


@dataclass
class Run:
    """One run of the daily job. `listen run` also hands stages a shared HTTP client (per-host politeness across
    the parallel fetches) and progress callbacks; under Airflow those are None."""

    run_id: str
    day: dt.date
    only: list[str] | None = None  # `listen run --source`: only these sources
    http: HttpClient | None = None
    fetch_progress: Progress | None = None
    progress: Callable[[int], None] | None = None  # posts processed by enrich and topics

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "day": self.day.isoformat(), "only": self.only}

    @classmethod
    def from_dict(cls, data: dict) -> "Run":
        return cls(data["run_id"], dt.date.fromisoformat(data["day"]), data.get("only"))


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[..., dict]
    reads: str
    writes: str
    needs_writer: bool = True  # opens the warehouse: one stage at a time (DuckDB has one writer)
    per_source: bool = False
    needs: tuple[str, ...] = ()  # skipped unless these stages succeeded
    timeout: dt.timedelta = dt.timedelta(minutes=30)  # the task's execution timeout under Airflow


@dataclass
class StageResult:
    name: str
    ok: bool
    seconds: float
    detail: dict = field(default_factory=dict)
    error: str | None = None
    cause: BaseException | None = field(default=None, repr=False, compare=False)  # not stored: for the DAG's retries

    def to_dict(self) -> dict:
        """Small and JSON-safe (scalars, short strings, list lengths): what goes to XCom and core.pipeline_runs."""
        return {"name": self.name, "ok": self.ok, "seconds": round(self.seconds, 2), "error": self.error,
                "detail": _small(self.detail)}

    @classmethod
    def from_dict(cls, data: dict) -> "StageResult":
        return cls(data["name"], data["ok"], data.get("seconds", 0.0), data.get("detail") or {}, data.get("error"))


def _small(detail) -> dict:
    if not isinstance(detail, dict):
        return {"result": str(detail)[:200]}
    out = {}
    for key, value in detail.items():
        if isinstance(value, str):
            out[key] = value[:500]
        elif isinstance(value, (int, float, bool)) or value is None:
            out[key] = value
        elif isinstance(value, dict):
            out[key] = _small(value)
        elif isinstance(value, (list, tuple)):
            out[key] = len(value)
        else:
            out[key] = str(value)[:200]
    return out


# -- the stage functions --------------------------------------------------------------------------------------
def new_run_id(day: dt.date | None = None) -> str:
    """Sortable and unique: 2026-11-21T0630Z-3f9a."""
    now = dt.datetime.now(dt.timezone.utc)
    stamp = (day.isoformat() + now.strftime("T%H%M%SZ")) if day else now.strftime("%Y-%m-%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(2)}"


def init_install(settings: Settings) -> dict:
    """`listen init`: data directories, migrated warehouse with views, pseudonym key (0600)."""
    from pipelines.warehouse import open_warehouse

    paths = settings.paths
    for directory in (paths.data_dir, paths.models):
        directory.mkdir(parents=True, exist_ok=True)
    if "://" not in paths.landing:
        Path(paths.landing).mkdir(parents=True, exist_ok=True)
    load_or_create_key(paths.key_file)
    with open_warehouse(paths.warehouse) as con:
        applied = [row[0] for row in con.execute("SELECT name FROM schema_migrations ORDER BY version").fetchall()]
    return {"warehouse": str(paths.warehouse), "migrations": applied, "key_file": str(paths.key_file)}


def plan_sources(settings: Settings, only: list[str] | None = None) -> list[dict]:
    """The enabled sources with their stored cursors: [{'source': name, 'cursor': {...}}, ...]."""
    from pipelines.load import read_cursor
    from pipelines.warehouse import open_warehouse

    chosen = [s for s in settings.sources if s.enabled and (not only or s.name in only)]
    if only:
        for name in only:
            settings.source(name)  # raises ConfigError for an unknown name
    with open_warehouse(settings.paths.warehouse) as con:
        return [{"source": s.name, "cursor": read_cursor(con, s.name)} for s in chosen]


def fetch_source(settings: Settings, item: dict, run_id: str, *, day: dt.date | None = None,
                 http: HttpClient | None = None, progress: Progress | None = None) -> dict:
    """Fetch one source and land its raw records. Never raises for a source problem: the outcome says it."""
    from pipelines.landing import write_landed

    config = settings.source(item["source"])
    started = dt.datetime.now(dt.timezone.utc)
    ctx = FetchContext(run_id=run_id, http=http or HttpClient.from_settings(settings.raw.http),
                       config_dir=settings.paths.config_dir,
                       progress=(lambda n: progress(config.name, n)) if progress else (lambda n: None))
    outcome = {"source": config.name, "run_id": run_id, "started_at": started.isoformat(), "status": "failed",
               "landing_path": None, "cursor": None, "fetched": 0, "warnings": [], "notes": [], "error": None}
    try:
        batch = source_module(config.kind).fetch(config, item.get("cursor") or {}, ctx)
        outcome["landing_path"] = write_landed(settings.paths.landing, config.name, run_id, batch.records,
                                               day or started.date())
        outcome.update(status="partial" if batch.stopped_early else "ok", cursor=batch.cursor,
                       fetched=len(batch.records), warnings=batch.warnings, notes=batch.notes)
        if batch.stopped_early:
            outcome["error"] = f"{config.name}: stopped early: {batch.stopped_early}"
    except SourceError as exc:
        outcome["error"] = str(exc)
    except Exception as exc:  # a bug or an unexpected payload in one source must not stop the others
        outcome["error"] = f"{config.name}: unexpected {exc.__class__.__name__}: {str(exc)[:300]}"
    outcome["fetched_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    return outcome


def failed_outcome(source: str, run: Run, error: str) -> dict:
    """The outcome of a source whose stage ended without one (a crash, a timeout): the next stage records it."""
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    return {"source": source, "run_id": run.run_id, "started_at": now, "fetched_at": now, "status": "failed",
            "landing_path": None, "cursor": None, "fetched": 0, "new": 0, "warnings": [], "error": error}


def load_source(settings: Settings, outcome: dict, con=None) -> dict:
    """Load one fetch outcome (its landed file) and advance its cursor in one transaction; record failures."""
    from pipelines.landing import read_landed
    from pipelines.load import RunInfo, load_records, record_source_run
    from pipelines.loop import sync_follow_up_scope
    from pipelines.warehouse import open_warehouse

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
        sync_follow_up_scope(con, settings.raw.follow_ups, key)
        # streamed as JSON lines, decoded and normalised in chunks (in worker processes when big), one transaction
        lines = read_landed(outcome["landing_path"], raw=True)
        result = load_records(con, config, lines, outcome.get("cursor"), run, key, status=outcome["status"],
                              warnings=outcome.get("warnings"), notes=outcome.get("notes"), error=outcome.get("error"),
                              origin=outcome["landing_path"])
        return {"source": config.name, "status": outcome["status"], "fetched": result.fetched, "new": result.new,
                "error": outcome.get("error"), "warnings": result.warnings, "notes": outcome.get("notes") or []}

    if con is not None:
        return _load(con)
    with open_warehouse(settings.paths.warehouse) as own:
        return _load(own)


def mark_duplicates(settings: Settings, run_id: str) -> dict:
    """Flag near-duplicates (cross-posts, syndicated copies) among the posts this run loaded."""
    from pipelines.dedupe import mark_near_duplicates
    from pipelines.warehouse import open_warehouse

    with open_warehouse(settings.paths.warehouse) as con:
        return {"duplicates": mark_near_duplicates(con, run_id)}


def retention(settings: Settings, day: dt.date | None = None) -> dict:
    """Enforce each source's retention_days (posts and landed files); the trends stage recounts their days."""
    from pipelines.forget import apply_retention
    from pipelines.warehouse import open_warehouse

    with open_warehouse(settings.paths.warehouse) as con:
        return apply_retention(settings, con, day)


def enrich(settings: Settings, progress=None, relabel: bool = False) -> dict:
    """The enrich stage; `relabel` first marks the posts older rules or models labelled (`listen enrich --relabel`)."""
    from pipelines.enrich.stage import enrich_new_posts, relabel_posts
    from pipelines.warehouse import open_warehouse

    with open_warehouse(settings.paths.warehouse) as con:
        if relabel:
            return relabel_posts(con, settings, progress=progress)
        return enrich_new_posts(con, settings, progress=progress)


def assign_topics(settings: Settings, refit: bool = False, progress=None) -> dict:
    from pipelines.topics.stage import assign_new_posts, refit as refit_topics
    from pipelines.warehouse import open_warehouse

    with open_warehouse(settings.paths.warehouse) as con:
        result = {"refit": refit_topics(con, settings, force=refit, progress=progress)}
        result["assigned"] = assign_new_posts(con, settings, progress=progress)
        return result


def check(settings: Settings, run_id: str) -> dict:
    """The quality gate on the posts and topics the run changed: results recorded, failing posts quarantined."""
    from pipelines.quality import run_quality_checks
    from pipelines.warehouse import open_warehouse

    with open_warehouse(settings.paths.warehouse) as con:
        return run_quality_checks(con, run_id)


def _passed(summary: dict, what: str) -> dict:
    """The gate's summary, or QualityGateFailed naming the critical expectations that failed."""
    if summary["critical_failures"]:
        failed = [r["expectation"] for r in summary["results"] if r["critical"] and not r["success"]]
        raise QualityGateFailed(f"{summary['critical_failures']} critical expectation(s) of {what} failed in run "
                                f"{summary['run_id']}: {', '.join(failed)}; the snapshot is not published (see "
                                f"`listen status`)")
    return summary


def refresh_trends(settings: Settings, run_id: str) -> dict:
    """topic_trends for the days that changed (sql/refresh/topic_trends.sql), then the trends quality suite."""
    from pipelines.quality import check_trends
    from pipelines.topics.trends import update_topic_trends
    from pipelines.warehouse import open_warehouse

    with open_warehouse(settings.paths.warehouse) as con:
        refreshed = update_topic_trends(con)
        summary = check_trends(con, run_id, refreshed["days"])
    return {"days": len(refreshed["days"]), "rows": refreshed["rows"], "run_id": run_id,
            "critical_failures": summary["critical_failures"], "results": summary["results"]}


def publish(settings: Settings, run_id: str | None = None) -> dict:
    """Bring the snapshot analysts open up to date (incrementally, or a full copy when needed; the result says
    which); refused when today's quality gate failed critically."""
    from pipelines.warehouse import SNAPSHOT_META, open_warehouse, publish_snapshot, query_snapshot

    with open_warehouse(settings.paths.warehouse) as con:
        if run_id:
            blocked = con.execute(
                "SELECT count(*) FROM core.quality_results WHERE run_id = ? AND critical AND NOT success", [run_id]
            ).fetchone()[0]
            if blocked:
                raise QualityGateFailed(f"{blocked} critical quality expectation(s) failed in run {run_id}; the "
                                        f"snapshot keeps the last good data (see `listen status`)")
        path = publish_snapshot(con, settings.paths.warehouse, settings.paths.snapshot)
        if run_id:
            con.execute("UPDATE core.pipeline_runs SET published = true WHERE run_id = ?", [run_id])
    _, rows = query_snapshot(path, f"SELECT mode, posts_copied FROM {SNAPSHOT_META}")
    return {"snapshot": str(path), "mode": rows[0][0], "posts_copied": rows[0][1]}


def alerts(settings: Settings, run: Run) -> dict:
    """The daily check after publish (pipelines.alerts): raise what moved, send it, and bring the snapshot up to
    date when alerts changed and this run published it, so analysts' `alerts` view holds today's alerts too."""
    from pipelines.alerts import raise_and_send
    from pipelines.warehouse import open_warehouse

    detail = raise_and_send(settings, run.run_id, run.day)
    if detail["changed"]:
        with open_warehouse(settings.paths.warehouse) as con:
            published = con.execute("SELECT published FROM core.pipeline_runs WHERE run_id = ?", [run.run_id]
                                    ).fetchone()
        if published and published[0]:
            detail["snapshot"] = publish(settings, run.run_id)["mode"]
    return detail


def report(settings: Settings, day: dt.date) -> dict:
    from pipelines.report import write_report

    return write_report(settings, as_of=day)


# -- the daily job ----------------------------------------------------------------------------------------------
STAGES: tuple[Stage, ...] = (
    Stage("fetch", lambda settings, run, item: fetch_source(settings, item, run.run_id, day=run.day, http=run.http,
                                                            progress=run.fetch_progress),
          reads="each source, from its stored cursor", writes="the landing zone (one file per source and run)",
          needs_writer=False, per_source=True, timeout=dt.timedelta(minutes=45)),
    Stage("load", lambda settings, run, outcome: load_source(settings, outcome),
          reads="the landed file", writes="core.posts, the source's cursor and its source_runs row, in one transaction",
          per_source=True),
    Stage("duplicates", lambda settings, run: mark_duplicates(settings, run.run_id),
          reads="the posts this run loaded", writes="posts.duplicate_of, core.post_signatures"),
    Stage("retention", lambda settings, run: retention(settings, run.day),
          reads="retention_days of each source", writes="deletes older posts and landed files"),
    Stage("enrich", lambda settings, run: enrich(settings, progress=run.progress),
          reads="posts not enriched yet", writes="lang, sentiment, intent, post vectors",
          timeout=dt.timedelta(hours=1)),
    Stage("topics", lambda settings, run: assign_topics(settings, progress=run.progress),
          reads="enriched posts without a topic (a refit reads the window)",
          writes="posts.topic_id, core.topics, topic_lineage, topic_models", timeout=dt.timedelta(hours=2)),
    Stage("check", lambda settings, run: _passed(check(settings, run.run_id), "posts and topics"),
          reads="the posts and topics the run changed", writes="core.quality_results, core.quarantine"),
    Stage("trends", lambda settings, run: _passed(refresh_trends(settings, run.run_id), "topic_trends"),
          reads="posts changed, quarantined or deleted since the last refresh",
          writes="core.topic_trends (sql/refresh/topic_trends.sql), core.quality_results"),
    Stage("publish", lambda settings, run: publish(settings, run.run_id),
          reads="the warehouse", writes="the analyst snapshot", needs=("check", "trends")),
    Stage("alerts", alerts,
          reads="topic_trends of the recent and baseline windows, source_runs, the run's quality results",
          writes="core.alerts, core.alert_deliveries (e-mails and webhooks sent); the snapshot again if they changed"),
    Stage("report", lambda settings, run: report(settings, run.day),
          reads="the warehouse (read-only)", writes="reports/<day>/ (HTML, Markdown, CSV)"),
)
STAGES_BY_NAME = {stage.name: stage for stage in STAGES}
INGEST = ("fetch", "load", "duplicates")  # `listen ingest`


def execute_stage(stage: Stage, settings: Settings, run: Run, item: dict | None = None) -> StageResult:
    """Run one stage (for one source, when it is per-source), timing it; a failure is returned, not raised."""
    started = time.perf_counter()
    try:
        detail = stage.run(settings, run, item) if stage.per_source else stage.run(settings, run)
    except Exception as exc:
        cause = str(exc) if isinstance(exc, ListenError) else f"{exc.__class__.__name__}: {exc}"
        return StageResult(stage.name, False, time.perf_counter() - started, error=f"{stage.name}: {cause}",
                           cause=exc)
    return StageResult(stage.name, True, time.perf_counter() - started, detail or {})


def skipped(stage: Stage, results: dict[str, StageResult]) -> StageResult | None:
    """The result of a stage whose needs did not succeed (None when it may run)."""
    failed = [name for name in stage.needs if name in results and not results[name].ok]
    if not failed:
        return None
    return StageResult(stage.name, False, 0.0, error=f"{stage.name}: skipped because {' and '.join(failed)} failed")


def record_pipeline_run(settings: Settings, run_id: str, run_date: dt.date, status: str,
                        stages: list[StageResult] | None = None, message: str | None = None) -> None:
    from pipelines.warehouse import open_warehouse

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

    @property
    def failures(self) -> list[str]:
        """The failed sources' and stages' errors, each naming its source or stage."""
        return [s.get("error") or s["source"] for s in self.failed_sources] + \
               [s.error or s.name for s in self.stages if not s.ok]


def start_run(settings: Settings, day: dt.date, **runtime) -> Run:
    """Migrate, mint the run id and record the run as running (both runners start here)."""
    init_install(settings)
    run = Run(new_run_id(day), day, **runtime)
    record_pipeline_run(settings, run.run_id, day, "running")
    return run


def finish_run(settings: Settings, run: Run, sources: list[dict], stages: list[StageResult]) -> DailyResult:
    """Record the run's outcome: ok, or failed naming each failed source and stage (both runners end here)."""
    result = DailyResult(run.run_id, sources, stages)
    failed = [s["source"] for s in result.failed_sources] + [s.name for s in stages if not s.ok]
    record_pipeline_run(settings, run.run_id, run.day, "ok" if result.ok else "failed", stages,
                        message=("failed: " + ", ".join(failed)) if failed else None)
    return result


def _each_source(stage: Stage, settings: Settings, run: Run, items: list[dict]) -> tuple[StageResult, list[dict]]:
    """A per-source stage for every source (in parallel unless it needs the writer); (result, outputs)."""
    started = time.perf_counter()

    def one(item: dict) -> tuple[dict, StageResult]:
        result = execute_stage(stage, settings, run, item)
        if result.ok:
            return result.detail, result
        return failed_outcome(item["source"], run, f"{item['source']}: {result.error}"), result

    if stage.needs_writer:
        done = [one(item) for item in items]
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(FETCH_WORKERS, len(items) or 1))) as pool:
            done = list(pool.map(one, items))
    crashed = [r.error for _, r in done if not r.ok]
    result = StageResult(stage.name, not crashed, time.perf_counter() - started,
                         {"sources": len(items), "failed": [o["source"] for o, _ in done if o["status"] == "failed"]},
                         error="; ".join(crashed) or None)
    return result, [output for output, _ in done]


def walk_stages(settings: Settings, run: Run, stages: tuple[Stage, ...] | list[Stage],
                on_stage: Callable[[StageResult], None] | None = None) -> tuple[list[dict], list[StageResult]]:
    """Run `stages` in order in this process; (each source's last outcome, each stage's result)."""
    results: dict[str, StageResult] = {}
    items: list[dict] | None = None  # per source: the plan entry, then each per-source stage's output
    for stage in stages:
        result = skipped(stage, results)
        if result is None and stage.per_source and items is None:
            try:
                items = plan_sources(settings, run.only)
            except Exception as exc:  # as when the DAG's plan task fails: no source runs, the stages after still do
                items = []
                result = StageResult(stage.name, False, 0.0, error=f"{stage.name}: cannot read the sources' cursors: "
                                     f"{exc.__class__.__name__}: {exc}", cause=exc)
        if result is None and stage.per_source:
            result, items = _each_source(stage, settings, run, items)
        elif result is None:
            result = execute_stage(stage, settings, run)
        results[stage.name] = result
        if on_stage:
            on_stage(result)
    return items or [], list(results.values())


def run_daily(settings: Settings, *, day: dt.date | None = None, only: list[str] | None = None,
              report: bool = True, fetch_progress: Progress | None = None, stage_progress=None,
              on_stage: Callable[[StageResult], None] | None = None) -> DailyResult:
    """The whole daily job in-process: every stage of STAGES in order (the report only when `report`)."""
    for name in only or []:
        settings.source(name)  # an unknown name is a ConfigError before the run starts
    run = start_run(settings, day or dt.date.today(), only=only, http=HttpClient.from_settings(settings.raw.http),
                    fetch_progress=fetch_progress, progress=stage_progress)
    stages = [stage for stage in STAGES if report or stage.name != "report"]
    sources, results = walk_stages(settings, run, stages, on_stage)
    return finish_run(settings, run, sources, results)


def ingest(settings: Settings, run_id: str, *, only: list[str] | None = None, day: dt.date | None = None,
           progress: Progress | None = None) -> list[dict]:
    """`listen ingest`: the stages of INGEST (fetch every source in parallel, load one by one, mark duplicates);
    returns each source's result. Raises StageFailed when a stage itself failed (not when a source did)."""
    run = Run(run_id, day or dt.date.today(), only=only, http=HttpClient.from_settings(settings.raw.http),
              fetch_progress=progress)
    sources, results = walk_stages(settings, run, [STAGES_BY_NAME[name] for name in INGEST])
    broken = [r.error for r in results if not r.ok and not STAGES_BY_NAME[r.name].per_source]
    if broken:
        raise StageFailed("; ".join(broken))
    return sources
