"""Per-article comment feeds, discovered from an article feed (``follow_comments = true``).

    >>> records, comment_cursor, warnings = fetch_comment_feeds(config, parsed, cursor, ctx)
    >>> records[0]["_feed"]["comment_of"]            # the article's entry id: thread_id/parent_id at load
    'https://blog.example.org/?p=100'

Where a comment feed is found, in order:
1. ``wfw:commentRss`` on the item (WordPress, many RSS blogs);
2. an Atom ``<link rel="replies">`` (RFC 4685 threading; Blogger);
3. conventions: WordPress (generator wordpress.org) ``<article>/feed/``; Discourse topics ``<topic>.rss``;
   hnrss.org items ``https://hnrss.org/item?id=N``.
``slash:comments`` / ``thr:count`` tell how many comments an article has: articles with none, or with the same
count as last run, cost no request. The newest ``max_comment_feeds`` articles are read per run, each with a
conditional GET; a failing comment feed is a warning and is retried next run, never a failed source.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

from pipelines.http import FetchError
from pipelines.sources.base import FetchContext, SourceError
from pipelines.sources.feed_parsing import ACCEPT, entry_id, feed_records, parse_feed

MAX_REMEMBERED = 500  # articles whose comment-feed validators the cursor keeps


def _count(entry) -> int | None:
    """Comments an article says it has (slash:comments or thr:count), None when it does not say."""
    for value in (entry.get("slash_comments"), entry.get("thr_total")):
        if value not in (None, ""):
            try:
                return int(str(value).strip())
            except ValueError:
                pass
    for link in entry.get("links") or []:
        if link.get("rel") == "replies" and link.get("thr_count"):
            try:
                return int(link["thr_count"])
            except ValueError:
                pass
    return None


def discover_comment_feed(entry, feed_meta: dict, feed_url: str) -> str | None:
    """The comment feed URL of one parsed entry, or None (see the module docstring for the rules)."""
    explicit = entry.get("wfw_commentrss") or entry.get("wfw_commentrss".upper())
    if explicit:
        return urljoin(feed_url, explicit.strip())
    for link in entry.get("links") or []:
        if link.get("rel") == "replies" and link.get("href") and "html" not in (link.get("type") or ""):
            return urljoin(feed_url, link["href"])
    article = (entry.get("link") or "").strip()
    if not article.startswith(("http://", "https://")):
        return None
    generator = (feed_meta.get("generator") or "").lower()
    if "wordpress" in generator:
        return article.split("#")[0].rstrip("/") + "/feed/"
    if "discourse" in generator or "discourse" in (feed_meta.get("namespaces") or {}):
        path = urlsplit(article).path
        return article.split("?")[0].rstrip("/") + ".rss" if "/t/" in path else None
    if urlsplit(feed_url).hostname == "hnrss.org":
        comments = entry.get("comments") or ""
        item = parse_qs(urlsplit(comments).query).get("id")
        return f"https://hnrss.org/item?id={item[0]}" if item else None
    return None


def fetch_comment_feeds(config, parsed, cursor: dict, ctx: FetchContext) -> tuple[list[dict], dict, list[str]]:
    """Fetch the comment feeds of the newest articles that have new comments; (records, comment cursor, warnings)."""
    previous: dict = dict((cursor or {}).get("comments") or {})
    meta = {"generator": parsed.feed.get("generator"), "namespaces": parsed.get("namespaces") or {}}
    records: list[dict] = []
    warnings: list[str] = []
    state: dict = {}
    requests = 0
    for entry in parsed.entries:
        article = entry_id(dict(entry))
        url = discover_comment_feed(entry, meta, config.url)
        if not article or not url:
            continue
        known = previous.get(article) or {}
        count = _count(entry)
        state[article] = dict(known, url=url)
        if count == 0 or (count is not None and known.get("count") == count and known.get("url") == url):
            state[article]["count"] = count
            continue  # nothing new to read: no request
        if requests >= config.max_comment_feeds:
            continue  # read next run; the stored count is unchanged so it stays due
        requests += 1
        where = f"{config.name}: comment feed {url}"
        try:
            response = ctx.http.get(url, source=config.name, accept=ACCEPT, max_bytes=config.max_bytes,
                                    etag=known.get("etag") if known.get("url") == url else None,
                                    last_modified=known.get("last_modified") if known.get("url") == url else None)
            if not response.not_modified:
                comments = parse_feed(response.body, response.content_type, where)
                records.extend(feed_records(comments, url, comment_of=article, site_title=parsed.feed.get("title")))
                ctx.progress(len(records))
            state[article].update(etag=response.etag or known.get("etag"),
                                  last_modified=response.last_modified or known.get("last_modified"), count=count)
        except (FetchError, SourceError) as exc:
            warnings.append(f"{exc} (comments of {article} are retried next run)")
    for article, known in previous.items():  # articles that left the feed keep their validators for a while
        if article not in state and len(state) < MAX_REMEMBERED:
            state[article] = known
    return records, state, warnings
