"""Mastodon (any instance): hashtag timelines, public account statuses and, where the instance allows, status
search; the conversation around each matched status through statuses/{id}/context.

    [[sources]]
    name = "mastodon-dk"
    kind = "mastodon"
    instance = "https://mastodon.social"
    hashtags = ["rejsekort", "dsb"]
    accounts = ["dsb"]                      # this instance's accounts; "user@other.host" shows what reached it
    search = "rejsekort"                    # most instances search statuses only with an access token

    >>> batch = fetch(config, cursor={}, ctx=FetchContext(run_id="r1", http=HttpClient()))
    >>> normalise(config, batch.records[0])["community"]
    'mastodon.social #rejsekort'

Timelines page with the Link header. A listing's first run reads its newest ``max_pages`` pages (40 statuses
each, following rel="next"); later runs read forward from the newest status id seen (``min_id``, then each
rel="prev"), oldest page first, so a busy tag loses nothing between runs and a run cut short resumes where it
stopped. Links to another host are not followed. Search pages by offset above the same id (``min_id``).

Each matched status's conversation (ancestors and replies) is read once; matched statuses stay remembered for
``revisit_days``: one ``GET /api/v1/statuses?id[]=…`` per 20 of them (per status on servers before 4.3) tells
which were edited (loaded again: the content hash changes, enrichment is redone), deleted or made private (a
tombstone: the stored text and author go) or changed their reply count (the conversation is read again; replies
that disappeared become tombstones). Only public and unlisted statuses are kept; boosts are skipped.

An access token is optional: ``token_env`` names the environment variable holding it (default
MASTODON_ACCESS_TOKEN); it is sent as a bearer header and never logged or stored. Every request counts against
``request_budget``; the instance's ``x-ratelimit-*`` headers are honoured (see sources/api.py).
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

from pipelines.http import FetchError, link_url
from functools import partial

from pipelines.sources.api import ApiRun, PageGuard, SourceRun, same_origin
from pipelines.sources.base import Batch, FetchContext, SourceError
from pipelines.text import html_to_text

PAGE_SIZE = 40  # Mastodon's maximum for timelines and search
MULTI_GET = 20  # statuses per GET /api/v1/statuses?id[]=
PUBLIC = {"public", "unlisted"}
STATUS_FIELDS = ("id", "created_at", "edited_at", "in_reply_to_id", "visibility", "language", "uri", "url",
                 "replies_count", "reblogs_count", "favourites_count", "spoiler_text", "sensitive", "content")


def id_order(status_id: str) -> tuple[int, str]:
    """Sort key for status ids: Mastodon's are decimal snowflakes, other servers' fixed-length flakes."""
    return len(status_id), status_id


def signature(status: dict) -> str:
    """What changes when a status is answered or edited."""
    return f"{status.get('replies_count') or 0}|{status.get('edited_at') or ''}"


def newest_id(current: str | None, statuses: list[dict]) -> str | None:
    return max([s["id"] for s in statuses] + ([current] if current else []), key=id_order, default=None)


def slim_status(status: dict) -> dict:
    """What the landing zone keeps of a status: no display names, bios, avatars or profile fields."""
    account = status.get("account") or {}
    return {**{k: status.get(k) for k in STATUS_FIELDS},
            "account": {"id": account.get("id"), "acct": account.get("acct"), "bot": bool(account.get("bot"))},
            "tags": [t.get("name") for t in status.get("tags") or [] if isinstance(t, dict)]}


def access_headers(config) -> dict[str, str]:
    token = os.environ.get(config.token_env, "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


class _Run(SourceRun):
    """One fetch: the listings read, the conversations followed, the records and cursor being built."""

    def __init__(self, config, cursor: dict, ctx: FetchContext, api: ApiRun):
        super().__init__(config, cursor, ctx, api)
        self.base = config.instance
        self.authenticated = bool(api.headers)
        self.domain: str | None = cursor.get("domain")
        self.account_ids: dict = dict(cursor.get("account_ids") or {})
        self.multi_get: bool = cursor.get("multi_get", True)
        self.conversations_read: set[str] = set()
        self.current: dict[str, dict] = {}  # matched statuses as a revisit found them

    def cursor(self) -> dict:
        return {**super().cursor(), "domain": self.domain, "account_ids": self.account_ids,
                "multi_get": self.multi_get}

    # -- records -----------------------------------------------------------------------------------------------
    def add(self, status: dict, community: str, thread: str | None = None) -> bool:
        """Keep a public status (boosts and non-public ones are skipped); True if it was kept."""
        if not isinstance(status, dict) or not status.get("id") or status.get("reblog"):
            return False
        if status.get("visibility") not in PUBLIC:
            return False
        known = self.records.get(status["id"], {}).get("_listen", {})
        self.keep(status["id"], {**slim_status(status), "_listen": {
            "community": known.get("community") or community, "thread": thread or known.get("thread"),
            "instance": self.domain}})
        return True

    def tombstone(self, status_id: str, *, community: str, thread: str | None, parent: str | None) -> None:
        """A status that is gone: the loader drops its stored text and author, keeping its place in the thread."""
        self.records[status_id] = {"id": status_id, "_listen": {
            "deleted": True, "community": community, "thread": thread, "parent": parent}}

    # -- listings ----------------------------------------------------------------------------------------------
    def read_instance(self) -> None:
        if self.domain:
            return
        try:
            info = self.api.get_json(f"{self.base}/api/v2/instance")
        except FetchError as exc:
            raise SourceError(f"{exc}; " + self.api.hints.get(exc.status, f"is {self.base} a Mastodon instance?")) \
                from None
        if not isinstance(info, dict) or not (info.get("domain") or info.get("uri")):
            raise SourceError(f"{self.config.name}: {self.base}/api/v2/instance does not describe a Mastodon "
                              f"instance; check the instance address")
        self.domain = str(info.get("domain") or info.get("uri")).lower()

    def take(self, page, since: str | None, seen: set[str], community: str) -> list[dict]:
        """The statuses of a page not seen in this listing and newer than `since`; each is kept and followed.
        A server that ignores min_id or repeats a page yields nothing fresh, which ends the paging."""
        statuses = [s for s in page if isinstance(s, dict) and isinstance(s.get("id"), str)] \
            if isinstance(page, list) else []
        fresh = [s for s in statuses if s["id"] not in seen and (since is None or id_order(s["id"]) > id_order(since))]
        for status in fresh:
            seen.add(status["id"])
            if self.add(status, community):
                self.follow(status, community)
        return fresh

    def read_timeline(self, key: str, path: str, community: str, params: dict | None = None) -> None:
        """A timeline, newest pages first on the first run, forward from the stored id (min_id) afterwards."""
        since = (self.listings.get(key) or {}).get("since")
        direction = "prev" if since else "next"
        url, query = f"{self.base}{path}", {"limit": PAGE_SIZE, **(params or {}), **({"min_id": since} if since else {})}
        guard = PageGuard(self.api, community, self.config.max_pages, None if direction == "next" else
                          "the newer statuses are read next run (or raise max_pages)")
        newest, seen = since, set()
        while True:
            page, headers = self.api.get_page(url, query)
            fresh = self.take(page, since, seen, community)
            newest = newest_id(newest, fresh)
            self.listings[key] = {"since": newest}  # after each complete page: a run cut short resumes here
            link = link_url(headers, direction)
            if link and not same_origin(link, self.base):
                self.api.warnings.append(f"{self.config.name}: {community}: ignored a page link to another host")
                link = None
            if not guard.more(link, len(fresh)):
                return
            url, query = link, None

    def read_tag(self, tag: str) -> None:
        self.read_timeline(f"tag:{tag.lower()}", f"/api/v1/timelines/tag/{quote(tag)}", f"{self.domain} #{tag.lower()}")

    def read_account(self, acct: str) -> None:
        self.read_timeline(f"account:{acct.lower()}", f"/api/v1/accounts/{quote(self.account_id(acct))}/statuses",
                           f"{self.domain} @{acct}", {"exclude_reblogs": "true"})

    def read_search(self) -> None:
        community = f"{self.domain} search: {self.config.search}"
        key = f"search:{self.config.search}"
        since = (self.listings.get(key) or {}).get("since")
        guard = PageGuard(self.api, community, self.config.max_pages, "older matches were skipped (raise max_pages)")
        offset, newest, seen = 0, since, set()
        while True:
            params = {"q": self.config.search, "type": "statuses", "limit": PAGE_SIZE,
                      **({"offset": offset} if offset else {}), **({"min_id": since} if since else {})}
            found = self.api.get_json(f"{self.base}/api/v2/search", params)
            statuses = found.get("statuses") if isinstance(found, dict) else None
            fresh = self.take(statuses, since, seen, community)
            statuses = statuses if isinstance(statuses, list) else []
            newest = newest_id(newest, fresh)
            if not statuses and not offset and not since and not self.authenticated:
                self.api.warnings.append(f"{self.config.name}: search {self.config.search!r} found no statuses; "
                                         f"most instances search statuses only for a logged-in user (set "
                                         f"{self.config.token_env})")
            offset += len(statuses)
            # offset paging needs a logged-in user on Mastodon; without a token the first page is all there is
            if not self.authenticated or not guard.more(str(offset) if len(statuses) >= PAGE_SIZE else None, len(fresh)):
                break
        self.listings[key] = {"since": newest}

    def account_id(self, acct: str) -> str:
        if acct not in self.account_ids:
            account = self.api.get_json(f"{self.base}/api/v1/accounts/lookup", {"acct": acct})
            if not isinstance(account, dict) or not account.get("id"):
                raise SourceError(f"{self.config.name}: account {acct!r} not found on {self.domain}")
            self.account_ids[acct] = str(account["id"])
        return self.account_ids[acct]

    # -- conversations -----------------------------------------------------------------------------------------
    def follow(self, status: dict, community: str, *, again: bool = False) -> None:
        """Remember a matched status; read its conversation when it has one (a reply, or replies below it)."""
        entry = self.tracked.get(status["id"]) or {}
        self.tracked.remember(status["id"], at=status.get("created_at"), community=entry.get("community") or community,
                              parent=status.get("in_reply_to_id"), edited=status.get("edited_at"))
        if not self.config.replies or status["id"] in self.conversations_read:
            return
        replies = status.get("replies_count") or 0
        if not again and ("root" in entry and entry.get("count") == replies  # read before, nothing new below it
                          or not (status.get("in_reply_to_id") or replies)):  # no conversation to read
            self.tracked.remember(status["id"], count=entry.get("count", replies))
            return
        self.conversations_read.add(status["id"])
        self.api.attempt(f"replies of status {status['id']}", lambda: self.read_context(status))

    def read_context(self, status: dict) -> None:
        entry = self.tracked.get(status["id"])
        community = entry["community"]
        try:
            context = self.api.get_json(f"{self.base}/api/v1/statuses/{quote(status['id'])}/context")
        except FetchError as exc:
            if exc.status == 404:  # deleted between the listing and now; the revisit will see it gone
                return
            raise
        ancestors = [s for s in context.get("ancestors") or [] if isinstance(s, dict) and s.get("id")]
        descendants = [s for s in context.get("descendants") or [] if isinstance(s, dict) and s.get("id")]
        root = ancestors[0]["id"] if ancestors else (entry.get("root") or status["id"])
        for found in ancestors + [status] + descendants:
            self.add(found, community, thread=root)
        replies = {s["id"]: {"parent": s.get("in_reply_to_id"), "sig": signature(s)} for s in descendants
                   if s.get("visibility") in PUBLIC}
        known = entry.get("items") or {}
        for gone in set(known) - set(replies):
            self.tombstone(gone, community=community, thread=root, parent=known[gone]["parent"])
        self.tracked.remember(status["id"], root=root, count=status.get("replies_count") or 0, items=replies)

    def revisit(self) -> None:
        """Matched statuses of the last revisit_days and the replies below them: edited, deleted, answered?

        One multi-get per 20 ids; a conversation is read again when its status's or any reply's reply count
        or edit time changed, or a reply is gone (the new read tells which, and tombstones it)."""
        self.revisit_threads(MULTI_GET, "statuses", self._check, self.read_context, self.conversations_read)

    def _check(self, pairs: list[tuple[str, str]], stale: dict[str, dict]) -> None:
        current = self._current([status_id for status_id, _ in pairs])
        for status_id, key in pairs:
            entry = self.tracked.get(key)
            if entry is None:
                continue  # its matched status is gone; its replies stay as they were
            status = current.get(status_id)
            gone = status is None or status.get("visibility") not in PUBLIC
            if status_id != key:
                if gone or entry["items"].get(status_id, {}).get("sig") != signature(status):
                    stale.setdefault(key, self.current[key])
                continue
            if gone:
                self.tombstone(key, community=entry["community"], thread=entry.get("root"), parent=entry.get("parent"))
                self.tracked.drop(key)
                continue
            self.current[key] = status  # for a re-read below
            if status.get("edited_at") != entry.get("edited"):
                self.add(status, entry["community"], thread=entry.get("root"))
                self.tracked.remember(key, edited=status.get("edited_at"))
            if (status.get("replies_count") or 0) != entry.get("count", 0):
                stale[key] = status

    def _current(self, ids: list[str]) -> dict[str, dict]:
        """The statuses that still exist, by id: one multi-get (Mastodon 4.3+), else one request per status."""
        if self.multi_get:
            try:
                found = self.api.get_json(f"{self.base}/api/v1/statuses", [("id[]", i) for i in ids])
                return {s["id"]: s for s in found if isinstance(s, dict) and s.get("id")} if isinstance(found, list) else {}
            except FetchError as exc:
                if exc.status not in (400, 404, 405, 422):
                    raise
                self.multi_get = False  # an instance before 4.3: ask one status at a time from now on
        found = {}
        for status_id in ids:
            try:
                status = self.api.get_json(f"{self.base}/api/v1/statuses/{quote(status_id)}")
            except FetchError as exc:
                if exc.status in (404, 410):
                    continue
                raise
            if isinstance(status, dict) and status.get("id"):
                found[status["id"]] = status
        return found


def fetch(config, cursor: dict, ctx: FetchContext) -> Batch:
    """New statuses of every hashtag, account and search, their conversations, then revisits, within the budget."""
    api = ApiRun(ctx, config, headers=access_headers(config),
                 hints={401: f"check the access token in ${config.token_env}",
                        403: f"the instance refuses this without a login: set ${config.token_env}"})
    run = _Run(config, dict(cursor or {}), ctx, api)
    api.attempt("instance", run.read_instance)
    if not run.domain:  # not a Mastodon API, refused, or rate-limited: nothing else can be read
        return api.batch([], dict(cursor or {}))
    api.read_all([
        *((f"{run.domain} #{tag.lower()}", partial(run.read_tag, tag)) for tag in config.hashtags),
        *((f"{run.domain} @{acct}", partial(run.read_account, acct)) for acct in config.accounts),
        *([(f"search {config.search!r}", run.read_search)] if config.search else [])])
    return run.finish()


def normalise(config, raw: dict) -> dict | None:
    meta = raw.get("_listen") or {}
    status_id = str(raw.get("id") or "")
    parent = raw.get("in_reply_to_id") or meta.get("parent")
    thread = meta.get("thread") or (None if parent else status_id)
    post = {"native_id": status_id, "kind": "comment" if parent else "post", "community": meta.get("community"),
            "thread_id": thread, "parent_id": parent, "rating": None}
    if meta.get("deleted"):
        return {**post, "url": None, "author": None, "created_at": None, "title": None, "body": None,
                "lang_hint": None, "is_deleted": True, "extra": {"deleted": True}}
    body = html_to_text(raw.get("content"))
    warning = html_to_text(raw.get("spoiler_text")) or None  # a content warning reads like a subject line
    if not body and not warning:
        return None  # media only: nothing to read
    account = raw.get("account") or {}
    acct = account.get("acct")
    if acct and "@" not in acct and meta.get("instance"):
        acct = f"{acct}@{meta['instance']}"  # the address people know them by, the same from every instance
    return {**post, "url": raw.get("url") or raw.get("uri"), "author": acct, "created_at": raw.get("created_at"),
            "title": warning, "body": body or warning, "lang_hint": raw.get("language"), "is_deleted": False,
            "extra": {"instance": meta.get("instance") or urlsplit(config.instance).hostname,
                      "visibility": raw.get("visibility"), "replies": raw.get("replies_count"),
                      "boosts": raw.get("reblogs_count"), "favourites": raw.get("favourites_count"),
                      "tags": raw.get("tags") or [], "edited_at": raw.get("edited_at"),
                      "bot": bool(account.get("bot"))}}
