"""listen_daily: the daily listening job under Airflow 3, one task per stage of pipelines.daily.STAGES.

    LISTEN_CONFIG=/path/listen.toml airflow dags test listen_daily 2026-11-21
    airflow dags trigger listen_daily --conf '{"config": "/path/listen.toml"}'

start -> plan -> fetch (one mapped task per source, parallel) -> load (mapped, one at a time) -> duplicates ->
retention -> enrich -> topics -> check (Great Expectations) -> trends -> publish snapshot -> alerts -> report ->
finish.
The stages, their order and what each needs come from STAGES, the same list `listen run` walks in-process, and
each task calls the same `execute_stage`; `start` and `finish` record the run as `listen run` does. Tasks pass
small dicts (run id, paths, counts, cursors); records travel through the landing zone and the warehouse. A
failing source turns only its fetch task red: the other sources load, later stages run on what arrived (trigger
rule all_done), publish runs only after a passing check and trends, and `finish` fails the run naming the
sources and stages that failed.

Every task that opens the warehouse runs in the `listen_warehouse` pool (create it with
`airflow pools set listen_warehouse 1 "DuckDB single writer"`; `listen airflow` does). Only airflow.sdk and the
stage list (pipelines.daily, which imports nothing heavy) are imported here: duckdb, pandas, GX and the models
load inside the tasks, so parsing stays fast.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import Asset, Param, TriggerRule, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from pipelines.daily import STAGES

POOL = "listen_warehouse"
CONFIG_ENV = "LISTEN_CONFIG"  # the variable the CLI honours (pipelines.config.CONFIG_ENV)
# Emitted when analysts' data changes (the published snapshot) and when a new report is written.
WAREHOUSE = Asset(name="listen_warehouse", uri="listen://warehouse/snapshot")
REPORT = Asset(name="listen_report", uri="listen://reports/editorial-report")
OUTLETS = {"publish": [WAREHOUSE], "report": [REPORT]}


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


def _context(run: dict):
    """(settings, pipelines.daily.Run) inside a task."""
    from pipelines.config import load_settings
    from pipelines.daily import Run

    return load_settings(run["config"]), Run.from_dict(run)


def _fail(result) -> None:
    """Fail the task with the stage's own message; at once (no retry) when retrying cannot help."""
    from pipelines.config import ConfigError
    from pipelines.daily import QualityGateFailed
    from pipelines.errors import StageFailed

    if isinstance(result.cause, ImportError):
        raise AirflowFailException(f"{result.error}; install the missing part (make install) and clear the task "
                                   f"to rerun it")
    if isinstance(result.cause, (ConfigError, QualityGateFailed)):
        raise AirflowFailException(result.error)
    raise StageFailed(result.error)


def _stage_task(stage):
    """One task running `stage` once; its StageResult goes to XCom (key 'result') for `finish`, failed or not."""

    @task(task_id=stage.name, pool=POOL if stage.needs_writer else "default_pool", execution_timeout=stage.timeout,
          trigger_rule=TriggerRule.ALL_SUCCESS if stage.needs else TriggerRule.ALL_DONE,
          outlets=OUTLETS.get(stage.name, []), doc=f"Reads {stage.reads}; writes {stage.writes}.")
    def run_stage(run: dict) -> None:
        from pipelines.daily import execute_stage

        settings, daily_run = _context(run)
        result = execute_stage(stage, settings, daily_run)
        get_current_context()["ti"].xcom_push(key="result", value=result.to_dict())
        if not result.ok:
            _fail(result)

    return run_stage


def _source_task(stage, previous: str | None):
    """One mapped task per source running `stage`, on what `previous` (the per-source stage before) returned for
    that source, or on its plan entry. The outcome goes to XCom (key 'outcome') before a failure is raised."""

    @task(task_id=stage.name, pool=POOL if stage.needs_writer else "default_pool", execution_timeout=stage.timeout,
          trigger_rule=TriggerRule.ALL_DONE if previous else TriggerRule.ALL_SUCCESS,
          map_index_template="{{ item['source'] }}", doc=f"Reads {stage.reads}; writes {stage.writes}.")
    def run_for_source(item: dict, run: dict) -> dict:
        from pipelines.daily import execute_stage, failed_outcome
        from pipelines.errors import StageFailed

        settings, daily_run = _context(run)
        ti = get_current_context()["ti"]
        if previous:
            item = ti.xcom_pull(task_ids=previous, map_indexes=ti.map_index, key="outcome") or failed_outcome(
                item["source"], daily_run, f"{item['source']}: {previous} ended without an outcome (timeout or "
                                           f"crash); see its task log in Airflow")
        result = execute_stage(stage, settings, daily_run, item)
        if not result.ok:
            _fail(result)
        outcome = result.detail
        ti.xcom_push(key="outcome", value=outcome)
        if outcome["status"] == "failed" and item.get("status") != "failed":  # this stage failed the source: retry
            raise StageFailed(outcome["error"] or f"{item['source']}: {stage.name} failed")
        return {k: outcome.get(k) for k in ("source", "status", "fetched", "new")}

    return run_for_source


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
        from pipelines.daily import start_run

        context = get_current_context()
        chosen = context["params"].get("config") or os.environ.get(CONFIG_ENV)
        if not chosen:
            raise AirflowFailException(f"no listen.toml: set {CONFIG_ENV} for the Airflow services or trigger "
                                       f"with conf {{\"config\": \"/path/listen.toml\"}}")
        try:
            settings = load_settings(chosen)
        except ConfigError as exc:  # a bad config does not get better by retrying
            raise AirflowFailException(str(exc)) from exc
        return {**start_run(settings, _run_day(context)).to_dict(), "config": str(resolve_config_path(chosen))}

    @task(pool=POOL)
    def plan(run: dict) -> list[dict]:
        """[{'source': name, 'cursor': {...}}] for each enabled source: one read of the cursors."""
        from pipelines.daily import plan_sources

        settings, _ = _context(run)
        return plan_sources(settings)

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def finish(run: dict) -> dict:
        """Record the run in core.pipeline_runs from each stage's result; fail the DAG run naming what failed."""
        from pipelines.daily import StageResult, failed_outcome, finish_run, skipped

        settings, daily_run = _context(run)
        ti = get_current_context()["ti"]
        planned = ti.xcom_pull(task_ids="plan")  # None when the plan task failed
        sources: list[dict] = []
        results: dict[str, StageResult] = {}
        for stage in STAGES:
            if stage.per_source:
                outcomes = [ti.xcom_pull(task_ids=stage.name, map_indexes=index, key="outcome")
                            for index in range(len(planned or []))]
                lost = [item["source"] for item, outcome in zip(planned or [], outcomes) if not outcome]
                sources = [outcome or failed_outcome(item["source"], daily_run, f"{item['source']}: {stage.name} "
                                                     f"ended without an outcome; see its task log in Airflow")
                           for item, outcome in zip(planned or [], outcomes)]
                error = f"{stage.name}: no outcome for {', '.join(lost)}" if lost else None
                if planned is None and not results:
                    error = f"{stage.name}: cannot read the sources' cursors; see the plan task's log in Airflow"
                results[stage.name] = StageResult(stage.name, error is None, 0.0, error=error)
                continue
            found = ti.xcom_pull(task_ids=stage.name, key="result")
            results[stage.name] = skipped(stage, results) or (StageResult.from_dict(found) if found else StageResult(
                stage.name, False, 0.0, error=f"{stage.name}: ended without a result (timeout or crash); see its "
                                              f"task log in Airflow"))
        result = finish_run(settings, daily_run, sources, list(results.values()))
        if not result.ok:
            raise AirflowFailException(f"run {daily_run.run_id} failed: " + "; ".join(result.failures))
        return {"run_id": daily_run.run_id, "sources": len(sources)}

    run = start()
    sources = plan(run)
    tasks, previous_source_stage, last = {}, None, ""
    for stage in STAGES:
        if stage.per_source:
            current = _source_task(stage, previous_source_stage).partial(run=run).expand(item=sources)
            previous_source_stage = stage.name
        else:
            current = _stage_task(stage)(run)
        for upstream in {name: tasks[name] for name in ([last] if last else []) + list(stage.needs)}.values():
            upstream >> current
        tasks[stage.name], last = current, stage.name
    finish(run) << tasks[last]


listen_daily()
