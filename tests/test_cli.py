"""The CLI contract: help everywhere, exit codes, no tracebacks for user errors."""

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
