"""Feed and import ingestion end to end through the loopback sandbox: landing, load, cursor, source_runs."""

import datetime as dt
import gzip
import json
import re

from pipelines.cli import main
from pipelines.daily import ingest, new_run_id
from pipelines.landing import read_landed
from pipelines.warehouse import connect

from helpers import feed_source, import_source, make_install, query


def test_rss_and_atom_feeds_load_real_entries(write_config, sandbox):
    settings = make_install(write_config, feed_source("heise", sandbox.url("/feeds/heise.atom"))
                    + feed_source("guardian", sandbox.url("/feeds/guardian.rss")))
    results = {r["source"]: r for r in ingest(settings, new_run_id())}
    assert results["heise"]["status"] == "ok" and results["heise"]["new"] == 15
    assert results["guardian"]["new"] == 55
    heise = query(settings, "SELECT post_id, channel, community, kind, url, created_at FROM posts "
                           "WHERE source = 'heise' ORDER BY created_at DESC LIMIT 1")[0]
    assert heise[1:4] == ("feed", "heise developer neueste Meldungen", "post")
    assert heise[0] == "heise:http://heise.de/-3088438"
    assert heise[4].startswith("http://www.heise.de/developer/meldung/Java-Anwendungsserver-Red-Hat-gibt-WildFly-10")
    assert heise[5] == dt.datetime(2016, 2, 1, 16, 22, tzinfo=dt.timezone.utc)
    body = query(settings, "SELECT body FROM posts WHERE post_id = ?", [heise[0]])[0][0]
    assert body.startswith("Die nun verfügbare Version 10") and "<" not in body


def test_rerun_is_idempotent_and_uses_conditional_get(write_config, sandbox):
    settings = make_install(write_config, feed_source("heise", sandbox.url("/feeds/heise.atom")))
    first = ingest(settings, new_run_id())[0]
    second = ingest(settings, new_run_id())[0]
    assert (first["new"], second["fetched"], second["new"]) == (15, 0, 0)
    assert query(settings, "SELECT count(*) FROM core.posts")[0][0] == 15
    cursor = json.loads(query(settings, "SELECT cursor FROM core.source_cursors")[0][0])
    assert cursor["etag"]
    # an unchanged feed is a quiet day, not a problem: a note, no warning
    assert second["warnings"] == [] and second["notes"] == ["not modified since the last run (HTTP 304)"]
    assert query(settings, "SELECT warnings, notes FROM source_runs ORDER BY started_at DESC LIMIT 1")[0] == (
        [], ["not modified since the last run (HTTP 304)"])


def test_a_quiet_feed_day_shows_no_warning_in_status(write_config, sandbox, capsys):
    settings = make_install(write_config, feed_source("heise", sandbox.url("/feeds/heise.atom")))
    ingest(settings, new_run_id())
    ingest(settings, new_run_id())
    capsys.readouterr()
    assert main(["--config", str(settings.file), "status"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "warning(s)" not in shown  # "N warning(s) in the sources' last runs: listen status --warnings"
    # the heise row: last success, last run ok, 0 new, no warnings, the note
    assert re.search(r"heise \S+ \S+ ok 0 not modified since the last run \(HTTP 304\)", shown), shown


def test_replaying_a_landed_file_does_not_duplicate(write_config, sandbox):
    from pipelines.daily import fetch_source, load_source, plan_sources

    settings = make_install(write_config, feed_source("hn", sandbox.url("/feeds/hnrss-newest.rss")))
    outcome = fetch_source(settings, plan_sources(settings)[0], new_run_id())
    assert len(list(read_landed(outcome["landing_path"]))) == 20
    assert load_source(settings, outcome)["new"] == 20
    assert load_source(settings, outcome)["new"] == 0  # replay: same rows, nothing new
    assert query(settings, "SELECT count(*) FROM posts")[0][0] == 20


def test_landing_file_is_written_per_source_day_and_run(write_config, sandbox):
    settings = make_install(write_config, feed_source("hn", sandbox.url("/feeds/hnrss-newest.rss")))
    run_id = new_run_id(dt.date(2026, 11, 21))
    ingest(settings, run_id, day=dt.date(2026, 11, 21))
    path = settings.paths.data_dir / "landing" / "hn" / "2026-11-21" / f"{run_id}.jsonl.gz"
    records = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    assert len(records) == 20 and records[0]["link"].startswith("https://")


def test_ill_formed_feed_keeps_entries_and_warns(write_config, sandbox):
    settings = make_install(write_config, feed_source("cdata", sandbox.url("/feeds/feedparser/rss_incomplete_cdata.xml")))
    result = ingest(settings, new_run_id())[0]
    assert result["status"] == "ok"
    assert any("not well-formed" in w for w in result["warnings"])


def test_html_page_instead_of_feed_fails_that_source_only(write_config, sandbox):
    settings = make_install(write_config, feed_source("html", sandbox.url("/feeds/unrecognized.rss"))
                    + feed_source("heise", sandbox.url("/feeds/heise.atom")))
    results = {r["source"]: r for r in ingest(settings, new_run_id())}
    assert results["html"]["status"] == "failed" and "not a readable RSS/Atom feed" in results["html"]["error"]
    assert results["heise"]["new"] == 15
    runs = dict(query(settings, "SELECT source, status FROM source_runs"))
    assert runs == {"html": "failed", "heise": "ok"}


def test_entity_bomb_is_refused_and_nothing_stored_is_lost(write_config, sandbox):
    settings = make_install(write_config, feed_source("heise", sandbox.url("/feeds/heise.atom")))
    ingest(settings, new_run_id())
    sandbox.set_fault("/feeds/heise.atom", "entity_bomb")
    result = ingest(settings, new_run_id())[0]
    assert result["status"] == "failed" and "DTD entities" in result["error"]
    assert query(settings, "SELECT count(*) FROM posts")[0][0] == 15


def test_a_crashing_source_is_isolated_and_the_exit_code_says_so(write_config, sandbox, capsys):
    sandbox.set_fault("/feeds/guardian.rss", "status:500")
    settings = make_install(write_config, feed_source("guardian", sandbox.url("/feeds/guardian.rss"))
                    + feed_source("heise", sandbox.url("/feeds/heise.atom")))
    assert main(["--config", str(settings.file), "ingest"]) == 1
    err = capsys.readouterr().err
    assert "guardian" in err and "HTTP 500" in err
    assert query(settings, "SELECT source, count(*) FROM posts GROUP BY 1") == [("heise", 15)]
    failed = query(settings, "SELECT error FROM source_runs WHERE source = 'guardian'")[0][0]
    assert "HTTP 500" in failed


def test_import_jsonl_reports_bad_lines_and_loads_good_ones(write_config, tmp_path):
    lines = [
        {"id": "1", "text": "Please add a dark mode", "author": "Mette", "created_at": "2026-11-20T10:00:00+01:00"},
        "{not json",
        {"id": "2"},
        {"id": "3", "text": "Super app", "rating": 5, "community": "ios"},
        {"id": "4", "text": {"nested": "object"}},
    ]
    (tmp_path / "survey.jsonl").write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    settings = make_install(write_config, import_source("survey", "survey.jsonl"))
    result = ingest(settings, new_run_id())[0]
    assert result["new"] == 2
    warnings = " | ".join(result["warnings"])
    assert "survey.jsonl, line 2: not valid JSON" in warnings
    assert "survey.jsonl, line 3: missing required field 'text'" in warnings
    assert "survey.jsonl, line 5: field 'text' must be text" in warnings
    got = query(settings, "SELECT post_id, kind, rating, community, created_at FROM posts ORDER BY post_id")
    assert got[0][:2] == ("survey:1", "post")
    assert got[0][4] == dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
    assert got[1][1:4] == ("review", 5.0, "ios")


def test_import_csv_with_semicolons_nul_bytes_and_short_rows(write_config, tmp_path):
    (tmp_path / "export.csv").write_bytes(
        "id;text;author;rating\n1;Gerne mehr Rezepte, bitte!;Anna;4\n2;kaputt\x00text;Bob;1\n3;too;few\n"
        "4;\"Det er en god app; jeg bruger den\";Søren;5\n".encode("utf-8"))
    settings = make_install(write_config, import_source("reviews", "export.csv"))
    result = ingest(settings, new_run_id())[0]
    assert result["new"] == 2
    warnings = " | ".join(result["warnings"])
    assert "export.csv, line 3: field 'text' contains a NUL byte" in warnings
    assert "export.csv, line 4: 3 columns, header has 4" in warnings
    bodies = [r[0] for r in query(settings, "SELECT body FROM posts ORDER BY post_id")]
    assert bodies == ["Gerne mehr Rezepte, bitte!", "Det er en god app; jeg bruger den"]


def test_import_without_matching_file_fails_with_the_path(write_config):
    settings = make_install(write_config, import_source("missing", "nowhere/*.jsonl"))
    result = ingest(settings, new_run_id())[0]
    assert result["status"] == "failed" and "no file matches" in result["error"] and "nowhere" in result["error"]


def test_unchanged_import_file_is_not_read_again(write_config, tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "1", "text": "hej"}) + "\n")
    settings = make_install(write_config, import_source("a", "a.jsonl"))
    assert ingest(settings, new_run_id())[0]["fetched"] == 1
    assert ingest(settings, new_run_id())[0]["fetched"] == 0


def test_authors_are_pseudonymised_stably_and_never_stored(write_config, tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "1", "text": "first", "author": "Karen.Holm"}) + "\n"
        + json.dumps({"id": "2", "text": "second", "author": "karen.holm"}) + "\n")
    settings = make_install(write_config, import_source("a", "a.jsonl"))
    ingest(settings, new_run_id())
    keys = query(settings, "SELECT DISTINCT author_key FROM posts")
    assert len(keys) == 1 and keys[0][0].startswith("a_") and "karen" not in keys[0][0].lower()
    # a second run (new process state, same key file) maps the handle to the same pseudonym
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "3", "text": "third", "author": "KAREN.HOLM"}) + "\n")
    ingest(settings, new_run_id())
    assert query(settings, "SELECT count(DISTINCT author_key) FROM posts")[0][0] == 1
    dump = json.dumps(query(settings, "SELECT * FROM core.posts"), default=str).lower()
    assert "karen" not in dump
    assert settings.paths.key_file.stat().st_mode & 0o777 == 0o600


def test_personal_data_is_redacted_before_storage(write_config, tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(
        {"id": "1", "text": "Skriv til mette.hansen@example.dk eller ring 20 30 40 50"}) + "\n")
    settings = make_install(write_config, import_source("a", "a.jsonl"))
    ingest(settings, new_run_id())
    body = query(settings, "SELECT body FROM posts")[0][0]
    assert "mette.hansen@example.dk" not in body and "20 30 40 50" not in body


def test_changed_content_is_updated_and_re_enriched(write_config, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "old text"}) + "\n")
    settings = make_install(write_config, import_source("a", "a.jsonl"))
    ingest(settings, new_run_id())
    con = connect(settings.paths.warehouse)
    con.execute("UPDATE core.posts SET enriched_at = now(), lang = 'en'")
    con.close()
    path.write_text(json.dumps({"id": "1", "text": "new text, longer"}) + "\n")
    ingest(settings, new_run_id())
    assert query(settings, "SELECT body, enriched_at FROM core.posts") == [("new text, longer", None)]
