"""What the CLI shows people: progress bars, result tables, status. No pipeline logic lives here."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.config import Settings


def _progress(console: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    TextColumn("{task.completed:>6,.0f} {task.fields[unit]}"), TimeElapsedColumn(),
                    console=console, transient=False)


class _FetchBars:
    """One progress row per source, advanced from the fetch threads with records fetched so far."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def __call__(self, source: str, fetched: int) -> None:
        if source not in self.tasks:
            self.tasks[source] = self.progress.add_task(f"fetch {source}", total=None, unit="records")
        self.progress.update(self.tasks[source], completed=fetched)


def _source_table(results: list[dict]) -> Table:
    table = Table(title="sources", show_lines=False)
    for column in ("source", "status", "fetched", "new", "note"):
        table.add_column(column, justify="right" if column in {"fetched", "new"} else "left")
    for r in results:
        colour = {"ok": "green", "partial": "yellow", "failed": "red"}.get(r["status"], "white")
        note = r.get("error") or (f"{len(r.get('warnings') or [])} warnings" if r.get("warnings") else "")
        table.add_row(r["source"], f"[{colour}]{r['status']}[/{colour}]", f"{r.get('fetched', 0):,}",
                      f"{r.get('new', 0):,}", note[:120])
    return table


def ingest_with_progress(settings: Settings, *, only=None, console: Console) -> list[dict]:
    from pipelines.daily import ingest, new_run_id

    with _progress(console) as progress:
        results = ingest(settings, new_run_id(), only=only, progress=_FetchBars(progress))
    console.print(_source_table(results))
    return results


@contextlib.contextmanager
def stage_progress(console: Console, name: str):
    """Yields advance(n) for a stage that reports how many posts it processed."""
    with _progress(console) as progress:
        task = progress.add_task(name, total=None, unit="posts")
        yield lambda n=1: progress.advance(task, n)


def run_with_progress(settings: Settings, *, day=None, only=None, report=True, console: Console):
    from pipelines.daily import run_daily

    with _progress(console) as progress:
        stage_task = {"id": None}

        def stage_advance(n: int = 1) -> None:
            if stage_task["id"] is None:
                stage_task["id"] = progress.add_task("processing", total=None, unit="posts")
            progress.advance(stage_task["id"], n)

        def on_stage(stage) -> None:
            if stage_task["id"] is not None:
                progress.update(stage_task["id"], description=f"{stage.name} done")
                stage_task["id"] = None
            mark = "[green]ok[/green]" if stage.ok else "[red]failed[/red]"
            progress.console.print(f"{stage.name:<8} {mark} {stage.seconds:6.1f}s  {stage.error or ''}")

        result = run_daily(settings, day=day, only=only, report=report, fetch_progress=_FetchBars(progress),
                           stage_progress=stage_advance, on_stage=on_stage)
    console.print(_source_table(result.sources))
    return result


def print_rows(columns: list[str], rows: list[tuple], fmt: str, console: Console) -> None:
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
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)
    console.print(f"[dim]{len(rows)} row(s)[/dim]")


def sql_shell(snapshot, console: Console) -> None:
    """A small read-only prompt on the snapshot; each query opens the current snapshot file."""
    from pipelines.warehouse import WarehouseError, query_snapshot

    console.print(f"[dim]snapshot {snapshot} (read-only). End statements with ';'. Ctrl-D to quit.[/dim]")
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
        except (WarehouseError, Exception) as exc:  # keep the shell alive on a bad query
            console.print(f"[red]{exc}[/red]")


def _open_for_status(settings: Settings):
    """The warehouse read-only if free, else the snapshot (a run is writing)."""
    from pipelines.warehouse import WarehouseError, connect

    try:
        return connect(settings.paths.warehouse, read_only=True), "warehouse"
    except WarehouseError:
        return connect(settings.paths.snapshot, read_only=True), "snapshot (a run is writing the warehouse)"


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


def print_status(settings: Settings, console: Console) -> None:
    con, origin = _open_for_status(settings)
    try:
        console.print(f"[dim]from the {origin}[/dim]")
        runs = con.execute("""SELECT run_id, status, started_at, finished_at, published, message
                              FROM core.pipeline_runs ORDER BY started_at DESC LIMIT 5""").fetchall()
        table = Table("run", "status", "started", "finished", "published", "message", title="last runs")
        for r in runs:
            table.add_row(r[0], r[1], str(r[2])[:19], str(r[3] or "")[:19], "yes" if r[4] else "no", r[5] or "")
        console.print(table)
        health = con.execute("""
            SELECT source,
                   max(finished_at) FILTER (WHERE status IN ('ok', 'partial')) AS last_success,
                   arg_max(status, started_at) AS last_status,
                   arg_max(fetched, started_at) AS last_fetched,
                   arg_max(new, started_at) AS last_new,
                   arg_max(error, started_at) AS last_error
            FROM core.source_runs GROUP BY source ORDER BY source""").fetchall()
        table = Table("source", "last success", "last status", "fetched", "new", "last error", title="sources")
        for r in health:
            table.add_row(r[0], str(r[1] or "never")[:19], r[2], str(r[3]), str(r[4]), (r[5] or "")[:100])
        console.print(table)
        quality = con.execute("""
            SELECT suite, expectation, success, unexpected_count, critical FROM core.quality_results
            WHERE run_id = (SELECT max(run_id) FROM core.quality_results) ORDER BY success, suite""").fetchall()
        table = Table("suite", "expectation", "ok", "unexpected", "critical", title="quality (last check)")
        for r in quality:
            table.add_row(r[0], r[1], "[green]yes[/green]" if r[2] else "[red]no[/red]", str(r[3]),
                          "yes" if r[4] else "")
        console.print(table)
        console.print(_topics_line(con))
        total = con.execute("SELECT count(*), max(fetched_at) FROM core.posts").fetchone()
        console.print(f"{total[0]:,} posts stored; last fetched {str(total[1] or 'never')[:19]}; "
                      f"as of {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    finally:
        con.close()
