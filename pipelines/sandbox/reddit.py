"""Sandbox service: a fake Reddit API that replays real recorded payloads (praw/prawcore/asyncpraw cassettes).

    POST /api/v1/access_token               -> the recorded read-only token (HTTP basic auth required)
    GET  /r/<sub>/new?limit&after           -> every recorded submission of <sub>, newest first, paginated
    GET  /r/<sub>/search?q&restrict_sr      -> recorded submissions matching all words of q (r/all: recorded search)
    GET  /comments/<id>/                    -> the recorded comment tree (or the submission with no comments)
    POST /api/morechildren                  -> the recorded children of a MoreComments stub
    GET  /api/info?id=t1_x,t3_y             -> recorded things by fullname

Point praw at it with ``Reddit(..., oauth_url=sandbox.base_url, reddit_url=sandbox.base_url)``. Every reply
carries Reddit's ``x-ratelimit-remaining/used/reset`` headers (a 600-request window). Options (sandbox.options):

- ``reddit_clock`` (epoch seconds): things created after it are not served yet: "the API as it was then";
- ``reddit_dates_end`` (datetime): dates are shifted per recording so its newest thing lands there (demo);
- ``reddit_reject_credentials`` (bool): the token endpoint answers 401 as Reddit does for a bad client secret;
- ``reddit_window_requests`` (int): requests allowed per 600 s window (recorded: 600). prawcore paces itself
  from these headers, so tests that are not about pacing raise it to run fast.

Recordings of submissions marked over_18 (some /r/all captures carry them) are never served.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.server import Reply, Request

REDDIT_DIR = SANDBOX_DATA / "reddit"
JSON = "application/json; charset=UTF-8"
WINDOW_SECONDS = 600
WINDOW_REQUESTS = 600


@dataclass
class RedditCorpus:
    """Every recorded thing, indexed the way the endpoints need it."""

    submissions: dict[str, dict] = field(default_factory=dict)  # id -> t3 data
    trees: dict[str, list] = field(default_factory=dict)  # submission id -> recorded /comments/<id> response
    more: dict[str, list[dict]] = field(default_factory=dict)  # submission id -> recorded morechildren things
    things: dict[str, dict] = field(default_factory=dict)  # fullname -> {"kind", "data"}
    recording_of: dict[str, str] = field(default_factory=dict)  # submission id -> recording file
    newest_in: dict[str, float] = field(default_factory=dict)  # recording file -> newest created_utc
    search_all: dict | None = None


def _walk_things(node, visit):
    """Call visit(thing) for every {"kind": "t1"|"t3", "data": {...}} inside a Reddit JSON payload."""
    if isinstance(node, list):
        for item in node:
            _walk_things(item, visit)
    elif isinstance(node, dict):
        if node.get("kind") in ("t1", "t3") and isinstance(node.get("data"), dict):
            visit(node)
        for value in node.values():
            if isinstance(value, (dict, list)):
                _walk_things(value, visit)


@functools.lru_cache(maxsize=1)
def load_corpus() -> RedditCorpus:
    corpus = RedditCorpus()

    def index(recording: str, payload) -> None:
        def visit(thing):
            data = thing["data"]
            corpus.things.setdefault(data["name"], thing)
            created = float(data.get("created_utc") or 0)
            corpus.newest_in[recording] = max(corpus.newest_in.get(recording, 0.0), created)
            if thing["kind"] == "t3":
                if data.get("over_18"):
                    return
                corpus.submissions.setdefault(data["id"], data)
                corpus.recording_of.setdefault(data["id"], recording)
            else:
                corpus.recording_of.setdefault(data["link_id"][3:], recording)

        _walk_things(payload, visit)

    for path in sorted(REDDIT_DIR.glob("*.json")):
        if path.name == "recordings.json" or path.name.startswith(("error-", "access-token")):
            continue
        payload = json.loads(path.read_text(encoding="utf-8"))
        if path.name == "search-all.json":
            corpus.search_all = payload
            continue
        index(path.name, payload)
        if path.name.startswith("comments-"):
            submission = payload[0]["data"]["children"][0]["data"]
            corpus.trees[submission["id"]] = payload
        elif path.name.startswith("morechildren-"):
            things = payload["json"]["data"]["things"]
            if things:
                corpus.more.setdefault(things[0]["data"]["link_id"][3:], []).extend(things)
    return corpus


class RedditFake:
    """The request handlers, sharing one corpus, a rate-limit window and the sandbox's options."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.corpus = load_corpus()
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._used = 0

    # -- helpers -----------------------------------------------------------------------------------------------
    @property
    def options(self) -> dict:
        return self.sandbox.options

    def _ratelimit_headers(self) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= WINDOW_SECONDS:
                self._window_start, self._used = now, 0
            self._used += 1
            allowed = int(self.options.get("reddit_window_requests", WINDOW_REQUESTS))
            remaining = max(0, allowed - self._used)
            reset = max(1, int(WINDOW_SECONDS - (now - self._window_start)))
            return {"x-ratelimit-remaining": f"{remaining:.1f}", "x-ratelimit-used": str(self._used),
                    "x-ratelimit-reset": str(reset)}

    def _json(self, payload, status: int = 200) -> Reply:
        body = json.dumps(self._present(payload), ensure_ascii=False).encode("utf-8")
        return Reply(status=status, body=body, content_type=JSON, headers=self._ratelimit_headers())

    def _visible(self, data: dict) -> bool:
        clock = self.options.get("reddit_clock")
        return clock is None or float(data.get("created_utc") or 0) <= float(clock)

    def _offset(self, kind: str, data: dict) -> float:
        """Seconds to add to a thing's dates so its recording's newest thing lands at reddit_dates_end."""
        end = self.options.get("reddit_dates_end")
        if not end:
            return 0.0
        submission = data.get("id") if kind == "t3" else (data.get("link_id") or "")[3:]
        newest = self.corpus.newest_in.get(self.corpus.recording_of.get(submission, ""))
        return end.timestamp() - newest if newest else 0.0

    def _shown_created(self, data: dict) -> float:
        return float(data.get("created_utc") or 0) + self._offset("t3", data)

    def _present(self, payload):
        """Apply the date shift (demo) to a deep copy of what is about to be served."""
        if not self.options.get("reddit_dates_end"):
            return payload
        payload = copy.deepcopy(payload)

        def visit(thing):
            data = thing["data"]
            offset = self._offset(thing["kind"], data)
            for key in ("created_utc", "created"):
                if data.get(key):
                    data[key] = float(data[key]) + offset

        _walk_things(payload, visit)
        return payload

    def _counted(self, submission: dict) -> dict:
        """A submission whose num_comments matches the comments the sandbox clock lets exist."""
        if self.options.get("reddit_clock") is None or submission["id"] not in self.corpus.trees:
            return submission
        visible = sum(1 for name, thing in self.corpus.things.items() if name.startswith("t1_")
                      and thing["data"].get("link_id") == submission["name"] and self._visible(thing["data"]))
        return {**submission, "num_comments": visible}

    def _listing(self, children: list[dict], after: str | None) -> dict:
        return {"kind": "Listing", "data": {"modhash": "", "dist": len(children), "children": children,
                                            "after": after, "before": None}}

    def _page(self, submissions: list[dict], request: Request) -> Reply:
        submissions = sorted((s for s in submissions if self._visible(s)), key=lambda s: -self._shown_created(s))
        after = request.arg("after")
        if after:
            names = [s["name"] for s in submissions]
            submissions = submissions[names.index(after) + 1:] if after in names else []
        limit = max(1, min(int(request.arg("limit", "25") or 25), 100))
        page = submissions[:limit]
        next_after = page[-1]["name"] if len(submissions) > limit else None
        return self._json(self._listing([{"kind": "t3", "data": self._counted(s)} for s in page], next_after))

    # -- endpoints ---------------------------------------------------------------------------------------------
    def access_token(self, request: Request) -> Reply:
        if request.method != "POST":
            return Reply(status=405, body=b'{"message": "Method Not Allowed", "error": 405}', content_type=JSON)
        if self.options.get("reddit_reject_credentials") or not request.headers.get("authorization", "").startswith("Basic "):
            return Reply(status=401, body=b'{"message": "Unauthorized", "error": 401}', content_type=JSON,
                         headers={"www-authenticate": 'Basic realm="reddit"'})
        return Reply(body=(REDDIT_DIR / "access-token.json").read_bytes(), content_type=JSON)

    def subreddit(self, request: Request) -> Reply:
        parts = [p for p in request.path.split("/") if p]  # ["r", "<sub>", "new"|"search"]
        if len(parts) < 3:
            return self._json({"message": "Not Found", "error": 404}, status=404)
        names = {n.lower() for n in parts[1].split("+")}
        everywhere = "all" in names
        pool = [s for s in self.corpus.submissions.values() if everywhere or s["subreddit"].lower() in names]
        if parts[2] == "new":
            return self._page(pool, request)
        if parts[2] == "search":
            query = (request.arg("q") or "").lower().split()
            if everywhere and not query and self.corpus.search_all is not None:
                children = [c for c in self.corpus.search_all["data"]["children"] if not c["data"].get("over_18")]
                return self._json(self._listing(children, None))
            restrict = (request.arg("restrict_sr") or "").lower() in ("1", "on", "true")
            if not restrict:
                pool = list(self.corpus.submissions.values())
            matches = [s for s in pool
                       if all(word in f"{s.get('title', '')} {s.get('selftext', '')}".lower() for word in query)]
            return self._page(matches, request)
        return self._json({"message": "Not Found", "error": 404}, status=404)

    def comments(self, request: Request) -> Reply:
        parts = [p for p in request.path.split("/") if p]  # ["comments", "<id>", ...]
        submission_id = parts[1] if len(parts) > 1 else ""
        submission = self.corpus.submissions.get(submission_id)
        if submission is None or not self._visible(submission):
            return self._json({"message": "Not Found", "error": 404}, status=404)
        tree = self.corpus.trees.get(submission_id)
        if tree is None:  # a listing-only recording: the thread exists, its comments were never recorded
            return self._json([self._listing([{"kind": "t3", "data": submission}], None), self._listing([], None)])
        head = self._listing([{"kind": "t3", "data": self._counted(submission)}], None)
        return self._json([head, self._listing(self._prune(tree[1]["data"]["children"]), None)])

    def _prune(self, children: list[dict]) -> list[dict]:
        """Drop comments (and their replies) that the sandbox clock says do not exist yet."""
        kept = []
        for child in children:
            if child["kind"] == "t1":
                if not self._visible(child["data"]):
                    continue
                replies = child["data"].get("replies")
                if isinstance(replies, dict):
                    child = copy.deepcopy(child)
                    child["data"]["replies"]["data"]["children"] = self._prune(replies["data"]["children"])
            kept.append(child)
        return kept

    def morechildren(self, request: Request) -> Reply:
        form = {**request.query, **parse_qs(request.body.decode("utf-8", errors="replace"))}
        link = (form.get("link_id") or [""])[0][3:]
        wanted = {c for value in form.get("children", []) for c in value.split(",") if c}
        found, frontier = [], set(wanted)
        recorded = self.corpus.more.get(link, [])
        while frontier:  # the requested comments and, like Reddit, their recorded descendants
            layer = [t for t in recorded if t["data"].get("id") in frontier or t["data"].get("parent_id", "")[3:] in frontier]
            layer = [t for t in layer if t not in found and (t["kind"] != "t1" or self._visible(t["data"]))]
            found += layer
            frontier = {t["data"].get("id") for t in layer if t["kind"] == "t1"} - wanted
            wanted |= frontier
        return self._json({"json": {"errors": [], "data": {"things": found}}})

    def info(self, request: Request) -> Reply:
        names = [n for value in request.query.get("id", []) for n in value.split(",") if n]
        things = [self.corpus.things[n] for n in names if n in self.corpus.things
                  and not self.corpus.things[n]["data"].get("over_18") and self._visible(self.corpus.things[n]["data"])]
        things = [{"kind": "t3", "data": self._counted(t["data"])} if t["kind"] == "t3" else t for t in things]
        return self._json(self._listing(things, None))


def register(sandbox) -> None:
    fake = RedditFake(sandbox)
    sandbox.reddit = fake
    sandbox.route("/api/v1/access_token", fake.access_token)
    sandbox.route("/r/", fake.subreddit)
    sandbox.route("/comments/", fake.comments)
    sandbox.route("/api/morechildren", fake.morechildren)
    sandbox.route("/api/info", fake.info)


def demo_sources(sandbox) -> list[str]:
    """[[sources]] blocks for `listen demo`; recorded 2015-2020 threads are shifted to look recent.

    The sandbox accepts any client id and secret; placeholders are set only where the environment has none.
    """
    import os

    end = sandbox.options.get("feed_dates_end") or dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    sandbox.options.setdefault("reddit_dates_end", end)
    for name, value in (("REDDIT_CLIENT_ID", "sandbox-client"), ("REDDIT_CLIENT_SECRET", "sandbox-secret"),
                        ("REDDIT_USER_AGENT", "community-listening demo (sandbox)")):
        os.environ.setdefault(name, value)
    urls = [f'oauth_url = "{sandbox.base_url}"', f'reddit_url = "{sandbox.base_url}"']
    return [
        "[[sources]]", 'name = "reddit-askreddit"', 'kind = "reddit"', 'subreddits = ["AskReddit"]',
        "comments = false  # the recordings hold these threads' posts, not their comments", "max_posts = 200",
        *urls, "",
        "[[sources]]", 'name = "reddit-threads"', 'kind = "reddit"', 'subreddits = ["funny", "redditdev"]',
        "max_comments_per_thread = 500", "request_budget = 30", *urls, "",
    ]
