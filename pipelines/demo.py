"""`listen demo`: the whole product on bundled real data, offline, in one command.

    >>> result = run_demo(Path("demo"), console=Console())

Starts the loopback sandbox (127.0.0.1, a free port) that replays recorded real feeds (and Reddit and App
Store payloads where those services are present), writes `demo/listen.toml` pointing at it plus an import
file, runs `init` and the daily job, writes the report and prints where everything is. The sandbox lives
only while the demo runs: rerunning `listen demo` starts a new one and rewrites the config's URLs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.config import load_settings
from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.server import Sandbox

DEMO_FEEDS = [
    ("heise-developer", "heise.atom", {}),
    ("guardian-us", "guardian.rss", {}),
    ("hn-newest", "hnrss-newest.rss", {}),
]
DEMO_HANDLES = [f"reader{n:02d}" for n in range(1, 41)]


def demo_import_records(now: dt.datetime, days: int = 28) -> list[dict]:
    """The bundled real texts with demo dates and handles (deterministic from each id; see NOTICE.md)."""
    records = []
    source = SANDBOX_DATA / "imports" / "demo-feedback.jsonl"
    for line in source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        digest = int(hashlib.sha1(record["id"].encode()).hexdigest(), 16)
        age = dt.timedelta(days=digest % days, hours=(digest >> 8) % 24, minutes=(digest >> 16) % 60)
        # a Zipf-like author pool: a few regulars write often, most people write once or twice
        handle = DEMO_HANDLES[min(int(((digest >> 24) % 1000 / 1000) ** 2.5 * len(DEMO_HANDLES)), len(DEMO_HANDLES) - 1)]
        community = "kundepanel-dk" if record.get("lang") == "da" else "product-reviews-en"
        records.append({"id": record["id"], "text": record["text"], "lang": record.get("lang"),
                        "created_at": (now - age).isoformat(timespec="seconds"), "author": handle,
                        "community": community})
    return records


def demo_config(sandbox: Sandbox, import_path: Path, extra_sources: list[str]) -> str:
    lines = [
        "# Written by `listen demo`. The sources point at the loopback sandbox, which runs only during the demo.",
        "[warehouse]",
        'path = "data/warehouse.duckdb"',
        "",
        "[http]",
        "min_delay = 0.05",
        "retries = 1",
        "backoff = 0.1",
        "",
        "[report]",
        'out = "reports"',
        "",
    ]
    for name, file, options in DEMO_FEEDS:
        lines += ["[[sources]]", f'name = "{name}"', 'kind = "feed"', f'url = "{sandbox.url("/feeds/" + file)}"']
        lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()] + [""]
    lines += ["[[sources]]", 'name = "customer-feedback"', 'kind = "import"', f'path = "{import_path.name}"', ""]
    lines += extra_sources
    return "\n".join(lines) + "\n"


def _service_sources(sandbox: Sandbox) -> list[str]:
    """Config blocks each sandbox service offers for the demo (comment feeds, Reddit, App Store)."""
    blocks: list[str] = []
    import importlib

    for service in ("feeds", "reddit", "appstore"):
        try:
            module = importlib.import_module(f"pipelines.sandbox.{service}")
        except ModuleNotFoundError:
            continue
        if hasattr(module, "demo_sources"):
            blocks += module.demo_sources(sandbox)
    return blocks


def summarise(settings, console: Console) -> None:
    from pipelines.warehouse import connect

    con = connect(settings.paths.snapshot if settings.paths.snapshot.exists() else settings.paths.warehouse,
                  read_only=True)
    try:
        rows = con.execute("""SELECT channel, community, count(*) AS posts,
                                     count(*) FILTER (WHERE kind = 'comment') AS comments,
                                     round(avg(sentiment), 2) AS sentiment,
                                     count(DISTINCT lang) AS langs
                              FROM posts GROUP BY ALL ORDER BY channel, posts DESC""").fetchall()
    finally:
        con.close()
    table = Table("channel", "community", "posts", "comments", "mean sentiment", "languages",
                  title="what landed in the warehouse")
    for r in rows:
        table.add_row(r[0], r[1] or "", f"{r[2]:,}", f"{r[3]:,}", "" if r[4] is None else f"{r[4]:+.2f}", str(r[5]))
    console.print(table)


def prepare_demo(directory: Path, sandbox: Sandbox, now: dt.datetime) -> Path:
    """Write the demo's import file and a config pointing at this (running) sandbox; returns the config path.

    The recorded payloads are replayed as if they were recent, so the report's "last 7 days" has content.
    """
    directory.mkdir(parents=True, exist_ok=True)
    sandbox.options["feed_dates_end"] = now - dt.timedelta(hours=1)  # the Reddit and App Store fakes follow it
    import_path = directory / "customer-feedback.jsonl"
    with open(import_path, "w", encoding="utf-8") as handle:
        for record in demo_import_records(now):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    config_path = directory / "listen.toml"
    config_path.write_text(demo_config(sandbox, import_path, _service_sources(sandbox)), encoding="utf-8")
    return config_path


def run_demo(directory: Path, *, console: Console):
    from pipelines.console import run_with_progress
    from pipelines.daily import init_install

    directory = directory.resolve()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    with Sandbox() as sandbox:
        config_path = prepare_demo(directory, sandbox, now)
        console.print(f"[bold]sandbox[/bold] serving recorded data on {sandbox.base_url}")
        settings = load_settings(config_path)
        init_install(settings)
        result = run_with_progress(settings, day=now.date(), console=console)
    summarise(settings, console)
    report_dir = settings.paths.reports / now.date().isoformat()
    console.print(f"[bold]config[/bold]     {config_path}")
    console.print(f"[bold]warehouse[/bold]  {settings.paths.warehouse}  (the writer's file)")
    console.print(f"[bold]snapshot[/bold]   {settings.paths.snapshot}  (open this: "
                  f"`listen --config {config_path} sql \"SELECT * FROM topic_trends LIMIT 10\"`)")
    console.print(f"[bold]landing[/bold]    {settings.paths.landing}")
    if (report_dir / "editorial-report.html").exists():
        console.print(f"[bold]report[/bold]     {report_dir / 'editorial-report.html'}")
    return result
