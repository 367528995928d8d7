"""Discourse against the sandbox's forums: 'sourcecred' replays snapshots recorded from a real Discourse, 'demo'
is a customer forum written in the recorded shapes (see pipelines/sandbox/data/discourse/NOTICE.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.config import DiscourseSource
from pipelines.sandbox.server import Sandbox
from pipelines.sources import discourse
from pipelines.sources.base import SourceError

from helpers import fetch_context

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 21, 12, tzinfo=UTC)
API_KEY = "zzdiscoursekey5d2e8b"


@pytest.fixture
def sandbox():
    with Sandbox(services=("discourse",)) as box:
        box.options["discourse_dates_end"] = NOW - dt.timedelta(hours=1)
        yield box


def config(sandbox, forum: str = "demo", **kw) -> DiscourseSource:
    return DiscourseSource(name="forum", kind="discourse", url=sandbox.url(f"/discourse/{forum}"), **kw)


def run(cfg, cursor=None, now=NOW):
    return discourse.fetch(cfg, cursor or {}, fetch_context(now))


def posts(cfg, batch) -> dict[str, dict]:
    return {p["native_id"]: p for p in (discourse.normalise(cfg, r) for r in batch.records) if p}


def paths(sandbox) -> list[str]:
    return [path.split("/discourse/", 1)[1].split("/", 1)[1] for _, path, _ in sandbox.hits]


def test_recorded_forum_pages_topics_and_reads_posts_beyond_the_first_chunk(sandbox):
    sandbox.options.pop("discourse_dates_end")
    cfg = config(sandbox, "sourcecred")
    batch = run(cfg, now=dt.datetime(2021, 1, 7, tzinfo=UTC))
    found = posts(cfg, batch)
    assert batch.stopped_early is None and batch.warnings == []
    assert [p for p in paths(sandbox) if p.startswith("latest")] == [
        "latest.json?order=activity&ascending=false&page=0", "latest.json?order=activity&ascending=false&page=1"]
    assert "t/26/posts.json?post_ids%5B%5D=54" in paths(sandbox)  # post 21 of 21: not in the first chunk of 20
    assert len([p for p in found.values() if p["extra"]["topic_id"] == 26]) == 21
    reply = found["16"]
    assert reply == {
        "native_id": "16", "kind": "comment", "community": "127.0.0.1 · Uncategorized", "thread_id": "14",
        "parent_id": "14", "rating": None, "url": sandbox.url("/discourse/sourcecred/t/my-first-test-post/11/2"),
        "author": "dl-proto", "created_at": "2019-08-02T11:14:56.285Z", "title": None,
        "body": "Ah, an excellent post. I will like it and reply.", "lang_hint": None, "is_deleted": False,
        "extra": {"topic_id": 11, "post_number": 2, "category": "Uncategorized", "tags": [], "version": 1,
                  "reads": 2, "replies": 0}}
    opening = found["14"]
    assert opening["title"] == "My First Test Post" and opening["kind"] == "post" and opening["extra"]["version"] == 2
    assert "EDIT: This test post was edited" in opening["body"]
    assert found["100037"]["body"] == "Filler Topic #11" and found["100037"]["extra"]["tags"] == [
        "a-special-topic", "filler-topic"]  # a topic the recording listed but never fetched: built from its title


def test_the_next_run_reads_only_bumped_topics_and_their_new_posts(sandbox):
    sandbox.options.update(discourse_dates_end=None, discourse_clock=dt.datetime(2019, 11, 15, 17, 44, 10, tzinfo=UTC))
    cfg = config(sandbox, "sourcecred")
    first = run(cfg, now=dt.datetime(2019, 11, 16, tzinfo=UTC))
    assert len([r for r in first.records if r["topic_id"] == 26]) == 13
    sandbox.options.pop("discourse_clock")
    sandbox.hits.clear()
    second = run(cfg, first.cursor, now=dt.datetime(2021, 1, 7, tzinfo=UTC))
    assert sorted(r["id"] for r in second.records if r["topic_id"] == 26) == list(range(47, 55))
    assert "t/11.json" not in paths(sandbox) and "t/26.json" in paths(sandbox)
    assert "t/26/posts.json?post_ids%5B%5D=54" in paths(sandbox)
    assert run(cfg, second.cursor, now=dt.datetime(2021, 1, 7, tzinfo=UTC)).records == []


def test_revisits_find_edits_and_deletions_that_do_not_bump_a_topic(sandbox):
    cfg = config(sandbox, forum_name="Demo Notes community")
    first = run(cfg)
    assert len(posts(cfg, first)) == 20  # the staff-only topic is not visible without a key
    sandbox.options.update(discourse_deleted={1003}, discourse_user_deleted={1019},
                           discourse_edits={1002: "<p>Conflicted versions are kept under Settings → History.</p>"})
    sandbox.hits.clear()
    second = run(cfg, first.cursor)
    found = posts(cfg, second)
    assert set(found) == {"1002", "1003", "1019"}
    assert found["1002"]["body"] == "Conflicted versions are kept under Settings → History." and \
        found["1002"]["extra"]["version"] == 2
    assert found["1003"]["is_deleted"] and found["1003"]["parent_id"] == "1002" and found["1003"]["thread_id"] == "1001"
    assert found["1019"]["is_deleted"] and found["1019"]["body"] is None and found["1019"]["author"] is None
    assert sorted(p for p in paths(sandbox) if p.startswith("t/")) == ["t/101.json", "t/102.json", "t/103.json",
                                                                        "t/107.json"]  # active in the last 2 days


def test_a_deleted_topic_takes_its_posts_along(sandbox):
    cfg = config(sandbox)
    first = run(cfg)
    sandbox.options["discourse_deleted"] = {1001}  # the opening post: the topic is gone
    found = posts(cfg, run(cfg, first.cursor))
    assert {k for k, p in found.items() if p["is_deleted"]} == {"1001", "1002", "1003", "1004"}
    assert found["1001"]["kind"] == "post" and found["1004"]["parent_id"] == "1001"


def test_categories_and_tags_choose_listings_and_name_communities(sandbox):
    cfg = config(sandbox, categories=["Support", "feature-requests", "nope"], forum_name="Demo Notes community")
    batch = run(cfg)
    assert {p["community"] for p in posts(cfg, batch).values()} == {"Demo Notes community · Support",
                                                                    "Demo Notes community · Feature requests"}
    assert "category 'nope': not found on Demo Notes community (known: announcements, feature-requests, support)" \
        in batch.stopped_early
    assert {p for p in paths(sandbox) if "/l/latest" in p} == {
        "c/support/1/l/latest.json?order=activity&ascending=false&page=0",
        "c/feature-requests/2/l/latest.json?order=activity&ascending=false&page=0"}
    tagged = run(config(sandbox, tags=["sync"]))
    assert {r["topic_id"] for r in tagged.records} == {101}


def test_read_restricted_categories_stay_out_unless_named(sandbox, monkeypatch):
    monkeypatch.setenv("DISCOURSE_API_KEY", API_KEY)
    monkeypatch.setenv("DISCOURSE_API_USERNAME", "listener")
    sandbox.options["discourse_api_keys"] = {API_KEY: "listener"}
    everything = run(config(sandbox))
    assert 108 not in {r["topic_id"] for r in everything.records}  # listed for the key, but staff-only
    staff = run(config(sandbox, categories=["staff"]))
    assert {r["topic_id"] for r in staff.records} == {108}
    assert API_KEY not in repr(everything) + repr(staff)


def test_a_forum_that_needs_a_login_says_which_variables_to_set(sandbox, monkeypatch):
    sandbox.options["discourse_login_required"] = True
    with pytest.raises(SourceError, match="HTTP 403.*set DISCOURSE_API_KEY and DISCOURSE_API_USERNAME"):
        run(config(sandbox))
    monkeypatch.setenv("DISCOURSE_API_KEY", API_KEY)
    with pytest.raises(SourceError, match="set both DISCOURSE_API_KEY and DISCOURSE_API_USERNAME") as err:
        run(config(sandbox))
    assert API_KEY not in str(err.value)


def test_a_closed_rate_limit_window_ends_the_run_as_partial(sandbox):
    sandbox.options["discourse_window"] = (3, 300)  # Discourse answers 429 with Retry-After
    batch = run(config(sandbox))
    assert "retry after" in batch.stopped_early and "429" in batch.stopped_early
    assert batch.records  # the topics read before the limit are kept


def test_cooked_html_loses_quotes_and_link_previews():
    cooked = ('<aside class="quote no-group" data-username="bob"><div class="title">bob:</div><blockquote>'
              '<aside class="quote"><blockquote><p>deep</p></blockquote></aside><p>What bob said</p></blockquote>'
              '</aside><p>I disagree &amp; here is why.</p><aside class="onebox allowlistedgeneric"><header>'
              'example.org</header><article><h3>Preview title</h3></article></aside><p>Thanks <img alt=":smile:"></p>')
    assert discourse.cooked_text(cooked) == "I disagree & here is why.\n\nThanks"
