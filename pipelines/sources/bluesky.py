"""Bluesky through the AppView's XRPC API: posts matching search terms (app.bsky.feed.searchPosts) and the posts
of chosen accounts (app.bsky.feed.getAuthorFeed), with the thread around each (app.bsky.feed.getPostThread).

    [[sources]]
    name = "bluesky-dk"
    kind = "bluesky"
    search = ["rejsekort", "DSB tog"]      # each query is one listing; lang = "da" keeps Danish hits only
    accounts = ["dsb.dk"]                  # handles or DIDs

    >>> batch = fetch(config, cursor={}, ctx=FetchContext(run_id="r1", http=HttpClient()))
    >>> normalise(config, batch.records[0])["url"]
    'https://bsky.app/profile/someone.bsky.social/post/3lpk2u6qo222m'

Paging follows the ``cursor`` the API returns. Search asks for the newest posts (``sort=latest``) since the
newest one seen last run (``since``, an hour's overlap for late indexing); an author feed is read back to that
same watermark. The watermark only moves when a listing was read to its end: a run cut short by ``max_pages``
or the request budget reads the same stretch again next time (posts already stored are simply updated).
Reposts are skipped; a pinned post does not end the paging. A reply in an author feed comes with the post it
answers and its thread's first post (the feed carries both): they are loaded too, at no extra request.

A matched post with replies has its thread read once (getPostThread: its parents and replies); a reply names
its thread's root and its parent in its own record, so linking it costs nothing. Matched posts and the replies
read below them stay remembered for ``revisit_days``: one ``getPosts`` per 25 tells which were deleted (a
tombstone is loaded: the stored text and author go) and whose reply count changed (the thread is read again;
replies that disappeared become tombstones). Bluesky posts cannot be edited.

``at://did/app.bsky.feed.post/rkey`` URIs are the posts' ids; their public links are
``https://bsky.app/profile/<handle>/post/<rkey>`` (the DID when the handle is unknown or invalid). Authors are
handles (pseudonymised at load). Without credentials the public AppView (``base_url``) is used; where it refuses
(HTTP 401/403, as it may for search) and ``BLUESKY_HANDLE``/``BLUESKY_APP_PASSWORD`` are set (names configurable),
the source logs in once per run with that app password at ``login_url`` and continues there. Neither the
password nor the session token is ever logged or stored.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from pipelines.http import FetchError
from functools import partial

from pipelines.sources.api import ApiRun, PageGuard, SourceRun, parse_time
from pipelines.sources.base import Batch, FetchContext, SourceError

PAGE_SIZE = 100  # the maximum of searchPosts and getAuthorFeed
GET_POSTS = 25  # uris per getPosts
THREAD_DEPTH = 10
OVERLAP = dt.timedelta(hours=1)  # search indexes late: read back this far past the watermark
AT_URI = re.compile(r"^at://(?P<repo>[^/]+)/app\.bsky\.feed\.post/(?P<rkey>[A-Za-z0-9._:~-]+)$")
THREAD_POST = "app.bsky.feed.defs#threadViewPost"


def public_url(uri: str, handle: str | None = None) -> str | None:
    """``at://did:plc:x/app.bsky.feed.post/3k…`` -> ``https://bsky.app/profile/<handle or did>/post/3k…``."""
    match = AT_URI.match(uri or "")
    if not match:
        return None
    who = handle if handle and handle != "handle.invalid" else match["repo"]
    return f"https://bsky.app/profile/{who}/post/{match['rkey']}"


def slim_post(post: dict) -> dict:
    """What the landing zone keeps of a post view: no display names, avatars or labels."""
    author = post.get("author") or {}
    record = post.get("record") or {}
    return {"uri": post.get("uri"), "cid": post.get("cid"),
            "author": {"did": author.get("did"), "handle": author.get("handle")},
            "record": {k: record.get(k) for k in ("text", "createdAt", "langs", "reply") if k in record},
            **{k: post.get(k) for k in ("replyCount", "repostCount", "likeCount", "quoteCount", "indexedAt")}}


def _replying_to(post: dict) -> tuple[str | None, str | None]:
    """(root uri, parent uri) of a reply, (None, None) for a thread's first post."""
    reply = (post.get("record") or {}).get("reply") or {}
    return (reply.get("root") or {}).get("uri"), (reply.get("parent") or {}).get("uri")


class _Run(SourceRun):
    def __init__(self, config, cursor: dict, ctx: FetchContext, api: ApiRun):
        super().__init__(config, cursor, ctx, api)
        self.base = config.base_url
        self.logged_in = False
        self.threads_read: set[str] = set()
        self.current: dict[str, dict] = {}  # matched posts as a revisit found them

    # -- requests ----------------------------------------------------------------------------------------------
    def xrpc(self, method: str, params: dict | list):
        try:
            return self.api.get_json(f"{self.base}/xrpc/{method}", params)
        except FetchError as exc:
            if exc.status not in (401, 403) or self.logged_in:
                raise
            self.login(exc.status)
            return self.api.get_json(f"{self.base}/xrpc/{method}", params)

    def login(self, refused_with: int) -> None:
        """Log in once with the app password; without one, or when it is refused, nothing more is read."""
        try:
            self._login(refused_with)
        except SourceError:
            self.api.stopped = "the AppView wants a login that did not succeed"
            raise

    def _login(self, refused_with: int) -> None:
        handle = os.environ.get(self.config.handle_env, "").strip()
        password = os.environ.get(self.config.password_env, "").strip()
        if not (handle and password):
            raise SourceError(f"{self.config.name}: {self.base} refuses unauthenticated requests (HTTP {refused_with}); "
                              f"set {self.config.handle_env} and {self.config.password_env} (an app password: "
                              f"Bluesky → Settings → Privacy and security → App passwords)")
        try:
            session = self.api.post_json(f"{self.config.login_url}/xrpc/com.atproto.server.createSession",
                                         {"identifier": handle, "password": password})
        except FetchError as exc:
            raise SourceError(f"{exc}: the login was refused; check {self.config.handle_env} and "
                              f"{self.config.password_env}") from None
        token = session.get("accessJwt") if isinstance(session, dict) else None
        if not token:
            raise SourceError(f"{self.config.name}: {self.config.login_url} answered the login without a session "
                              f"token; check login_url")
        self.api.headers["Authorization"] = f"Bearer {token}"
        self.base, self.logged_in = self.config.login_url, True

    # -- records -----------------------------------------------------------------------------------------------
    def add(self, post: dict, community: str) -> bool:
        if not isinstance(post, dict) or not AT_URI.match(str(post.get("uri") or "")):
            return False
        known = self.records.get(post["uri"], {}).get("_listen", {})
        self.keep(post["uri"], {**slim_post(post), "_listen": {"community": known.get("community") or community}})
        return True

    def tombstone(self, uri: str, *, community: str, thread: str | None, parent: str | None) -> None:
        self.records[uri] = {"uri": uri, "_listen": {"deleted": True, "community": community, "thread": thread,
                                                     "parent": parent}}

    # -- listings ----------------------------------------------------------------------------------------------
    def read_listing(self, key: str, method: str, params: dict, community: str, items_of) -> None:
        """Page one listing back to the stored watermark; move the watermark only if that was reached."""
        state = self.listings.get(key) or {}
        newest = parse_time(state.get("newest"))
        horizon = newest - OVERLAP if newest else None
        guard = PageGuard(self.api, community, self.config.max_pages,
                          "the rest is read next run (or raise max_pages)" if newest else None)
        top, cursor, complete = newest, None, False
        while True:
            page = self.xrpc(method, {**params, **({"cursor": cursor} if cursor else {})})
            posts, cursor = items_of(page), page.get("cursor") if isinstance(page, dict) else None
            fresh = 0
            for post, pinned in posts:
                if pinned is None:  # context a feed item carries (the post a reply answers): kept, not followed
                    self.add(post, community)
                    continue
                stamp = parse_time(post.get("indexedAt"))
                if horizon and stamp and stamp < horizon and not pinned:
                    complete = True
                    continue
                fresh += post["uri"] not in self.records
                if self.add(post, community):
                    self.follow(post, community)
                    top = max(filter(None, [top, stamp]), default=None)
            if complete or not cursor or not posts:
                complete = True
                break
            if not guard.more(cursor, fresh):
                complete = not fresh  # a repeated page: nothing more to read; max_pages: the rest is unread
                break
        if complete or not newest:  # a first run keeps its newest: older posts are not backfilled later
            self.listings[key] = {"newest": top.isoformat() if top else None}

    def read_search(self, query: str) -> None:
        params = {"q": query, "sort": "latest", "limit": PAGE_SIZE, **({"lang": self.config.lang} if self.config.lang else {})}
        newest = parse_time((self.listings.get(f"search:{query}") or {}).get("newest"))
        if newest:
            params["since"] = (newest - OVERLAP).isoformat().replace("+00:00", "Z")
        self.read_listing(f"search:{query}", "app.bsky.feed.searchPosts", params, f"bluesky search: {query}",
                          lambda page: [(p, False) for p in (page.get("posts") or []) if isinstance(p, dict)]
                          if isinstance(page, dict) else [])

    def read_author(self, actor: str) -> None:
        def items(page) -> list[tuple[dict, bool]]:
            feed = page.get("feed") if isinstance(page, dict) else None
            found = []
            for item in feed or []:
                reason = (item.get("reason") or {}).get("$type", "") if isinstance(item, dict) else ""
                if isinstance(item, dict) and isinstance(item.get("post"), dict) and "reasonRepost" not in reason:
                    found.append((item["post"], "reasonPin" in reason))
                    reply = item.get("reply") or {}  # the posts an account's reply answers: free context
                    found += [(reply[part], None) for part in ("root", "parent") if isinstance(reply.get(part), dict)
                              and reply[part].get("$type", "").endswith("#postView")]
            return found

        self.read_listing(f"author:{actor.lower()}", "app.bsky.feed.getAuthorFeed",
                          {"actor": actor, "limit": PAGE_SIZE, "filter": "posts_with_replies"},
                          f"bluesky @{actor}", items)

    # -- threads -----------------------------------------------------------------------------------------------
    def follow(self, post: dict, community: str, *, again: bool = False) -> None:
        """Remember a matched post; read its replies when it has some that were not read yet (a reply's root
        and parent are in its own record, so a post without replies costs no request)."""
        root, parent = _replying_to(post)
        entry = self.tracked.get(post["uri"]) or {}
        self.tracked.remember(post["uri"], at=post.get("indexedAt"), community=entry.get("community") or community,
                              root=root or post["uri"], parent=parent)
        if not self.config.replies or post["uri"] in self.threads_read:
            return
        replies = post.get("replyCount") or 0
        if not again and (not replies or entry.get("count") == replies):
            self.tracked.remember(post["uri"], count=entry.get("count", 0) if replies else 0)
            return
        self.threads_read.add(post["uri"])
        self.api.attempt(f"thread of {post['uri']}", lambda: self.read_thread(post))

    def read_thread(self, post: dict) -> None:
        entry = self.tracked.get(post["uri"])
        community = entry["community"]
        try:
            found = self.xrpc("app.bsky.feed.getPostThread",
                              {"uri": post["uri"], "depth": THREAD_DEPTH, "parentHeight": THREAD_DEPTH})
        except FetchError as exc:
            if exc.status in (400, 404):  # NotFound: deleted since the listing; the revisit will see it gone
                return
            raise
        thread = found.get("thread") if isinstance(found, dict) else None
        if not isinstance(thread, dict) or thread.get("$type") != THREAD_POST:
            return
        parent = thread.get("parent")
        while isinstance(parent, dict) and parent.get("$type") == THREAD_POST:
            self.add(parent.get("post"), community)
            parent = parent.get("parent")
        replies: dict[str, dict] = {}
        stack = list(thread.get("replies") or [])
        while stack:
            node = stack.pop()
            if isinstance(node, dict) and node.get("$type") == THREAD_POST and self.add(node.get("post"), community):
                replies[node["post"]["uri"]] = {"parent": _replying_to(node["post"])[1],
                                                "sig": str(node["post"].get("replyCount") or 0)}
                stack.extend(node.get("replies") or [])
        known = entry.get("items") or {}
        for gone in set(known) - set(replies):
            self.tombstone(gone, community=community, thread=entry.get("root"), parent=known[gone]["parent"])
        self.add(thread.get("post") or post, community)
        self.tracked.remember(post["uri"], count=(thread.get("post") or post).get("replyCount") or 0, items=replies)

    def revisit(self) -> None:
        """Matched posts of the last revisit_days and the replies below them: deleted, or answered since?

        One getPosts per 25 URIs; a thread is read again when its post's or any reply's reply count changed or a
        reply is gone (the new read tells which, and tombstones it)."""
        self.revisit_threads(GET_POSTS, "posts", self._check, self.read_thread, self.threads_read)

    def _check(self, pairs: list[tuple[str, str]], stale: dict[str, dict]) -> None:
        found = self.xrpc("app.bsky.feed.getPosts", [("uris", uri) for uri, _ in pairs])
        current = {p["uri"]: p for p in (found.get("posts") or []) if isinstance(p, dict) and p.get("uri")} \
            if isinstance(found, dict) else {}
        for uri, key in pairs:
            entry = self.tracked.get(key)
            if entry is None:
                continue  # its matched post is gone; its replies stay as they were
            post = current.get(uri)
            if uri != key:
                if post is None or entry["items"].get(uri, {}).get("sig") != str(post.get("replyCount") or 0):
                    stale.setdefault(key, self.current[key])
            elif post is None:
                self.tombstone(uri, community=entry["community"], thread=entry.get("root"), parent=entry.get("parent"))
                self.tracked.drop(uri)
            else:
                self.current[key] = post
                if (post.get("replyCount") or 0) != entry.get("count", 0):
                    stale[key] = post


def fetch(config, cursor: dict, ctx: FetchContext) -> Batch:
    """Search hits and account posts since last run, their threads, then revisits, within the request budget."""
    api = ApiRun(ctx, config, hints={400: "check the search query or account handle"})
    run = _Run(config, dict(cursor or {}), ctx, api)
    api.read_all([*((f"search {query!r}", partial(run.read_search, query)) for query in config.search),
                  *((f"@{actor}", partial(run.read_author, actor)) for actor in config.accounts)])
    return run.finish()


def normalise(config, raw: dict) -> dict | None:
    meta = raw.get("_listen") or {}
    uri = str(raw.get("uri") or "")
    root, parent = _replying_to(raw)
    parent = parent or meta.get("parent")
    post = {"native_id": uri, "kind": "comment" if parent else "post", "community": meta.get("community"),
            "thread_id": root or meta.get("thread") or (None if parent else uri), "parent_id": parent, "rating": None}
    if meta.get("deleted"):
        return {**post, "url": None, "author": None, "created_at": None, "title": None, "body": None,
                "lang_hint": None, "is_deleted": True, "extra": {"deleted": True}}
    record = raw.get("record") or {}
    text = (record.get("text") or "").strip()
    if not text:
        return None  # an image or a quote without words
    author = raw.get("author") or {}
    handle = author.get("handle") if author.get("handle") != "handle.invalid" else None
    langs = record.get("langs") or []
    return {**post, "url": public_url(uri, handle), "author": handle or author.get("did"),
            "created_at": record.get("createdAt") or raw.get("indexedAt"), "title": None, "body": text,
            "lang_hint": langs[0] if len(langs) == 1 else None, "is_deleted": False,
            "extra": {"likes": raw.get("likeCount"), "reposts": raw.get("repostCount"),
                      "replies": raw.get("replyCount"), "quotes": raw.get("quoteCount"),
                      "indexed_at": raw.get("indexedAt")}}
