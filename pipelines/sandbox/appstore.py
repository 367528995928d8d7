"""Sandbox service: Apple's public customer-review feed, paged as Apple pages it (50 reviews a page, 10 pages).

    GET /us/rss/customerreviews/page=1/id=1600000001/sortby=mostrecent/json

Reviews come from ``data/appstore/<country>-reviews.json`` (real review texts in Apple's entry format, see its
NOTICE.md). As in the real feed, page 1 starts with the app's own entry, a page past the end has no ``entry``
key, a page with a single review has ``entry`` as an object rather than a list, and every page carries
``first``/``last``/``next`` links. Unknown apps get the empty feed Apple sends. Pages answer conditional GETs.
Options (sandbox.options): ``appstore_clock`` (datetime: reviews updated later are not published yet) and
``appstore_dates_end`` (datetime: dates shifted so the newest review lands there, for the demo).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re

from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.server import Reply, Request, static_reply

APPSTORE_DIR = SANDBOX_DATA / "appstore"
PAGE_SIZE = 50
MAX_PAGES = 10
PATH = re.compile(r"^/(?P<country>[a-z]{2})/rss/customerreviews/page=(?P<page>\d+)/id=(?P<app>\d+)/sortby=mostrecent/json$")
DEMO_APP_ID = "1600000001"


@functools.lru_cache(maxsize=8)
def load_reviews(country: str) -> dict | None:
    path = APPSTORE_DIR / f"{country}-reviews.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _stamp(entry: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(entry["updated"]["label"])


def _feed(base: str, country: str, app_id: str, page: int, entries: list[dict] | None, last: int) -> dict:
    def link(rel: str, n: int) -> dict:
        return {"attributes": {"rel": rel, "type": "application/json" if rel != "alternate" else "text/html",
                               "href": f"{base}/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json"}}

    feed = {"author": {"name": {"label": "iTunes Store"}, "uri": {"label": "http://www.apple.com/itunes/"}},
            "updated": {"label": dt.datetime.now(dt.timezone.utc).isoformat()},
            "rights": {"label": "Copyright 2008 Apple Inc."}, "title": {"label": "iTunes Store: Customer Reviews"},
            "icon": {"label": "http://itunes.apple.com/favicon.ico"},
            "link": [link("alternate", page), link("self", page), link("first", 1), link("last", last),
                     link("previous", max(1, page - 1)), link("next", min(last, page + 1))],
            "id": {"label": f"{base}/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"}}
    if entries:
        feed["entry"] = entries[0] if len(entries) == 1 else entries
    return {"feed": feed}


def register(sandbox) -> None:
    def serve(request: Request) -> Reply:
        match = PATH.match(request.path)
        if not match:
            return Reply(status=404, body=b"", content_type="text/html")
        country, page, app_id = match["country"], int(match["page"]), match["app"]
        recorded = load_reviews(country)
        if recorded is None or recorded["app_id"] != app_id:
            body = json.dumps(_feed(sandbox.base_url, country, app_id, page, None, 1)).encode()
            return static_reply(request, body, "text/javascript; charset=utf-8")
        clock, end = sandbox.options.get("appstore_clock"), sandbox.options.get("appstore_dates_end")
        reviews = [e for e in recorded["entries"] if clock is None or _stamp(e) <= clock]
        if end and recorded["entries"]:
            offset = end - _stamp(recorded["entries"][0])
            reviews = [{**e, "updated": {"label": (_stamp(e) + offset).isoformat()}} for e in reviews]
        reviews = [{k: v for k, v in e.items() if not k.startswith("_")} for e in reviews]
        last = max(1, min(MAX_PAGES, -(-len(reviews) // PAGE_SIZE)))
        entries = reviews[(page - 1) * PAGE_SIZE: page * PAGE_SIZE] if page <= MAX_PAGES else []
        if page == 1 and entries:
            entries = [recorded["app"]] + entries
        body = json.dumps(_feed(sandbox.base_url, country, app_id, page, entries, last), ensure_ascii=False).encode()
        return static_reply(request, body, "text/javascript; charset=utf-8")

    for country in ("us", "gb", "dk", "de"):
        sandbox.route(f"/{country}/rss/customerreviews/", serve)


def demo_sources(sandbox) -> list[str]:
    """A [[sources]] block for `listen demo`: the bundled reviews, dated to end an hour ago."""
    end = sandbox.options.get("feed_dates_end") or dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    sandbox.options.setdefault("appstore_dates_end", end)
    return ["[[sources]]", 'name = "appstore-demo"', 'kind = "appstore"', f'app_id = "{DEMO_APP_ID}"',
            'country = "us"', 'app_name = "Listen Demo Notes"', f'base_url = "{sandbox.base_url}"', ""]
