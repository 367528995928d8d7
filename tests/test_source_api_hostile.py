"""Hostile and failing servers behind the Mastodon, Bluesky and Discourse sources, through the real ingest path:
each case ends in bounded time with a message naming the source and the problem, and nothing stored is lost.
Secrets in the environment (tokens, app passwords, API keys) never reach any output."""

from __future__ import annotations

import json
import logging
import time

import pytest

from pipelines.daily import ingest, new_run_id
from pipelines.sandbox.server import Reply, Sandbox
from pipelines.sources import bluesky, discourse, mastodon

from helpers import make_install, query
from test_hostile import _everything_under

HTTP = "[http]\nmin_delay = 0\nretries = 1\nbackoff = 0.01\nread_timeout = 2\nconnect_timeout = 1\nmax_retry_after = 5\n"


def source_block(kind: str, base: str) -> str:
    """A listen.toml source of `kind` reading the sandbox at `base` (its demo instance, recorded search, forum)."""
    if kind == "mastodon":
        return f'[[sources]]\nname = "masto"\nkind = "mastodon"\ninstance = "{base}/mastodon/demo"\nhashtags = ["DemoNotes"]\n'
    if kind == "bluesky":
        return (f'[[sources]]\nname = "sky"\nkind = "bluesky"\nsearch = ["redistricting"]\nbase_url = "{base}/bluesky"\n'
                f'login_url = "{base}/bluesky"\n')
    return f'[[sources]]\nname = "forum"\nkind = "discourse"\nurl = "{base}/discourse/demo"\n'


LISTING = {"mastodon": "/mastodon/demo/api/v1/timelines/", "bluesky": "/bluesky/xrpc/app.bsky.feed.searchPosts",
           "discourse": "/discourse/demo/latest.json"}
KINDS = list(LISTING)


@pytest.fixture
def sandbox():
    """A fresh sandbox per test: these tests change its options (windows, endless paging)."""
    with Sandbox(services=("mastodon", "bluesky", "discourse")) as box:
        yield box


@pytest.fixture
def installed(write_config, sandbox):
    """install(kind) -> settings of a fresh install whose one source of `kind` has been ingested once."""

    def _install(kind: str, http: str = HTTP):
        settings = make_install(write_config, source_block(kind, sandbox.base_url), http)
        result = ingest(settings, new_run_id())[0]
        assert result["status"] == "ok" and result["new"] > 0, result
        return settings, result["new"]

    return _install


def stored(settings) -> int:
    return query(settings, "SELECT count(*) FROM core.posts WHERE NOT is_deleted")[0][0]


def ingest_timed(settings) -> tuple[dict, float]:
    started = time.monotonic()
    result = ingest(settings, new_run_id())[0]
    return result, time.monotonic() - started


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault, message", [
    ("oversize:200000000", "too large (more than 20,000,000 bytes); raise max_bytes"),
    ("malformed_json", "response is not valid JSON"),
    ("html", "response is not valid JSON"),
    ("slow:4", "timed out"),
    ("status:503", "HTTP 503 after 2 attempts"),
    ("empty", "empty response where JSON was expected"),
])
def test_a_failing_listing_fails_the_source_clearly_and_keeps_what_is_stored(installed, sandbox, kind, fault,
                                                                             message):
    settings, before = installed(kind)
    sandbox.set_fault(LISTING[kind], fault)
    result, seconds = ingest_timed(settings)
    assert result["status"] == "failed" and message in result["error"], result
    assert result["error"].startswith(result["source"] + ": ")
    assert seconds < 30 and stored(settings) == before
    assert query(settings, "SELECT count(*) FROM core.source_runs WHERE status = 'failed'")[0][0] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_endless_paging_stops_at_the_first_page_with_nothing_new(sandbox, write_config, kind):
    sandbox.options["endless_paging"] = True
    settings = make_install(write_config, source_block(kind, sandbox.base_url), HTTP)
    result, seconds = ingest_timed(settings)
    listing_requests = sum(path.startswith(LISTING[kind]) for _, path, _ in sandbox.hits)
    assert result["status"] == "ok" and result["new"] > 0 and seconds < 30
    assert listing_requests == 2  # the second page repeated the first: paging stopped there


@pytest.mark.parametrize("kind, window", [("mastodon", "mastodon_window"), ("bluesky", "bluesky_window"),
                                          ("discourse", "discourse_window")])
def test_a_rate_limit_mid_run_keeps_what_was_read_and_the_next_run_continues(write_config, sandbox, kind, window):
    settings = make_install(write_config, source_block(kind, sandbox.base_url), HTTP)
    sandbox.options[window] = (3, 300)
    first = ingest(settings, new_run_id())[0]
    assert first["status"] == "partial" and "rate" in first["error"] and first["new"] > 0
    sandbox.options.pop(window)
    getattr(sandbox, kind).window.expire()
    second = ingest(settings, new_run_id())[0]
    assert second["status"] == "ok"
    assert query(settings, "SELECT list(status ORDER BY started_at) FROM core.source_runs")[0][0] == ["partial", "ok"]


def test_deeply_nested_json_is_refused(write_config):
    depth = 100_000
    nested = b'{"a": ' * depth + b"1" + b"}" * depth
    server = Sandbox(services=())
    server.route("/", lambda request: Reply(body=nested, content_type="application/json"))
    with server:
        settings = make_install(write_config, source_block("discourse", server.base_url), HTTP)
        result, seconds = ingest_timed(settings)
    assert result["status"] == "failed" and "nested too deeply" in result["error"] and seconds < 30


def test_a_page_link_to_another_host_is_not_followed(write_config):
    page = json.dumps([{"id": "7", "created_at": "2026-11-20T10:00:00Z", "visibility": "public", "content": "<p>hi</p>",
                        "account": {"acct": "a"}, "replies_count": 0}]).encode()
    server = Sandbox(services=())
    server.route("/api/v2/instance", lambda request: Reply(body=b'{"domain": "m.example"}', content_type="application/json"))
    server.route("/api/v1/timelines/tag/", lambda request: Reply(
        body=page, content_type="application/json",
        headers={"Link": '<http://169.254.169.254/latest/meta-data?max_id=1>; rel="next"'}))
    with server:
        settings = make_install(write_config, f'[[sources]]\nname = "masto"\nkind = "mastodon"\ninstance = '
                                              f'"{server.base_url}"\nhashtags = ["x"]\n', HTTP)
        result = ingest(settings, new_run_id())[0]
    assert result["new"] == 1 and "ignored a page link to another host" in " ".join(result["warnings"])
    assert [path for _, path, _ in server.hits][-1].startswith("/api/v1/timelines/tag/x")


@pytest.mark.parametrize("module, raw", [
    (mastodon, {"id": "1", "visibility": "public", "account": {"acct": "a"}, "_listen": {"instance": "m.example"},
                "content": '<p>Hi <script>alert(1)</script><img src=x onerror=alert(1)><iframe src="http://x"></iframe>'
                           "</p>", "url": "javascript:alert(1)"}),
    (bluesky, {"uri": "at://did:plc:a/app.bsky.feed.post/3k", "author": {"handle": "<b>x</b>"},
               "record": {"text": "Hi <script>alert(1)</script>"}}),
    (discourse, {"id": 1, "post_number": 2, "username": "u", "_listen": {"topic": {"id": 1, "slug": "s"}, "base": "https://f"},
                 "cooked": "<p>Hi <script>alert(1)</script><img src=x onerror=alert(1)></p>"}),
])
def test_markup_in_posts_reaches_the_warehouse_as_inert_text(module, raw):
    post = module.normalise(None, raw)
    assert post["body"].startswith("Hi") and "onerror" not in post["body"] and "<iframe" not in post["body"]
    if module is not bluesky:  # Bluesky text is plain text by design: kept verbatim, escaped by the report
        assert "<script" not in post["body"]


SECRETS = {"MASTODON_ACCESS_TOKEN": "zzmastotoken7c1e9a", "BLUESKY_HANDLE": "listener.bsky.social",
           "BLUESKY_APP_PASSWORD": "zzbskypass-4f1a-88e2", "DISCOURSE_API_KEY": "zzdiscoursekey3b7f51",
           "DISCOURSE_API_USERNAME": "listener", "LISTEN_PSEUDONYM_KEY": "zzpseudonymkey9a2c4e6f8b"}


def test_secrets_never_reach_logs_errors_reports_or_the_warehouse(write_config, tmp_path, monkeypatch, capsys,
                                                                  caplog):
    from pipelines.cli import main

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    server = Sandbox(services=("mastodon", "bluesky", "discourse"))
    with server:
        server.options.update(mastodon_tokens={SECRETS["MASTODON_ACCESS_TOKEN"]}, bluesky_public_refuses=True,
                              bluesky_accounts={SECRETS["BLUESKY_HANDLE"]: SECRETS["BLUESKY_APP_PASSWORD"]},
                              discourse_api_keys={SECRETS["DISCOURSE_API_KEY"]: "listener"},
                              discourse_login_required=True)
        body = "".join(source_block(kind, server.base_url) for kind in KINDS)
        body += (f'[[sources]]\nname = "masto-search"\nkind = "mastodon"\ninstance = "{server.base_url}/mastodon/demo"\n'
                 f'search = "sync"\n\n[[sources]]\nname = "forum-refused"\nkind = "discourse"\n'
                 f'url = "{server.base_url}/discourse/demo"\napi_key_env = "NO_SUCH_KEY"\n'
                 f'api_username_env = "NO_SUCH_USER"\n\n[report]\nout = "reports"\n'
                 f'[enrich]\nembed = false\n[topics]\nembedding = "tfidf"\n')  # the whole job, without the model's cost
        settings = make_install(write_config, body, HTTP)
        main(["--config", str(settings.file), "run"])
        main(["--config", str(settings.file), "status"])
    out = capsys.readouterr()
    loaded = dict(query(settings, "SELECT source, count(*) FROM core.posts GROUP BY 1"))
    errors = " ".join(r[0] or "" for r in query(settings, "SELECT error FROM core.source_runs"))
    assert {"masto", "sky", "forum", "masto-search"} <= set(loaded), (loaded, errors)  # the secrets were used
    assert "forum-refused: " in errors and "set NO_SUCH_KEY and NO_SUCH_USER" in errors
    outputs = (out.out + out.err + caplog.text + errors).encode()
    files = _everything_under(settings.paths.data_dir, settings.paths.reports, tmp_path)
    for name, value in SECRETS.items():
        if name in ("BLUESKY_HANDLE", "DISCOURSE_API_USERNAME"):
            continue  # account names, not secrets
        assert value.encode() not in outputs, f"{name} appears in the run's output"
        assert value.encode() not in files, f"{name} appears in a file"
    assert b"sandbox-session-" not in outputs + files  # the Bluesky session token either


@pytest.mark.parametrize("kind, handle, text", [
    ("mastodon", "@sofie_aarhus@mastodon.demo.example", "Mine noter fra i morges er væk"),
    ("bluesky", "uhackett.bsky.social", "One key takeaway"),
    ("discourse", "jonas_hh", "2000 Notizen"),
])
def test_forget_removes_an_author_of_each_api_source_with_the_handle_they_are_known_by(installed, kind, handle,
                                                                                      text):
    from pipelines.cli import main

    settings, _ = installed(kind)
    name = {"mastodon": "masto", "bluesky": "sky", "discourse": "forum"}[kind]
    assert query(settings, "SELECT count(*) FROM core.posts WHERE body LIKE ?", [f"%{text}%"])[0][0] == 1
    assert main(["--config", str(settings.file), "forget", "--author", handle, "--source", name]) == 0
    assert query(settings, "SELECT count(*) FROM core.posts WHERE body LIKE ?", [f"%{text}%"])[0][0] == 0
    assert text.encode() not in _everything_under(settings.paths.landing)
