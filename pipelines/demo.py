"""`listen demo`: the whole product on bundled real data, offline, in one command.

    >>> result = run_demo(Path("demo"), console=Console())

Starts the loopback sandbox (127.0.0.1, a free port) that replays recorded real feeds, Reddit, App Store,
Mastodon, Bluesky and Discourse payloads (plus customer-like Mastodon statuses and a forum written by us in the
recorded formats), writes `demo/listen.toml` pointing at it plus an import file, runs `init` and the daily job,
writes the report and prints where everything is. The sandbox lives only while the demo runs (with
`serve=True`, until Ctrl-C): rerunning `listen demo` starts a new one on a new port and rewrites the config's
URLs; `listen airflow --demo` does the same for a scheduled demo.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipelines.config import load_settings
from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.server import SERVICES, Sandbox
from pipelines.sandbox.smtp import SmtpReceiver

DEMO_FEEDS = [
    ("heise-developer", "heise.atom", {}),
    ("guardian-us", "guardian.rss", {}),
    ("hn-newest", "hnrss-newest.rss", {}),
]
DEMO_HANDLES = [f"reader{n:02d}" for n in range(1, 41)]
SANDBOX_REDDIT_ENV = "REDDIT_CLIENT_ID=demo REDDIT_CLIENT_SECRET=demo REDDIT_USER_AGENT=listen-demo"


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


def demo_delivery_records(now: dt.datetime) -> list[dict]:
    """Delivery complaints written by us (see NOTICE.md), most of them within the last day: the demo's one real
    move, which its alert check finds; dated `age_hours` before `now`."""
    communities = {"da": "kundepanel-dk", "de": "kundenforum-de", "en": "product-reviews-en"}
    source = SANDBOX_DATA / "imports" / "demo-delivery-complaints.jsonl"
    records = []
    for line in source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        digest = int(hashlib.sha1(record["id"].encode()).hexdigest(), 16)
        records.append({"id": record["id"], "text": record["text"], "lang": record["lang"],
                        "created_at": (now - dt.timedelta(hours=record["age_hours"])).isoformat(timespec="seconds"),
                        "author": DEMO_HANDLES[digest % len(DEMO_HANDLES)], "community": communities[record["lang"]]})
    return records


DEMO_WEBHOOK_ENV = "LISTEN_DEMO_WEBHOOK_URL"  # a webhook URL is a secret, so even the demo's comes from the environment


def demo_alerts(sandbox: Sandbox, smtp_port: int | None) -> list[str]:
    """The [alerts] block: the sandbox's webhook receiver and, when one runs, the loopback SMTP receiver."""
    lines = ["[alerts]", "backoff = 0.2", "",
             "[[alerts.send_to]]", 'name = "demo-desk"', 'kind = "webhook"', f'url_env = "{DEMO_WEBHOOK_ENV}"',
             'format = "slack"', ""]
    if smtp_port:
        lines += ["[[alerts.send_to]]", 'name = "demo-mail"', 'kind = "email"', 'to = ["desk@example.org"]',
                  'sender = "listen@example.org"', 'host = "127.0.0.1"', f"port = {smtp_port}", 'security = "none"',
                  ""]
    return lines


def demo_config(sandbox: Sandbox, import_path: Path, extra_sources: list[str], alerts: list[str] = ()) -> str:
    # general subreddits the demo listens to but where a brand does not answer (when the sandbox serves Reddit)
    listen_only = ["reddit-askreddit", "r/funny"] if 'name = "reddit-askreddit"' in extra_sources else []
    lines = [
        "# Written by `listen demo`. The sources below point at the loopback sandbox, which runs only while",
        "# `listen demo` runs: `listen run` with this config reaches them only while `listen demo --serve` (or",
        "# `listen airflow --demo`) keeps it up. Rerunning `listen demo` rewrites this file with the new port.",
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
        "# Demo Notes' own accounts (the Mastodon account, the forum's support and product staff): their release",
        "# notes and replies are no customer voice, so they stay out of the follow-up queue. r/AskReddit and",
        "# r/funny are general subreddits the demo listens to but where a brand does not answer.",
        "[follow_ups]",
        'own_accounts = ["@demonotes@mastodon.demo.example", "support_mads", "product_lea"]',
        f"listen_only = {json.dumps(listen_only)}",
        "",
    ]
    for name, file, options in DEMO_FEEDS:
        lines += ["[[sources]]", f'name = "{name}"', 'kind = "feed"', f'url = "{sandbox.url("/feeds/" + file)}"']
        lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()] + [""]
    lines += list(alerts)
    lines += ["[[sources]]", 'name = "customer-feedback"', 'kind = "import"', f'path = "{import_path.name}"', ""]
    lines += extra_sources
    return "\n".join(lines) + "\n"


def _service_sources(sandbox: Sandbox) -> list[str]:
    """Config blocks each sandbox service offers for the demo (comment feeds, Reddit, App Store, Mastodon, ...)."""
    blocks: list[str] = []
    import importlib

    for service in SERVICES:
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
    table = Table(title="what landed in the warehouse", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for name in ("channel", "community", "posts", "comments", "mean sentiment", "languages"):
        table.add_column(name, justify="left" if name in {"channel", "community"} else "right", overflow="fold")
    for r in rows:
        table.add_row(r[0], Text(r[1] or ""), f"{r[2]:,}", f"{r[3]:,}", "" if r[4] is None else f"{r[4]:+.2f}",
                      str(r[5]))
    console.print(table)


def prepare_demo(directory: Path, sandbox: Sandbox, now: dt.datetime, smtp_port: int | None = None) -> Path:
    """Write the demo's import file and a config pointing at this (running) sandbox (and SMTP receiver, when
    given); returns the config path. Sets the demo webhook's URL variable for this process and its children.

    The recorded payloads are replayed as if they were recent, so the report's "last 7 days" has content.
    """
    directory.mkdir(parents=True, exist_ok=True)
    sandbox.options["feed_dates_end"] = now - dt.timedelta(hours=1)  # the Reddit and App Store fakes follow it
    os.environ[DEMO_WEBHOOK_ENV] = sandbox.url("/webhook/demo-desk")
    import_path = directory / "customer-feedback.jsonl"
    with open(import_path, "w", encoding="utf-8") as handle:
        for record in demo_import_records(now) + demo_delivery_records(now):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    config_path = directory / "listen.toml"
    config_path.write_text(demo_config(sandbox, import_path, _service_sources(sandbox), demo_alerts(sandbox, smtp_port)),
                           encoding="utf-8")
    return config_path


def run_demo(directory: Path, *, console: Console, serve: bool = False, wait=None):
    """The demo end to end; with `serve`, the sandbox stays up after it until Ctrl-C (or until `wait` returns: the
    function that blocks, replaceable in tests), so the demo config's sources can be run again meanwhile."""
    from pipelines.console import run_with_progress
    from pipelines.daily import init_install

    directory = directory.resolve()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    with Sandbox() as sandbox, SmtpReceiver() as smtp:
        config_path = prepare_demo(directory, sandbox, now, smtp_port=smtp.port)
        console.print(f"[bold]sandbox[/bold] serving recorded data on {sandbox.base_url}")
        settings = load_settings(config_path)
        init_install(settings)
        result = run_with_progress(settings, day=now.date(), console=console)
        summarise(settings, console)
        show_alerts(settings, sandbox, smtp, console)
        _print_locations(settings, config_path, now.date(), console)
        if serve:
            # the fake Reddit takes any credentials, but praw wants some; these are placeholders, not secrets
            console.print(f"[bold]serving[/bold]    the sandbox stays up on {sandbox.base_url} until Ctrl-C; in "
                          f"another terminal: {DEMO_WEBHOOK_ENV}={sandbox.url('/webhook/demo-desk')} "
                          f"{SANDBOX_REDDIT_ENV} listen --config {escape(str(config_path))} run")
            try:
                (wait or _wait_for_interrupt)()
            except KeyboardInterrupt:
                console.print()
    if not serve:
        console.print(f"[bold]sandbox[/bold]    stopped with the demo, so `listen --config {escape(str(config_path))} "
                      f"run` cannot reach the demo's sources (all served by it) now. To run the daily job on them "
                      f"again: `listen demo --dir {escape(str(directory))}` (starts a new sandbox, rewrites the "
                      f"config), or `listen demo --dir {escape(str(directory))} --serve` to keep the sandbox up; "
                      f"`listen --config {escape(str(config_path))} airflow --demo` runs it under Airflow.")
    return result


def show_alerts(settings, sandbox: Sandbox, smtp: SmtpReceiver, console: Console) -> None:
    """The alerts the demo's check raised, and what its loopback webhook and SMTP receivers got."""
    from pipelines.console import print_alerts
    from pipelines.warehouse import connect

    con = connect(settings.paths.warehouse, read_only=True)
    try:
        print_alerts(con, settings, console, days=1)
    finally:
        con.close()
    hooks = sandbox.options.get("webhooks", [])
    mails = [m["message"]["Subject"] for m in smtp.messages]
    console.print(f"[bold]delivered[/bold]  {len(hooks)} webhook post(s) to the sandbox's receiver, {len(mails)} "
                  f"e-mail(s) to its SMTP receiver" + (f": {escape(mails[0])}" if mails else ""))


def _wait_for_interrupt() -> None:
    threading.Event().wait()  # returns only by KeyboardInterrupt (Ctrl-C)


def _print_locations(settings, config_path: Path, day: dt.date, console: Console) -> None:
    report = settings.paths.reports / day.isoformat() / "editorial-report.html"
    console.print(f"[bold]config[/bold]     {escape(str(config_path))}")
    console.print(f"[bold]warehouse[/bold]  {escape(str(settings.paths.warehouse))}  (the writer's file)")
    console.print(f"[bold]snapshot[/bold]   {escape(str(settings.paths.snapshot))}  (open this: "
                  f"`listen --config {escape(str(config_path))} sql \"SELECT * FROM topic_trends LIMIT 10\"`)")
    console.print(f"[bold]landing[/bold]    {escape(str(settings.paths.landing))}")
    if report.exists():
        console.print(f"[bold]report[/bold]     {escape(str(report))}")
