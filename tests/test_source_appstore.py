"""App Store reviews against the sandbox's Apple-format review feed."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.config import AppStoreSource
from pipelines.http import HttpClient
from pipelines.sandbox.server import Sandbox
from pipelines.sources import appstore
from pipelines.sources.base import FetchContext, SourceError


@pytest.fixture
def sandbox():
    with Sandbox(services=("appstore",)) as box:
        yield box


def ctx() -> FetchContext:
    return FetchContext(run_id="t", http=HttpClient(min_delay=0, retries=1, backoff=0.01, read_timeout=1,
                                                    connect_timeout=1, max_retry_after=2))


def config(sandbox, **kw) -> AppStoreSource:
    return AppStoreSource(name="ios", kind="appstore", app_id="1600000001", base_url=sandbox.base_url, **kw)


def test_pages_until_the_end_and_normalises_reviews(sandbox):
    batch = appstore.fetch(config(sandbox), {}, ctx())
    assert len(batch.records) == 120 and len(sandbox.hits) == 3  # 50 + 50 + 20; page 1 also holds the app entry
    first = appstore.normalise(config(sandbox), batch.records[0])
    assert first == {
        "native_id": "11200000000", "kind": "review", "community": "Listen Demo Notes", "thread_id": None,
        "parent_id": None, "url": "https://apps.apple.com/us/app/id1600000001?see-all=reviews", "author": "appfan393",
        "created_at": "2024-05-31T18:00:00-07:00", "title": "what kind of product goes",
        "body": "what kind of product goes out within a month?", "rating": 2.0, "lang_hint": "en", "is_deleted": False,
        "extra": {"version": "3.4.2", "country": "us", "vote_sum": "5"}}


def test_second_run_stops_at_the_cursor(sandbox):
    sandbox.options["appstore_clock"] = dt.datetime(2024, 5, 20, tzinfo=dt.timezone.utc)
    first = appstore.fetch(config(sandbox), {}, ctx())
    sandbox.options.pop("appstore_clock")
    sandbox.hits.clear()
    second = appstore.fetch(config(sandbox), first.cursor, ctx())
    assert len(first.records) + len(second.records) == 120
    assert not {r["id"]["label"] for r in first.records} & {r["id"]["label"] for r in second.records}
    assert len(sandbox.hits) == 1  # the new reviews and the first known one are all on page 1
    assert appstore.fetch(config(sandbox), second.cursor, ctx()).records == []


def test_unknown_app_gives_no_records(sandbox):
    batch = appstore.fetch(config(sandbox).model_copy(update={"app_id": "999"}), {}, ctx())
    assert batch.records == [] and len(sandbox.hits) == 1


@pytest.mark.parametrize("fault, message", [
    ("status:500", "HTTP 500 after 2 attempts"), ("status:429:retry_after=30", "retry after 30s"),
    ("status:401", "HTTP 401"), ("slow:3", "timed out"), ("truncate", "truncated"),
    ("oversize:3000000", "too large"), ("invalid_utf8", "not valid UTF-8"), ("html", "not Apple's review JSON"),
    ("empty", "empty response"), ("entity_bomb", "not Apple's review JSON"),
])
def test_fault_modes_end_in_a_clear_error(sandbox, fault, message):
    sandbox.set_fault("/us/", fault)
    with pytest.raises(SourceError, match=message) as err:
        appstore.fetch(config(sandbox, max_bytes=2_000_000), {}, ctx())
    assert "ios" in str(err.value)
