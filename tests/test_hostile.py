"""Hostile input through the real ingest path against the loopback sandbox: each case ends in bounded time and
memory with a clear message, and nothing already stored is lost. Secrets never reach any output.

(tests/test_http.py covers the HTTP client on its own; tests/test_ingest.py the entity bomb and NUL in a CSV field.)
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.daily import ingest, new_run_id
from pipelines.sandbox.server import Reply, Sandbox
from pipelines.warehouse import connect

from helpers import feed_source, import_source, make_install, query

HTTP = "[http]\nmin_delay = 0\nretries = 1\nbackoff = 0.01\nread_timeout = 2\nconnect_timeout = 1\n"
HEISE = "/feeds/heise.atom"
HEISE_POSTS = 15


def make(write_config, body, http=HTTP):
    return make_install(write_config, body, http)


def scalar(settings, sql, params=()):
    return query(settings, sql, params)[0][0]


def by_source(results):
    return {r["source"]: r for r in results}


def ingest_served_feed(write_config, body: bytes):
    """Serve `body` as the only feed of a fresh install from a one-off loopback server and ingest it once;
    returns (settings, that source's result, seconds the ingest took)."""
    server = Sandbox(services=())
    server.route("/feed.rss", lambda request: Reply(body=body, content_type="application/rss+xml"))
    with server:
        settings = make(write_config, feed_source("feed", server.url("/feed.rss")))
        started = time.monotonic()
        result = ingest(settings, new_run_id())[0]
    return settings, result, time.monotonic() - started


# -- XML entity expansion --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["entity_bomb", "quadratic_blowup"])
def test_entity_expansion_is_refused_and_stored_posts_stay(write_config, sandbox, fault):
    settings = make(write_config, feed_source("heise", sandbox.url(HEISE)))
    ingest(settings, new_run_id())
    sandbox.set_fault(HEISE, fault)
    started = time.monotonic()
    result = ingest(settings, new_run_id())[0]
    assert time.monotonic() - started < 30
    assert result["status"] == "failed" and "heise" in result["error"] and "DTD entities" in result["error"]
    assert scalar(settings, "SELECT count(*) FROM posts") == HEISE_POSTS
    assert "DTD entities" in scalar(settings, "SELECT error FROM source_runs WHERE status = 'failed'")


# -- 200 MB body: cut at the byte cap, memory bounded -----------------------------------------------------------
def test_200mb_body_is_cut_at_the_cap_in_bounded_memory(write_config, sandbox):
    """The ingest runs in a child process that reports its own peak RSS: a client that buffered the body would
    pass 200 MB; streaming with the default 20 MB cap stays far below."""
    sandbox.set_fault(HEISE, "oversize:200000000")
    settings = make(write_config, feed_source("huge", sandbox.url(HEISE)))
    # ru_maxrss would include the forked parent's memory (pytest with models loaded): reset the kernel's
    # high-water mark in the child (clear_refs 5) and read VmHWM afterwards instead.
    code = ("import json, re, sys\n"
            "from pipelines.config import load_settings\nfrom pipelines.daily import ingest, new_run_id\n"
            "open('/proc/self/clear_refs', 'w').write('5')\n"
            "result = ingest(load_settings(sys.argv[1]), new_run_id())[0]\n"
            "hwm = int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))\n"
            "print(json.dumps({'result': result, 'rss_mb': hwm / 1024}))")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, str(settings.file)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["result"]["status"] == "failed"
    assert "too large" in out["result"]["error"] and "max_bytes" in out["result"]["error"]
    # the interpreter with pandas/duckdb loaded sits near 150-250 MB; 200 MB of body on top would exceed this
    assert out["rss_mb"] < 400, out["rss_mb"]
    assert time.monotonic() - started < 100
    assert scalar(settings, "SELECT count(*) FROM posts") == 0


# -- a server that trickles one byte a second ------------------------------------------------------------------
def test_trickling_server_is_bounded_by_the_deadline_and_others_load(write_config, sandbox):
    sandbox.set_fault("/feeds/guardian.rss", "trickle")
    settings = make(write_config, feed_source("slow", sandbox.url("/feeds/guardian.rss")) + feed_source("heise", sandbox.url(HEISE)),
                    http=HTTP.replace("retries = 1", "retries = 0"))
    started = time.monotonic()
    results = by_source(ingest(settings, new_run_id()))
    assert time.monotonic() - started < 20  # deadline = connect 1s + read 2s per attempt
    assert results["slow"]["status"] == "failed" and "slow" in results["slow"]["error"]
    assert "longer than" in results["slow"]["error"] or "timed out" in results["slow"]["error"]
    assert results["heise"]["new"] == HEISE_POSTS


# -- invalid UTF-8 ---------------------------------------------------------------------------------------------
def test_invalid_utf8_feed_is_read_with_replacement_or_refused_clearly(write_config, sandbox):
    settings = make(write_config, feed_source("heise", sandbox.url(HEISE)))
    ingest(settings, new_run_id())
    sandbox.set_fault(HEISE, "invalid_utf8")
    result = ingest(settings, new_run_id())[0]
    if result["status"] == "failed":
        assert "heise" in result["error"]
    else:  # decoded with replacement characters: the stored text is valid UTF-8 (DuckDB would refuse otherwise)
        body = scalar(settings, "SELECT body FROM posts WHERE source = 'heise' AND body LIKE '%text%' LIMIT 1")
        assert body is None or isinstance(body, str)
    assert scalar(settings, "SELECT count(*) FROM posts") >= HEISE_POSTS


def test_invalid_utf8_in_imports_is_reported_per_line(write_config, tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b'{"id": "1", "text": "ok"}\n{"id": "2", "text": "bad \xff\xfe"}\n'
                                       b'{"id": "3", "text": "fine too"}\n')
    (tmp_path / "b.csv").write_bytes("id,text\n1,Smørrebrød \x80 cp1252\n".encode("latin-1", "replace"))
    settings = make(write_config, import_source("a", "a.jsonl") + import_source("b", "b.csv"))
    results = by_source(ingest(settings, new_run_id()))
    assert results["a"]["new"] == 2 and "a.jsonl, line 2: not valid UTF-8" in " ".join(results["a"]["warnings"])
    assert results["b"]["new"] == 1  # a non-UTF-8 CSV is read as cp1252 (what spreadsheet exports are)
    assert scalar(settings, "SELECT body FROM posts WHERE source = 'b'").startswith("Smørrebrød")


# -- deeply nested JSON ----------------------------------------------------------------------------------------
def test_deeply_nested_json_line_in_an_import_is_skipped(write_config, tmp_path):
    deep = "[" * 200_000 + "]" * 200_000
    (tmp_path / "a.jsonl").write_text(f'{{"id": "1", "text": {deep}}}\n{deep}\n{{"id": "2", "text": "ok"}}\n')
    settings = make(write_config, import_source("a", "a.jsonl"))
    result = ingest(settings, new_run_id())[0]
    warnings = " ".join(result["warnings"])
    assert result["new"] == 1
    assert "line 1: not valid JSON" in warnings and "line 2: not valid JSON" in warnings


def test_deeply_nested_json_api_payload_fails_that_source_only(write_config, sandbox):
    depth = 100_000
    nested = b'{"feed": ' + b'{"entry": ' * depth + b"{}" + b"}" * depth + b"}"
    server = Sandbox(services=())
    server.route("/us/rss/customerreviews/", lambda request: Reply(body=nested, content_type="application/json"))
    with server:
        settings = make(write_config, f'[[sources]]\nname = "app"\nkind = "appstore"\napp_id = "666"\n'
                                      f'base_url = "{server.base_url}"\n\n' + feed_source("heise", sandbox.url(HEISE)))
        started = time.monotonic()
        results = by_source(ingest(settings, new_run_id()))
    assert time.monotonic() - started < 30
    assert results["app"]["status"] == "failed" and results["app"]["error"].startswith("app:")
    assert results["heise"]["new"] == HEISE_POSTS


# -- a feed entry with 5 MB of text ----------------------------------------------------------------------------
def test_feed_entry_with_5mb_of_text_is_bounded(write_config, sandbox):
    big = "Lorem ipsum dolor sit amet. " * (5_000_000 // 28)
    body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
            f'<item><guid>big-1</guid><title>Huge</title><description>{big}</description></item>'
            f'<item><guid>small-1</guid><title>Small</title><description>Normal entry</description></item>'
            f'</channel></rss>').encode()
    settings, result, seconds = ingest_served_feed(write_config, body)
    assert seconds < 60
    assert result["status"] in {"ok", "partial"}, result
    assert scalar(settings, "SELECT body FROM core.posts WHERE native_id = 'small-1'") == "Normal entry"
    stored = scalar(settings, "SELECT length(body) FROM core.posts WHERE native_id = 'big-1'")
    assert stored is None or stored <= 5_000_000


# -- HTML/JS in every text field -------------------------------------------------------------------------------
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_html_and_js_in_every_import_field_is_stored_as_inert_text(write_config, tmp_path):
    record = {"id": "1", "text": f"Body {XSS}", "title": f"Title {XSS}", "author": XSS, "community": f"c {XSS}",
              "url": "javascript:alert(1)", "lang": XSS, "created_at": XSS, "rating": XSS}
    (tmp_path / "a.jsonl").write_text(json.dumps(record) + "\n")
    settings = make(write_config, import_source("a", "a.jsonl"))
    result = ingest(settings, new_run_id())[0]
    assert result["new"] == 1
    con = connect(settings.paths.warehouse, read_only=True)
    body, title, url, author_key, rating = con.execute(
        "SELECT body, title, url, author_key, rating FROM core.posts").fetchone()
    con.close()
    assert body == f"Body {XSS}" and title == f"Title {XSS}"  # kept verbatim as text; the report escapes it
    assert url is None  # only http(s) permalinks are stored: no javascript: link can reach a report
    assert author_key.startswith("a_") and "<" not in author_key
    assert rating is None and any("not a number" in w for w in result["warnings"])


def test_html_and_js_in_feed_fields_is_reduced_to_text(write_config):
    body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><guid>x1</guid>'
            f'<title>Hi &lt;script&gt;alert(1)&lt;/script&gt;</title><link>javascript:alert(1)</link>'
            f'<description><![CDATA[<p>Hello</p>{XSS}<iframe src="http://evil"></iframe>]]></description>'
            f'<author>{"&lt;b&gt;x&lt;/b&gt;"}</author></item></channel></rss>').encode()
    settings, result, _ = ingest_served_feed(write_config, body)
    assert result["new"] == 1
    con = connect(settings.paths.warehouse, read_only=True)
    text, url = con.execute("SELECT coalesce(title, '') || ' ' || coalesce(body, ''), url FROM core.posts").fetchone()
    con.close()
    assert "<script" not in text.lower() and "<iframe" not in text.lower() and "onerror" not in text.lower()
    assert "Hello" in text
    assert url is None or url.startswith(("http://", "https://"))


# -- paths outside the import directory ------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["../../../../etc/passwd", "/etc/passwd", "/etc/*", "../outside.jsonl",
                                  "/**/*.jsonl"])
def test_import_paths_outside_the_config_folder_are_refused(write_config, tmp_path, path):
    (tmp_path.parent / "outside.jsonl").write_text('{"id": "1", "text": "not yours"}\n')
    settings = make(write_config, import_source("escape", path))
    started = time.monotonic()
    result = ingest(settings, new_run_id())[0]
    assert time.monotonic() - started < 10  # refused before any glob of the filesystem
    assert result["status"] == "failed"
    assert "leads outside the config file's folder" in result["error"] and "LISTEN_IMPORT_ROOTS" in result["error"]
    assert scalar(settings, "SELECT count(*) FROM posts") == 0


def test_a_symlink_that_leads_outside_is_refused(write_config, tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-secret.jsonl"
    outside.write_text('{"id": "1", "text": "private"}\n')
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "ok.jsonl").write_text('{"id": "2", "text": "fine"}\n')
    (tmp_path / "exports" / "link.jsonl").symlink_to(outside)
    settings = make(write_config, import_source("links", "exports/*.jsonl"))
    result = ingest(settings, new_run_id())[0]
    assert result["status"] == "failed" and "link.jsonl" in result["error"] and "outside" in result["error"]
    assert scalar(settings, "SELECT count(*) FROM posts") == 0


def test_an_explicitly_allowed_folder_may_be_imported(write_config, tmp_path, monkeypatch):
    shared = tmp_path.parent / f"{tmp_path.name}-exports"
    shared.mkdir()
    (shared / "s.jsonl").write_text('{"id": "1", "text": "allowed"}\n')
    monkeypatch.setenv("LISTEN_IMPORT_ROOTS", str(shared))
    settings = make(write_config, import_source("allowed", f"{shared}/*.jsonl"))
    assert ingest(settings, new_run_id())[0]["new"] == 1


# -- NUL bytes -------------------------------------------------------------------------------------------------
def test_nul_bytes_in_csv_header_ids_and_jsonl_are_rejected_per_row(write_config, tmp_path):
    (tmp_path / "a.csv").write_bytes(b"id,text\n1\x00,nul in id\n2,clean\n3,\x00\x00\x00\n")
    (tmp_path / "b.jsonl").write_text('{"id": "1", "text": "a\\u0000b"}\n{"id": "2", "text": "clean"}\n')
    (tmp_path / "c.csv").write_bytes(b"id\x00,text\n1,x\n")
    settings = make(write_config, import_source("a", "a.csv") + import_source("b", "b.jsonl") + import_source("c", "c.csv"))
    results = by_source(ingest(settings, new_run_id()))
    assert results["a"]["new"] == 1 and "contains a NUL byte" in " ".join(results["a"]["warnings"])
    assert results["b"]["new"] == 1 and "b.jsonl, line 1: field 'text' contains a NUL byte" in results["b"]["warnings"]
    assert results["c"]["status"] == "failed" and "header has no column 'id'" in results["c"]["error"]
    con = connect(settings.paths.warehouse, read_only=True)
    assert con.execute("SELECT count(*) FROM core.posts WHERE contains(body, chr(0))").fetchone()[0] == 0
    con.close()


# -- secrets never leak ----------------------------------------------------------------------------------------
SECRETS = {
    "REDDIT_CLIENT_ID": "zzclientid8c1f7e",
    "REDDIT_CLIENT_SECRET": "zzsecret5b93ad0e4471",
    "REDDIT_USERNAME": "zzuser41a9",
    "REDDIT_PASSWORD": "zzpassword77e1c0",
    "REDDIT_USER_AGENT": "community-listening test",
    "LISTEN_PSEUDONYM_KEY": "zzpseudonymkey0c9e3b71d2aa",
}


def _everything_under(*directories) -> bytes:
    blob = b""
    for directory in directories:
        for root, _, files in os.walk(directory):
            for name in files:
                data = Path(root, name).read_bytes()
                if name.endswith(".gz"):
                    data += gzip.decompress(data)
                blob += data
    return blob


def test_secrets_never_reach_logs_errors_reports_or_the_warehouse(write_config, tmp_path, monkeypatch, capsys,
                                                                  caplog):
    from pipelines.cli import main

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "1", "text": "Ring 20 30 40 50", "author": "someone"}) + "\n")
    server = Sandbox(services=("feeds", "reddit"))
    with server:
        server.set_fault("/r/funny", "status:401")  # an auth failure message must not quote the credentials
        server.set_fault("/feeds/guardian.rss", "status:500")
        body = (f'[[sources]]\nname = "reddit-ok"\nkind = "reddit"\nsubreddits = ["redditdev"]\ncomments = false\n'
                f'oauth_url = "{server.base_url}"\nreddit_url = "{server.base_url}"\n\n'
                f'[[sources]]\nname = "reddit-denied"\nkind = "reddit"\nsubreddits = ["funny"]\ncomments = false\n'
                f'oauth_url = "{server.base_url}"\nreddit_url = "{server.base_url}"\n\n'
                + feed_source("guardian", server.url("/feeds/guardian.rss")) + import_source("a", "a.jsonl")
                + '[report]\nout = "reports"\n')
        settings = make(write_config, body)
        main(["--config", str(settings.file), "run"])
        main(["--config", str(settings.file), "status"])
    out = capsys.readouterr()
    con = connect(settings.paths.warehouse, read_only=True)
    loaded = dict(con.execute("SELECT source, count(*) FROM core.posts GROUP BY 1").fetchall())
    errors = " ".join(r[0] or "" for r in con.execute("SELECT error FROM core.source_runs").fetchall())
    con.close()
    assert loaded.get("reddit-ok", 0) > 0, (loaded, errors)  # the credentials were really used
    assert "guardian" in errors
    outputs = (out.out + out.err + caplog.text + errors).encode()
    files = _everything_under(settings.paths.data_dir, settings.paths.reports, tmp_path)
    for name, value in SECRETS.items():
        if name == "REDDIT_USER_AGENT":
            continue  # not a secret; sent to servers by design
        assert value.encode() not in outputs, f"{name} appears in the run's output"
        assert value.encode() not in files.replace(str(settings.file).encode(), b""), f"{name} appears in a file"
