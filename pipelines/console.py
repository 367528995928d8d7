"""What the CLI shows people: progress bars, result tables, status. No pipeline logic lives here.

Tables hold short values only (names, counts, times) so they stay readable in an 80-column terminal; long text
(errors, warnings, why a check failed) is printed as wrapped lines below the table it belongs to. Text from the
data (post bodies, error messages, file names) is printed as plain text, never as rich markup.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json

import duckdb
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipelines.config import Settings

# DuckDB errors that come from the query a user typed (syntax, unknown names, refused writes, bad casts), as
# opposed to the database failing (I/O, memory, internal errors): `listen sql` reports these as usage errors.
SQL_MISTAKES = (duckdb.ProgrammingError, duckdb.DataError, duckdb.NotSupportedError, duckdb.PermissionException,
                duckdb.IntegrityError, duckdb.DependencyException, duckdb.SequenceException)
READ_ONLY_HINT = ("`listen sql` only queries the analyst snapshot: changing tables, reading or writing other files "
                  "(COPY, EXPORT DATABASE, ATTACH, read_csv, ...), INSTALL/LOAD and SET are refused. To save a "
                  "result: listen sql --format csv \"SELECT ...\" > out.csv")
NAMES_HINT = ("list the views with: listen sql \"SHOW TABLES\"; a view's columns with: listen sql \"DESCRIBE posts\" "
              "(README, 'The analyst views')")
SYNTAX_HINT = "check the SQL syntax, and quote the whole query for the shell: listen sql \"SELECT ...\""
DATA_HINT = "a value does not fit the type asked for: cast with TRY_CAST(...) or filter those rows"
MAX_WARNINGS_SHOWN = 200  # per `listen status --warnings` call; the rest are counted


def _table(*columns: str, title: str | None = None, right: tuple[str, ...] = ()) -> Table:
    """A compact table: no vertical rules (more room for values at 80 columns), long values fold, never cut."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", overflow="fold")
    return table


def _when(value) -> str:
    """A timestamp to the minute in local time, as DuckDB returns it (2026-11-21 06:30); empty for none."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else str(value)


def _took(started, finished) -> str:
    if not started or not finished:
        return ""
    seconds = int((finished - started).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _bullets(console: Console, lines: list[str]) -> None:
    """Lines as an indented list whose wrapped lines stay indented (errors, warnings, reasons)."""
    if not lines:
        return
    grid = Table.grid()
    grid.add_column(width=4)
    grid.add_column(overflow="fold")
    for line in lines:
        grid.add_row("  - ", Text(line))
    console.print(grid)


class _CountColumn(ProgressColumn):
    """'1,600 posts' once something was counted; nothing for a stage that counts no posts (publish, report)."""

    def render(self, task) -> Text:
        return Text(f"{task.completed:>6,.0f} {task.fields['unit']}" if task.completed else "")


def _progress(console: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), _CountColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _done(progress: Progress, task: int, description: str | None = None) -> None:
    """Mark a task finished: its bar fills, its spinner and clock stop."""
    done = next(t.completed for t in progress.tasks if t.id == task)
    progress.update(task, total=done, completed=done, **({"description": description} if description else {}))
    progress.stop_task(task)


class _FetchBars:
    """One progress row per source, advanced from the fetch threads with records fetched so far."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, int] = {}
        self.finished = False

    def __call__(self, source: str, fetched: int) -> None:
        if source not in self.tasks:
            self.tasks[source] = self.progress.add_task(f"fetch {escape(source)}", total=None, unit="records")
        self.progress.update(self.tasks[source], completed=fetched)

    def finish(self) -> None:
        """Fetching is over: fill every bar and stop its clock, which would otherwise run through the later stages."""
        if self.finished:
            return
        self.finished = True
        for task in self.tasks.values():
            _done(self.progress, task)


def _warning_note(result: dict) -> str:
    count = len(result.get("warnings") or [])
    return f"{count:,} warning{'s' if count != 1 else ''}" if count else ""


def _print_sources_run(results: list[dict], settings: Settings, console: Console) -> None:
    if not results:
        console.print(Text(f"no enabled sources in {settings.file}: add [[sources]] blocks (README, docs/sources.md)"))
        return
    console.print(_source_table(results))
    warned = sum(len(r.get("warnings") or []) for r in results)
    if warned:
        console.print(Text(f"{warned:,} warning(s): listen status --warnings lists them (with file and line where "
                           f"the source knows them)"))


def _source_table(results: list[dict]) -> Table:
    table = _table("source", "status", "fetched", "new", "note", title="sources", right=("fetched", "new"))
    for r in results:
        colour = {"ok": "green", "partial": "yellow", "failed": "red"}.get(r["status"], "white")
        note = r.get("error") or _warning_note(r) or "; ".join(r.get("notes") or [])
        table.add_row(Text(r["source"]), Text(r["status"], style=colour), f"{r.get('fetched', 0):,}",
                      f"{r.get('new', 0):,}", Text(note))
    return table


def ingest_with_progress(settings: Settings, *, only=None, console: Console) -> list[dict]:
    from pipelines.daily import ingest, new_run_id

    with _progress(console) as progress:
        bars = _FetchBars(progress)
        results = ingest(settings, new_run_id(), only=only, progress=bars)
        bars.finish()
    _print_sources_run(results, settings, console)
    return results


@contextlib.contextmanager
def stage_progress(console: Console, name: str):
    """Yields advance(n) for a stage that reports how many posts it processed; the spinner and clock run from
    the start, so a stage that loads a model before its first post shows it is working."""
    with _progress(console) as progress:
        task = progress.add_task(name, total=None, unit="posts")
        yield lambda n=1: progress.advance(task, n)
        _done(progress, task, f"{name} done")


def run_with_progress(settings: Settings, *, day=None, only=None, report=True, console: Console):
    """`listen run`: one line per stage as it ends, a spinner with the posts processed while one runs."""
    from pipelines.daily import run_daily

    with _progress(console) as progress:
        bars = _FetchBars(progress)
        current = {"task": None}

        def start_next() -> None:
            current["task"] = progress.add_task("working", total=None, unit="posts")

        def on_stage(stage) -> None:
            bars.finish()
            _done(progress, current["task"], f"{stage.name} done")
            mark = "[green]ok[/green]" if stage.ok else "[red]failed[/red]"
            progress.console.print(f"{stage.name:<10} {mark} {stage.seconds:6.1f}s  {escape(stage.error or '')}")
            start_next()

        start_next()
        result = run_daily(settings, day=day, only=only, report=report, fetch_progress=bars,
                           stage_progress=lambda n=1: progress.advance(current["task"], n), on_stage=on_stage)
        progress.remove_task(current["task"])  # the one started after the last stage
    _print_sources_run(result.sources, settings, console)
    return result


def _cell(value) -> Text:
    """One value as the table shows it: NULL dimmed, times to the second, floats to 4 decimals, lists as [a, b]."""
    if value is None:
        return Text("NULL", style="dim")
    if isinstance(value, dt.datetime):
        return Text(value.isoformat(sep=" ", timespec="seconds"))
    if isinstance(value, float):
        return Text(f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else str(value))
    if isinstance(value, (list, tuple)):
        return Text("[" + ", ".join(_cell(v).plain for v in value) + "]")
    if isinstance(value, dict):
        return Text("{" + ", ".join(f"{k}: {_cell(v).plain}" for k, v in value.items()) + "}")
    return Text(str(value))


def _fits(columns: list[str], cells: list[list[Text]], width: int) -> bool:
    """Whether a table of these rows stays readable at `width`: every column gets its header or its longest value,
    whichever is shorter, up to 16 characters (longer text wraps), plus 2 for padding."""
    needed = 0
    for i, name in enumerate(columns):
        longest = max((len(row[i].plain) for row in cells[:200]), default=0)
        needed += min(max(len(name), min(longest, len(name) + 2), 4), 16) + 2
    return needed <= width


def print_rows(columns: list[str], rows: list[tuple], fmt: str, console: Console) -> None:
    """Query results as a table, CSV or JSON. A table too wide for the terminal is printed one block per row
    (column: value), as psql's expanded mode does, instead of squeezing every column to a few characters."""
    if fmt == "json":
        console.print_json(json.dumps([dict(zip(columns, row)) for row in rows], default=str))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows(rows)
        console.out(buffer.getvalue(), end="", highlight=False)
        return
    cells = [[_cell(v) for v in row] for row in rows]
    if _fits(columns, cells, console.width):
        numeric = tuple(name for i, name in enumerate(columns)
                        if rows and all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool)
                                        for row in rows if row[i] is not None))
        table = _table(*columns, right=numeric)
        for row in cells:
            table.add_row(*row)
        console.print(table)
    else:
        label = max((len(c) for c in columns), default=0)
        for number, row in enumerate(cells, start=1):
            console.print(Text(f"-- row {number} " + "-" * max(0, min(console.width, 60) - 10 - len(str(number))),
                               style="dim"))
            block = Table.grid(padding=(0, 2))
            block.add_column(width=min(label, 24), style="bold", overflow="fold")
            block.add_column(overflow="fold")
            for name, value in zip(columns, row):
                block.add_row(Text(name), value)
            console.print(block)
        if rows:
            console.print(Text(f"({len(columns)} columns do not fit {console.width} characters side by side: one block "
                               f"per row; --format csv or json for files)", style="dim"))
    console.print(f"[dim]{len(rows)} row(s)[/dim]")


def explain_sql_mistake(exc: Exception) -> str:
    """DuckDB's own message for a mistake in a user's query, and what to do about it."""
    message = str(exc).strip()
    lowered = message.lower()
    if isinstance(exc, duckdb.PermissionException) or "read-only" in lowered or "configuration has been locked" in lowered:
        hint = READ_ONLY_HINT
    elif isinstance(exc, (duckdb.ParserException, duckdb.SyntaxException)):
        hint = SYNTAX_HINT
    elif isinstance(exc, (duckdb.BinderException, duckdb.CatalogException)):
        hint = NAMES_HINT
    elif isinstance(exc, duckdb.DataError):
        hint = DATA_HINT
    else:
        hint = "see DuckDB's message above"
    return f"{message}\nhint: {hint}"


def sql_shell(snapshot, console: Console) -> None:
    """A small read-only prompt on the snapshot; each query opens the current snapshot file."""
    from pipelines.warehouse import WarehouseError, query_snapshot

    console.print(f"[dim]snapshot {escape(str(snapshot))} (read-only). End statements with ';'. Ctrl-D to quit.[/dim]")
    buffer = ""
    while True:
        try:
            line = input("listen> " if not buffer else "   ...> ")
        except EOFError:
            console.print()
            return
        buffer += line + "\n"
        if not buffer.strip().endswith(";"):
            continue
        query, buffer = buffer.strip().rstrip(";"), ""
        try:
            columns, rows = query_snapshot(snapshot, query)
            print_rows(columns, rows, "table", console)
        except SQL_MISTAKES as exc:  # keep the shell alive on a bad query
            console.print(Text(explain_sql_mistake(exc), style="red"))
        except (WarehouseError, duckdb.Error) as exc:
            console.print(Text(str(exc), style="red"))


def print_next_steps(settings: Settings, console: Console) -> None:
    """After `listen init`: what to do next, for this config."""
    config = f"listen --config {settings.file}"
    enabled = [s.name for s in settings.sources if s.enabled]
    if enabled:
        steps = [(f"{config} run", f"fetch {len(enabled)} source(s) ({', '.join(enabled)}), enrich, find topics, "
                                   f"check, publish the snapshot, write the report"),
                 (f"{config} status", "what the run did, per source, with its warnings")]
    else:
        steps = [(f"edit {settings.file}", "add [[sources]] blocks (examples: README, docs/sources.md)"),
                 (f"{config} run", "then fetch them and run the daily job"),
                 ("listen demo", "or first try everything on bundled real data")]
    console.print("next:")
    _bullets(console, [f"{command}  —  {what}" for command, what in steps])


def print_enrich_summary(detail: dict, console: Console) -> None:
    older = detail.get("relabelled_from")
    if older is not None:
        if older:
            counts = ", ".join(f"{posts:,} of {version}" for version, posts in older.items())
            console.print(Text(f"relabelled with {detail['version']}: {counts}; trends and the report count the new "
                               f"labels from the next `listen run` (or `listen check`)"))
        else:
            console.print(Text(f"nothing to relabel: every live post is labelled by {detail['version']}"))
    if not detail.get("enriched"):
        if older is None:
            console.print("nothing to enrich: every stored post already has language, sentiment and intent")
        return
    console.print(f"enriched {detail['enriched']:,} posts (language, sentiment, intent); embedded "
                  f"{detail.get('embedded', 0):,}; {detail.get('seconds', 0):.1f}s")


def print_topics_summary(detail: dict, console: Console) -> None:
    """What `listen topics` did: the refit (or why not), the assignment, the trend rows."""
    refit = detail.get("refit") or {}
    if refit.get("refit"):
        console.print(Text(
            f"refit ({refit.get('reason')}): model {refit.get('model_version')} on {refit.get('documents', 0):,} "
            f"posts, {refit.get('topics', 0)} topics, {100 * (refit.get('unassigned_share') or 0):.1f}% without a "
            f"topic, {refit.get('seconds', 0):.1f}s"))
    else:
        console.print(Text(f"no refit: {refit.get('reason') or 'not due'}"))
    assigned = detail.get("assigned") or {}
    if assigned.get("model_version"):
        console.print(Text(f"assigned {assigned.get('assigned', 0):,} new posts to topics with model "
                           f"{assigned['model_version']}; {assigned.get('unassigned', 0):,} fit no topic"))
    else:
        console.print(Text(f"no topics assigned: {assigned.get('reason') or 'no model yet'}"))
    trends = detail.get("trends") or {}
    console.print(f"topic trends: {trends.get('rows', 0):,} rows for {trends.get('days', 0):,} changed day(s)")


def _check_name(expectation: str) -> str:
    """'expect_column_values_to_be_in_set(lang)' -> 'in set' (the column is shown beside it)."""
    name = expectation.split("(", 1)[0].removeprefix("expect_").removeprefix("column_")
    name = name.replace("value_lengths_to_", "length_").replace("values_to_", "")
    return " ".join(word for word in name.split("_") if word not in {"be", "to"})


def _column_of(expectation: str, column: str | None) -> str:
    if column:
        return column
    return expectation.split("(", 1)[1].rstrip(")") if "(" in expectation else ""


def print_check_summary(detail: dict, console: Console) -> None:
    results = detail.get("results") or []
    rows = detail.get("rows_checked") or {}
    checked = ", ".join(f"{n:,} {name}" for name, n in rows.items())
    console.print(f"checked {checked or 'nothing new'}: {len(results)} expectations, {detail.get('failed', 0)} failed "
                  f"({detail.get('critical_failures', 0)} critical); {detail.get('quarantined', 0):,} posts "
                  f"quarantined")
    failed = [r for r in results if not r["success"]]
    if failed:
        table = _table("suite", "column", "check", "failing", "critical", right=("failing",))
        for r in failed:
            table.add_row(r["suite"], Text(_column_of(r["expectation"], r.get("column"))),
                          _check_name(r["expectation"]), f"{r['unexpected_count']:,}",
                          "yes" if r["critical"] else "")
        console.print(table)


def print_forget_summary(summary: dict, console: Console) -> None:
    whose = (f"of that author on source {summary['source']}" if "source" in summary
             else f"with url {summary.get('url')}")
    console.print(Text(
        f"removed {summary.get('posts', 0):,} post(s) {whose}, {summary.get('embeddings', 0):,} embedding(s) and "
        f"{summary.get('landing_records', 0):,} landed record(s); the warehouse file was rewritten so no deleted "
        f"text survives in it" + ("; the snapshot was republished" if summary.get("snapshot") else "")))
    topics = summary.get("topics") or {}
    if topics.get("models_affected"):
        refit = (f"the topic model was refitted without them (model {topics['refit']})" if topics.get("refit")
                 else f"no topic model could be refitted now ({topics['refit_skipped']}); the next run fits one"
                 if "refit_skipped" in topics else "the topic model in use had not seen them")
        console.print(Text(
            f"topics: {refit}; {len(topics.get('models_removed', [])):,} model folder(s) that had learnt from them "
            f"deleted; {topics.get('topics_scrubbed', 0):,} older topic description(s) lost words only they used"))


def _open_for_status(settings: Settings):
    """The warehouse read-only if free, else the snapshot (a run is writing)."""
    from pipelines.warehouse import WarehouseError, connect

    try:
        return connect(settings.paths.warehouse, read_only=True), "warehouse"
    except WarehouseError:
        return connect(settings.paths.snapshot, read_only=True), "snapshot"


def _snapshot_published_at(con):
    """When the snapshot `con` reads was published (None if it has no record)."""
    from pipelines.warehouse import SNAPSHOT_META

    try:
        return con.execute(f"SELECT published_at FROM main.{SNAPSHOT_META}").fetchone()[0]
    except (duckdb.Error, TypeError):
        return None


def _stage_problems(stages_json) -> list[str]:
    try:
        stages = json.loads(stages_json) if isinstance(stages_json, str) else (stages_json or [])
    except ValueError:
        return []
    return [s.get("error") or f"{s.get('name')}: failed (no message recorded; see the task log if Airflow ran it)"
            for s in stages if isinstance(s, dict) and not s.get("ok")]


def _topics_line(con) -> Text:
    """One line on the topic model: the one in use, or why there is none yet (not an error)."""
    from pipelines.topics.stage import topics_state

    state = topics_state(con)
    if state["state"] == "fitted":
        return Text(f"topics: model {state['model_version']} fitted {str(state['fitted_at'])[:16]} on "
                    f"{state['documents']:,} posts, {state['topics']} topics")
    if state["state"] in ("waiting", "no_topics"):
        line = Text("topics: ")
        line.append(str(state["reason"]), style="yellow")
        line.append(f" (checked {str(state['attempted_at'])[:16]}); the daily run tries again as posts arrive")
        return line
    return Text("topics: no model yet; `listen run` or `listen topics` fits one once enough posts are stored")


def _print_runs(con, console: Console, origin: str) -> None:
    """The last five runs: status, when, whether each published the snapshot; below, every failure's reason."""
    runs = con.execute("""SELECT run_id, status, started_at, finished_at, published, stages, message
                          FROM core.pipeline_runs ORDER BY started_at DESC LIMIT 5""").fetchall()
    if not runs:
        console.print("no runs yet: listen run (or listen demo)")
        return
    publisher = None
    if origin == "snapshot":
        # Every table was copied while the publishing run was still going: it shows as running, unpublished.
        published_at = _snapshot_published_at(con)
        publisher = next((r[0] for r in runs if r[1] == "running" and published_at and r[2] <= published_at), None)
        console.print(Text(f"A run is writing the warehouse now; this is the state the last published snapshot "
                           f"recorded ({_when(published_at) or 'time unknown'}).", style="dim"))
    table = _table("run", "status", "started", "took", "published", title="last runs")
    problems: list[tuple[str, list[str]]] = []
    published_with_problems = False
    for run_id, status, started, finished, published, stages, message in runs:
        if run_id == publisher:
            status, published = "publishing", True
        colour = {"ok": "green", "failed": "red", "running": "yellow"}.get(status, "white")
        shown = "yes" if published else ("no: quality gate" if _blocked(con, run_id) else "no")
        table.add_row(run_id, Text(status, style=colour), _when(started), _took(started, finished), shown)
        reasons = _stage_problems(stages) + _source_errors(con, run_id)
        if status == "failed" and not reasons and message:
            reasons = [message]
        if reasons:
            problems.append((run_id, reasons))
            published_with_problems |= bool(published)
    console.print(table)
    for run_id, reasons in problems:
        console.print(Text(f"{run_id}:", style="bold"))
        _bullets(console, reasons)
    if published_with_problems:
        console.print(Text("A run whose quality gate passed publishes the snapshot even when a source or a stage "
                           "before the gate failed: analysts get what did arrive. A critical quality failure keeps "
                           "the last good snapshot.", style="dim"))


def _blocked(con, run_id: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM core.quality_results WHERE run_id = ? AND critical AND NOT success",
                            [run_id]).fetchone()[0])


def _source_errors(con, run_id: str) -> list[str]:
    return [f"{source}: {error or 'failed'}" if not (error or "").startswith(f"{source}:") else error
            for source, error in con.execute(
                "SELECT source, error FROM core.source_runs WHERE run_id = ? AND status = 'failed' ORDER BY source",
                [run_id]).fetchall()]


def _print_sources(con, console: Console) -> int:
    """Per-source health; returns how many warnings the sources' last runs recorded."""
    health = con.execute("""
        SELECT source,
               max(finished_at) FILTER (WHERE status IN ('ok', 'partial')) AS last_success,
               arg_max(status, started_at) AS last_status,
               arg_max(new, started_at) AS last_new,
               arg_max(coalesce(len(warnings), 0), started_at) AS last_warnings,
               arg_max_null(error, started_at) AS last_error,  -- NULL when the last run had none
               array_to_string(arg_max(coalesce(notes, []), started_at), '; ') AS last_notes
        FROM core.source_runs GROUP BY source ORDER BY source""").fetchall()
    if not health:
        return 0
    table = _table("source", "last success", "last run", "new", "warnings", "note", title="sources",
                   right=("new", "warnings"))
    errors = []
    for source, success, status, new, warnings, error, notes in health:
        colour = {"ok": "green", "partial": "yellow", "failed": "red"}.get(status, "white")
        table.add_row(Text(source), _when(success) or Text("never", style="red"), Text(status, style=colour),
                      f"{new:,}", f"{warnings:,}" if warnings else "", Text(notes or ""))
        if error:
            errors.append(error if error.startswith(f"{source}:") else f"{source}: {error}")
    console.print(table)
    _bullets(console, errors)
    return sum(row[4] for row in health)


def _print_quality(con, console: Console) -> None:
    latest = con.execute("SELECT run_id, max(checked_at) FROM core.quality_results "
                         "GROUP BY run_id ORDER BY 2 DESC LIMIT 1").fetchone()
    if not latest:
        return
    results = con.execute("""
        SELECT suite, expectation, "column", success, unexpected_count, critical, details FROM core.quality_results
        WHERE run_id = ? ORDER BY success, NOT critical, suite, expectation""", [latest[0]]).fetchall()
    failed = sum(1 for r in results if not r[3])
    table = _table("suite", "column", "check", "ok", "failing", "critical",
                   title=f"quality (last check: run {latest[0]}, {failed} of {len(results)} failed)",
                   right=("failing",))
    notes = []
    for suite, expectation, column, success, unexpected, critical, details in results:
        table.add_row(suite, Text(_column_of(expectation, column)), _check_name(expectation),
                      Text("yes", style="green") if success else Text("no", style="red"), f"{unexpected:,}",
                      "yes" if critical else "")
        if not success:
            try:
                info = json.loads(details) if details else {}
            except ValueError:
                info = {}
            why = info.get("error") or info.get("systemic") or info.get("why") or ""
            sample = ", ".join(str(v) for v in (info.get("sample") or [])[:3])
            notes.append(f"{suite}.{_column_of(expectation, column)} {_check_name(expectation)}: {why}"
                         + (f" (e.g. {sample})" if sample else ""))
    console.print(table)
    _bullets(console, notes)


def _topics_line(con) -> str:
    """One line on the topic model: the one in use, or why there is none yet (not an error)."""
    from pipelines.topics.stage import topics_state

    state = topics_state(con)
    if state["state"] == "fitted":
        return (f"topics: model {state['model_version']} fitted {str(state['fitted_at'])[:16]} on "
                f"{state['documents']:,} posts, {state['topics']} topics")
    if state["state"] in ("waiting", "no_topics"):
        return (f"topics: [yellow]{state['reason']}[/yellow] (checked {str(state['attempted_at'])[:16]}); "
                f"the daily run tries again as posts arrive")
    return "topics: no model yet; `listen run` or `listen topics` fits one once enough posts are stored"


ALERT_DAYS = 7  # `listen status` lists the alerts of this many days


def print_alerts(con, settings: Settings, console: Console, days: int = ALERT_DAYS) -> int:
    """The alerts raised for the last `days` days, newest first: a short table, then each message and where it
    was sent (or why not); returns how many."""
    from pipelines.alerts.messages import describe
    from pipelines.alerts.store import has_alerts, recent_alerts
    from pipelines.report.i18n import Strings

    if not has_alerts(con):
        return 0
    found = recent_alerts(con, dt.date.today() - dt.timedelta(days=days - 1), examples=False)
    if not found:
        console.print(Text(f"no alerts in the last {days} days", style="dim"))
        return 0
    t = Strings(settings.raw.alerts.lang or settings.raw.report.lang)
    table = _table("raised", "kind", "about", "where", "score", "sent", title=f"alerts (last {days} days)",
                   right=("score",))
    lines = []
    for a in found:
        about = a["source"] if a["kind"] == "source_down" else (a["label"] or f"topic {a['topic_id']}")
        sent = ", ".join(a["sent_to"]) if a["sent_to"] else ("failed" if a["send_errors"] else "no")
        table.add_row(_when(a["raised_at"]), a["kind"].replace("_", " "), Text(about),
                      Text(a["community"] or a["channel"] or ""), "" if a["score"] is None else f"{a['score']:.1f}",
                      Text(sent, style="green" if a["sent_to"] else "red" if a["send_errors"] else "dim"))
        lines.append(describe(a, t))
        lines += [f"not sent: {error}" for error in a["send_errors"]]
    console.print(table)
    _bullets(console, lines)
    if not settings.raw.alerts.send_to:
        console.print(Text("alerts are not sent anywhere: add [[alerts.send_to]] blocks (docs/alerts.md)", style="dim"))
    return len(found)


def print_alert_check(settings: Settings, day: dt.date, console: Console, top: int = 10) -> None:
    """`listen alerts`: the strongest topic x channel moves of the window ending `day`, each with its counts,
    score and why it is or is not an alert; then the sources failing day after day. Read-only."""
    from pipelines.alerts.detect import failing_streaks, judged
    from pipelines.alerts.store import has_alerts

    config = settings.raw.alerts
    con, origin = _open_for_status(settings)
    try:
        if not has_alerts(con):
            console.print(f"the {origin} has no alerts tables yet: run `listen init` (it applies the migrations)")
            return
        moves = judged(con, config, day)[:top]
        streaks = failing_streaks(con, day)
    finally:
        con.close()
    recent_from = day - dt.timedelta(days=config.recent_days - 1)
    console.print(f"{recent_from} – {day} against the {config.baseline_days} days before (read from the {origin}); "
                  f"an alert needs min_posts {config.min_posts}, score >= {config.min_score:g} and a share grown "
                  f">= {config.min_ratio:g}x (volume) or negative share up >= {100 * config.min_negative_rise:.0f} "
                  f"points")
    table = _table("kind", "topic", "channel", "now", "before", "score", "verdict", title="strongest moves",
                   right=("now", "before", "score"))
    for kind, c, detail in moves:
        now, before = ((c.posts_now, c.posts_before) if kind == "topic_volume" else
                       (f"{c.negative_now}/{c.posts_now}", f"{c.negative_before}/{c.posts_before}"))
        verdict = detail["held"] or "alert"
        table.add_row(kind.replace("topic_", "").replace("_", " "), str(c.topic_id), Text(c.channel), str(now),
                      str(before), f"{detail['score']:.2f}", Text(verdict, style="red" if verdict == "alert" else ""))
    if moves:
        console.print(table)
        console.print(Text("now/before: posts of the topic in the channel (volume), negative/all posts (negative "
                           "share); topic names: listen sql \"SELECT topic_id, label FROM topics\"", style="dim"))
    else:
        console.print("no topic has posts in the recent window")
    down = {name: s for name, s in streaks.items() if any(src.name == name and src.enabled for src in settings.sources)}
    for name, streak in sorted(down.items()):
        verdict = "alert" if streak["days"] >= config.source_down_days else f"below source_down_days {config.source_down_days}"
        console.print(Text(f"source {name}: failed on {streak['days']} run day(s) in a row since {streak['since']} "
                           f"({verdict})"))


def print_status(settings: Settings, console: Console) -> None:
    con, origin = _open_for_status(settings)
    try:
        print_alerts(con, settings, console)
        _print_runs(con, console, origin)
        warnings = _print_sources(con, console)
        _print_quality(con, console)
        console.print(_topics_line(con))
        _print_older_labels(con, settings, console)
        total = con.execute("SELECT count(*), max(fetched_at) FROM core.posts").fetchone()
        console.print(f"{total[0]:,} posts stored; last fetched {_when(total[1]) or 'never'}; read from the {origin} "
                      f"at {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}")
        if warnings:
            console.print(Text(f"{warnings:,} warning(s) in the sources' last runs: listen status --warnings"))
    finally:
        con.close()


def _print_older_labels(con, settings: Settings, console: Console) -> None:
    """How many live posts older rules or models labelled, and the command that labels them again."""
    from pipelines.enrich.stage import older_labels
    from pipelines.errors import ListenError

    try:
        older = older_labels(con, settings)
    except ListenError as exc:  # a broken model file must not hide the rest of the status
        console.print(Text(f"labels: cannot tell which posts older models labelled ({exc})", style="yellow"))
        return
    if older:
        counts = ", ".join(f"{posts:,} by {version}" for version, posts in older)
        console.print(Text(f"labels: {sum(n for _, n in older):,} posts were labelled by older rules or models "
                           f"({counts}); `listen enrich --relabel` labels them with the current ones", style="yellow"))


def print_warnings(settings: Settings, console: Console, *, days: int = 7, source: str | None = None) -> int:
    """Every warning recorded by source runs of the last `days` days (newest run first), with its file and line
    where the source knows them; returns how many were printed."""
    con, origin = _open_for_status(settings)
    try:
        runs = con.execute("""
            SELECT run_id, source, started_at, status, fetched, warnings FROM core.source_runs
            WHERE started_at >= now() - to_days(CAST(? AS INTEGER)) AND len(warnings) > 0
              AND (CAST(? AS VARCHAR) IS NULL OR source = ?)
            ORDER BY started_at DESC, source""", [days, source, source]).fetchall()
    finally:
        con.close()
    where = f" from {source}" if source else ""
    if not runs:
        console.print(f"no warnings{where} in the last {days} day(s) (read from the {origin})")
        return 0
    shown = 0
    total = sum(len(r[5]) for r in runs)
    for run_id, name, started, status, fetched, warnings in runs:
        if shown >= MAX_WARNINGS_SHOWN:
            break
        console.print(Text(f"{name} · run {run_id} · {_when(started)} · {status}, {fetched:,} fetched · "
                           f"{len(warnings)} warning(s)", style="bold"))
        listed = list(warnings[:MAX_WARNINGS_SHOWN - shown])
        _bullets(console, listed)
        shown += len(listed)
    if shown < total:
        console.print(Text(f"... {total - shown:,} more; narrow with --source NAME or --days N", style="dim"))
    return shown
