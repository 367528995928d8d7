"""Apple App Store customer reviews from Apple's public per-country feed (no key needed).

    [[sources]]
    name = "ios-reviews"
    kind = "appstore"
    app_id = "1600000001"         # the number in the app's apps.apple.com URL
    country = "dk"
    app_name = "Our App"          # community label; default: the name the feed gives, else the id

    >>> batch = fetch(config, {}, ctx)      # GET {base_url}/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json
    >>> normalise(config, batch.records[0])["rating"]
    4.0

Pages run newest first, 50 reviews each, at most 10. Paging stops at the first review the cursor already
covers (updated no later than the newest seen and id seen, or older than it). Page 1 is fetched conditionally.
"""

from __future__ import annotations

import datetime as dt
import json

from pipelines.http import FetchError
from pipelines.sources.base import NOT_MODIFIED, Batch, FetchContext, SourceError

ACCEPT = "application/json, text/javascript;q=0.9, */*;q=0.1"
LANG_OF_COUNTRY = {"dk": "da", "de": "de", "at": "de", "us": "en", "gb": "en", "au": "en", "ie": "en", "nz": "en"}


def page_url(config, page: int) -> str:
    return (f"{config.base_url.rstrip('/')}/{config.country.lower()}/rss/customerreviews/page={page}/"
            f"id={config.app_id}/sortby=mostrecent/json")


def _label(entry: dict, key: str):
    value = entry.get(key)
    return value.get("label") if isinstance(value, dict) else None


def _stamp(text: str | None) -> dt.datetime | None:
    try:
        stamp = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def parse_page(body: bytes, where: str) -> tuple[list[dict], dict | None, bool]:
    """(review entries, the app's own entry if present, whether Apple lists a later page)."""
    if not body.strip():
        raise SourceError(f"{where}: empty response; check app_id and country (Apple answers an unknown app "
                          f"with an empty or review-less feed)")
    try:
        feed = json.loads(body.decode("utf-8"))["feed"]
    except UnicodeDecodeError:
        raise SourceError(f"{where}: response is not valid UTF-8; the next run will try again") from None
    except (ValueError, KeyError, TypeError):
        head = body[:60].decode("utf-8", "replace").strip()
        raise SourceError(f"{where}: not Apple's review JSON (starts {head!r}); check base_url, or the service is "
                          f"down") from None
    entries = feed.get("entry") or []
    entries = [entries] if isinstance(entries, dict) else [e for e in entries if isinstance(e, dict)]
    app = next((e for e in entries if "im:name" in e), None)
    reviews = [e for e in entries if "im:rating" in e]
    links = {link.get("attributes", {}).get("rel"): link.get("attributes", {}).get("href")
             for link in (feed.get("link") or []) if isinstance(link, dict)}
    current = _label(feed, "id") or ""
    has_next = bool(links.get("next")) and links.get("next") != current and links.get("next") != links.get("self")
    return reviews, app, has_next


def fetch(config, cursor: dict, ctx: FetchContext) -> Batch:
    """Reviews newer than the cursor, newest first; conditional GET on page 1."""
    cursor = dict(cursor or {})
    newest = _stamp(cursor.get("newest"))
    seen_ids = set(cursor.get("ids") or [])
    records: list[dict] = []
    app_name = config.app_name or cursor.get("app_name")
    page_one = None
    for page in range(1, config.max_pages + 1):
        url = page_url(config, page)
        try:
            response = ctx.http.get(url, source=config.name, accept=ACCEPT, max_bytes=config.max_bytes,
                                    etag=cursor.get("etag") if page == 1 else None,
                                    last_modified=cursor.get("last_modified") if page == 1 else None)
        except FetchError as exc:
            raise SourceError(str(exc)) from None
        if response.not_modified:
            return Batch(records=[], cursor=cursor, notes=[NOT_MODIFIED])
        page_one = page_one or response
        reviews, app, has_next = parse_page(response.body, f"{config.name}: {url}")
        if app and not app_name:
            app_name = _label(app, "im:name")
        reached_known = False
        for entry in reviews:
            review_id, updated = _label(entry, "id"), _stamp(_label(entry, "updated"))
            if newest and updated and (updated < newest or (updated == newest and review_id in seen_ids)):
                reached_known = True
                continue
            records.append({**entry, "_app": {"id": config.app_id, "name": app_name, "country": config.country}})
        ctx.progress(len(records))
        if reached_known or not reviews or not has_next:
            break
    stamps = [s for s in (_stamp(_label(r, "updated")) for r in records) if s]
    if stamps and (newest is None or max(stamps) >= newest):
        top = max(stamps)
        ids = [_label(r, "id") for r in records if _stamp(_label(r, "updated")) == top]
        seen_ids = (seen_ids if newest == top else set()) | set(ids)
        newest = top
    new_cursor = {"newest": newest.isoformat() if newest else None, "ids": sorted(seen_ids)[-200:],
                  "app_name": app_name, "etag": page_one.etag if page_one else None,
                  "last_modified": page_one.last_modified if page_one else None}
    return Batch(records=records, cursor=new_cursor)


def normalise(config, raw: dict) -> dict | None:
    app = raw.get("_app") or {}
    rating = _label(raw, "im:rating")
    try:
        rating = float(rating) if rating is not None else None
    except ValueError:
        rating = None
    if rating is not None and not 1 <= rating <= 5:
        rating = None
    country = (app.get("country") or config.country).lower()
    author = raw.get("author") or {}
    return {
        "native_id": _label(raw, "id"),
        "kind": "review",
        "community": app.get("name") or config.app_name or f"app {config.app_id}",
        "thread_id": None,
        "parent_id": None,
        "url": f"https://apps.apple.com/{country}/app/id{app.get('id') or config.app_id}?see-all=reviews",
        "author": (author.get("name") or {}).get("label") if isinstance(author, dict) else None,
        "created_at": _label(raw, "updated"),
        "title": _label(raw, "title"),
        "body": _label(raw, "content"),
        "rating": rating,
        "lang_hint": LANG_OF_COUNTRY.get(country),
        "is_deleted": False,
        "extra": {"version": _label(raw, "im:version"), "country": country, "vote_sum": _label(raw, "im:voteSum")},
    }
