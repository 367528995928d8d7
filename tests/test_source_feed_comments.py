"""Comment feeds discovered from article feeds (WordPress fixtures, feedparser's real wfw/threading fixtures)."""

from __future__ import annotations


import feedparser
import pytest

from pipelines.config import FeedSource
from pipelines.http import HttpClient
from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.server import Sandbox
from pipelines.sources import feed
from pipelines.sources.base import FetchContext
from pipelines.sources.feed_comments import discover_comment_feed


@pytest.fixture
def sandbox():
    with Sandbox(services=("feeds",)) as box:
        yield box


def ctx() -> FetchContext:
    return FetchContext(run_id="t", http=HttpClient(min_delay=0, retries=1, backoff=0.01, read_timeout=1))


def blog(sandbox, **kw) -> FeedSource:
    return FeedSource(name="blog", kind="feed", url=sandbox.url("/feeds/wordpress/feed/"), follow_comments=True, **kw)


def test_wordpress_comments_point_at_their_article(sandbox):
    batch = feed.fetch(blog(sandbox), {}, ctx())
    posts = [feed.normalise(blog(sandbox), r) for r in batch.records]
    assert [(p["kind"], p["native_id"]) for p in posts][:4] == [
        ("post", "https://blog.example.org/?p=102"), ("post", "https://blog.example.org/?p=101"),
        ("post", "https://blog.example.org/?p=100"), ("comment", "https://blog.example.org/?p=101#comment-1010")]
    comments = [p for p in posts if p["kind"] == "comment"]
    assert len(comments) == 8  # 3 + 5; the article with slash:comments 0 costs no request
    assert all(c["thread_id"] == c["parent_id"] == c["native_id"].split("#")[0] for c in comments)
    assert all(c["title"] == "" and c["author"].startswith("reader") for c in comments)
    assert {c["community"] for c in comments} == {"Example Product Blog"}  # the site, not one per article
    assert not any("release-notes" in path for _, path, _ in sandbox.hits)


def test_second_run_uses_conditional_gets(sandbox):
    first = feed.fetch(blog(sandbox), {}, ctx())
    sandbox.hits.clear()
    second = feed.fetch(blog(sandbox), first.cursor, ctx())
    assert second.records == [] and len(sandbox.hits) == 1  # 304 on the article feed ends the run


def test_comment_feed_budget_and_failures_are_warnings(sandbox):
    sandbox.set_fault("/feeds/wordpress/2024/05/new-sync-engine/", "status:500")
    batch = feed.fetch(blog(sandbox, max_comment_feeds=5), {}, ctx())
    assert len([r for r in batch.records if r["_feed"]["comment_of"]]) == 3
    assert any("new-sync-engine" in w and "retried next run" in w for w in batch.warnings)
    sandbox.clear_faults()
    retry = feed.fetch(blog(sandbox), {**batch.cursor, "etag": None, "last_modified": None}, ctx())
    assert len([r for r in retry.records if r["_feed"]["comment_of"]]) == 5  # only the failed article is re-read


def test_discovery_rules_on_real_fixtures():
    docuri = (SANDBOX_DATA / "feeds" / "feedparser" / "http_item_wfw_commentRSS_base_docuri.xml").read_bytes()
    parsed = feedparser.parse(docuri)
    assert discover_comment_feed(parsed.entries[0], {}, "http://127.0.0.1:8097/feed") == "http://127.0.0.1:8097/relative/uri"
    hn = feedparser.parse((SANDBOX_DATA / "feeds" / "hnrss-newest.rss").read_bytes())
    url = discover_comment_feed(hn.entries[0], {}, "https://hnrss.org/newest")
    assert url.startswith("https://hnrss.org/item?id=")
    entry = {"link": "https://blog.example.org/2024/05/x/"}
    assert discover_comment_feed(entry, {"generator": "https://wordpress.org/?v=6.5"}, "https://blog.example.org/feed/") \
        == "https://blog.example.org/2024/05/x/feed/"
    assert discover_comment_feed({"link": "https://forum.example.org/t/sync-bug/123"}, {"generator": "Discourse"},
                                 "https://forum.example.org/latest.rss") == "https://forum.example.org/t/sync-bug/123.rss"


def test_odd_and_missing_dates_are_flagged():
    raw = {"id": "x1", "title": "t", "summary": "body text", "published": "21.11.2024 10:30", "_feed": {}}
    assert feed.normalise(None, raw)["created_at"] == "2024-11-21T10:30:00+00:00"
    missing = feed.normalise(None, {"id": "x2", "title": "t", "summary": "b", "_feed": {}})
    assert missing["created_at"] is None and missing["extra"]["date_missing"] is True
    odd = feed.normalise(None, {"id": "x3", "title": "t", "summary": "b", "published": "last tuesday", "_feed": {}})
    assert odd["extra"]["date_unreadable"] == "last tuesday"


def test_bozo_feed_keeps_entries_with_a_warning(sandbox):
    cfg = FeedSource(name="bad", kind="feed", url=sandbox.url("/feeds/x.rss"))
    sandbox.set_fault("/feeds/x.rss", "invalid_utf8")
    batch = feed.fetch(cfg, {}, ctx())
    assert len(batch.records) == 1 and batch.warnings and "not well-formed" in batch.warnings[0]
