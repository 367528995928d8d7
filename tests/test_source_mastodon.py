"""Mastodon against the sandbox's instances: 'dev' replays statuses recorded from a Mastodon 4.6.4, 'demo' serves
customer-like statuses written in the recorded format (see pipelines/sandbox/data/mastodon/NOTICE.md)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pipelines.config import MastodonSource
from pipelines.sandbox.server import Sandbox
from pipelines.sources import mastodon
from pipelines.sources.base import SourceError

from helpers import fetch_context

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 21, 12, tzinfo=UTC)
END = NOW - dt.timedelta(hours=1)  # the demo instance's newest status
SYNC_DA, SYNC_DA_R1, SYNC_DA_R2 = "117646295040000011", "117646530969600012", "117647002828800013"
CRASH_DA, PRICE_EN = "117645351321600019", "117639217152000008"
STATUS = "117020583223442465"  # recorded GET /api/v1/statuses/<id>, written by the same account after the toots
TOOTS = [f"11702058{n}" for n in ("0452511285", "0459855703", "0467310235", "0474454464", "0481736214",
                                  "0489281910", "0496489811", "0503743669", "0511453871", "0518794573")]


@pytest.fixture
def sandbox():
    with Sandbox(services=("mastodon",)) as box:
        box.options["mastodon_dates_end"] = END
        yield box


def config(sandbox, instance: str = "demo", **kw) -> MastodonSource:
    return MastodonSource(name="masto", kind="mastodon", instance=sandbox.url(f"/mastodon/{instance}"),
                          **{"hashtags": ["DemoNotes"], **kw})


def run(cfg, cursor=None, **http):
    return mastodon.fetch(cfg, cursor or {}, fetch_context(NOW, **http))


def posts(cfg, batch) -> dict[str, dict]:
    return {p["native_id"]: p for p in (mastodon.normalise(cfg, r) for r in batch.records) if p}


def paths(sandbox) -> list[str]:
    return [path for _, path, _ in sandbox.hits]


def test_hashtag_timeline_with_conversations(sandbox):
    cfg = config(sandbox)
    batch = run(cfg)
    found = posts(cfg, batch)
    assert len(found) == 31 and batch.stopped_early is None and batch.warnings == []
    assert {p["lang_hint"] for p in found.values()} == {"da", "de", "en"}
    reply = found["117646766899200014"]  # a remote user answering in the Danish sync thread
    assert reply == {
        "native_id": "117646766899200014", "kind": "comment", "community": "mastodon.demo.example #demonotes",
        "thread_id": SYNC_DA, "parent_id": SYNC_DA, "rating": None,
        "url": "https://social.example.dk/@lars_k/117646766899200014", "author": "lars_k@social.example.dk",
        "created_at": "2026-11-21T08:00:00.000Z", "title": None,
        "body": "@sofie_aarhus Samme her, min indkøbsliste forsvandt også i morges.", "lang_hint": "da",
        "is_deleted": False, "extra": {"instance": "mastodon.demo.example", "visibility": "public", "replies": 0,
                                       "boosts": 0, "favourites": 0, "tags": [], "edited_at": None, "bot": False}}
    assert found[SYNC_DA_R2]["parent_id"] == SYNC_DA_R1 and found[SYNC_DA_R2]["thread_id"] == SYNC_DA
    assert found[SYNC_DA]["author"] == "sofie_aarhus@mastodon.demo.example"  # local accounts get the domain
    # one context request per status with replies, none for the 17 without
    assert sum("/context" in p for p in paths(sandbox)) == 4
    assert paths(sandbox)[0] == "/mastodon/demo/api/v2/instance"


def test_first_run_pages_back_by_link_header_then_forward_by_min_id(sandbox):
    sandbox.options.update(mastodon_dates_end=None, mastodon_page_size=4,
                           mastodon_clock=dt.datetime(2026, 8, 1, 13, 52, 33, 600_000, tzinfo=UTC))
    cfg = config(sandbox, "dev", hashtags=[], accounts=["mastodonpy_test"])
    first = run(cfg)
    assert [r["id"] for r in first.records] == TOOTS[4::-1] + ["117020569296803689"]  # toots 4..0, then "Toot!"
    assert sum("max_id=" in p for p in paths(sandbox)) == 2  # rel="next" links followed back to the empty page
    sandbox.options.pop("mastodon_clock")
    sandbox.hits.clear()
    second = run(cfg, first.cursor)
    assert sorted(r["id"] for r in second.records) == TOOTS[5:] + [STATUS]
    asked = paths(sandbox)
    assert asked[0].endswith(f"min_id={TOOTS[4]}")  # forward from the newest id stored, oldest page first
    assert [p.rsplit("min_id=", 1)[1] for p in asked[1:]] == [TOOTS[8], STATUS]  # then each rel="prev"
    assert second.cursor["listings"]["account:mastodonpy_test"]["since"] == STATUS
    assert run(cfg, second.cursor).records == []


def test_budget_ends_the_run_early_and_the_next_run_picks_up_the_conversations(sandbox):
    cfg = config(sandbox, request_budget=3, revisit_days=7)
    first = run(cfg)
    assert "request budget of 3 used up" in first.stopped_early and len(sandbox.hits) == 3
    assert first.cursor["listings"]["tag:demonotes"]["since"]  # the complete page moved the cursor
    second = run(config(sandbox, revisit_days=7), first.cursor)
    assert second.stopped_early is None
    assert len({r["id"] for r in first.records} | {r["id"] for r in second.records}) == 31
    assert len([r for r in first.records if r.get("in_reply_to_id")]) == 3  # the one conversation the budget allowed
    assert len([r for r in second.records if r.get("in_reply_to_id")]) == 7  # the other three, through the revisit


def test_revisit_sees_edits_deletions_and_new_replies(sandbox):
    cfg = config(sandbox)
    sandbox.options["mastodon_clock"] = NOW - dt.timedelta(hours=3, minutes=30)  # before SYNC_DA_R2 was written
    first = run(cfg)
    assert SYNC_DA_R2 not in {r["id"] for r in first.records}
    sandbox.options.pop("mastodon_clock")
    sandbox.options.update(mastodon_deleted={CRASH_DA, "117646766899200014"},
                           mastodon_edits={PRICE_EN: "<p>#DemoNotes raised the family plan price again. 30% more "
                                                     "for the same features. Cancelled.</p>"})
    sandbox.hits.clear()
    second = run(cfg, first.cursor)
    found = posts(cfg, second)
    assert found[CRASH_DA]["is_deleted"] and found[CRASH_DA]["body"] is None and found[CRASH_DA]["author"] is None
    gone_reply = found["117646766899200014"]
    assert gone_reply["is_deleted"] and gone_reply["parent_id"] == SYNC_DA and gone_reply["thread_id"] == SYNC_DA
    assert found[PRICE_EN]["body"].endswith("Cancelled.") and found[PRICE_EN]["extra"]["edited_at"]
    assert found[SYNC_DA_R2]["parent_id"] == SYNC_DA_R1  # a nested reply, noticed through its parent's count
    # the 9 statuses of the last 3 days and the 8 replies below them, in one multi-get
    assert sum(p.startswith("/mastodon/demo/api/v1/statuses?") for p in paths(sandbox)) == 1
    assert CRASH_DA not in second.cursor["threads"]


def test_instances_before_4_3_are_revisited_one_status_at_a_time(sandbox):
    cfg = config(sandbox)
    first = run(cfg)
    sandbox.options.update(mastodon_before_4_3=True, mastodon_private={CRASH_DA})
    sandbox.hits.clear()
    second = run(cfg, first.cursor)
    assert posts(cfg, second)[CRASH_DA]["is_deleted"]  # made followers-only: no longer public, so it goes
    assert second.cursor["multi_get"] is False
    assert sum("/api/v1/statuses/" in p and "/context" not in p for p in paths(sandbox)) >= 10


def test_a_closed_rate_limit_window_ends_the_run_as_partial(sandbox):
    sandbox.options["mastodon_window"] = (3, 300)  # the third reply says 0 left, reset in 5 minutes
    batch = run(config(sandbox))
    assert re.search(r"rate-limit window is used up \(resets in (299|300)s\)", batch.stopped_early)
    assert len(sandbox.hits) == 3 and batch.records


def test_a_short_rate_limit_window_is_waited_out(sandbox):
    run(config(sandbox))
    unlimited = len(sandbox.hits)
    sandbox.hits.clear()
    sandbox.mastodon.window.expire()
    sandbox.options["mastodon_window"] = (3, 2)
    ctx = fetch_context(NOW)
    ctx.http._sleep = lambda seconds: (ctx.http.waits.append(seconds), sandbox.mastodon.window.expire())
    batch = mastodon.fetch(config(sandbox), {}, ctx)
    assert batch.stopped_early is None and len(batch.records) == 31
    assert ctx.http.waits and all(0 < w <= 2 for w in ctx.http.waits)
    assert len(sandbox.hits) == unlimited  # it waited before asking: the server never had to answer 429


def test_429_with_reset_header_is_waited_for_by_the_client(sandbox):
    sandbox.options["mastodon_window"] = (0, 1)  # every request answered 429 until the window ends
    ctx = fetch_context(NOW, retries=2)

    def sleep(seconds):  # instead of sleeping: the window ends, the server takes requests again
        ctx.http.waits.append(seconds)
        sandbox.options.pop("mastodon_window")
        sandbox.mastodon.window.expire()

    ctx.http._sleep = sleep
    batch = mastodon.fetch(config(sandbox), {}, ctx)
    assert batch.stopped_early is None and len(batch.records) == 31
    assert 0.5 < ctx.http.waits[0] <= 1  # until x-ratelimit-reset (Mastodon sends no Retry-After), not a backoff


def test_search_needs_a_token_which_is_sent_but_never_stored(sandbox, monkeypatch):
    cfg = config(sandbox, hashtags=[], search="sync")
    anonymous = run(cfg)
    assert anonymous.records == [] and "only for a logged-in user (set MASTODON_ACCESS_TOKEN)" in anonymous.warnings[0]
    token = "zztoken3f9a1c77e0"
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", token)
    sandbox.options["mastodon_tokens"] = {token}
    found = posts(cfg, run(cfg))
    assert {p["community"] for p in found.values()} == {"mastodon.demo.example search: sync"}
    assert len([p for p in found.values() if "sync" in p["body"].lower()]) >= 5
    assert token not in repr(run(cfg).records)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "zzwrongtoken")
    with pytest.raises(SourceError, match=r"HTTP 401.*check the access token in \$MASTODON_ACCESS_TOKEN") as err:
        run(cfg)
    assert "zzwrongtoken" not in str(err.value)


def test_an_unknown_account_is_reported_and_the_rest_is_read(sandbox):
    batch = run(config(sandbox, accounts=["nobody", "demonotes"]))
    assert "@nobody: " in batch.stopped_early and "HTTP 404" in batch.stopped_early
    assert len(batch.records) == 31


def test_an_address_that_is_not_mastodon_fails_clearly(sandbox):
    cfg = MastodonSource(name="masto", kind="mastodon", instance=sandbox.url("/nothing-here"), hashtags=["x"])
    with pytest.raises(SourceError, match=r"masto: .*HTTP 404.*is http://127\.0\.0\.1:\d+/nothing-here a Mastodon"):
        run(cfg)


def test_normalise_keeps_content_warnings_and_skips_media_only_statuses():
    cfg = MastodonSource(name="m", kind="mastodon", instance="https://m.example", hashtags=["x"])
    raw = {"id": "9", "content": "<p>Spoilers &amp; more</p>", "spoiler_text": "Film", "visibility": "public",
           "account": {"acct": "a"}, "_listen": {"instance": "m.example", "community": "m.example #x"}}
    post = mastodon.normalise(cfg, raw)
    assert post["title"] == "Film" and post["body"] == "Spoilers & more" and post["author"] == "a@m.example"
    assert mastodon.normalise(cfg, {**raw, "content": "", "spoiler_text": ""}) is None


def test_only_public_and_unlisted_statuses_are_kept_and_boosts_are_skipped():
    import json

    from pipelines.sandbox.mastodon import load_instance
    from pipelines.sandbox.server import Reply

    recorded = next(iter(load_instance("dev")["statuses"].values()))
    page = [{**recorded, "id": str(n), "visibility": visibility, "reblog": recorded if boost else None}
            for n, (visibility, boost) in enumerate([("public", False), ("unlisted", False), ("private", False),
                                                     ("direct", False), ("public", True)], start=1)]
    server = Sandbox(services=())
    server.route("/api/v2/instance", lambda request: Reply(body=b'{"domain": "m.example"}', content_type="application/json"))
    server.route("/api/v1/timelines/tag/", lambda request: Reply(body=json.dumps(page).encode(),
                                                                 content_type="application/json"))
    with server:
        batch = mastodon.fetch(MastodonSource(name="m", kind="mastodon", instance=server.base_url, hashtags=["x"],
                                              replies=False), {}, fetch_context(NOW))
    assert sorted(r["id"] for r in batch.records) == ["1", "2"]


def test_a_rate_limit_on_the_first_request_is_a_partial_run_with_nothing_lost(sandbox):
    sandbox.options["mastodon_window"] = (0, 300)  # 429 at once, reset in 5 minutes: longer than max_retry_after
    cursor = {"listings": {"tag:demonotes": {"since": "1"}}}
    batch = run(config(sandbox), cursor)
    assert batch.records == [] and batch.cursor == cursor and "rate-limited by the server" in batch.stopped_early
