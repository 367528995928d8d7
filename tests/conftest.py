"""Shared fixtures: a migrated warehouse in a temp dir, settings for it, and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LISTEN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}: clone with ../shared beside the repo")
    return SHARED_DATA


@pytest.fixture
def write_config(tmp_path):
    """write_config(body) -> Path of a listen.toml in tmp_path with the given TOML body."""

    def _write(body: str = "", name: str = "listen.toml") -> Path:
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="module")
def _sandbox_server():
    from pipelines.sandbox.server import Sandbox

    with Sandbox() as server:  # 127.0.0.1, a free port, every service (server.SERVICES)
        yield server


@pytest.fixture
def sandbox(_sandbox_server):
    """The loopback sandbox, shared by a test module, with no fault left over from another test."""
    _sandbox_server.clear_faults()
    yield _sandbox_server
    _sandbox_server.clear_faults()


@pytest.fixture
def settings(write_config):
    from pipelines.config import load_settings

    return load_settings(write_config('[warehouse]\npath = "data/warehouse.duckdb"\n'))


@pytest.fixture
def warehouse(settings):
    """A migrated writer connection on a fresh warehouse file."""
    from pipelines.warehouse import connect, initialise

    con = connect(settings.paths.warehouse)
    initialise(con)
    yield con
    con.close()
