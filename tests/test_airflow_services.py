"""`listen airflow`: loopback-only environment, a portable airflow.cfg, and the three real services running a DAG."""

from __future__ import annotations

import configparser
import datetime as dt
import importlib.util
import json
import os
import socket
import stat
import time

import pytest

from pipelines.airflow_services import (AirflowApi, AirflowServiceError, AirflowServices, admin_password,
                                        port_is_free, prepare, service_environment)
from pipelines.paths import AIRFLOW_CFG, DAGS_DIR


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_repo_airflow_cfg_is_loopback_small_and_portable():
    text = AIRFLOW_CFG.read_text(encoding="utf-8")
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(text)
    assert cfg["core"]["executor"] == "LocalExecutor" and cfg["core"]["parallelism"] == "2"
    assert cfg["core"]["load_examples"] == "False"
    assert cfg["api"]["host"] == "127.0.0.1"
    assert cfg["scheduler"]["scheduler_health_check_server_host"] == "127.0.0.1"
    values = [value for section in cfg.sections() for value in cfg[section].values()]
    assert not [v for v in values if "0.0.0.0" in v or "localhost" in v]
    assert not [v for v in values if v.startswith("/") or "/home/" in v or "/work/" in v], "no machine paths"


def test_environment_points_everything_at_the_data_dir_and_loopback(settings):
    env = service_environment(settings, port=18080)
    home = settings.paths.data_dir / "airflow"
    assert env["AIRFLOW_HOME"] == str(home)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home / 'airflow.db'}"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS_DIR)
    assert env["AIRFLOW_CONFIG"] == str(AIRFLOW_CFG)
    assert env["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:18080"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["LISTEN_CONFIG"] == str(settings.file)
    # Generated once per install, private, and the same for every service (tokens must verify everywhere).
    assert len(env["AIRFLOW__API_AUTH__JWT_SECRET"]) >= 32
    assert service_environment(settings, port=18080)["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert stat.S_IMODE((home / "secrets.json").stat().st_mode) == 0o600
    password, created = admin_password(env)
    assert created and len(password) >= 12
    assert admin_password(env) == (password, False), "printed once, then read back"
    assert stat.S_IMODE(os.stat(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).st_mode) == 0o600


def test_busy_port_is_refused_with_a_way_out(settings):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not port_is_free(port)
        with pytest.raises(AirflowServiceError, match="--port"):
            AirflowServices(service_environment(settings, port=port)).start()


def _listening_addresses(services: AirflowServices) -> set[str]:
    import psutil

    found = set()
    for process in services.processes.values():
        try:
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in tree:
            try:
                found |= {c.laddr.ip for c in member.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
            except psutil.NoSuchProcess:
                pass
    return found


def _stages_installed() -> bool:
    return all(importlib.util.find_spec(m) for m in ("pipelines.enrich.stage", "pipelines.topics.stage",
                                                     "pipelines.report"))


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_services_on_loopback_run_a_triggered_dag(tmp_path):
    from pipelines.config import load_settings
    from pipelines.demo import demo_config, demo_import_records
    from pipelines.sandbox.server import Sandbox

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    feedback = tmp_path / "customer-feedback.jsonl"
    feedback.write_text("".join(json.dumps(r) + "\n" for r in demo_import_records(now)), encoding="utf-8")
    with Sandbox() as sandbox:
        sandbox.options["feed_dates_end"] = now - dt.timedelta(hours=1)
        config = tmp_path / "listen.toml"
        config.write_text(demo_config(sandbox, feedback, []), encoding="utf-8")
        settings = load_settings(config)
        env = service_environment(settings, port=free_port())
        # Only the run we trigger (no scheduled run on unpause), and no retry waits inside the time bound.
        env.update(AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False", LISTEN_TASK_RETRIES="0")
        started = time.monotonic()
        prepare(env)
        services = AirflowServices(env)
        try:
            services.start()
            services.wait_ready(timeout=180)
            assert _listening_addresses(services) <= {"127.0.0.1"}, "a service listens beyond loopback"
            api = AirflowApi(services.base_url, "admin", services.admin_password)
            deadline = time.monotonic() + 120
            while True:  # the dag-processor needs a moment to parse dags/ into the metadata DB
                try:
                    api.dag("listen_daily")
                    break
                except AirflowServiceError:
                    assert time.monotonic() < deadline, services.log_tail("dag-processor")
                    time.sleep(2)
            api.unpause("listen_daily")
            run = api.trigger("listen_daily", conf={"config": str(config)})
            # duplicates, retention and trends joined the DAG from the stage list: three more task start-ups
            state = api.wait_for_run("listen_daily", run["dag_run_id"], timeout=360, services=services)
            tasks = {(t["task_id"], t.get("rendered_map_index") or t["map_index"]): t["state"]
                     for t in api.task_instances("listen_daily", run["dag_run_id"])}
        finally:
            services.stop()
    print(f"services: ready, triggered and finished in {time.monotonic() - started:.0f} s")
    assert all(p.poll() is not None for p in services.processes.values()), "a service survived stop()"
    must_succeed = ["start", "plan", "check", "publish"] + [
        (name, source) for name in ("fetch", "load")
        for source in ("heise-developer", "guardian-us", "hn-newest", "customer-feedback")]
    for key in must_succeed:
        key = key if isinstance(key, tuple) else (key, -1)
        assert tasks.get(key) == "success", (key, tasks)
    for name in ("enrich", "topics", "report"):
        assert tasks[(name, -1)] in ("success", "failed"), f"{name} did not run: {tasks[(name, -1)]}"
    expected = "success" if all(s == "success" for s in tasks.values()) else "failed"
    assert state == expected, tasks
    if _stages_installed():
        assert state == "success", f"every stage is installed, so the run must succeed: {tasks}"
    import duckdb

    con = duckdb.connect(str(settings.paths.snapshot), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM posts").fetchone()[0] > 0
    finally:
        con.close()
