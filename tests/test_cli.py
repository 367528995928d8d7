"""The CLI contract: help everywhere, exit codes, no tracebacks for user errors."""

import json
from pathlib import Path

import pytest

from pipelines.cli import main

COMMANDS = [["init"], ["run"], ["ingest"], ["enrich"], ["topics"], ["check"], ["report"], ["analyze"], ["sql"],
            ["demo"], ["forget"], ["status"], ["airflow"], ["follow-up", "done"], ["follow-up", "list"],
            ["action", "add"], ["action", "list"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys):
    assert main([*command, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_unknown_option_is_a_usage_error(capsys):
    assert main(["run", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert "bogus" in err and "Traceback" not in err


def test_bad_date_is_a_usage_error(write_config, capsys):
    path = write_config("")
    assert main(["--config", str(path), "run", "--date", "21-11-2026"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_sql_before_any_run_says_what_to_do(write_config, capsys):
    path = write_config("")
    assert main(["--config", str(path), "sql", "SELECT 1"]) == 1
    err = capsys.readouterr().err
    assert "listen run" in err and "Traceback" not in err


def test_forget_needs_author_and_source_or_url(write_config, capsys):
    path = write_config("")
    assert main(["--config", str(path), "forget", "--author", "someone"]) == 2
    assert "--source" in capsys.readouterr().err


def test_debug_shows_the_traceback(write_config, capsys):
    path = write_config("")
    assert main(["--debug", "--config", str(path), "sql", "SELECT 1"]) == 1
    assert "Traceback" in capsys.readouterr().err


# --- help: no type jargon, defaults shown -------------------------------------------------------------------

JARGON = ("<bool>", "<str>", "<int>", "<path>", "<list[", "<float>")


@pytest.mark.parametrize("command", [[], *COMMANDS, ["follow-up"], ["action"]], ids=lambda c: " ".join(c) or "listen")
def test_help_shows_no_type_jargon(command, capsys):
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert not [word for word in JARGON if word in text], text


def test_report_help_names_its_defaults(capsys):
    assert main(["report", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "[report] days in listen.toml, else 7" in text
    assert "[report] formats, else all three" in text
    assert "[report] lang, else en" in text
    assert "YYYY-MM-DD" in text


# --- listen sql: read-only for real, mistakes are the user's (exit 2) with DuckDB's message and a hint ------

@pytest.fixture
def snapshot_install(write_config, tmp_path):
    from pipelines.daily import ingest, new_run_id, publish

    from helpers import import_source, make_install

    rows = [{"id": str(i), "text": f"[bold]post {i}[/bold] about delivery", "author": f"reader{i % 3}",
             "created_at": "2026-11-20T10:00:00Z"} for i in range(5)]
    (tmp_path / "s.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    settings = make_install(write_config, import_source("survey", "s.jsonl"))
    ingest(settings, new_run_id())
    publish(settings)
    return settings


@pytest.mark.parametrize("query,refused", [
    ("DROP TABLE core.posts", "read-only"),
    ("DELETE FROM core.posts", "read-only"),
    ("COPY (SELECT * FROM posts) TO '{out}'", "file system operations are disabled"),
    ("EXPORT DATABASE '{out}'", "file system operations are disabled"),
    ("ATTACH '{out}' AS other", "file system operations are disabled"),
    ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
    ("INSTALL httpfs", "disabled"),
    ("SET enable_external_access = true", "configuration has been locked"),
    ("RESET enable_external_access", "configuration has been locked"),
])
def test_sql_refuses_every_write_and_file_access(snapshot_install, tmp_path, capsys, query, refused):
    out = tmp_path / "leak.out"
    before = snapshot_install.paths.snapshot.read_bytes()
    assert main(["--config", str(snapshot_install.file), "sql", query.format(out=out)]) == 2
    err = capsys.readouterr().err
    assert refused in err and "only queries the analyst snapshot" in err
    assert "unexpected" not in err and "Traceback" not in err
    assert not out.exists()
    assert snapshot_install.paths.snapshot.read_bytes() == before


@pytest.mark.parametrize("query,message,hint", [
    ("SELEC 1", "Parser Error", "check the SQL syntax"),
    ("SELECT no_such_column FROM posts", "Binder Error", "DESCRIBE posts"),
    ("SELECT * FROM no_such_view", "Catalog Error", "SHOW TABLES"),
    ("SELECT CAST(body AS INTEGER) FROM posts", "Conversion Error", "TRY_CAST"),
])
def test_sql_mistakes_exit_2_with_duckdbs_message_and_a_hint(snapshot_install, capsys, query, message, hint):
    for debug in ([], ["--debug"]):
        assert main([*debug, "--config", str(snapshot_install.file), "sql", query]) == 2
        err = capsys.readouterr().err
        assert message in err and "hint:" in err and hint in " ".join(err.split())
        assert "unexpected" not in err


def test_sql_reads_still_work(snapshot_install, capsys):
    assert main(["--config", str(snapshot_install.file), "sql", "--format", "csv",
                 "SELECT count(*) AS n FROM posts"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "5"]
    assert main(["--config", str(snapshot_install.file), "sql", "--format", "xml", "SELECT 1"]) == 2


def _screen(monkeypatch):
    import io

    from rich.console import Console

    from pipelines import cli

    console = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    monkeypatch.setattr(cli, "console", console)
    return console


def test_sql_tables_stay_readable_at_80_columns(snapshot_install, monkeypatch):
    console = _screen(monkeypatch)
    assert main(["--config", str(snapshot_install.file), "sql", "SELECT source, count(*) AS posts FROM posts "
                                                                  "GROUP BY 1"]) == 0
    narrow = console.export_text()
    assert any(line.split() == ["survey", "5"] for line in narrow.splitlines())
    assert main(["--config", str(snapshot_install.file), "sql", "SELECT * FROM posts ORDER BY post_id"]) == 0
    wide = console.export_text()
    assert max(len(line) for line in wide.splitlines()) <= 80
    assert "…" not in wide
    assert "-- row 5 " in wide and "do not fit 80 characters side by side" in " ".join(wide.split())
    # every column of a row is there in full, including text that looks like rich markup
    assert "[bold]post 0[/bold] about delivery" in wide
    assert any(line.split()[:2] == ["post_id", "survey:0"] for line in wide.splitlines())


# --- what commands print: sentences, not Python dicts; init says what to do next ----------------------------

def test_init_says_what_to_do_next(write_config, tmp_path, monkeypatch):
    console = _screen(monkeypatch)
    empty = write_config('[warehouse]\npath = "data/w.duckdb"\n')
    assert main(["--config", str(empty), "init"]) == 0
    text = " ".join(console.export_text().split())
    assert "add [[sources]] blocks" in text and "listen demo" in text
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "hi"}\n', encoding="utf-8")
    with_source = write_config('[warehouse]\npath = "data/w.duckdb"\n[[sources]]\nname = "survey"\nkind = "import"\n'
                               'path = "a.jsonl"\n', name="two.toml")
    assert main(["--config", str(with_source), "init"]) == 0
    text = " ".join(console.export_text().split())
    assert f"listen --config {with_source} run — fetch 1 source(s) (survey)" in text


def test_topics_and_forget_print_sentences_not_dicts(snapshot_install, monkeypatch):
    console = _screen(monkeypatch)
    assert main(["--config", str(snapshot_install.file), "topics"]) == 0
    text = console.export_text()
    assert "no refit: not enough posts yet: no enriched posts" in text and "no topics assigned" in text
    assert main(["--config", str(snapshot_install.file), "forget", "--author", "reader1", "--source", "survey"]) == 0
    text = " ".join(console.export_text().split())
    assert "removed 2 post(s) of that author on source survey" in text
    assert "{" not in console.export_text() and "'posts'" not in text


def test_check_summary_names_failures_by_column_and_check():
    import io

    from rich.console import Console

    from pipelines.console import print_check_summary

    console = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    print_check_summary({"results": [
        {"suite": "posts", "expectation": "expect_column_values_to_be_in_set(lang)", "column": "lang",
         "success": False, "critical": False, "unexpected_count": 3},
        {"suite": "posts", "expectation": "expect_column_values_to_not_be_null(post_id)", "column": "post_id",
         "success": True, "critical": True, "unexpected_count": 0}],
        "failed": 1, "critical_failures": 0, "quarantined": 3, "rows_checked": {"posts": 40}}, console)
    text = console.export_text()
    assert "checked 40 posts: 2 expectations, 1 failed (0 critical); 3 posts quarantined" in text
    assert any(line.split() == ["posts", "lang", "in", "set", "3"] for line in text.splitlines())


def test_sql_shell_explains_a_mistake_and_keeps_going(snapshot_install, monkeypatch):
    console = _screen(monkeypatch)
    lines = iter(["COPY posts TO '/tmp/listen-shell-leak.csv';", "SELECT count(*) AS n", "FROM posts;"])

    def fake_input(prompt):
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)
    assert main(["--config", str(snapshot_install.file), "sql"]) == 0
    screen = console.export_text()
    text = " ".join(screen.split())
    assert "file system operations are disabled" in text and "only queries the analyst snapshot" in text
    assert any(line.split() == ["5"] for line in screen.splitlines())  # the next query still ran
    assert not Path("/tmp/listen-shell-leak.csv").exists()
