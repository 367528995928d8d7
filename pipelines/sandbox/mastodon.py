"""Sandbox service: Mastodon instances under /mastodon/<instance>, serving recorded and written statuses.

    GET /mastodon/dev/api/v2/instance                    -> the recorded instance (Mastodon 4.6.4, localhost:3000)
    GET /mastodon/<i>/api/v1/timelines/tag/<tag>         -> public statuses with the tag, newest first
    GET /mastodon/<i>/api/v1/accounts/lookup?acct=       -> the account, or the recorded 404
    GET /mastodon/<i>/api/v1/accounts/<id>/statuses      -> its public and unlisted statuses
    GET /mastodon/<i>/api/v2/search?q=&type=statuses     -> statuses with every word of q (only with a token;
                                                            without one the recorded empty result)
    GET /mastodon/<i>/api/v1/statuses/<id>[/context]     -> a status, or its ancestors and descendants
    GET /mastodon/<i>/api/v1/statuses?id[]=…             -> the statuses that exist (Mastodon 4.3+)

Instances: ``dev`` replays the statuses recorded by Mastodon.py against a local Mastodon 4.6.4 (test posts);
``demo`` serves customer-like statuses written by us in the same format (data/mastodon/NOTICE.md says which
payloads are recorded and which are built). Timelines page as Mastodon does: ``limit`` (max 40), ``max_id``,
``since_id``, ``min_id`` (the statuses immediately newer) and a ``Link`` header with rel="next"/"prev" on every
non-empty page. Every reply carries ``x-ratelimit-limit/remaining/reset`` (300 requests per 5 minutes, reset as
an ISO time, as recorded); past the limit the answer is 429 with the same headers.

Options (sandbox.options): ``mastodon_clock`` (datetime: later statuses do not exist yet), ``mastodon_dates_end``
(datetime: dates shifted so each instance's newest status lands there; the demo), ``mastodon_deleted`` (ids),
``mastodon_edits`` ({id: new HTML}; edited_at becomes the clock), ``mastodon_private`` (ids made followers-only),
``mastodon_page_size`` (a server capping pages lower than 40), ``mastodon_before_4_3`` (no multi-get),
``mastodon_tokens`` (accepted bearer tokens; default any), ``mastodon_window`` ((requests, seconds)) and
``endless_paging`` (the server ignores max_id/min_id and always links a next page).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
from urllib.parse import urlencode

from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.api_fakes import RateWindow, demo_dates_end, json_reply, parse_stamp, shifted
from pipelines.sandbox.server import Reply, Request
from pipelines.text import html_to_text

MASTODON_DIR = SANDBOX_DATA / "mastodon"
MAX_LIMIT = 40
RECORDED_TIMELINES = ("timeline-public.json", "timeline-public-anonymous.json", "timeline-tag-hoot.json",
                      "account-statuses-page1.json", "account-statuses-max_id.json", "account-statuses-pinned.json",
                      "status.json")


def _recorded(name: str):
    return json.loads((MASTODON_DIR / "recorded" / name).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=2)
def load_instance(name: str) -> dict:
    """{'instance': the /api/v2/instance document, 'statuses': {id: status}} of one sandbox instance."""
    if name == "dev":
        statuses = {}
        for file in RECORDED_TIMELINES:
            page = _recorded(file)
            for status in page if isinstance(page, list) else [page]:
                statuses.setdefault(status["id"], status)
        return {"instance": _recorded("instance-v2.json"), "statuses": statuses}
    if name == "demo":
        statuses = json.loads((MASTODON_DIR / "demo-statuses.json").read_text(encoding="utf-8"))
        instance = json.loads((MASTODON_DIR / "demo-instance.json").read_text(encoding="utf-8"))
        return {"instance": instance, "statuses": {s["id"]: s for s in statuses}}
    raise KeyError(name)


def _order(status_id: str) -> int:
    return int(status_id)


class MastodonFake:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.window = RateWindow(sandbox, "mastodon", limit=300, seconds=300)

    @property
    def options(self) -> dict:
        return self.sandbox.options

    # -- the instance as it is now -------------------------------------------------------------------------------
    def statuses(self, instance: str) -> dict[str, dict]:
        """Visible statuses after clock, deletions, edits and the demo's date shift, with live reply counts."""
        recorded = load_instance(instance)["statuses"]
        clock, end = self.options.get("mastodon_clock"), self.options.get("mastodon_dates_end")
        offset = end - max(parse_stamp(s["created_at"]) for s in recorded.values()) if end else dt.timedelta(0)
        deleted = set(self.options.get("mastodon_deleted") or ())
        edits = self.options.get("mastodon_edits") or {}
        private = set(self.options.get("mastodon_private") or ())
        shown = {}
        for status_id, status in recorded.items():
            if status_id in deleted or (clock and parse_stamp(status["created_at"]) + offset > clock):
                continue
            status = copy.deepcopy(status)
            status["created_at"] = shifted(status["created_at"], offset)
            status["edited_at"] = shifted(status.get("edited_at"), offset)
            if status_id in edits:
                status["content"] = edits[status_id]
                status["edited_at"] = (clock or dt.datetime.now(dt.timezone.utc)).isoformat().replace("+00:00", "Z")
            if status_id in private:
                status["visibility"] = "private"
            shown[status_id] = status
        for status in shown.values():
            status["replies_count"] = sum(1 for s in shown.values() if s.get("in_reply_to_id") == status["id"])
        return shown

    # -- replies -----------------------------------------------------------------------------------------------
    def _headers(self, used: int, limit: int, resets_at: float) -> dict[str, str]:
        reset = dt.datetime.fromtimestamp(resets_at, dt.timezone.utc).isoformat(timespec="microseconds")
        return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(max(0, limit - used)),
                "x-ratelimit-reset": reset.replace("+00:00", "Z")}

    def handle(self, request: Request) -> Reply:
        used, limit, resets_at = self.window.take()
        headers = self._headers(used, limit, resets_at)
        if used > limit:
            return json_reply({"error": "Too many requests"}, 429, headers)
        match = re.match(r"^/mastodon/(?P<instance>[a-z]+)(?P<path>/api/.*)$", request.path)
        try:
            load_instance(match["instance"]) if match else None
        except KeyError:
            match = None
        if not match:
            return json_reply(_recorded("error-404.json"), 404, headers)
        tokens = self.options.get("mastodon_tokens")
        auth = request.headers.get("authorization", "")
        if auth and tokens is not None and auth.removeprefix("Bearer ") not in tokens:
            return json_reply({"error": "The access token is invalid"}, 401, headers)
        reply = self.route(match["instance"], match["path"].rstrip("/"), request, bool(auth))
        reply.headers.update(headers)
        return reply

    def route(self, instance: str, path: str, request: Request, authenticated: bool) -> Reply:
        statuses = self.statuses(instance)
        if path == "/api/v2/instance":
            return json_reply(load_instance(instance)["instance"])
        if path.startswith("/api/v1/timelines/tag/"):
            tag = path.rsplit("/", 1)[1].lower()
            chosen = [s for s in statuses.values() if s["visibility"] == "public"
                      and any(t.get("name", "").lower() == tag for t in s.get("tags") or [])]
            return self.page(chosen, request)
        if path == "/api/v1/accounts/lookup":
            acct = (request.arg("acct") or "").lstrip("@").lower()
            found = next((s["account"] for s in statuses.values() if s["account"]["acct"].lower() == acct), None)
            return json_reply(found) if found else json_reply(_recorded("error-404.json"), 404)
        account = re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path)
        if account:
            chosen = [s for s in statuses.values() if s["account"]["id"] == account[1]
                      and s["visibility"] in ("public", "unlisted")]
            if request.arg("exclude_reblogs") in ("true", "1"):
                chosen = [s for s in chosen if not s.get("reblog")]
            return self.page(chosen, request)
        if path == "/api/v2/search":
            if not authenticated:  # as recorded: an anonymous search finds no statuses
                return json_reply(_recorded("search-statuses.json"))
            words = (request.arg("q") or "").lower().split()
            chosen = [s for s in statuses.values() if s["visibility"] == "public"
                      and all(w in html_to_text(s["content"]).lower() for w in words)]
            chosen = self.window_of(chosen, request)
            offset = int(request.arg("offset") or 0)
            return json_reply({"accounts": [], "statuses": chosen[offset:offset + self.limit(request)],
                               "hashtags": []})
        if path == "/api/v1/statuses":
            if self.options.get("mastodon_before_4_3"):
                return json_reply(_recorded("error-404.json"), 404)
            ids = request.query.get("id[]", [])
            return json_reply([statuses[i] for i in ids if i in statuses and statuses[i]["visibility"] != "private"])
        single = re.fullmatch(r"/api/v1/statuses/(\d+)(/context)?", path)
        if single:
            status = statuses.get(single[1])
            if status is None or status["visibility"] == "private":
                return json_reply(_recorded("error-404.json"), 404)
            return json_reply(self.context(status, statuses) if single[2] else status)
        return json_reply(_recorded("error-404.json"), 404)

    def limit(self, request: Request) -> int:
        asked = int(request.arg("limit") or 20)
        return max(1, min(asked, MAX_LIMIT, int(self.options.get("mastodon_page_size") or MAX_LIMIT)))

    def window_of(self, chosen: list[dict], request: Request) -> list[dict]:
        """Newest first, within max_id/since_id/min_id (min_id: the ones immediately newer, as Mastodon does)."""
        chosen = sorted(chosen, key=lambda s: -_order(s["id"]))
        if self.options.get("endless_paging"):
            return chosen
        for name, keep in (("max_id", lambda s, v: _order(s["id"]) < v), ("since_id", lambda s, v: _order(s["id"]) > v),
                           ("min_id", lambda s, v: _order(s["id"]) > v)):
            value = request.arg(name)
            if value and value.isdigit():
                chosen = [s for s in chosen if keep(s, int(value))]
        if request.arg("min_id"):
            chosen = chosen[-self.limit(request):]  # the oldest of those above min_id, still newest first
        return chosen

    def page(self, chosen: list[dict], request: Request) -> Reply:
        page = self.window_of(chosen, request)[: self.limit(request)]
        if not page:
            return json_reply([])
        base = {k: v[0] for k, v in request.query.items() if k not in ("max_id", "min_id", "since_id")}
        url = self.sandbox.url(request.path)
        older, newer = page[-1]["id"], page[0]["id"]
        if self.options.get("endless_paging"):  # a broken server: the cursor moves, the page never changes
            older, newer = str(_order(older) - 1 - len(self.sandbox.hits)), str(_order(newer) + 1 + len(self.sandbox.hits))
        link = (f'<{url}?{urlencode({**base, "max_id": older})}>; rel="next", '
                f'<{url}?{urlencode({**base, "min_id": newer})}>; rel="prev"')
        return json_reply(page, headers={"Link": link})

    def context(self, status: dict, statuses: dict[str, dict]) -> dict:
        visible = {i: s for i, s in statuses.items() if s["visibility"] in ("public", "unlisted")}
        ancestors, parent = [], status.get("in_reply_to_id")
        while parent in visible:
            ancestors.insert(0, visible[parent])
            parent = visible[parent].get("in_reply_to_id")
        descendants, frontier = [], {status["id"]}
        while frontier:
            layer = [s for s in visible.values() if s.get("in_reply_to_id") in frontier]
            descendants += layer
            frontier = {s["id"] for s in layer}
        return {"ancestors": ancestors, "descendants": sorted(descendants, key=lambda s: _order(s["id"]))}


def register(sandbox) -> None:
    fake = MastodonFake(sandbox)
    sandbox.mastodon = fake
    sandbox.route("/mastodon/", fake.handle)


def demo_sources(sandbox) -> list[str]:
    """The demo instance's #DemoNotes tag and support account, dated to end an hour ago."""
    demo_dates_end(sandbox, "mastodon_dates_end")
    return ["[[sources]]", 'name = "mastodon-demonotes"', 'kind = "mastodon"',
            f'instance = "{sandbox.url("/mastodon/demo")}"', 'hashtags = ["DemoNotes"]', 'accounts = ["demonotes"]', ""]
