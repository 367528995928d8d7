"""Discourse forums: the latest topics (of chosen categories or tags) and their posts, through the forum's JSON API.

    [[sources]]
    name = "forum"
    kind = "discourse"
    url = "https://community.example.org"
    categories = ["support", "Feature requests"]   # slug, name or id; empty: every public category (/latest)
    tags = ["billing"]
    forum_name = "Example community"              # community label "<forum_name> · <category>"; default the host

    >>> batch = fetch(config, cursor={}, ctx=FetchContext(run_id="r1", http=HttpClient()))
    >>> normalise(config, batch.records[0])["thread_id"]
    '14'

Each listing (``/latest.json``, ``/c/<slug>/<id>/l/latest.json``, ``/tag/<tag>/l/latest.json``) is read page by page,
most recently bumped first, down to the newest ``bumped_at`` seen last run (pinned topics, listed first whatever
their age, do not end it). A topic whose ``bumped_at`` moved is read again: ``/t/<id>.json`` gives its first 20
posts and the ids of all (``post_stream.stream``); posts not read before come from ``/t/<id>/posts.json?
post_ids[]=…``, 20 at a time, at most ``max_posts_per_topic`` (the newest) per run. Posts whose ``version``
changed among the first 20 (and any read anew) are loaded again (the content hash changes, enrichment is redone);
an edit further down a long topic is not seen. Posts gone from the stream, and posts their author deleted, become
tombstones (the stored text and author go). Topics stay remembered for
``revisit_days`` after their last post and are re-read once per run even when not bumped, since deleting a post
does not bump its topic. Only regular posts are kept (no whispers, no "closed the topic" notices), and topics of
read-restricted categories only when such a category is named in ``categories``.

A post's native id is its post id; ``thread_id`` is the topic's opening post, ``parent_id`` the post it replies
to (or the opening post). Cooked HTML becomes text as feed bodies do, without quoted posts and link previews.
``DISCOURSE_API_KEY`` and ``DISCOURSE_API_USERNAME`` (names configurable), set together, are sent as the
``Api-Key``/``Api-Username`` headers for forums that need a login; never logged or stored.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, urlsplit

from pipelines.http import FetchError
from functools import partial

from pipelines.sources.api import ApiRun, PageGuard, SourceRun, parse_time
from pipelines.sources.base import Batch, FetchContext, SourceError
from pipelines.text import html_to_text

POSTS_PER_REQUEST = 20  # Discourse's chunk size
REGULAR_POST = 1
POST_FIELDS = ("id", "username", "created_at", "updated_at", "cooked", "post_number", "reply_to_post_number",
               "topic_id", "version", "deleted_at", "user_deleted", "hidden", "post_type", "reads", "reply_count")
# quoted posts and link previews repeat someone else's words: not this post's text
_ASIDE = re.compile(r'<aside\b[^>]*class="[^"]*\b(?:quote|onebox)\b[^"]*"[^>]*>(?:(?!<aside\b).)*?</aside>',
                    re.DOTALL | re.IGNORECASE)


def cooked_text(cooked: str | None) -> str:
    """A post's own text: quotes and oneboxes removed (innermost first, a bounded number of passes), then text."""
    cooked = cooked or ""
    for _ in range(10):
        cooked, found = _ASIDE.subn(" ", cooked)
        if not found:
            break
    return html_to_text(cooked)


def api_headers(config) -> dict[str, str]:
    key = os.environ.get(config.api_key_env, "").strip()
    user = os.environ.get(config.api_username_env, "").strip()
    if bool(key) != bool(user):
        raise SourceError(f"{config.name}: set both {config.api_key_env} and {config.api_username_env}, or neither "
                          f"(public forums need no key)")
    return {"Api-Key": key, "Api-Username": user} if key else {}


def _signature(post: dict) -> str:
    """What tells an edit or a deletion: the post's version and whether it is deleted."""
    return f"{post.get('version')}:{int(bool(post.get('deleted_at') or post.get('user_deleted')))}"


class _Run(SourceRun):
    threads_key = "topics"

    def __init__(self, config, cursor: dict, ctx: FetchContext, api: ApiRun):
        super().__init__(config, cursor, ctx, api)
        self.base = config.url
        self.forum = config.forum_name or urlsplit(config.url).hostname
        self.categories: dict[int, dict] = {}
        self.topics_read: set[str] = set()
        self.allowed_restricted: set[int] = set()

    # -- categories and listings -------------------------------------------------------------------------------
    def read_categories(self) -> None:
        try:
            found = self.api.get_json(f"{self.base}/categories.json", {"include_subcategories": "true"})
        except FetchError as exc:
            raise SourceError(f"{exc}; " + self.api.hints.get(exc.status, f"is {self.base} a Discourse forum?")) \
                from None
        stack = list(((found or {}).get("category_list") or {}).get("categories") or []) if isinstance(found, dict) else []
        if not stack and not isinstance(found, dict):
            raise SourceError(f"{self.config.name}: {self.base}/categories.json is not a Discourse category list; "
                              f"check the forum address")
        while stack:
            category = stack.pop()
            if isinstance(category, dict) and isinstance(category.get("id"), int):
                self.categories[category["id"]] = {"name": category.get("name") or f"category {category['id']}",
                                                   "slug": category.get("slug") or str(category["id"]),
                                                   "restricted": bool(category.get("read_restricted"))}
                stack.extend(category.get("subcategory_list") or [])

    def category_listing(self, wanted: str) -> tuple[str, str, str]:
        for category_id, category in self.categories.items():
            if wanted.lower() in (str(category_id), category["slug"].lower(), category["name"].lower()):
                self.allowed_restricted.add(category_id)
                return (f"c:{category_id}", f"/c/{quote(category['slug'])}/{category_id}/l/latest.json",
                        f"category {category['name']!r}")
        known = ", ".join(sorted(c["slug"] for c in self.categories.values())) or "none visible"
        raise SourceError(f"{self.config.name}: not found on {self.forum} (known: {known})")

    def listings_to_read(self) -> list[tuple[str, str, str]]:
        """(cursor key, path, what) of every listing this source follows (an unknown category is a failure)."""
        chosen = []
        for wanted in self.config.categories:
            self.api.attempt(f"category {wanted!r}", lambda: chosen.append(self.category_listing(wanted)))
        for tag in self.config.tags:
            chosen.append((f"tag:{tag.lower()}", f"/tag/{quote(tag)}/l/latest.json", f"tag {tag!r}"))
        return chosen or [("latest", "/latest.json", "latest topics")]

    def read_listing(self, key: str, path: str, what: str) -> None:
        """Topics bumped since the listing's watermark, most recent first; the watermark moves when reached."""
        watermark = parse_time((self.listings.get(key) or {}).get("bumped"))
        guard = PageGuard(self.api, what, self.config.max_pages,
                          "the rest is read next run (or raise max_pages)" if watermark else None)
        top, page, complete = watermark, 0, False
        while True:
            found = self.api.get_json(f"{self.base}{path}", {"order": "activity", "ascending": "false", "page": page})
            topic_list = found.get("topic_list") if isinstance(found, dict) else None
            if not isinstance(topic_list, dict):
                raise SourceError(f"{self.config.name}: {self.base}{path} is not a Discourse topic list; check the "
                                  f"forum address")
            topics = [t for t in topic_list.get("topics") or [] if isinstance(t, dict) and isinstance(t.get("id"), int)]
            fresh = 0
            for topic in topics:
                bumped = parse_time(topic.get("bumped_at"))
                pinned = topic.get("pinned") or topic.get("pinned_globally")
                if watermark and bumped and bumped <= watermark:
                    complete = complete or not pinned
                    continue
                if self.hidden(topic.get("category_id")) or str(topic["id"]) in self.topics_read:
                    continue  # a page repeating topics (a broken server) has nothing fresh and ends the paging
                fresh += 1
                top = max(filter(None, [top, bumped]), default=None)
                self.read_topic(topic["id"], topic.get("bumped_at"))
            if complete or not topics or not topic_list.get("more_topics_url"):
                complete = True
                break
            page += 1
            if not guard.more(str(page), fresh):
                complete = not fresh
                break
        if complete or not watermark:
            self.listings[key] = {"bumped": top.isoformat() if top else None}

    def hidden(self, category_id) -> bool:
        """Topics of read-restricted categories (visible to an API key) stay out unless named in `categories`."""
        category = self.categories.get(category_id)
        return bool(category and category["restricted"] and category_id not in self.allowed_restricted)

    # -- topics ------------------------------------------------------------------------------------------------
    def read_topic(self, topic_id: int, bumped_at: str | None) -> None:
        key = str(topic_id)
        entry = self.tracked.get(key) or {}
        if key in self.topics_read or (bumped_at and entry.get("bumped") == bumped_at):
            return  # read already in this run, or nothing happened since the last one
        self.topics_read.add(key)
        self.api.attempt(f"topic {topic_id}", lambda: self._read_topic(topic_id, bumped_at))

    def _read_topic(self, topic_id: int, bumped_at: str | None) -> None:
        key = str(topic_id)
        entry = self.tracked.get(key) or {}
        try:
            topic = self.api.get_json(f"{self.base}/t/{topic_id}.json")
        except FetchError as exc:
            if exc.status in (403, 404, 410):  # deleted, or moved somewhere private: what we stored goes too
                self.forget_topic(key, entry)
                return
            raise
        stream = (topic.get("post_stream") or {}) if isinstance(topic, dict) else {}
        posts = {p["id"]: p for p in stream.get("posts") or [] if isinstance(p, dict) and isinstance(p.get("id"), int)}
        order = [i for i in stream.get("stream") or list(posts) if isinstance(i, int)]
        if self.hidden(topic.get("category_id")):
            self.forget_topic(key, entry)
            return
        known: dict = entry.get("items") or {}
        listed = {str(i) for i in order}
        missing = [i for i in order if i not in posts and str(i) not in known]
        if len(missing) > self.config.max_posts_per_topic:
            self.api.warnings.append(f"{self.config.name}: topic {topic_id}: {len(missing)} unread posts; the newest "
                                     f"max_posts_per_topic={self.config.max_posts_per_topic} were read")
            missing = missing[-self.config.max_posts_per_topic:]
        for start in range(0, len(missing), POSTS_PER_REQUEST):
            more = self.api.get_json(f"{self.base}/t/{topic_id}/posts.json",
                                     [("post_ids[]", i) for i in missing[start:start + POSTS_PER_REQUEST]])
            for post in ((more or {}).get("post_stream") or {}).get("posts") or [] if isinstance(more, dict) else []:
                if isinstance(post, dict) and isinstance(post.get("id"), int):
                    posts[post["id"]] = post
        number_to_id = {item["number"]: post_id for post_id, item in known.items()}
        number_to_id.update({p.get("post_number"): str(p["id"]) for p in posts.values()})
        first = number_to_id.get(1) or entry.get("first") or (str(order[0]) if order else None)
        category = self.categories.get(topic.get("category_id"), {}).get("name")
        community = f"{self.forum} · {category}" if category else self.forum
        about = {"id": topic_id, "slug": topic.get("slug") or "topic", "title": topic.get("title"),
                 "category": category, "tags": [t if isinstance(t, str) else t.get("name") for t in topic.get("tags") or []]}
        items = {k: v for k, v in known.items() if k in listed}
        for post in sorted(posts.values(), key=lambda p: p.get("post_number") or 0):
            if post.get("post_type", REGULAR_POST) != REGULAR_POST:
                continue
            number = post.get("post_number")
            parent = None if number == 1 else number_to_id.get(post.get("reply_to_post_number")) or first
            item = {"number": number, "sig": _signature(post), "parent": parent}
            if known.get(str(post["id"])) == item:
                continue  # unchanged since it was loaded
            items[str(post["id"])] = item
            self.keep(str(post["id"]), {**{k: post.get(k) for k in POST_FIELDS}, "_listen": {
                "community": community, "topic": about, "thread": first, "parent": parent, "base": self.base}})
        for gone in set(known) - set(items):
            self.tombstone(gone, known[gone], community=entry.get("community") or community, thread=first)
        self.tracked.remember(key, at=topic.get("last_posted_at") or bumped_at, bumped=bumped_at or entry.get("bumped"),
                              community=community, first=first, items=items)

    def tombstone(self, post_id: str, item: dict, *, community: str, thread: str | None) -> None:
        self.records[post_id] = {"id": int(post_id), "post_number": item["number"], "_listen": {
            "deleted": True, "community": community, "thread": thread, "parent": item["parent"]}}

    def forget_topic(self, key: str, entry: dict) -> None:
        for post_id, item in (entry.get("items") or {}).items():
            self.tombstone(post_id, item, community=entry.get("community") or self.forum, thread=entry.get("first"))
        self.tracked.drop(key)

    def revisit(self) -> None:
        """Topics active within revisit_days that were not read this run: deletions and edits do not bump them."""
        for key in self.tracked.due(self.ctx.now, self.config.revisit_days, skip=self.topics_read):
            self.topics_read.add(key)
            if not self.api.attempt(f"topic {key}", lambda: self._read_topic(int(key), None)):
                return


def fetch(config, cursor: dict, ctx: FetchContext) -> Batch:
    """Topics bumped since last run in every followed listing, their new and changed posts, then revisits."""
    api = ApiRun(ctx, config, headers=api_headers(config),
                 hints={401: f"check {config.api_key_env} and {config.api_username_env}",
                        403: f"the forum needs a login to read this: set {config.api_key_env} and "
                             f"{config.api_username_env}"})
    run = _Run(config, dict(cursor or {}), ctx, api)
    if not api.attempt("categories", run.read_categories) or api.failures:
        return api.batch([], dict(cursor or {}))  # not a Discourse API, refused, or rate-limited
    api.read_all((what, partial(run.read_listing, key, path, what)) for key, path, what in run.listings_to_read())
    return run.finish()


def normalise(config, raw: dict) -> dict | None:
    meta = raw.get("_listen") or {}
    topic = meta.get("topic") or {}
    number = raw.get("post_number")
    post = {"native_id": str(raw.get("id") or ""), "kind": "post" if number == 1 else "comment",
            "community": meta.get("community"), "thread_id": meta.get("thread"),
            "parent_id": None if number == 1 else meta.get("parent"), "rating": None}
    if meta.get("deleted") or raw.get("deleted_at") or raw.get("user_deleted"):
        return {**post, "url": None, "author": None, "created_at": None, "title": None, "body": None,
                "lang_hint": None, "is_deleted": True, "extra": {"deleted": True}}
    title = topic.get("title") if number == 1 else None
    body = cooked_text(raw.get("cooked")) or title
    if not body:
        return None
    return {**post, "url": f"{meta.get('base') or config.url}/t/{topic.get('slug') or 'topic'}/{topic.get('id')}/{number}",
            "author": raw.get("username"), "created_at": raw.get("created_at"), "title": title, "body": body,
            "lang_hint": None, "is_deleted": False,
            "extra": {"topic_id": topic.get("id"), "post_number": number, "category": topic.get("category"),
                      "tags": topic.get("tags") or [], "version": raw.get("version"), "reads": raw.get("reads"),
                      "replies": raw.get("reply_count")}}
