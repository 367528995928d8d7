"""Bluesky against the sandbox's AppView, which serves posts recorded from bsky.social in May 2025."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pipelines.config import BlueskySource
from pipelines.sandbox.server import Sandbox
from pipelines.sources import bluesky
from pipelines.sources.base import SourceError

from helpers import fetch_context

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 5, 20, 12, tzinfo=UTC)
THREAD = "at://did:plc:ooimp4mgjxbday5u4j2rh57m/app.bsky.feed.post/"  # a 5-part thread, parts 2/ to 5/ recorded
PART2, PART3, PART4, PART5 = (THREAD + rkey for rkey in ("3lpjqeajmlk27", "3lpjqeajpjc27", "3lpjqeajrhs27",
                                                         "3lpjqeajtgc27"))
HANDLE, PASSWORD = "listener.bsky.social", "zzapppass-1f3e-9c2d"


@pytest.fixture
def sandbox():
    with Sandbox(services=("bluesky",)) as box:
        yield box


def config(sandbox, **kw) -> BlueskySource:
    return BlueskySource(name="sky", kind="bluesky", base_url=sandbox.url("/bluesky"), login_url=sandbox.url("/bluesky"),
                         **{"search": ["redistricting"], **kw})


def run(cfg, cursor=None, **http):
    return bluesky.fetch(cfg, cursor or {}, fetch_context(NOW, **http))


def posts(cfg, batch) -> dict[str, dict]:
    return {p["native_id"]: p for p in (bluesky.normalise(cfg, r) for r in batch.records) if p}


def methods(sandbox) -> list[str]:
    return [path.split("/xrpc/", 1)[1].split("?", 1)[0] for _, path, _ in sandbox.hits]


def test_search_and_author_feed_with_threads(sandbox):
    cfg = config(sandbox, accounts=["chriskenny.bsky.social"])
    batch = run(cfg)
    found = posts(cfg, batch)
    assert batch.stopped_early is None and batch.warnings == []
    searched = {k for k, p in found.items() if p["community"] == "bluesky search: redistricting"}
    assert len(searched) >= 25
    own = [p for p in found.values() if p["author"] == "chriskenny.bsky.social"]
    assert len(own) >= 40 and {p["community"] for p in own} == {"bluesky @chriskenny.bsky.social"}
    reposted = "at://did:plc:n65dhyosfrm6t7jhzum76exq/app.bsky.feed.post/3lnneysi3ps2c"  # mickael.canouil.fr's post
    assert reposted not in found and reposted.rsplit("/", 1)[1] in repr(sandbox.bluesky.posts())  # reposts skipped
    answered = found["at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/3lof7sovfok2h"]["parent_id"]
    assert answered in found  # the post the account answered, carried by its feed item
    part5 = found[PART5]
    assert part5["kind"] == "comment" and part5["parent_id"] == PART4
    assert part5["thread_id"] == THREAD + "3lpjqeaiz2k27"  # part 1/, never recorded
    assert part5["url"] == "https://bsky.app/profile/uhackett.bsky.social/post/3lpjqeajtgc27"
    assert part5["author"] == "uhackett.bsky.social" and part5["lang_hint"] == "en"
    assert part5["body"].startswith("5/ One key takeaway")
    threads = [path for _, path, _ in sandbox.hits if "getPostThread" in path]
    replied = {p["native_id"] for p in found.values() if p["extra"]["replies"]}
    assert threads and len(threads) <= len(replied)  # a thread is read only for posts that have replies


def test_cursor_paging_reads_what_one_page_would(sandbox):
    whole = {r["uri"] for r in run(config(sandbox, accounts=["chriskenny.bsky.social"])).records}
    sandbox.options["bluesky_page_size"] = 10
    sandbox.hits.clear()
    paged = run(config(sandbox, accounts=["chriskenny.bsky.social"], max_pages=20))
    assert {r["uri"] for r in paged.records} == whole
    assert methods(sandbox).count("app.bsky.feed.searchPosts") == 3  # 25 hits, 10 a page, cursor "10" then "20"
    assert methods(sandbox).count("app.bsky.feed.getAuthorFeed") >= 5


def test_the_next_run_asks_only_for_what_is_new(sandbox):
    cfg = config(sandbox)
    sandbox.options["bluesky_clock"] = dt.datetime(2025, 5, 19, 14, tzinfo=UTC)
    first = run(cfg)
    sandbox.options.pop("bluesky_clock")
    sandbox.hits.clear()
    second = run(cfg, first.cursor)
    searched = [path for _, path, _ in sandbox.hits if "searchPosts" in path]
    assert "since=2025-05-19T12%3A08%3A41.010000Z" in searched[0]  # newest seen (13:08:41) less an hour's overlap
    new = {r["uri"] for r in second.records} - {r["uri"] for r in first.records}
    assert len(new) == 10 and all(r["indexedAt"] > "2025-05-19T14" for r in second.records if r["uri"] in new)
    assert second.cursor["listings"]["search:redistricting"]["newest"].startswith("2025-05-19T17:10:09")


def test_an_author_feed_is_read_back_only_to_the_last_run(sandbox):
    cfg = config(sandbox, search=[], accounts=["chriskenny.bsky.social"], max_pages=20)
    sandbox.options.update(bluesky_page_size=10, bluesky_clock=dt.datetime(2025, 5, 1, tzinfo=UTC))
    first = run(cfg)
    sandbox.options.pop("bluesky_clock")
    sandbox.hits.clear()
    second = run(cfg, first.cursor)
    assert methods(sandbox).count("app.bsky.feed.getAuthorFeed") == 1  # the first page reaches last run's newest
    assert second.cursor["listings"]["author:chriskenny.bsky.social"]["newest"].startswith("2025-05-05")


def test_a_run_cut_short_reads_the_same_stretch_again(sandbox):
    cfg = config(sandbox)
    sandbox.options["bluesky_clock"] = dt.datetime(2025, 5, 19, 1, tzinfo=UTC)
    first = run(cfg)
    sandbox.options.pop("bluesky_clock")
    sandbox.options["bluesky_page_size"] = 5
    cut = run(config(sandbox, max_pages=2), first.cursor)
    assert any("more than max_pages=2" in w for w in cut.warnings)
    assert cut.cursor["listings"] == first.cursor["listings"]  # the watermark waits until the gap is read
    rest = run(config(sandbox, max_pages=10), cut.cursor)
    assert {r["uri"] for r in first.records + cut.records + rest.records} >= \
        {r["uri"] for r in run(cfg).records if r["record"].get("createdAt")}


def test_login_only_where_the_public_appview_refuses(sandbox, monkeypatch):
    sandbox.options["bluesky_public_refuses"] = True
    cfg = config(sandbox, search=["redistricting", "texas"])
    with pytest.raises(SourceError, match="refuses unauthenticated requests.*set BLUESKY_HANDLE and "
                                          "BLUESKY_APP_PASSWORD"):
        run(cfg)
    assert len(sandbox.hits) == 1  # no login to try: the second search is not asked for
    monkeypatch.setenv("BLUESKY_HANDLE", HANDLE)
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "zzwrong-password")
    sandbox.options["bluesky_accounts"] = {HANDLE: PASSWORD}
    with pytest.raises(SourceError, match="login was refused; check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD") as err:
        run(cfg)
    assert "zzwrong-password" not in str(err.value)
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", PASSWORD)
    sandbox.hits.clear()
    batch = run(cfg)
    assert len(posts(cfg, batch)) >= 25 and methods(sandbox).count("com.atproto.server.createSession") == 1
    assert PASSWORD not in repr(batch) and "sandbox-session" not in repr(batch)


def test_revisit_turns_deleted_posts_into_tombstones_in_their_thread(sandbox):
    cfg = config(sandbox)
    first = run(cfg)
    sandbox.options["bluesky_deleted"] = {PART5}
    sandbox.hits.clear()
    second = run(cfg, first.cursor)
    gone = posts(cfg, second)[PART5]
    assert gone["is_deleted"] and gone["body"] is None and gone["author"] is None and gone["url"] is None
    assert gone["parent_id"] == PART4 and gone["kind"] == "comment"
    assert "app.bsky.feed.getPosts" in methods(sandbox)
    assert PART5 not in second.cursor["threads"]


def test_a_closed_rate_limit_window_ends_the_run_as_partial(sandbox):
    sandbox.options["bluesky_window"] = (2, 300)  # RateLimit-Reset is a Unix time, as bsky.social sends it
    batch = run(config(sandbox))
    assert re.search(r"rate-limit window is used up \(resets in (299|300)s\)", batch.stopped_early)
    assert len(sandbox.hits) == 2 and batch.records


def test_public_links_use_the_handle_or_else_the_did():
    uri = "at://did:plc:ic6zqvuw5ulmfpjiwnhsr2ns/app.bsky.feed.post/3k7qmjev5lr2s"
    assert bluesky.public_url(uri, "soubhikbarari.bsky.social") == \
        "https://bsky.app/profile/soubhikbarari.bsky.social/post/3k7qmjev5lr2s"
    assert bluesky.public_url(uri, "handle.invalid") == \
        "https://bsky.app/profile/did:plc:ic6zqvuw5ulmfpjiwnhsr2ns/post/3k7qmjev5lr2s"
    assert bluesky.public_url("at://did:plc:x/app.bsky.feed.like/3k") is None
