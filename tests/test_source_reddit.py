"""Reddit source against the sandbox's recorded Reddit API (praw/prawcore/asyncpraw cassettes)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pipelines.config import RedditSource
from pipelines.http import HttpClient, RequestBudget
from pipelines.sandbox.server import Sandbox
from pipelines.sources import reddit
from pipelines.sources.base import FetchContext, SourceError

SECRET = "s3cr3t-value-never-shown"
CLOCK_2016 = 1456900000  # after the 2016 r/AskReddit recording, before the 2020 one
UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", "sandbox-client")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("REDDIT_USER_AGENT", "community-listening tests/1.0")
    monkeypatch.delenv("REDDIT_USERNAME", raising=False)
    monkeypatch.delenv("REDDIT_PASSWORD", raising=False)
    monkeypatch.setattr(reddit, "DEFAULT_REQUESTS_PER_MINUTE", 60_000)  # pacing has its own test


@pytest.fixture
def sandbox():
    with Sandbox(services=("reddit",)) as box:
        box.options["reddit_window_requests"] = 100_000  # prawcore paces itself from the headers otherwise
        yield box


def http(**kw) -> HttpClient:
    return HttpClient(**{"min_delay": 0, "retries": 1, "backoff": 0.01, "read_timeout": 1, "connect_timeout": 1,
                         "max_retry_after": 2, **kw})


def config(sandbox, **kw) -> RedditSource:
    return RedditSource(name="r-test", kind="reddit", oauth_url=sandbox.base_url, reddit_url=sandbox.base_url,
                        **{"subreddits": ["funny"], **kw})


def ctx(now=None, client=None) -> FetchContext:
    return FetchContext(run_id="t", http=client or http(), now=now or dt.datetime(2016, 3, 2, tzinfo=UTC))


def test_thread_with_comment_tree_and_morechildren(sandbox):
    batch = reddit.fetch(config(sandbox, request_budget=20), {}, ctx(now=dt.datetime(2015, 8, 20, tzinfo=UTC)))
    posts = [reddit.normalise(None, r) for r in batch.records]
    assert batch.stopped_early is None and batch.warnings == []
    assert posts[0] == {
        "native_id": "t3_3hahrw", "kind": "post", "community": "r/funny", "thread_id": "t3_3hahrw", "parent_id": None,
        "url": "https://www.reddit.com/r/funny/comments/3hahrw/ba_dum_tsss/", "author": "your_local_librarian",
        "created_at": 1439797480.0, "title": "Ba Dum Tsss", "body": "Ba Dum Tsss", "rating": None, "lang_hint": None,
        "is_deleted": False, "extra": {"score": 11703, "subreddit": "funny", "num_comments": 543, "flair": None,
                                       "via": "new", "link": "http://i.imgur.com/eoF76hj.gifv"}}
    comments = posts[1:]
    assert len(comments) == 476 + 7  # the recorded tree plus the 7 comments of the recorded /api/morechildren
    assert all(c["kind"] == "comment" and c["thread_id"] == "t3_3hahrw" for c in comments)
    by_id = {c["native_id"]: c for c in comments}
    assert by_id["t1_cu5tead"]["parent_id"] == "t3_3hahrw"
    assert by_id["t1_cu5tead"]["body"] == "He saw the chance and he took it, this kid is going places"
    assert all(c["parent_id"] == "t3_3hahrw" or c["parent_id"] in by_id for c in comments)
    assert sum(1 for _, path, _ in sandbox.hits if path.startswith("/api/morechildren")) >= 1


def test_second_run_reads_only_new_posts_and_keeps_late_ones(sandbox):
    cfg = config(sandbox, subreddits=["AskReddit"], comments=False, max_posts=200)
    sandbox.options["reddit_clock"] = CLOCK_2016
    first = reddit.fetch(cfg, {}, ctx())
    assert len(first.records) == 96  # 100 recorded, 4 marked over_18 are never served
    assert all(r["created_utc"] <= CLOCK_2016 for r in first.records)
    sandbox.options.pop("reddit_clock")
    second = reddit.fetch(cfg, json.loads(json.dumps(first.cursor)), ctx(now=dt.datetime(2020, 7, 11, tzinfo=UTC)))
    assert len(second.records) == 97
    assert not {r["name"] for r in first.records} & {r["name"] for r in second.records}
    # a post that turns up late in /new (below the watermark, inside LATE_WINDOW) is still taken once
    mark = second.cursor["subs"]["askreddit"]
    assert set(mark["ids"]) == {r["name"] for r in second.records}  # the 2016 ids fell out of the late window
    forgotten = second.records[-1]["name"]
    late = dict(second.cursor, subs={"askreddit": {"newest": mark["newest"],
                                                   "ids": {k: v for k, v in mark["ids"].items() if k != forgotten}}})
    third = reddit.fetch(cfg, late, ctx(now=dt.datetime(2020, 7, 11, tzinfo=UTC)))
    assert [r["name"] for r in third.records] == [forgotten]


def test_revisit_fetches_only_new_comments(sandbox):
    cfg = config(sandbox, request_budget=30)
    sandbox.options["reddit_clock"] = 1439800000  # an hour after the post: part of the tree exists
    first = reddit.fetch(cfg, {}, ctx(now=dt.datetime(2015, 8, 17, 9, tzinfo=UTC)))
    sandbox.options.pop("reddit_clock")
    second = reddit.fetch(cfg, first.cursor, ctx(now=dt.datetime(2015, 8, 18, tzinfo=UTC)))
    first_ids = {r["name"] for r in first.records}
    assert {r["kind"] for r in second.records} == {"t1"}
    assert second.records and not first_ids & {r["name"] for r in second.records}
    assert all(r["created_utc"] > 1439800000 - reddit.LATE_WINDOW for r in second.records)
    assert any(path.startswith("/api/info") for _, path, _ in sandbox.hits)
    # after revisit_days the thread is forgotten
    later = reddit.fetch(cfg, second.cursor, ctx(now=dt.datetime(2015, 9, 30, tzinfo=UTC)))
    assert later.records == [] and later.cursor["threads"] == {}


def test_deleted_comment_keeps_no_text(sandbox):
    from pipelines.sources.reddit import comment_record

    session = reddit.PrawSession(http(), source="r", budget=RequestBudget(limit=10))
    thread = reddit.make_reddit(config(sandbox), session)
    comment = next(iter(thread.info(fullnames=["t1_d7ltvl0"])))
    raw = comment_record(comment, "test")
    assert raw["is_deleted"] and raw["body"] is None and raw["author"] is None
    assert reddit.normalise(None, raw)["is_deleted"] is True


def test_budget_ends_run_early_and_cursor_resumes(sandbox):
    cfg = config(sandbox, subreddits=["AskReddit"], max_posts=200, request_budget=6)
    sandbox.options["reddit_clock"] = CLOCK_2016
    batch = reddit.fetch(cfg, {}, ctx())
    assert batch.stopped_early and "budget of 6" in batch.stopped_early
    assert len(sandbox.hits) == 6
    pending = [k for k, v in batch.cursor["threads"].items() if v["visited"] is None]
    assert pending  # threads whose comments were not read yet stay due for the next run


def test_missing_credentials_name_what_to_set(sandbox, monkeypatch):
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    with pytest.raises(SourceError, match="REDDIT_CLIENT_SECRET") as err:
        reddit.fetch(config(sandbox), {}, ctx())
    assert SECRET not in str(err.value)


FAULTS = [
    ("/api/v1/access_token", "status:401", "rejected the credentials"),
    ("/r/", "status:401", "rejected the credentials"),
    ("/r/", "status:429:retry_after=60", "retry after 60s"),
    ("/r/", "status:500", "HTTP 500 after 2 attempts"),
    ("/r/", "slow:3", "timed out"),
    ("/r/", "truncate", "truncated"),
    ("/r/", "oversize:3000000", "too large"),
    ("/r/", "invalid_utf8", "not JSON"),
    ("/r/", "html", "not JSON"),
    ("/r/", "empty", "empty response body"),
    ("/r/", "entity_bomb", "not JSON"),
]


@pytest.mark.parametrize("prefix, fault, message", FAULTS)
def test_fault_modes_end_in_a_clear_error_without_secrets(sandbox, prefix, fault, message):
    sandbox.set_fault(prefix, fault)
    cfg = config(sandbox, max_bytes=2_000_000)
    with pytest.raises(SourceError, match=message) as err:
        reddit.fetch(cfg, {}, ctx())
    assert "r-test" in str(err.value) and SECRET not in str(err.value)


def test_trickling_reddit_is_cut_at_the_deadline_like_every_source(sandbox):
    import time

    sandbox.set_fault("/r/", "trickle")
    started = time.monotonic()
    # a byte a second never trips a 2 s read timeout (a 1 s one races the server's sleep on a busy machine);
    # only the whole-response deadline (connect 1 s + read 2 s) can end it
    with pytest.raises(SourceError, match="took longer than 3s"):
        reddit.fetch(config(sandbox), {}, ctx(client=http(retries=0, read_timeout=2)))
    assert time.monotonic() - started < 8, "a byte a second must not hold the run for the server's minute"


def test_429_with_short_retry_after_is_waited_out(sandbox):
    waits = []
    # generous timeouts: with the module's 1 s read timeout a busy CI machine once timed out the first attempt,
    # which then spent a retry on a dropped-connection backoff (0.01 s) instead of a Retry-After wait
    # and one attempt more than the check needs: on a loaded CI machine a loopback connection was once dropped
    # (a 0.01 s backoff), leaving one Retry-After wait instead of two
    client = http(retries=3, sleep=waits.append, read_timeout=10, connect_timeout=10)
    sandbox.set_fault("/r/", "status:429:retry_after=1")
    with pytest.raises(SourceError, match="HTTP 429 after 4 attempts"):
        reddit.fetch(config(sandbox), {}, ctx(client=client))
    assert waits.count(1.0) >= 2  # every 429 but the last was waited out for its Retry-After, not a backoff


def test_requests_are_paced_to_the_per_minute_limit(sandbox, monkeypatch):
    monkeypatch.setattr(reddit, "DEFAULT_REQUESTS_PER_MINUTE", 600)  # 0.1 s apart, so the test stays short
    reddit.fetch(config(sandbox, subreddits=["AskReddit", "funny", "redditdev"], comments=False), {}, ctx())
    stamps = [t for _, _, t in sandbox.hits]
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert len(stamps) >= 4 and min(gaps) >= 0.09
