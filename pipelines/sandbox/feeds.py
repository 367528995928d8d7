"""Sandbox service: recorded real feeds under /feeds/<file>, with ETag/Last-Modified and 304s.

    GET /feeds/heise.atom                   -> the recorded heise developer Atom feed (German)
    GET /feeds/feedparser/atomthreading.xml -> feedparser's Atom threading fixture
    GET /feeds/wordpress/feed/              -> a WordPress blog feed; its wfw:commentRss links point at
    GET /feeds/wordpress/2024/05/<slug>/feed/  the per-article comment feeds (a path ending in / serves index.rss)

The WordPress fixtures name their site https://blog.example.org/; the sandbox points their wfw:commentRss
links at its own /feeds/wordpress/ so comment-feed discovery follows links as it would on a real blog.

Recorded feeds are years old. With ``sandbox.options["feed_dates_end"] = datetime`` (the demo sets it), dates
are shifted so the newest entry of each feed falls at that moment and the rest keep their spacing: the same
real content, replayed as if it were this week's.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.server import Reply, Request, static_reply

FEEDS_DIR = SANDBOX_DATA / "feeds"
CONTENT_TYPES = {".atom": "application/atom+xml", ".rss": "application/rss+xml", ".xml": "application/xml",
                 ".json": "application/feed+json"}
WORDPRESS_FEED_LINK = re.compile(rb"(<wfw:commentRss>)https://blog\.example\.org/([^<]*)")
DATE_TAG = re.compile(rb"<(pubDate|published|updated|dc:date|lastBuildDate)>([^<]{6,60})</\1>")


def _parse(value: str) -> tuple[dt.datetime, str] | None:
    value = value.strip()
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")), "iso"
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value), "rfc822"
    except (TypeError, ValueError):
        return None


def shift_feed_dates(body: bytes, end: dt.datetime) -> bytes:
    """Move every entry date by one offset so the newest lands at `end` (unreadable dates are left alone)."""
    found = [_parse(m.group(2).decode("latin-1")) for m in DATE_TAG.finditer(body)]
    stamps = [f[0] if f[0].tzinfo else f[0].replace(tzinfo=dt.timezone.utc) for f in found if f]
    if not stamps:
        return body
    offset = end - max(stamps)

    def replace(match: re.Match) -> bytes:
        parsed = _parse(match.group(2).decode("latin-1"))
        if not parsed:
            return match.group(0)
        stamp, style = parsed
        stamp = (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)) + offset
        text = stamp.isoformat() if style == "iso" else email.utils.format_datetime(stamp)
        return b"<" + match.group(1) + b">" + text.encode("latin-1") + b"</" + match.group(1) + b">"

    return DATE_TAG.sub(replace, body)


def register(sandbox) -> None:
    sandbox.options.setdefault("extra_feeds", {})  # name -> bytes, for feeds generated at run time

    def serve_feed(request: Request) -> Reply:
        name = request.path[len("/feeds/"):]
        extra = sandbox.options["extra_feeds"]
        if name in extra:
            return static_reply(request, extra[name], "application/rss+xml; charset=utf-8")
        path = (FEEDS_DIR / name / "index.rss" if name.endswith("/") else FEEDS_DIR / name).resolve()
        if FEEDS_DIR.resolve() not in path.parents or not path.is_file():
            return Reply(status=404, body=b"no such feed", content_type="text/plain")
        content_type = CONTENT_TYPES.get(path.suffix, "application/xml")
        if name == "encoding.rss":
            content_type = "application/rss+xml; charset=ISO-8859-1"
        body = path.read_bytes()
        if name.startswith("wordpress/"):  # only the feed links: ids and permalinks stay as the blog wrote them
            base = sandbox.url("/feeds/wordpress/").encode()
            body = WORDPRESS_FEED_LINK.sub(lambda m: m.group(1) + base + m.group(2), body)
        if sandbox.options.get("feed_dates_end"):
            body = shift_feed_dates(body, sandbox.options["feed_dates_end"])
        return static_reply(request, body, content_type)

    sandbox.route("/feeds/", serve_feed)


def demo_sources(sandbox) -> list[str]:
    """A WordPress blog with per-article comment feeds, for `listen demo` (its other feeds are in pipelines/demo.py)."""
    return ["[[sources]]", 'name = "blog-comments"', 'kind = "feed"', f'url = "{sandbox.url("/feeds/wordpress/feed/")}"',
            "follow_comments = true", ""]
