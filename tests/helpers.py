"""Small helpers the ingestion-level tests share: config blocks, an initialised install, warehouse queries."""

from __future__ import annotations

from pipelines.config import load_settings
from pipelines.daily import init_install
from pipelines.warehouse import connect

# quick failure for tests: no politeness delay, one retry, short timeouts
FAST_HTTP = "[http]\nmin_delay = 0\nretries = 1\nbackoff = 0.01\nread_timeout = 2\nconnect_timeout = 2\n"


def feed_source(name: str, url: str, extra: str = "") -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "feed"\nurl = "{url}"\n{extra}\n'


def import_source(name: str, path: str) -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "import"\npath = "{path}"\n\n'


def make_install(write_config, body: str = "", http: str = FAST_HTTP):
    """Settings for a tmp listen.toml with `body` (source blocks), after `listen init`."""
    settings = load_settings(write_config('[warehouse]\npath = "data/w.duckdb"\n' + http + body))
    init_install(settings)
    return settings


def query(settings, sql: str, params=()) -> list[tuple]:
    """Rows of one query on the warehouse, opened read-only and closed again."""
    con = connect(settings.paths.warehouse, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def fetch_context(now=None, **http_options):
    """A FetchContext for calling a source's fetch() directly: fast HTTP (no politeness delay, one retry, short
    timeouts, no real sleeping: the waits the client asked for are kept in ctx.http.waits)."""
    import datetime as dt

    from pipelines.http import HttpClient
    from pipelines.sources.base import FetchContext

    waits: list[float] = []
    options = dict(min_delay=0, retries=1, backoff=0.01, read_timeout=2, connect_timeout=2, max_retry_after=5,
                   sleep=waits.append)
    client = HttpClient(**{**options, **http_options})
    client.waits = waits
    return FetchContext(run_id="test", http=client, now=now or dt.datetime.now(dt.timezone.utc))
