"""Feed bytes -> parsed feed -> raw landing records, shared by article feeds (feed.py) and comment feeds.

    >>> parsed = parse_feed(response.body, response.content_type, "blog: https://blog.example.org/feed/")
    >>> records = feed_records(parsed, "https://blog.example.org/feed/")
    >>> entry_id(records[0])
    'https://blog.example.org/?p=100'

feedparser has no timeout, no size limit and expands entities, so it only ever sees bytes the safe client fetched,
after `check_xml_safe` refused DTD declarations. Bytes are parsed without a base URL so entry ids stay exactly as
the feed wrote them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import time

import feedparser

from pipelines.http import check_xml_safe
from pipelines.sources.base import SourceError

ACCEPT = "application/atom+xml, application/rss+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


def _iso(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.timezone.utc).isoformat()
    except (OverflowError, ValueError, TypeError):
        return None


def _jsonable(value, depth: int = 0):
    """feedparser's dicts -> plain JSON values (struct_time -> ISO string); bounded depth."""
    if depth > 6:
        return None
    if isinstance(value, time.struct_time):
        return _iso(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def parse_feed(body: bytes, content_type: str, where: str) -> feedparser.FeedParserDict:
    """Parse feed bytes safely; raises SourceError if the bytes are not a feed at all."""
    body = check_xml_safe(body, where)
    parsed = feedparser.parse(body, response_headers={"content-type": content_type or "application/xml"},
                              sanitize_html=True, resolve_relative_uris=False)
    if not parsed.entries and parsed.get("bozo") and not parsed.feed.get("title"):
        reason = parsed.get("bozo_exception")
        raise SourceError(f"{where}: not a readable RSS/Atom feed ({reason.__class__.__name__ if reason else 'unknown'}: "
                          f"{str(reason)[:200]})")
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        raise SourceError(f"{where}: the response is not an RSS/Atom feed (check the URL)")
    return parsed


def feed_records(parsed, feed_url: str, *, comment_of: str | None = None, site_title: str | None = None) -> list[dict]:
    """Raw landing records: the entry as JSON plus the feed's title and where it came from.

    Comment feeds pass the article's id (`comment_of`) and the site's title, so comments are counted in the
    site's community ("Example Blog"), not in one community per article ("Comments on: ...").
    """
    feed_title = parsed.feed.get("title")
    records = []
    for entry in parsed.entries:
        raw = _jsonable(dict(entry))
        raw["_feed"] = {"title": feed_title, "url": feed_url, "link": parsed.feed.get("link"),
                        "language": parsed.feed.get("language"), "comment_of": comment_of,
                        "site_title": site_title}
        records.append(raw)
    return records


def entry_id(raw: dict) -> str:
    """The native id of a feed entry: its id, guid or link; else a hash of what it says."""
    native = raw.get("id") or raw.get("guid") or raw.get("link")
    if native:
        return str(native).strip()
    basis = "\x1f".join(str(raw.get(k) or "") for k in ("title", "published", "updated", "summary"))
    return "sha1:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:20]
