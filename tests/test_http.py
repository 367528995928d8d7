"""The one HTTP client against the loopback sandbox: caps, retries, Retry-After, conditional GET, XML guard."""

import time

import pytest

from pipelines.http import FetchError, HttpClient, check_xml_safe, parse_retry_after, redact_url

FEED = "/feeds/heise.atom"


def client(**overrides):
    waits = []
    options = dict(min_delay=0, retries=2, backoff=0.01, connect_timeout=2, read_timeout=2, sleep=waits.append)
    options.update(overrides)
    http = HttpClient(**options)
    http.waits = waits
    return http


def test_conditional_get_returns_not_modified(sandbox):
    http = client()
    first = http.get(sandbox.url(FEED), source="heise")
    assert first.status == 200 and first.etag and first.body.startswith(b"<?xml")
    again = http.get(sandbox.url(FEED), source="heise", etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body == b""


def test_sends_a_clear_user_agent(sandbox):
    client(user_agent="community-listening/test (ops@example.org)").get(sandbox.url(FEED))
    assert sandbox.user_agents[-1] == "community-listening/test (ops@example.org)"
    assert HttpClient().user_agent.startswith("community-listening/")


def test_retries_a_5xx_then_succeeds(sandbox):
    sandbox.set_fault(FEED, "status:503", times=2)
    http = client()
    assert http.get(sandbox.url(FEED), source="heise").status == 200
    assert http.requests_made == 3 and len(http.waits) == 2


def test_429_honours_retry_after(sandbox):
    sandbox.set_fault(FEED, "status:429:retry_after=3", times=1)
    http = client()
    assert http.get(sandbox.url(FEED), source="heise").status == 200
    assert http.waits == [3.0]


def test_retry_after_longer_than_allowed_fails_at_once(sandbox):
    sandbox.set_fault(FEED, "status:429:retry_after=3600")
    http = client(max_retry_after=60)
    with pytest.raises(FetchError, match=r"heise: .*429.*retry after 3600s"):
        http.get(sandbox.url(FEED), source="heise")
    assert http.requests_made == 1


def test_500_storm_gives_up_after_the_retries(sandbox):
    sandbox.set_fault(FEED, "status:500")
    http = client(retries=2)
    with pytest.raises(FetchError, match="HTTP 500 after 3 attempts") as err:
        http.get(sandbox.url(FEED), source="heise")
    assert err.value.status == 500


def test_404_is_not_retried_and_says_check_the_url(sandbox):
    http = client()
    with pytest.raises(FetchError, match=r"HTTP 404 \(check the URL\)"):
        http.get(sandbox.url("/feeds/does-not-exist.xml"), source="x")
    assert http.requests_made == 1


def test_oversized_body_is_cut_at_the_byte_cap(sandbox):
    sandbox.set_fault(FEED, "oversize:50000000")
    started = time.monotonic()
    with pytest.raises(FetchError, match="too large"):
        client(retries=0).get(sandbox.url(FEED), source="heise", max_bytes=1_000_000)
    assert time.monotonic() - started < 10


def test_slow_server_times_out(sandbox):
    sandbox.set_fault(FEED, "slow:3")
    with pytest.raises(FetchError, match="timed out"):
        client(retries=0, read_timeout=0.5).get(sandbox.url(FEED), source="heise")


def test_trickling_server_hits_the_total_deadline(sandbox):
    sandbox.set_fault(FEED, "trickle")
    started = time.monotonic()
    with pytest.raises(FetchError, match="took longer|timed out"):
        client(retries=0, connect_timeout=1, read_timeout=2).get(sandbox.url(FEED), source="heise")
    assert time.monotonic() - started < 8


def test_truncated_body_is_an_error(sandbox):
    sandbox.set_fault(FEED, "truncate")
    with pytest.raises(FetchError, match="truncated|connection"):
        client(retries=0).get(sandbox.url(FEED), source="heise")


def test_refuses_non_http_urls():
    with pytest.raises(FetchError, match="only http"):
        client().get("file:///etc/passwd", source="x")


def test_entity_declarations_are_refused(shared_data):
    for name in ("billion_laughs_rss_SYNTHETIC.xml", "exponential_entities_utf16be.xml"):
        body = (shared_data / "feedparser_tests" / "malicious" / name).read_bytes()
        with pytest.raises(FetchError, match="declares DTD entities"):
            check_xml_safe(body, name)


def test_plain_external_doctype_is_removed_not_fatal():
    body = (b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss version="0.91"></rss>')
    assert b"DOCTYPE" not in check_xml_safe(body, "old-feed")


def test_retry_after_accepts_http_dates():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == pytest.approx(10)
    assert parse_retry_after("soon") is None


def test_urls_are_redacted_for_logs():
    assert redact_url("https://user:pw@host/x?access_token=abc&q=1") == "https://host/x?access_token=REDACTED&q=1"


def test_rate_limit_reset_headers_in_each_servers_style():
    from pipelines.http import ratelimit_remaining, ratelimit_wait

    now = 1_747_676_484.0
    assert ratelimit_wait({"x-ratelimit-reset": "2025-05-19T17:46:24Z"}, now) == 300.0  # Mastodon: an ISO time
    assert ratelimit_wait({"ratelimit-reset": "1747676784"}, now) == 300.0  # Bluesky: a Unix time
    assert ratelimit_wait({"ratelimit-reset": "42"}, now) == 42.0  # IETF draft and Reddit: seconds
    assert ratelimit_wait({"x-ratelimit-reset": "soon"}, now) is None and ratelimit_wait({}, now) is None
    assert ratelimit_remaining({"x-ratelimit-remaining": "0"}) == 0.0 and ratelimit_remaining({}) is None


def test_link_header_and_json_bodies():
    from pipelines.http import decode_json, link_url

    headers = {"link": '<https://m.example/api/v1/x?max_id=5>; rel="next", <https://m.example/api/v1/x?min_id=9>; '
                       'rel="prev"'}
    assert link_url(headers, "prev") == "https://m.example/api/v1/x?min_id=9" and link_url({}, "next") is None
    assert decode_json(b'{"a": [1]}', "src: u") == {"a": [1]}
    for body, message in ((b"", "empty response"), (b"<html>busy</html>", "not valid JSON .*starts '<html>"),
                          (b'{"a": "\xff"}', "not valid UTF-8"), (b"[" * 100_000, "nested too deeply")):
        with pytest.raises(FetchError, match=message):
            decode_json(body, "src: u")


def test_post_json_goes_through_the_host_gate_and_never_echoes_the_payload(sandbox):
    http = client()
    url = sandbox.url("/bluesky/xrpc/com.atproto.server.createSession")
    with pytest.raises(FetchError, match=r"sky: POST http://127\.0\.0\.1:\d+/bluesky/.*: HTTP 401") as err:
        http.post_json(url, {"identifier": "a", "password": "zzsecretpw"}, source="sky")
    assert "zzsecretpw" not in str(err.value)
    sandbox.options["bluesky_accounts"] = {"a": "zzsecretpw"}
    try:
        assert http.post_json(url, {"identifier": "a", "password": "zzsecretpw"}).status == 200
    finally:
        sandbox.options.pop("bluesky_accounts")
    assert http.requests_made == 2 and [m for m, _, _ in sandbox.hits[-2:]] == ["POST", "POST"]


# -- request(): what JSON API sources (Reddit through praw, and the ones after it) use ----------------------------
def echo(sandbox, prefix: str, headers: dict | None = None, status: int = 200):
    """A route answering JSON that says what it received; returns its URL."""
    import json

    from pipelines.sandbox.server import Reply

    def handler(request):
        seen = {"method": request.method, "auth": request.headers.get("authorization"),
                "body": request.body.decode(), "query": request.query, "agent": request.headers.get("user-agent")}
        return Reply(status=status, body=json.dumps(seen).encode(), headers=headers or {},
                     content_type="application/json")

    sandbox.route(prefix, handler)
    return sandbox.url(prefix)


def test_request_sends_method_body_auth_and_leaves_a_4xx_to_the_caller(sandbox):
    url = echo(sandbox, "/api/echo-401", status=401)
    response = client().request("POST", url, source="api", data={"grant_type": "client_credentials"},
                                auth=("client", "secret"), params={"raw_json": 1},
                                headers={"User-Agent": "praw-like/1.0"})
    assert response.status_code == 401 and not response.ok
    seen = response.json()
    assert seen["method"] == "POST" and seen["body"] == "grant_type=client_credentials"
    assert seen["auth"].startswith("Basic ") and seen["query"] == {"raw_json": ["1"]}
    assert seen["agent"] == "praw-like/1.0", "the caller's User-Agent wins (Reddit wants its own format)"


def test_link_header_pages_and_headers_are_case_insensitive(sandbox):
    url = echo(sandbox, "/api/page-1", headers={"Link": '<http://127.0.0.1/api/page-2>; rel="next", '
                                                       '<http://127.0.0.1/api/page-1>; rel="first"'})
    response = client().request("GET", url, source="api")
    assert response.links == {"next": "http://127.0.0.1/api/page-2", "first": "http://127.0.0.1/api/page-1"}
    assert response.headers["LINK"] == response.headers["link"]
    assert response.text.startswith('{"method": "GET"')


def test_budget_counts_every_attempt_and_stops_without_sending(sandbox):
    from pipelines.http import BudgetExhausted, RequestBudget

    url = echo(sandbox, "/api/budget")
    sandbox.set_fault("/api/budget", "status:503", times=1)
    budget = RequestBudget(limit=3)
    http = client()
    assert http.request("GET", url, source="api", budget=budget).status == 200  # a 503, then a 200: two attempts
    assert budget.used == 2
    http.request("GET", url, source="api", budget=budget)
    sent = len(sandbox.hits)
    with pytest.raises(BudgetExhausted, match="request budget of 3 used up"):
        http.request("GET", url, source="api", budget=budget)
    assert len(sandbox.hits) == sent, "a request over budget is never sent"


@pytest.mark.parametrize("remaining, reset", [("x-ratelimit-remaining", "x-ratelimit-reset"),
                                              ("RateLimit-Remaining", "RateLimit-Reset")])
def test_rate_limit_headers_stop_the_run_before_the_api_refuses(sandbox, remaining, reset):
    from pipelines.http import BudgetExhausted, RequestBudget

    url = echo(sandbox, f"/api/window-{remaining}", headers={remaining: "0", reset: "540"})
    budget = RequestBudget(limit=100)
    http = client()
    http.request("GET", url, source="api", budget=budget)
    with pytest.raises(BudgetExhausted, match="rate-limit window is used up.*540"):
        http.request("GET", url, source="api", budget=budget)
    assert budget.used == 1


def test_budget_paces_requests_to_its_per_minute_limit(sandbox):
    from pipelines.http import RequestBudget

    url = echo(sandbox, "/api/paced")
    http = client()  # min_delay 0: only the budget spaces the requests
    budget = RequestBudget(limit=10, per_minute=120)
    for _ in range(3):
        http.request("GET", url, source="api", budget=budget)
    assert len(http.waits) == 2 and all(0.3 < wait <= 0.5 for wait in http.waits), http.waits
    assert len(budget.stamps) == 3
