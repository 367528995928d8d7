"""`listen`: the command line. Each command is a thin shell over pipelines.* functions.

Exit codes: 0 ok, 1 a stage or source failed (the message names it), 2 bad usage or config.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from pipelines.config import ConfigError, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
                  help="community-listening: what customers talk about, where, and how they feel about it.")
follow_up_app = typer.Typer(no_args_is_help=True, help="The follow-up queue: posts worth answering in their thread.")
action_app = typer.Typer(no_args_is_help=True, help="Decisions taken on topics, tracked against the topic's trend.")
app.add_typer(follow_up_app, name="follow-up")
app.add_typer(action_app, name="action")

console = Console()
err = Console(stderr=True)
STATE: dict = {"config": None, "debug": False}


class UsageError(Exception):
    """Bad usage: exit code 2."""


class StageFailed(Exception):
    """A stage or source failed: exit code 1."""


def settings():
    return load_settings(STATE["config"])


@app.callback()
def _global(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="listen.toml to use (default ./listen.toml or $LISTEN_CONFIG)."),
    debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks for errors."),
):
    STATE["config"] = config
    STATE["debug"] = debug


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date {value!r}: use YYYY-MM-DD") from None


@app.command()
def init():
    """Create data directories, the warehouse (migrations + views) and the pseudonym key."""
    from pipelines.daily import init_install

    info = init_install(settings())
    console.print(f"[green]ready[/green] warehouse {info['warehouse']} ({len(info['migrations'])} migrations), "
                  f"pseudonym key {info['key_file']} (mode 0600; back it up, keep it secret)")


@app.command()
def run(
    date: Optional[str] = typer.Option(None, "--date", help="Run date YYYY-MM-DD (default today)."),
    source: list[str] = typer.Option([], "--source", help="Only these sources (repeatable)."),
    no_report: bool = typer.Option(False, "--no-report", help="Skip writing the report."),
):
    """The whole daily job in-process: ingest, enrich, topics, check, publish snapshot, report."""
    from pipelines.console import run_with_progress

    result = run_with_progress(settings(), day=_parse_date(date), only=source or None, report=not no_report,
                               console=console)
    if not result.ok:
        raise StageFailed("; ".join([s["error"] or s["source"] for s in result.failed_sources]
                                    + [s.error or s.name for s in result.stages if not s.ok]))


@app.command()
def ingest(source: list[str] = typer.Option([], "--source", help="Only these sources (repeatable).")):
    """Fetch and load sources (all enabled ones by default)."""
    from pipelines.console import ingest_with_progress

    results = ingest_with_progress(settings(), only=source or None, console=console)
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        raise StageFailed("; ".join(r["error"] or r["source"] for r in failed))


@app.command()
def enrich():
    """Enrich posts not enriched yet: language, sentiment, intent, embeddings."""
    from pipelines.console import stage_progress
    from pipelines.daily import enrich as enrich_stage

    with stage_progress(console, "enrich") as advance:
        detail = enrich_stage(settings(), progress=advance)
    console.print(detail)


@app.command()
def topics(refit: bool = typer.Option(False, "--refit", help="Refit the topic model now on the recent window.")):
    """Assign topics to new posts (transform); refit on schedule or with --refit; update trends."""
    from pipelines.console import stage_progress
    from pipelines.daily import assign_topics

    with stage_progress(console, "topics") as advance:
        detail = assign_topics(settings(), refit=refit, progress=advance)
    console.print(detail)


@app.command()
def check(run_id: Optional[str] = typer.Option(None, "--run-id", help="Record results under this run id.")):
    """Run the data-quality suites on new rows; failing rows go to quarantine."""
    from pipelines.daily import check as check_stage, new_run_id

    detail = check_stage(settings(), run_id or new_run_id())
    console.print(detail)
    if detail.get("critical_failures"):
        raise StageFailed(f"{detail['critical_failures']} critical expectation(s) failed; see `listen status`")


@app.command()
def report(
    days: Optional[int] = typer.Option(None, "--days", help="Compare the last N days with the N before."),
    format: Optional[str] = typer.Option(None, "--format", help="Comma list of html,md,csv."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default from config: reports/)."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Report language: da, de or en."),
    date: Optional[str] = typer.Option(None, "--date", help="Report as of this date (default today)."),
):
    """Write the editorial topic-trend report (HTML, Markdown, CSV extracts)."""
    from pipelines.report import write_report

    formats = [f.strip() for f in format.split(",")] if format else None
    if formats and set(formats) - {"html", "md", "csv"}:
        raise UsageError(f"--format {format!r}: use a comma list of html, md, csv")
    if lang and lang not in {"da", "de", "en"}:
        raise UsageError(f"--lang {lang!r}: use da, de or en")
    if days is not None and days <= 0:
        raise UsageError("--days must be a positive number")
    written = write_report(settings(), as_of=_parse_date(date), days=days, formats=formats, out=out, lang=lang)
    files = [str(p) for p in written.get("files", [])]
    console.print(f"wrote {len(files)} files to {written.get('dir')}")
    for path in files:
        if path.endswith((".html", ".md")):
            console.print(f"  {path}")


@app.command()
def analyze(
    input: Path = typer.Argument(..., help="JSONL file, one {\"id\", \"text\"} object per line."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here instead of stdout."),
):
    """Enrich a JSONL file without a warehouse: adds lang, sentiment, sentiment_label, intent and their
    confidences, computed on the redacted title + text exactly as the warehouse would."""
    from pipelines.enrich.analyze import analyze_file

    if not input.is_file():
        raise UsageError(f"{input}: no such file")
    try:
        cfg = settings().raw.enrich
    except ConfigError:
        cfg = None  # analyze needs no config; defaults apply
    analyze_file(input, output, cfg)


@app.command()
def sql(query: Optional[str] = typer.Argument(None, help="SQL to run; omit for an interactive prompt."),
        format: str = typer.Option("table", "--format", help="table, csv or json.")):
    """Query the analyst snapshot (read-only; works while a run is writing)."""
    from pipelines.console import print_rows, sql_shell
    from pipelines.warehouse import query_snapshot

    snapshot = settings().paths.snapshot
    if query is None:
        sql_shell(snapshot, console)
        return
    columns, rows = query_snapshot(snapshot, query)
    print_rows(columns, rows, format, console)


@app.command()
def demo(directory: Path = typer.Option(Path("demo"), "--dir", help="Where to write the demo config and data.")):
    """Start the loopback sandbox, write a demo config, run the daily job on bundled real data, write the report."""
    from pipelines.demo import run_demo

    result = run_demo(directory, console=console)
    if not result.ok:
        raise StageFailed("the demo run had failures (see above)")


@app.command()
def forget(
    author: Optional[str] = typer.Option(None, "--author", help="The person's handle as shown on the source."),
    source: Optional[str] = typer.Option(None, "--source", help="Source name the handle belongs to."),
    url: Optional[str] = typer.Option(None, "--url", help="Permalink of one post to remove."),
):
    """Delete a person's or a post's data everywhere: warehouse, embeddings, landing zone, snapshot."""
    if bool(author) == bool(url):
        raise UsageError("give either --author HANDLE --source NAME, or --url URL")
    if author and not source:
        raise UsageError("--author needs --source NAME (handles are only unique within a source)")
    from pipelines.forget import forget_author, forget_url

    cfg = settings()
    summary = forget_author(cfg, author, source) if author else forget_url(cfg, url)
    console.print(summary)


@app.command()
def status():
    """Last runs, per-source health and quality results."""
    from pipelines.console import print_status

    print_status(settings(), console)


@app.command()
def airflow(
    home: Optional[Path] = typer.Option(None, "--home", help="AIRFLOW_HOME (default: airflow/ beside the warehouse)."),
    port: int = typer.Option(8080, "--port", help="api-server port on 127.0.0.1."),
    demo: bool = typer.Option(False, "--demo", help="Also run the loopback sandbox and (re)write the demo config in "
                                                    "the --config file's folder, so DAG runs have sources to read."),
):
    """Run Airflow locally on 127.0.0.1 (api-server, scheduler, dag-processor) for this config; Ctrl-C stops it."""
    from pipelines.airflow_services import serve

    if not demo:
        serve(settings(), home=home, port=port, console=console)
        return
    import datetime as _dt

    from pipelines.config import resolve_config_path
    from pipelines.daily import init_install
    from pipelines.demo import prepare_demo
    from pipelines.sandbox.server import Sandbox

    config_path = resolve_config_path(STATE["config"] or "demo/listen.toml")
    with Sandbox() as sandbox:
        prepare_demo(config_path.parent, sandbox, _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0))
        STATE["config"] = config_path
        cfg = settings()
        init_install(cfg)
        console.print(f"sandbox on {sandbox.base_url}; demo config {config_path}")
        serve(cfg, home=home, port=port, console=console)


@follow_up_app.command("done")
def follow_up_done(post_id: str, note: Optional[str] = typer.Option(None, "--note", help="What was answered.")):
    """Mark a follow-up as answered: it leaves the queue."""
    from pipelines.loop import mark_follow_up_done

    mark_follow_up_done(settings(), post_id, note)
    console.print(f"{post_id}: marked as answered")


@follow_up_app.command("list")
def follow_up_list(limit: int = typer.Option(20, "--limit")):
    """Show the follow-up queue (from the snapshot)."""
    from pipelines.console import print_rows
    from pipelines.warehouse import query_snapshot

    columns, rows = query_snapshot(settings().paths.snapshot,
                                   "SELECT * FROM follow_ups ORDER BY is_regular DESC, created_at DESC LIMIT ?", [limit])
    print_rows(columns, rows, "table", console)


@action_app.command("add")
def action_add(text: str, topic: int = typer.Option(..., "--topic", help="Topic id the decision is about."),
               owner: Optional[str] = typer.Option(None, "--owner"),
               date: Optional[str] = typer.Option(None, "--date", help="Decision date (default today).")):
    """Record a decision taken on a topic."""
    from pipelines.loop import add_action

    action_id = add_action(settings(), topic, text, owner, _parse_date(date))
    console.print(f"action {action_id} recorded on topic {topic}")


@action_app.command("list")
def action_list():
    """List actions with the topic's volume and sentiment before and after."""
    from pipelines.loop import list_actions
    from pipelines.console import print_rows

    columns, rows = list_actions(settings())
    print_rows(columns, rows, "table", console)


def main(argv: list[str] | None = None) -> int:
    """Entry point: maps errors to exit codes and readable messages (no tracebacks unless --debug)."""
    from pipelines.errors import classify

    argv = list(sys.argv[1:] if argv is None else argv)
    STATE["debug"] = "--debug" in argv
    try:
        app(args=argv, prog_name="listen", standalone_mode=False)
        return 0
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:
        code, message = classify(exc)
        if code is None:
            raise
        if STATE["debug"]:
            err.print_exception()
        err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)
        return code


if __name__ == "__main__":
    sys.exit(main())
