"""Sandbox service: a Bluesky AppView/PDS under /bluesky/xrpc/<method>, built on real recorded bsky.social posts.

    GET  /bluesky/xrpc/app.bsky.feed.searchPosts?q=&sort=latest&since=&lang=&limit=&cursor=
    GET  /bluesky/xrpc/app.bsky.feed.getAuthorFeed?actor=&limit=&cursor=&filter=
    GET  /bluesky/xrpc/app.bsky.feed.getPostThread?uri=&depth=&parentHeight=
    GET  /bluesky/xrpc/app.bsky.feed.getPosts?uris=…
    POST /bluesky/xrpc/com.atproto.server.createSession   {"identifier", "password"}

Every post view served is a recorded one (bskyr's cassettes: a searchPosts page, an author feed with the reply
parents it embeds, getPosts, getQuotes, getActorLikes, getPostThread; atproto's thread view), indexed by URI.
What no recording holds is built from them as the API documents it (data/bluesky/NOTICE.md): search over every
recorded post (all words of q, newest first, the cursor an offset as recorded), author-feed pages past the
first (cursor = the last item's time), threads assembled from recorded replies, and the session token.
Every reply carries ``RateLimit-Limit/Remaining/Reset/Policy`` (3000 per 300 s, reset as a Unix time, as
recorded); past the limit the answer is 429 with the same headers.

Options (sandbox.options): ``bluesky_clock`` (datetime: posts indexed later do not exist yet),
``bluesky_dates_end`` (datetime: dates shifted so the newest post lands there; the demo), ``bluesky_deleted``
(URIs), ``bluesky_page_size`` (pages smaller than asked), ``bluesky_public_refuses`` (True: reads without a session answer 403, as the public AppView may for
search), ``bluesky_accounts`` ({identifier: app password} accepted by createSession), ``bluesky_window``
((requests, seconds)) and ``endless_paging`` (every page returns a new cursor and the same posts).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import secrets

from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.api_fakes import RateWindow, demo_dates_end, json_reply, parse_stamp, shifted
from pipelines.sandbox.server import Reply, Request

BLUESKY_DIR = SANDBOX_DATA / "bluesky"
THREAD_POST = "app.bsky.feed.defs#threadViewPost"
RECORDED_FEED_ACTOR = "chriskenny.bsky.social"


def _recorded(name: str):
    return json.loads((BLUESKY_DIR / "recorded" / name).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def load_corpus() -> dict:
    """{'posts': {uri: post view}, 'feed': the recorded author feed items, 'replies_recorded': {uri: n in corpus}}."""
    posts: dict[str, dict] = {}

    def keep(post) -> None:
        if isinstance(post, dict) and post.get("uri") and "record" in post and "author" in post:
            posts.setdefault(post["uri"], post)

    def walk_thread(node) -> None:
        if isinstance(node, dict) and node.get("$type") == THREAD_POST:
            keep(node.get("post"))
            walk_thread(node.get("parent"))
            for reply in node.get("replies") or []:
                walk_thread(reply)

    for post in _recorded("searchPosts-redistricting.json")["posts"]:
        keep(post)
    feed = _recorded("getAuthorFeed-chriskenny.json")["feed"]
    for name in ("getAuthorFeed-chriskenny.json", "getActorLikes-bskyr.json"):
        for item in _recorded(name)["feed"]:
            keep(item["post"])
            for part in ("root", "parent"):
                keep((item.get("reply") or {}).get(part))
    for name in ("getPosts-3k7qmjev5lr2s.json", "getQuotes-3lc5c5qv72r2w.json"):
        for post in _recorded(name)["posts"]:
            keep(post)
    for name in ("getPostThread-3k7qmjev5lr2s.json", "getPostThread-3kaheyt6vpc22.json"):
        walk_thread(_recorded(name)["thread"])
    in_corpus = {}
    for post in posts.values():
        parent = ((post["record"].get("reply") or {}).get("parent") or {}).get("uri")
        in_corpus[parent] = in_corpus.get(parent, 0) + 1
    return {"posts": posts, "feed": feed, "replies_recorded": in_corpus}


def _parent_of(post: dict) -> str | None:
    return ((post["record"].get("reply") or {}).get("parent") or {}).get("uri")


class BlueskyFake:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.window = RateWindow(sandbox, "bluesky", limit=3000, seconds=300)
        self.sessions: set[str] = set()

    @property
    def options(self) -> dict:
        return self.sandbox.options

    def _offset(self) -> dt.timedelta:
        end = self.options.get("bluesky_dates_end")
        if not end:
            return dt.timedelta(0)
        return end - max(parse_stamp(p["indexedAt"]) for p in load_corpus()["posts"].values())

    def present(self, post: dict, offset: dt.timedelta) -> dict:
        post = copy.deepcopy(post)
        post["indexedAt"] = shifted(post["indexedAt"], offset)
        post["record"]["createdAt"] = shifted(post["record"].get("createdAt"), offset)
        return post

    def posts(self) -> dict[str, dict]:
        """Visible posts (clock, deletions, date shift) with reply counts that follow them."""
        corpus, offset = load_corpus(), self._offset()
        clock, deleted = self.options.get("bluesky_clock"), set(self.options.get("bluesky_deleted") or ())
        shown = {uri: self.present(p, offset) for uri, p in corpus["posts"].items() if uri not in deleted
                 and not (clock and parse_stamp(p["indexedAt"]) + offset > clock)}
        live: dict[str, int] = {}
        for post in shown.values():
            live[_parent_of(post)] = live.get(_parent_of(post), 0) + 1
        for uri, post in shown.items():  # replies never recorded still count; hidden recorded ones do not
            unrecorded = max(0, (post.get("replyCount") or 0) - corpus["replies_recorded"].get(uri, 0))
            post["replyCount"] = unrecorded + live.get(uri, 0)
        return shown

    # -- replies -----------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        used, limit, resets_at = self.window.take()
        headers = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(max(0, limit - used)),
                   "RateLimit-Reset": str(int(resets_at)), "RateLimit-Policy": f"{limit};w=300"}
        if used > limit:
            return json_reply({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, headers)
        method = request.path.removeprefix("/bluesky/xrpc/")
        if method == "com.atproto.server.createSession":
            reply = self.create_session(request)
        elif self.options.get("bluesky_public_refuses") and \
                request.headers.get("authorization", "").removeprefix("Bearer ") not in self.sessions:
            reply = json_reply({"error": "AuthMissing", "message": "Authentication Required"}, 403)
        else:
            handler = {"app.bsky.feed.searchPosts": self.search, "app.bsky.feed.getAuthorFeed": self.author_feed,
                       "app.bsky.feed.getPostThread": self.thread, "app.bsky.feed.getPosts": self.get_posts}.get(method)
            reply = handler(request) if handler else json_reply(
                {"error": "MethodNotImplemented", "message": "Method Not Implemented"}, 501)
        reply.headers.update(headers)
        return reply

    def create_session(self, request: Request) -> Reply:
        try:
            asked = json.loads(request.body or b"{}")
        except ValueError:
            asked = {}
        accounts = self.options.get("bluesky_accounts") or {}
        if request.method != "POST" or accounts.get(asked.get("identifier")) != asked.get("password"):
            return json_reply({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401)
        token = "sandbox-session-" + secrets.token_hex(8)
        self.sessions.add(token)
        session = _recorded("createSession.json")
        session.update(handle=asked["identifier"], accessJwt=token, refreshJwt="sandbox-refresh-" + secrets.token_hex(8))
        return json_reply(session)

    def _limit(self, request: Request, default: int = 25) -> int:
        return max(1, min(int(request.arg("limit") or default), 100, int(self.options.get("bluesky_page_size") or 100)))

    def search(self, request: Request) -> Reply:
        words = (request.arg("q") or "").lower().split()
        if not words:
            return json_reply({"error": "InvalidRequest", "message": "Error: Params must have the property \"q\""}, 400)
        since, until, lang = request.arg("since"), request.arg("until"), request.arg("lang")
        found = [p for p in self.posts().values() if all(w in (p["record"].get("text") or "").lower() for w in words)
                 and (not lang or lang in (p["record"].get("langs") or []))
                 and (not since or parse_stamp(p["indexedAt"]) >= parse_stamp(since))
                 and (not until or parse_stamp(p["indexedAt"]) < parse_stamp(until))]
        found.sort(key=lambda p: p["indexedAt"], reverse=True)
        start = int(request.arg("cursor") or 0) if (request.arg("cursor") or "0").isdigit() else 0
        if self.options.get("endless_paging"):
            return json_reply({"cursor": str(start + 1), "hitsTotal": len(found), "posts": found[:self._limit(request)]})
        page = found[start:start + self._limit(request)]
        more = start + len(page) < len(found)
        return json_reply({**({"cursor": str(start + len(page))} if more else {}), "hitsTotal": len(found),
                           "posts": page})

    def author_feed(self, request: Request) -> Reply:
        actor = (request.arg("actor") or "").lower()
        posts, offset = self.posts(), self._offset()
        if actor in (RECORDED_FEED_ACTOR, "did:plc:z4cp3uwgxiioi7uaxn2boq47"):
            items = []
            for item in load_corpus()["feed"]:
                if item["post"]["uri"] in posts:
                    item = {**copy.deepcopy(item), "post": posts[item["post"]["uri"]]}
                    if "reason" in item and "indexedAt" in item["reason"]:
                        item["reason"]["indexedAt"] = shifted(item["reason"]["indexedAt"], offset)
                    items.append(item)
        else:
            items = [{"post": p} for p in posts.values() if actor in (p["author"]["handle"].lower(), p["author"]["did"])]
            if not items and not any(actor in (p["author"]["handle"].lower(), p["author"]["did"])
                                     for p in load_corpus()["posts"].values()):
                return json_reply({"error": "InvalidRequest", "message": "Profile not found"}, 400)

        def sort_at(item) -> str:
            return (item.get("reason") or {}).get("indexedAt") or item["post"]["indexedAt"]

        pinned = [i for i in items if "reasonPin" in (i.get("reason") or {}).get("$type", "")]
        rest = sorted((i for i in items if i not in pinned), key=sort_at, reverse=True)
        cursor = request.arg("cursor")
        if self.options.get("endless_paging"):
            return json_reply({"feed": rest[:self._limit(request, 50)], "cursor": f"{cursor or ''}x"})
        if cursor:
            rest = [i for i in rest if sort_at(i) < cursor]
        page = ([] if cursor else pinned) + rest[:self._limit(request, 50)]
        more = len(rest) > self._limit(request, 50)
        return json_reply({"feed": page, **({"cursor": sort_at(page[-1])} if more and page else {})})

    def thread(self, request: Request) -> Reply:
        posts = self.posts()
        uri = request.arg("uri") or ""
        if uri not in posts:
            return json_reply({"error": "NotFound", "message": f"Post not found: {uri}"}, 400)
        depth, height = int(request.arg("depth") or 6), int(request.arg("parentHeight") or 80)

        def down(post: dict, level: int) -> dict:
            node = {"$type": THREAD_POST, "post": post, "replies": []}
            if level < depth:
                node["replies"] = [down(p, level + 1) for p in posts.values() if _parent_of(p) == post["uri"]]
            return node

        node = down(posts[uri], 0)
        cursor, parent = node, _parent_of(posts[uri])
        for _ in range(height):
            if not parent:
                break
            if parent not in posts:
                cursor["parent"] = {"$type": "app.bsky.feed.defs#notFoundPost", "uri": parent, "notFound": True}
                break
            cursor["parent"] = {"$type": THREAD_POST, "post": posts[parent], "replies": []}
            cursor, parent = cursor["parent"], _parent_of(posts[parent])
        return json_reply({"thread": node})

    def get_posts(self, request: Request) -> Reply:
        posts = self.posts()
        uris = request.query.get("uris", [])
        if len(uris) > 25:
            return json_reply({"error": "InvalidRequest", "message": "uris must not have more than 25 elements"}, 400)
        return json_reply({"posts": [posts[u] for u in uris if u in posts]})


def register(sandbox) -> None:
    fake = BlueskyFake(sandbox)
    sandbox.bluesky = fake
    sandbox.route("/bluesky/xrpc/", fake.handle)


def demo_sources(sandbox) -> list[str]:
    """The recorded search and author feed, dated so the newest recorded post lands an hour ago."""
    demo_dates_end(sandbox, "bluesky_dates_end")
    return ["[[sources]]", 'name = "bluesky-redistricting"', 'kind = "bluesky"', 'search = ["redistricting"]',
            'accounts = ["chriskenny.bsky.social"]', f'base_url = "{sandbox.url("/bluesky")}"',
            f'login_url = "{sandbox.url("/bluesky")}"', ""]
