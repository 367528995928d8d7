"""listen_daily: the daily listening job under Airflow 3 (the same stage functions `listen run` calls).

    LISTEN_CONFIG=/path/listen.toml airflow dags test listen_daily 2026-11-21
    airflow dags trigger listen_daily --conf '{"config": "/path/listen.toml"}'

start -> plan -> fetch (one mapped task per source, parallel) -> load (mapped, pool `listen_warehouse`
of size 1: DuckDB has one writer) -> enrich -> topics -> check (Great Expectations) -> publish snapshot
-> report -> finish. Tasks pass small dicts (run id, paths, counts, cursors); records travel through the
landing zone and the warehouse. A failing source turns only its fetch task red: the other sources load,
later stages run on what arrived (trigger rule all_done), and `finish` fails the run naming the source.

Every task that opens the warehouse runs in the `listen_warehouse` pool (create it with
`airflow pools set listen_warehouse 1 "DuckDB single writer"`; `listen airflow` does). Only airflow.sdk is
imported here: pipelines.* (duckdb, pandas, GX, models) load inside the tasks, so parsing stays fast.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os

from airflow.sdk import Asset, Param, TriggerRule, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

POOL = "listen_warehouse"
CONFIG_ENV = "LISTEN_CONFIG"  # the variable the CLI honours (pipelines.config.CONFIG_ENV)
# Emitted when analysts' data changes (the published snapshot) and when a new report is written.
WAREHOUSE = Asset(name="listen_warehouse", uri="listen://warehouse/snapshot")
REPORT = Asset(name="listen_report", uri="listen://reports/editorial-report")


def _retries() -> int:
    """LISTEN_TASK_RETRIES (default 2): how often a failed task is retried, with exponential backoff."""
    value = os.environ.get("LISTEN_TASK_RETRIES", "2")
    return int(value) if value.isdigit() else 2


DEFAULT_ARGS = {
    "owner": "community-listening",
    "retries": _retries(),
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=15),
    "execution_timeout": dt.timedelta(minutes=30),
}


def _settings(run: dict):
    from pipelines.config import load_settings

    return load_settings(run["config"])


@contextlib.contextmanager
def _fail_fast_on_missing_code(stage: str):
    """A stage whose module or dependency is not installed fails at once: retrying cannot install it."""
    try:
        yield
    except ImportError as exc:
        raise AirflowFailException(f"{stage}: {exc.__class__.__name__}: {exc}; install the missing part "
                                   f"(make install) and clear the task to rerun it") from exc


def _run_day(context) -> dt.date:
    """The logical date of the run; manual runs in Airflow 3 may have none, so fall back to run_after."""
    dag_run = context["dag_run"]
    when = dag_run.logical_date or dag_run.run_after
    return when.date()


@dag(
    dag_id="listen_daily",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,  # one writer: two runs would queue on the pool anyway; this keeps their order
    dagrun_timeout=dt.timedelta(hours=6),
    default_args=DEFAULT_ARGS,
    params={"config": Param(None, type=["null", "string"],
                            description=f"Path to listen.toml; empty = ${CONFIG_ENV} of the Airflow workers.")},
    tags=["community-listening"],
    doc_md=__doc__,
)
def listen_daily():
    @task(pool=POOL)
    def start() -> dict:
        """Resolve the config, migrate the warehouse, mint the run id and record the run as running."""
        from pipelines.config import ConfigError, load_settings, resolve_config_path
        from pipelines.daily import init_install, new_run_id, record_pipeline_run

        context = get_current_context()
        chosen = context["params"].get("config") or os.environ.get(CONFIG_ENV)
        if not chosen:
            raise AirflowFailException(f"no listen.toml: set {CONFIG_ENV} for the Airflow services or trigger "
                                       f"with conf {{\"config\": \"/path/listen.toml\"}}")
        try:
            settings = load_settings(chosen)
        except ConfigError as exc:  # a bad config does not get better by retrying
            raise AirflowFailException(str(exc)) from exc
        init_install(settings)
        day = _run_day(context)
        run_id = new_run_id(day)
        record_pipeline_run(settings, run_id, day, "running")
        return {"run_id": run_id, "day": day.isoformat(), "config": str(resolve_config_path(chosen))}

    @task(pool=POOL)
    def plan(run: dict) -> list[dict]:
        """[{'source': name, 'cursor': {...}}] for each enabled source: one read of the cursors."""
        from pipelines.daily import plan_sources

        return plan_sources(_settings(run))

    @task(map_index_template="{{ item['source'] }}", execution_timeout=dt.timedelta(minutes=45))
    def fetch(item: dict, run: dict) -> dict:
        """Fetch one source into the landing zone; fails (and retries) when the source fails."""
        from pipelines.daily import fetch_source

        outcome = fetch_source(_settings(run), item, run["run_id"], day=dt.date.fromisoformat(run["day"]))
        # Pushed before raising, so `load` can record why this source failed after the last try.
        get_current_context()["ti"].xcom_push(key="outcome", value=outcome)
        if outcome["status"] == "failed":
            raise RuntimeError(outcome["error"] or f"{item['source']}: fetch failed")
        return {k: outcome[k] for k in ("source", "status", "fetched", "landing_path")}

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE, map_index_template="{{ item['source'] }}")
    def load(item: dict, run: dict) -> dict:
        """Load this source's landed file and advance its cursor in one transaction (or record its failure)."""
        from pipelines.daily import load_source

        ti = get_current_context()["ti"]
        outcome = ti.xcom_pull(task_ids="fetch", map_indexes=ti.map_index, key="outcome")
        if not outcome:
            now = dt.datetime.now(dt.timezone.utc).isoformat()
            outcome = {"source": item["source"], "run_id": run["run_id"], "started_at": now, "status": "failed",
                       "landing_path": None, "cursor": None, "fetched": 0, "warnings": [],
                       "error": f"{item['source']}: fetch ended without an outcome (timeout or crash); "
                                f"see the fetch task's log in Airflow"}
        result = load_source(_settings(run), outcome)
        return {k: result.get(k) for k in ("source", "status", "fetched", "new", "error")}

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE, execution_timeout=dt.timedelta(hours=1))
    def enrich(run: dict) -> dict:
        from pipelines.daily import enrich as enrich_stage

        with _fail_fast_on_missing_code("enrich"):
            return _small(enrich_stage(_settings(run)))

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE, execution_timeout=dt.timedelta(hours=2))
    def topics(run: dict) -> dict:
        """Transform new posts; refits when the topics settings say it is due."""
        from pipelines.daily import assign_topics

        with _fail_fast_on_missing_code("topics"):
            return _small(assign_topics(_settings(run)))

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE)
    def check(run: dict) -> dict:
        """Great Expectations suites on the run's new rows; fails on a critical expectation."""
        from pipelines.daily import check as check_stage

        with _fail_fast_on_missing_code("check"):
            summary = check_stage(_settings(run), run["run_id"])
        if summary["critical_failures"]:
            failed = [r["expectation"] for r in summary["results"] if r["critical"] and not r["success"]]
            raise AirflowFailException(f"{summary['critical_failures']} critical expectation(s) failed in run "
                                       f"{run['run_id']}: {', '.join(failed)}; the snapshot is not published "
                                       f"(see `listen status`)")
        return {k: summary[k] for k in ("critical_failures", "failed", "quarantined", "rows_checked", "seconds")}

    @task(pool=POOL, outlets=[WAREHOUSE])
    def publish(run: dict) -> dict:
        """Atomic copy of the warehouse to the snapshot analysts open (only after a passing check)."""
        from pipelines.daily import publish as publish_stage

        return publish_stage(_settings(run), run["run_id"])

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE, outlets=[REPORT])
    def report(run: dict) -> dict:
        from pipelines.daily import _write_report

        with _fail_fast_on_missing_code("report"):
            return _small(_write_report(_settings(run), dt.date.fromisoformat(run["day"])))

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def finish(run: dict) -> dict:
        """Record the run in core.pipeline_runs; fail the DAG run naming the sources and stages that failed."""
        from pipelines.daily import StageResult, record_pipeline_run

        ti = get_current_context()["ti"]
        loads = ti.xcom_pull(task_ids="load") or []
        loads = [loads] if isinstance(loads, dict) else list(loads)
        stages = [StageResult(name, bool(ti.xcom_pull(task_ids=name)), 0.0)
                  for name in ("enrich", "topics", "check", "publish", "report")]
        failed_sources = [entry for entry in (loads or []) if entry and entry.get("status") == "failed"]
        loaded = {entry["source"] for entry in (loads or []) if entry}
        failed = [e["source"] for e in failed_sources] + [s.name for s in stages if not s.ok]
        failed += [f"load of {i['source']}" for i in ti.xcom_pull(task_ids="plan") or [] if i["source"] not in loaded]
        message = ("failed: " + ", ".join(failed)) if failed else None
        record_pipeline_run(_settings(run), run["run_id"], dt.date.fromisoformat(run["day"]),
                            "failed" if failed else "ok", stages, message=message)
        if failed:
            errors = "; ".join(e.get("error") or e["source"] for e in failed_sources)
            raise AirflowFailException(f"run {run['run_id']} {message}" + (f" ({errors})" if errors else ""))
        return {"run_id": run["run_id"], "sources": len(loaded)}

    run = start()
    sources = plan(run)
    fetched = fetch.partial(run=run).expand(item=sources)
    loaded = load.partial(run=run).expand(item=sources)
    fetched >> loaded
    enriched = enrich(run)
    loaded >> enriched
    topics_done = topics(run)
    enriched >> topics_done
    checked = check(run)
    topics_done >> checked
    published = publish(run)
    checked >> published
    reported = report(run)
    published >> reported
    finish(run) << reported


def _small(detail) -> dict:
    """Keep XComs small: scalars and short lists only (a stage may return bigger structures)."""
    if not isinstance(detail, dict):
        return {"result": str(detail)[:200]}
    out = {}
    for key, value in detail.items():
        if isinstance(value, (int, float, bool, str)) or value is None:
            out[key] = value if not isinstance(value, str) else value[:500]
        elif isinstance(value, dict):
            out[key] = _small(value)
        elif isinstance(value, (list, tuple)):
            out[key] = len(value)
    return out


listen_daily()
