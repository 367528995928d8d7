"""RSS 2.0 / Atom / RDF feeds (blog and forum comment feeds included), parsed from bytes we fetched ourselves.

    >>> batch = fetch(FeedSource(name="blog", kind="feed", url="http://127.0.0.1:8765/feed"), {}, ctx)
    >>> normalise(config, batch.records[0])["kind"]
    'post'

feedparser never touches the network: the safe client fetches (conditional GET with the cursor's ETag and
Last-Modified) and `feed_parsing` parses the bytes; `feed_comments` follows per-article comment feeds.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from pipelines.http import FetchError
from pipelines.sources.base import Batch, FetchContext, SourceError
from pipelines.sources.feed_comments import fetch_comment_feeds
from pipelines.sources.feed_parsing import ACCEPT, entry_id, feed_records, parse_feed
from pipelines.text import html_to_text

ODD_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d.%m.%Y %H:%M", "%d.%m.%Y",
                    "%d/%m/%Y %H:%M", "%d/%m/%Y", "%B %d, %Y", "%d %B %Y", "%Y/%m/%d %H:%M:%S")


def parse_odd_date(text) -> str | None:
    """A date feedparser could not read (ISO with a space, '21.11.2024 10:00', 'May 3, 2024') -> ISO, or None.

    Day-first forms are assumed for slashes, as most non-US feeds use them; a zone-less date is taken as UTC.
    """
    if not text or not isinstance(text, str):
        return None
    text = text.strip()
    for attempt in (lambda t: dt.datetime.fromisoformat(t.replace("Z", "+00:00")),
                    email.utils.parsedate_to_datetime):
        try:
            stamp = attempt(text)
            break
        except (TypeError, ValueError, IndexError):
            stamp = None
    if stamp is None:
        for pattern in ODD_DATE_FORMATS:
            try:
                stamp = dt.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if stamp is None:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)).isoformat()


def fetch(config, cursor: dict, ctx: FetchContext) -> Batch:
    """Fetch the feed once (conditional GET); unchanged feeds return no records and keep the cursor."""
    cursor = dict(cursor or {})
    warnings: list[str] = []
    try:
        response = ctx.http.get(config.url, source=config.name, etag=cursor.get("etag"),
                                last_modified=cursor.get("last_modified"), max_bytes=config.max_bytes, accept=ACCEPT)
    except FetchError as exc:
        raise SourceError(str(exc)) from None
    if response.not_modified:
        return Batch(records=[], cursor=cursor, warnings=["feed not modified since last run (HTTP 304)"])
    parsed = parse_feed(response.body, response.content_type, f"{config.name}: {config.url}")
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warnings.append(f"{config.name}: feed is not well-formed ({exc.__class__.__name__}: {str(exc)[:160]}); "
                        f"{len(parsed.entries)} entries recovered")
    records = feed_records(parsed, config.url)
    ctx.progress(len(records))
    if config.follow_comments:
        comment_records, comment_cursor, comment_warnings = fetch_comment_feeds(config, parsed, cursor, ctx)
        records.extend(comment_records)
        cursor["comments"] = comment_cursor
        warnings.extend(comment_warnings)
    cursor.update({"etag": response.etag, "last_modified": response.last_modified})
    return Batch(records=records, cursor=cursor, warnings=warnings)


def _entry_text(raw: dict) -> str:
    contents = raw.get("content") or []
    html = ""
    if contents and isinstance(contents, list):
        html = max((c.get("value") or "" for c in contents if isinstance(c, dict)), key=len, default="")
    if not html:
        html = raw.get("summary") or raw.get("description") or ""
    return html_to_text(html)


# Lines feeds add to every entry that say nothing about it: they would become every topic's keywords.
_BOILERPLATE_LINES = re.compile(
    r"^\s*(?:(?:Article URL|Comments URL|Points|# Comments):.*"       # hnrss.org
    r"|(?:Continue reading|Read more|Read the full (?:story|article)|Weiterlesen|Mehr lesen|Læs mere|Læs videre)"
    r"\s*(?:\.\.\.|…|»|›|→)?"
    r"|The post .{1,300} appeared first on .{1,200}\."                 # WordPress
    r"|Der Beitrag .{1,300} erschien zuerst auf .{1,200}\."
    r"|Indlægget .{1,300} blev først vist på .{1,200}\.)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def strip_feed_boilerplate(text: str) -> str:
    """Remove read-more links, hnrss metadata and WordPress footers that feeds append to every entry."""
    return re.sub(r"\n{3,}", "\n\n", _BOILERPLATE_LINES.sub("", text)).strip()


def _is_comment_feed(feed: dict, raw: dict) -> bool:
    title = (feed.get("title") or "").lower()
    return bool(
        feed.get("comment_of")
        or raw.get("thr_in-reply-to")
        or raw.get("in-reply-to")
        or title.startswith(("comments on:", "comments for", "kommentarer til", "kommentare zu", "comments:"))
    )


def normalise(config, raw: dict) -> dict | None:
    feed = raw.get("_feed") or {}
    native = entry_id(raw)
    is_comment = _is_comment_feed(feed, raw)
    parent = None
    thread = None
    reply = raw.get("thr_in-reply-to") or raw.get("in-reply-to")
    if isinstance(reply, dict):
        parent = reply.get("ref") or reply.get("href")
    if feed.get("comment_of"):
        thread = feed["comment_of"]
        parent = parent or thread
    elif parent:
        thread = parent  # an Atom-threaded reply in the article feed itself: its root is the post it answers
    author = raw.get("author") or (raw.get("author_detail") or {}).get("name")
    created = raw.get("published_parsed") or raw.get("updated_parsed") or raw.get("created_parsed")
    date_text = raw.get("published") or raw.get("updated") or raw.get("created") or raw.get("dc_date")
    if not created:
        created = parse_odd_date(date_text)
    title = html_to_text(raw.get("title"))
    body = strip_feed_boilerplate(_entry_text(raw)) or title  # a link post's text is its title (as on Reddit)
    if not body and not title:
        return None
    extra = {k: raw.get(k) for k in ("slash_comments", "comments", "wfw_commentrss") if raw.get(k)}
    if not created:  # the loader then uses the fetch time and sets created_at_estimated
        extra["date_missing" if not date_text else "date_unreadable"] = date_text or True
    if is_comment and title.lower().startswith(("by:", "comment on", "af:", "von:")):
        title = ""  # WordPress comment titles are 'By: name' - the handle must not survive into the title
    return {
        "native_id": native,
        "kind": "comment" if is_comment else "post",
        "community": feed.get("site_title") or feed.get("title") or (config.name if config else None),
        "thread_id": thread if is_comment else native,
        "parent_id": parent if is_comment else None,
        "url": raw.get("link"),
        "author": author,
        "created_at": created,
        "title": title,
        "body": body,
        "rating": None,
        "lang_hint": (raw.get("language") or feed.get("language") or None),
        "is_deleted": False,
        "extra": extra,
    }
