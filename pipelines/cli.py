"""`listen`: the command line. Each command is a thin shell over pipelines.* functions.

Exit codes: 0 ok, 1 a stage or source failed (the message names it), 2 bad usage or config.
"""

from __future__ import annotations

import datetime as dt
import errno
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from pipelines.config import DEFAULT_EMBEDDING, ConfigError, load_settings
from pipelines.errors import ListenError, StageFailed, UsageError


class _PlainHelp:
    """`--help` without typer's type labels (`<bool>`, `<list[str]>`): a flag shows none, an option its metavar
    (every option that takes a value names one, e.g. `--date YYYY-MM-DD`), an argument only its name."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                param.metavar = ""
            elif isinstance(param, TyperArgument):
                param.display_type_rich = lambda ctx: None
        return params


class _Command(_PlainHelp, TyperCommand):
    pass


class _Group(_PlainHelp, TyperGroup):
    pass


class _App(typer.Typer):
    """typer.Typer whose commands and groups render help without type jargon."""

    def __init__(self, **kwargs):
        super().__init__(cls=_Group, **kwargs)

    def command(self, *args, **kwargs):
        kwargs.setdefault("cls", _Command)
        return super().command(*args, **kwargs)


app = _App(add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
           help="community-listening: what customers talk about, where, and how they feel about it.")
follow_up_app = _App(no_args_is_help=True, help="The follow-up queue: posts worth answering in their thread.")
action_app = _App(no_args_is_help=True, help="Decisions taken on topics, tracked against the topic's trend.")
app.add_typer(follow_up_app, name="follow-up")
app.add_typer(action_app, name="action")

console = Console()
err = Console(stderr=True)
STATE: dict = {"config": None, "debug": False}


def settings():
    return load_settings(STATE["config"])


@app.callback()
def _global(
    config: Optional[Path] = typer.Option(None, "--config", "-c", metavar="PATH",
                                          help="listen.toml to use (default ./listen.toml or $LISTEN_CONFIG)."),
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


def _chosen_sources(cfg, names: list[str]) -> list[str] | None:
    """The --source names, checked before anything runs: unknown names stop with the configured ones listed."""
    for name in names:
        if not cfg.source(name).enabled:  # cfg.source raises ConfigError naming the configured sources
            raise UsageError(f"source {name!r} is disabled in {cfg.file} (enabled = false): enable it to run it")
    return names or None


SOURCE_OPTION = typer.Option([], "--source", metavar="NAME", help="Only this source (repeat for more).")


@app.command()
def init():
    """Create data directories, the warehouse (migrations + views) and the pseudonym key."""
    from pipelines.console import print_next_steps
    from pipelines.daily import init_install

    cfg = settings()
    info = init_install(cfg)
    console.print(f"[green]ready[/green] warehouse {escape(info['warehouse'])} ({len(info['migrations'])} "
                  f"migrations), pseudonym key {escape(info['key_file'])} (mode 0600; back it up, keep it secret)")
    print_next_steps(cfg, console)


@app.command()
def run(
    date: Optional[str] = typer.Option(None, "--date", metavar="YYYY-MM-DD", help="Run date (default today)."),
    source: list[str] = SOURCE_OPTION,
    no_report: bool = typer.Option(False, "--no-report", help="Skip writing the report."),
):
    """The whole daily job in-process, the stages the Airflow DAG runs: fetch, load, duplicates, retention, enrich,
    topics, check, trends, publish snapshot, report."""
    from pipelines.console import run_with_progress

    cfg = settings()
    day, only = _parse_date(date), _chosen_sources(cfg, source)
    result = run_with_progress(cfg, day=day, only=only, report=not no_report, console=console)
    if not result.ok:
        raise StageFailed("; ".join(result.failures))


@app.command()
def ingest(source: list[str] = SOURCE_OPTION):
    """Fetch and load sources (all enabled ones by default)."""
    from pipelines.console import ingest_with_progress

    cfg = settings()
    results = ingest_with_progress(cfg, only=_chosen_sources(cfg, source), console=console)
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        raise StageFailed("; ".join(r["error"] or r["source"] for r in failed))


@app.command()
def enrich(relabel: bool = typer.Option(
        False, "--relabel", help="Also label again every post that older rules or models labelled (listen status "
                                 "counts them), reusing the stored vectors.")):
    """Enrich posts not enriched yet: language, sentiment, intent, embeddings."""
    from pipelines.console import print_enrich_summary, stage_progress
    from pipelines.daily import enrich as enrich_stage

    with stage_progress(console, "relabel" if relabel else "enrich") as advance:
        detail = enrich_stage(settings(), progress=advance, relabel=relabel)
    print_enrich_summary(detail, console)


@app.command()
def topics(refit: bool = typer.Option(False, "--refit", help="Refit the topic model now on the recent window.")):
    """Assign topics to new posts (transform); refit on schedule or with --refit; update trends."""
    from pipelines.console import print_topics_summary, stage_progress
    from pipelines.daily import assign_topics, new_run_id

    cfg = settings()
    with stage_progress(console, "topics") as advance:
        detail = assign_topics(cfg, refit=refit, progress=advance)
    detail["trends"] = _trends(cfg, new_run_id())
    print_topics_summary(detail, console)


def _trends(cfg, run_id: str) -> dict:
    """The trends stage after `topics` or `check`, as in the daily job; StageFailed when its gate fails."""
    from pipelines.daily import refresh_trends

    trends = refresh_trends(cfg, run_id)
    if trends["critical_failures"]:
        raise StageFailed(f"{trends['critical_failures']} critical topic_trends expectation(s) failed in run "
                          f"{run_id}; see `listen status`")
    return {k: trends[k] for k in ("days", "rows")}


@app.command()
def embed(everything: bool = typer.Option(False, "--all", help="Recompute every vector, not only missing ones.")):
    """Give every stored post a vector of the configured backend ([topics] embedding), with progress.

    Run it after changing the backend; rerun to continue an interrupted run."""
    from pipelines.reembed import reembed_with_progress

    reembed_with_progress(settings(), everything, console)


@app.command()
def check(run_id: Optional[str] = typer.Option(None, "--run-id", metavar="RUN_ID",
                                               help="Record results under this run id (default: a new one).")):
    """Run the data-quality suites on new rows (failing rows go to quarantine), then update trends."""
    from pipelines.console import print_check_summary
    from pipelines.daily import check as check_stage, new_run_id

    cfg, run_id = settings(), run_id or new_run_id()
    detail = check_stage(cfg, run_id)
    detail["trends"] = _trends(cfg, run_id)
    print_check_summary(detail, console)
    if detail.get("critical_failures"):
        raise StageFailed(f"{detail['critical_failures']} critical expectation(s) failed; see `listen status`")


@app.command()
def report(
    days: Optional[int] = typer.Option(None, "--days", metavar="N",
                                       help="Compare the last N days with the N before. Default: \\[report] days in "
                                            "listen.toml, else 7."),
    format: Optional[str] = typer.Option(None, "--format", metavar="html,md,csv",
                                         help="Which files to write, comma-separated. Default: \\[report] formats, "
                                              "else all three."),
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR",
                                       help="Output directory. Default: \\[report] out, else reports/ beside "
                                            "listen.toml."),
    lang: Optional[str] = typer.Option(None, "--lang", metavar="da|de|en",
                                       help="Report language. Default: \\[report] lang, else en."),
    date: Optional[str] = typer.Option(None, "--date", metavar="YYYY-MM-DD",
                                       help="Report as of this date (default today)."),
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
    console.print(f"wrote {len(files)} files to {escape(str(written.get('dir')))}")
    for path in files:
        if path.endswith((".html", ".md")):
            console.print(f"  {escape(path)}")


@app.command()
def analyze(
    input: Path = typer.Argument(..., metavar="IN.jsonl", help="JSONL file, one {\"id\", \"text\"} object per line."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", metavar="OUT.jsonl",
                                          help="Write here instead of stdout."),
):
    """Enrich a JSONL file without a warehouse: adds lang, sentiment, sentiment_label, intent, their
    confidences and intent_rule (the labelling rule that chose the intent, if one did), computed on the redacted
    title + text exactly as the warehouse would (with the models of the configured [topics] embedding, when it has
    its own)."""
    from pipelines.enrich.analyze import analyze_file

    if not input.is_file():
        raise UsageError(f"{input}: no such file")
    try:
        raw = settings().raw
        cfg, embedding = raw.enrich, raw.topics.embedding
    except ConfigError:
        cfg, embedding = None, DEFAULT_EMBEDDING  # analyze needs no config; defaults apply
    analyze_file(input, output, cfg, embedding=embedding)


@app.command()
def sql(query: Optional[str] = typer.Argument(None, metavar="QUERY",
                                              help="SQL to run; omit for an interactive prompt."),
        format: str = typer.Option("table", "--format", metavar="table|csv|json", show_default=True,
                                   help="How to print the rows.")):
    """Query the analyst snapshot read-only (works while a run is writing). Writing, exporting, attaching files
    and changing settings are refused."""
    from pipelines.console import SQL_MISTAKES, explain_sql_mistake, print_rows, sql_shell
    from pipelines.warehouse import query_snapshot

    if format not in {"table", "csv", "json"}:
        raise UsageError(f"--format {format!r}: use table, csv or json")
    snapshot = settings().paths.snapshot
    if query is None:
        sql_shell(snapshot, console)
        return
    try:
        columns, rows = query_snapshot(snapshot, query)
    except SQL_MISTAKES as exc:
        raise UsageError(explain_sql_mistake(exc)) from exc
    print_rows(columns, rows, format, console)


@app.command()
def demo(
    directory: Path = typer.Option(Path("demo"), "--dir", metavar="DIR", show_default=True,
                                   help="Where to write the demo config and data."),
    serve: bool = typer.Option(False, "--serve", help="Keep the sandbox running after the demo (until Ctrl-C), so "
                                                      "`listen run` on the demo config can reach its sources."),
):
    """Start the loopback sandbox, write a demo config, run the daily job on bundled real data, write the report.
    The sandbox stops when the demo ends unless --serve is given."""
    from pipelines.demo import run_demo

    result = run_demo(directory, console=console, serve=serve)
    if not result.ok:
        raise StageFailed("the demo run had failures (see above)")


@app.command()
def forget(
    author: Optional[str] = typer.Option(None, "--author", metavar="HANDLE",
                                         help="The person's handle as shown on the source."),
    source: Optional[str] = typer.Option(None, "--source", metavar="NAME", help="Source name the handle belongs to."),
    url: Optional[str] = typer.Option(None, "--url", metavar="URL", help="Permalink of one post to remove."),
):
    """Delete a person's or a post's data everywhere: warehouse, embeddings, landing zone, snapshot."""
    if bool(author) == bool(url):
        raise UsageError("give either --author HANDLE --source NAME, or --url URL")
    if author and not source:
        raise UsageError("--author needs --source NAME (handles are only unique within a source)")
    from pipelines.console import print_forget_summary
    from pipelines.forget import forget_author, forget_url

    cfg = settings()
    summary = forget_author(cfg, author, source) if author else forget_url(cfg, url)
    print_forget_summary(summary, console)


@app.command()
def status(
    warnings: bool = typer.Option(False, "--warnings", help="List the warnings of recent source runs (bad rows, "
                                                            "unreadable dates, ...) with file and line."),
    days: int = typer.Option(7, "--days", metavar="N", show_default=True,
                             help="With --warnings: runs of the last N days."),
    source: Optional[str] = typer.Option(None, "--source", metavar="NAME", help="With --warnings: only this source."),
):
    """Recent alerts (and where they were sent), last runs (what failed and why, whether the snapshot was
    published), per-source health, quality results."""
    from pipelines.console import print_status, print_warnings

    if days <= 0:
        raise UsageError("--days must be a positive number")
    cfg = settings()
    if source:
        cfg.source(source)  # an unknown name stops with the configured ones listed
    if warnings:
        print_warnings(cfg, console, days=days, source=source)
    else:
        print_status(cfg, console)


@app.command()
def alerts(
    date: Optional[str] = typer.Option(None, "--date", metavar="YYYY-MM-DD", help="The day checked (default today)."),
    top: int = typer.Option(10, "--top", metavar="N", show_default=True, help="How many topic moves to show."),
):
    """What the daily alert check sees for a day: each topic x channel's move against its own history, its score,
    and why it was or was not raised (min_posts, min_score, min_ratio, cooldown); sources failing day after day.
    Reads only: nothing is stored or sent (the daily run does that)."""
    from pipelines.console import print_alert_check

    if top <= 0:
        raise UsageError("--top must be a positive number")
    print_alert_check(settings(), _parse_date(date) or dt.date.today(), console, top=top)


@app.command()
def airflow(
    home: Optional[Path] = typer.Option(None, "--home", metavar="DIR",
                                        help="AIRFLOW_HOME (default: airflow/ beside the warehouse)."),
    port: int = typer.Option(8080, "--port", metavar="PORT", show_default=True, help="api-server port on 127.0.0.1."),
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
        console.print(f"sandbox on {sandbox.base_url}; demo config {escape(str(config_path))}")
        serve(cfg, home=home, port=port, console=console)


@follow_up_app.command("done")
def follow_up_done(post_id: str = typer.Argument(..., metavar="POST_ID", help="As `listen follow-up list` shows it."),
                   note: Optional[str] = typer.Option(None, "--note", metavar="TEXT", help="What was answered.")):
    """Mark a follow-up as answered: it leaves the queue."""
    from pipelines.loop import mark_follow_up_done

    mark_follow_up_done(settings(), post_id, note)
    console.print(f"{escape(post_id)}: marked as answered")


@follow_up_app.command("list")
def follow_up_list(limit: int = typer.Option(20, "--limit", metavar="N", show_default=True,
                                             help="How many to show.")):
    """Show the follow-up queue (from the snapshot)."""
    from pipelines.console import print_rows
    from pipelines.warehouse import query_snapshot

    columns, rows = query_snapshot(settings().paths.snapshot,
                                   "SELECT * FROM follow_ups ORDER BY is_regular DESC, created_at DESC LIMIT ?", [limit])
    print_rows(columns, rows, "table", console)


@action_app.command("add")
def action_add(text: str = typer.Argument(..., metavar="TEXT", help="What was decided."),
               topic: int = typer.Option(..., "--topic", metavar="ID", help="Topic id the decision is about."),
               owner: Optional[str] = typer.Option(None, "--owner", metavar="WHO", help="Who carries it out."),
               date: Optional[str] = typer.Option(None, "--date", metavar="YYYY-MM-DD",
                                                  help="Decision date (default today).")):
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


def exit_code_and_message(exc: BaseException) -> tuple[int, str]:
    """The one place errors become exit codes and one readable line: 0 ok, 1 a stage or source failed, 2 bad usage
    or config, 130 interrupted. Every error the product raises on purpose is a ListenError carrying both."""
    if isinstance(exc, typer.Exit):
        return exc.exit_code, ""
    if isinstance(exc, (typer.Abort, KeyboardInterrupt)):
        return 130, "interrupted"
    if isinstance(exc, typer.TyperException):  # click's usage errors (exit code 2) and other exceptions (1)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        return getattr(exc, "exit_code", 1), exc.format_message() + hint
    if isinstance(exc, ListenError):
        return exc.exit_code, str(exc)
    if isinstance(exc, OSError):
        reason = {errno.ENOSPC: "the disk is full", errno.EACCES: "permission denied",
                  errno.EROFS: "the file system is read-only"}.get(exc.errno, exc.strerror or str(exc))
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return 1, f"{reason}{where}: free space or fix permissions, then rerun; nothing stored was lost"
    return 1, f"unexpected {exc.__class__.__name__}: {exc} (rerun with --debug for the traceback)"


def main(argv: list[str] | None = None) -> int:
    """Entry point: maps errors to exit codes and readable messages (no tracebacks unless --debug)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    STATE["debug"] = "--debug" in argv
    try:
        app(args=argv, prog_name="listen", standalone_mode=False)
        return 0
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:
        code, message = exit_code_and_message(exc)
        if STATE["debug"]:
            err.print_exception()
        err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)
        return code


if __name__ == "__main__":
    sys.exit(main())
