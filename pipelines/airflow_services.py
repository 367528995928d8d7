"""`listen airflow`: Airflow 3 for one machine, on 127.0.0.1 only, for one listen.toml.

    >>> serve(settings, port=8080, console=Console())      # blocks; Ctrl-C or SIGTERM stops all three

Starts `airflow api-server -H 127.0.0.1`, `airflow scheduler --skip-serve-logs` and `airflow dag-processor`
as child processes after `airflow db migrate` and creating the `listen_warehouse` pool (size 1). The settings
that are machine-specific (AIRFLOW_HOME, the SQLite metadata DB under the data directory, the dags folder,
the port, a generated JWT secret, the admin password file) are passed as environment variables, so the
repo's airflow.cfg stays portable. `airflow standalone` is never used: it binds 0.0.0.0.

    >>> with AirflowServices(service_environment(settings, home, port)) as services:
    ...     services.wait_ready(timeout=180)
    ...     api = AirflowApi(services.base_url, "admin", services.admin_password)
    ...     api.trigger("listen_daily", conf={"config": str(settings.file)})
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pipelines.errors import ListenError
from pipelines.paths import AIRFLOW_CFG, DAGS_DIR, IMPORT_ROOT

POOL = "listen_warehouse"
ADMIN = "admin"
SERVICES = {
    "api-server": lambda env: ["api-server", "-H", "127.0.0.1", "-p", env["AIRFLOW__API__PORT"]],
    "scheduler": lambda env: ["scheduler", "--skip-serve-logs"],
    "dag-processor": lambda env: ["dag-processor"],
}


class AirflowServiceError(ListenError):
    """Airflow could not be prepared or a service stopped; the message names it and points at its log."""


def airflow_executable() -> str:
    """The `airflow` script of this Python environment (the one that has the pipelines package)."""
    candidate = Path(sys.executable).parent / "airflow"
    if not candidate.exists():
        raise AirflowServiceError(f"{candidate} not found: install the project with `make install` "
                                  f"(apache-airflow is a dependency)")
    return str(candidate)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _private_json(path: Path, make) -> tuple[dict, bool]:
    """Read a 0600 JSON file, creating it with make() first; returns (data, created)."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8")), False
    data = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return data, True


def service_environment(settings, home: Path | None = None, port: int = 8080) -> dict:
    """Environment for every airflow command of this install (see the module docstring)."""
    home = Path(home or settings.paths.data_dir / "airflow").resolve()
    home.mkdir(parents=True, exist_ok=True)
    keys, _ = _private_json(home / "secrets.json", lambda: {"jwt_secret": secrets.token_urlsafe(48),
                                                           "secret_key": secrets.token_urlsafe(32)})
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(AIRFLOW_CFG),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "LISTEN_CONFIG": str(settings.file),
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": os.pathsep.join(p for p in (str(IMPORT_ROOT), os.environ.get("PYTHONPATH")) if p),
    })
    return env


def admin_password(env: dict) -> tuple[str, bool]:
    """The admin password (generated on first use into the 0600 passwords file); (password, created)."""
    data, created = _private_json(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]),
                                  lambda: {ADMIN: secrets.token_urlsafe(12)})
    return data[ADMIN], created


def _run_airflow(env: dict, *args: str, timeout: float = 600) -> str:
    try:
        done = subprocess.run([airflow_executable(), *args], env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=env["AIRFLOW_HOME"])
    except subprocess.TimeoutExpired as exc:
        raise AirflowServiceError(f"`airflow {' '.join(args)}` took more than {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise AirflowServiceError(f"`airflow {' '.join(args)}` failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def prepare(env: dict) -> None:
    """Migrate the metadata DB and make sure the single-writer pool exists (both idempotent)."""
    _run_airflow(env, "db", "migrate")
    _run_airflow(env, "pools", "set", POOL, "1", "DuckDB has one writer: every listen_daily task that opens "
                                                 "the warehouse runs in this pool")


class AirflowServices:
    """The three Airflow processes as one unit: start, wait until the API answers, stop them all."""

    def __init__(self, env: dict, log_dir: Path | None = None):
        self.env = env
        self.port = int(env["AIRFLOW__API__PORT"])
        self.base_url = env["AIRFLOW__API__BASE_URL"]
        self.log_dir = Path(log_dir or Path(env["AIRFLOW_HOME"]) / "logs" / "services")
        self.processes: dict[str, subprocess.Popen] = {}
        self.admin_password, self.password_created = admin_password(env)

    def start(self) -> "AirflowServices":
        if not port_is_free(self.port):
            raise AirflowServiceError(f"127.0.0.1:{self.port} is in use: stop what runs there or pick another "
                                      f"port with `listen airflow --port N`")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, args in SERVICES.items():
            log = open(self.log_dir / f"{name}.log", "ab")
            # Own process group: Ctrl-C reaches us once, and stop() ends each service with its children.
            self.processes[name] = subprocess.Popen([airflow_executable(), *args(self.env)], env=self.env,
                                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                                    cwd=self.env["AIRFLOW_HOME"])
            log.close()
        return self

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AirflowServiceError(f"airflow {name} exited with code {process.returncode}; its log "
                                          f"({self.log_dir / (name + '.log')}) ends with:\n{self.log_tail(name)}")

    def wait_ready(self, timeout: float = 180, should_stop=lambda: False) -> bool:
        """Until the API's health endpoint answers 200 (True), should_stop() says so (False), a service dies
        or the timeout passes (both raise)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if should_stop():
                return False
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=5) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        raise AirflowServiceError(f"the api-server did not answer on {self.base_url} within {timeout:.0f} s; see "
                                  f"{self.log_dir / 'api-server.log'}")

    def stop(self, grace: float = 20) -> None:
        """SIGTERM each service's process group, then SIGKILL what is still there after `grace` seconds."""
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.processes.values():
            try:  # the group may outlive its leader (task runners, gunicorn workers)
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if process.poll() is None:
                process.wait(timeout=5)

    def __enter__(self) -> "AirflowServices":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class AirflowApi:
    """The few Airflow 3 REST API v2 calls we need, authenticated with a simple-auth-manager JWT."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url.rstrip("/")
        body = self._call("POST", "/auth/token", {"username": username, "password": password}, token=None)
        self.token = body["access_token"]

    def _call(self, method: str, path: str, payload: dict | None = None, token: str | None = "") -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self.token}"
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", errors="replace")[:500]
            raise AirflowServiceError(f"{method} {path} -> HTTP {exc.code}: {detail}") from exc

    def dag(self, dag_id: str) -> dict:
        return self._call("GET", f"/api/v2/dags/{dag_id}")

    def unpause(self, dag_id: str) -> dict:
        return self._call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None, logical_date: str | None = None) -> dict:
        return self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                          {"logical_date": logical_date, "conf": conf or {}})

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, services: AirflowServices | None = None) -> str:
        """Poll until the run is success or failed; returns the state (raises after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            if services:
                services.check_alive()
            state = self.dag_run(dag_id, run_id)["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise AirflowServiceError(f"{dag_id} run {run_id} still {state} after {timeout:.0f} s")


def serve(settings, *, home: Path | None = None, port: int = 8080, console=None) -> None:
    """Prepare, start the three services, print where to log in, and run until Ctrl-C or SIGTERM."""
    say = console.print if console else print
    env = service_environment(settings, home, port)
    say(f"airflow home {env['AIRFLOW_HOME']} (metadata DB airflow.db, logs), dags {env['AIRFLOW__CORE__DAGS_FOLDER']}")
    say("preparing: airflow db migrate, pool listen_warehouse (size 1) ...")
    prepare(env)
    services = AirflowServices(env)
    stopping = {"signal": None}

    def _on_signal(signum, _frame):
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        services.start()
        if not services.wait_ready(should_stop=lambda: stopping["signal"] is not None):
            return
        say(f"Airflow is up at {services.base_url} (127.0.0.1 only) for config {settings.file}")
        if services.password_created:
            say(f"login: {ADMIN} / {services.admin_password}   (shown once; kept in "
                f"{env['AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE']}, mode 0600)")
        else:
            say(f"login: {ADMIN}, password in {env['AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE']}")
        say("listen_daily starts paused: unpause it in the UI (or `airflow dags unpause listen_daily`) to run "
            f"daily; service logs in {services.log_dir}. Ctrl-C stops everything.")
        while stopping["signal"] is None:
            services.check_alive()
            time.sleep(1)
    finally:
        say("stopping Airflow ...")
        services.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        say("Airflow stopped")
