"""Sandbox service: Discourse forums under /discourse/<forum>, serving recorded and written topics.

    GET /discourse/<f>/categories.json                        -> the category list
    GET /discourse/<f>/latest.json?page=N                     -> topics, pinned first, then most recently bumped
    GET /discourse/<f>/c/<slug>/<id>/l/latest.json?page=N     -> the same within one category
    GET /discourse/<f>/tag/<tag>/l/latest.json?page=N         -> the same with one tag
    GET /discourse/<f>/t/<id>.json[?page=N]                   -> a topic: 20 posts and post_stream.stream (all ids)
    GET /discourse/<f>/t/<id>/posts.json?post_ids[]=…         -> those posts of the topic

Forums: ``sourcecred`` replays the snapshots sourcecred recorded from sourcecred-test.discourse.group (two
/latest pages, the categories, topics 11, 21 and 26 with its second page); the topics it lists but never
fetched are built with one opening post whose text is the topic's title. ``demo`` is a customer forum written
by us in the recorded shapes, with one staff-only category. (data/discourse/NOTICE.md says which payloads are
recorded and which are built.) Topic lists hold 30 topics and a ``more_topics_url`` while more follow; topics
hold chunks of 20 posts, as Discourse's do. Past 200 requests a minute the answer is 429 with Retry-After and
Discourse's rate-limit JSON.

Options (sandbox.options): ``discourse_clock`` (datetime: later posts do not exist yet; topics bump with their
newest visible post), ``discourse_dates_end`` (datetime: dates shifted so each forum's newest post lands there;
the demo), ``discourse_deleted`` (post ids removed by staff), ``discourse_user_deleted`` (post ids their
author deleted), ``discourse_edits`` ({post id: new cooked HTML}; the version goes up), ``discourse_api_keys``
({key: username}; only with one do read-restricted categories show), ``discourse_login_required`` (anonymous
reads answer 403), ``discourse_window`` ((requests, seconds)) and ``endless_paging`` (every topic list links a
next page and repeats its topics).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
import time

from pipelines.paths import SANDBOX_DATA
from pipelines.sandbox.api_fakes import RateWindow, demo_dates_end, json_reply, parse_stamp, shifted
from pipelines.sandbox.server import Reply, Request

DISCOURSE_DIR = SANDBOX_DATA / "discourse"
RECORDED = DISCOURSE_DIR / "recorded" / "sourcecred"
TOPICS_PER_PAGE = 30
POSTS_PER_CHUNK = 20
NOT_FOUND = {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}
LISTED_FIELDS = ("id", "title", "fancy_title", "slug", "posts_count", "reply_count", "highest_post_number",
                 "created_at", "last_posted_at", "archetype", "pinned", "pinned_globally", "visible", "closed",
                 "archived", "views", "like_count", "category_id", "tags")


def _recorded(name: str):
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def _listed(topic: dict) -> dict:
    """A topic-list entry derived from a topic document (the fields Discourse's lists carry)."""
    return {**{k: topic.get(k) for k in LISTED_FIELDS}, "bumped": True, "bumped_at": topic.get("last_posted_at"),
            "unseen": False, "posters": []}


@functools.lru_cache(maxsize=2)
def load_forum(name: str) -> dict:
    """{'categories': [...], 'topics': {id: {'doc', 'posts', 'listed'}}} for one sandbox forum."""
    if name == "demo":
        written = json.loads((DISCOURSE_DIR / "demo-forum.json").read_text(encoding="utf-8"))
        topics = {t["topic"]["id"]: {"doc": t["topic"], "posts": t["posts"], "listed": _listed(t["topic"])}
                  for t in written["topics"]}
        return {"categories": written["categories"], "topics": topics}
    if name != "sourcecred":
        raise KeyError(name)
    listed = {t["id"]: t for page in ("latest-page0.json", "latest-page1.json")
              for t in _recorded(page)["topic_list"]["topics"]}
    docs = {}
    for file in ("t-11.json", "t-21.json", "t-26.json"):
        doc = _recorded(file)
        docs[doc["id"]] = {"doc": {k: v for k, v in doc.items() if k != "post_stream"},
                           "posts": list(doc["post_stream"]["posts"])}
    docs[26]["posts"] += _recorded("t-26-page2.json")["post_stream"]["posts"]
    template = docs[11]["posts"][0]
    for topic_id, entry in listed.items():
        if topic_id not in docs:  # listed but never fetched by the recording: built, its text is its title
            post = copy.deepcopy(template)
            post.update(id=100_000 + topic_id, username=entry.get("last_poster_username") or "system", name=None,
                        display_username=None, created_at=entry["created_at"], updated_at=entry["created_at"],
                        cooked=f"<p>{entry['title']}</p>", post_number=1, reply_to_post_number=None, topic_id=topic_id,
                        topic_slug=entry["slug"], version=1, reply_count=0)
            docs[topic_id] = {"doc": {**{k: entry.get(k) for k in LISTED_FIELDS}, "chunk_size": POSTS_PER_CHUNK},
                              "posts": [post]}
        docs[topic_id]["listed"] = entry
    return {"categories": _recorded("categories.json")["category_list"]["categories"], "topics": docs}


class DiscourseFake:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.window = RateWindow(sandbox, "discourse", limit=200, seconds=60)

    @property
    def options(self) -> dict:
        return self.sandbox.options

    # -- the forum as it is now ----------------------------------------------------------------------------------
    def topics(self, forum: str, staff: bool) -> dict[int, dict]:
        """Visible topics with their visible posts, after clock, deletions, edits and the demo's date shift."""
        loaded = load_forum(forum)
        restricted = {c["id"] for c in loaded["categories"] if c.get("read_restricted")}
        clock, end = self.options.get("discourse_clock"), self.options.get("discourse_dates_end")
        newest = max(parse_stamp(p["created_at"]) for t in loaded["topics"].values() for p in t["posts"])
        offset = end - newest if end else dt.timedelta(0)
        deleted = set(self.options.get("discourse_deleted") or ())
        by_author = set(self.options.get("discourse_user_deleted") or ())
        edits = self.options.get("discourse_edits") or {}
        shown = {}
        for topic_id, topic in loaded["topics"].items():
            if topic["doc"].get("category_id") in restricted and not staff:
                continue
            posts = []
            for post in topic["posts"]:
                if post["id"] in deleted or (clock and parse_stamp(post["created_at"]) + offset > clock):
                    continue
                post = copy.deepcopy(post)
                for key in ("created_at", "updated_at"):
                    post[key] = shifted(post.get(key), offset)
                if post["id"] in edits:
                    post.update(cooked=edits[post["id"]], version=(post.get("version") or 1) + 1,
                                updated_at=(clock or dt.datetime.now(dt.timezone.utc)).isoformat().replace("+00:00", "Z"))
                if post["id"] in by_author:
                    post.update(cooked="<p>(post deleted by author)</p>", user_deleted=True)
                posts.append(post)
            if not posts or posts[0]["post_number"] != 1:
                continue  # the opening post is gone: so is the topic
            listed = copy.deepcopy(topic["listed"])
            listed.update(posts_count=len(posts), highest_post_number=posts[-1]["post_number"],
                          created_at=shifted(listed.get("created_at"), offset))
            if clock or deleted:  # a topic bumps with its newest post
                listed.update(last_posted_at=posts[-1]["created_at"], bumped_at=posts[-1]["created_at"])
            else:
                listed.update(last_posted_at=shifted(listed.get("last_posted_at"), offset),
                              bumped_at=shifted(listed.get("bumped_at"), offset))
            doc = {**copy.deepcopy(topic["doc"]), "posts_count": len(posts), "last_posted_at": listed["last_posted_at"],
                   "created_at": listed["created_at"], "highest_post_number": listed["highest_post_number"]}
            shown[topic_id] = {"doc": doc, "posts": posts, "listed": listed}
        return shown

    # -- replies -----------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        used, limit, resets_at = self.window.take()
        if used > limit:
            wait = max(1, int(resets_at - time.time()))
            return json_reply({"errors": ["You’ve performed this action too many times. Please wait a few seconds "
                                          "before trying again."], "error_type": "rate_limit",
                               "extras": {"wait_seconds": wait}}, 429,
                              {"Retry-After": str(wait), "Discourse-Rate-Limit-Error-Code": "ip_10_secs_limit"})
        match = re.match(r"^/discourse/(?P<forum>[a-z]+)(?P<path>/.*)$", request.path)
        try:
            load_forum(match["forum"]) if match else None
        except KeyError:
            match = None
        if not match:
            return json_reply(NOT_FOUND, 404)
        key, user = request.headers.get("api-key"), request.headers.get("api-username")
        keys = self.options.get("discourse_api_keys") or {}
        if key and keys.get(key) != user:
            return json_reply({"errors": ["You are not permitted to view the requested resource. The API username or "
                                          "key is invalid."], "error_type": "invalid_access"}, 403)
        staff = bool(key)
        if self.options.get("discourse_login_required") and not staff:
            return json_reply({"errors": ["You need to be logged in to do that."], "error_type": "not_logged_in"}, 403)
        return self.route(match["forum"], match["path"], request, staff)

    def route(self, forum: str, path: str, request: Request, staff: bool) -> Reply:
        if path == "/categories.json":
            categories = [c for c in load_forum(forum)["categories"] if staff or not c.get("read_restricted")]
            return json_reply({"category_list": {"can_create_category": False, "can_create_topic": False,
                                                 "categories": categories}})
        topics = self.topics(forum, staff)
        if path == "/latest.json":
            return self.topic_list(list(topics.values()), request, "/latest")
        category = re.fullmatch(r"/c/(?:[^/]+/)?(\d+)/l/latest\.json", path)
        if category:
            chosen = [t for t in topics.values() if t["doc"].get("category_id") == int(category[1])]
            return self.topic_list(chosen, request, path.removesuffix(".json"))
        tag = re.fullmatch(r"/tag/([^/]+)/l/latest\.json", path)
        if tag:
            chosen = [t for t in topics.values() if tag[1].lower() in [str(x).lower() for x in t["doc"].get("tags") or []]]
            return self.topic_list(chosen, request, path.removesuffix(".json"))
        single = re.fullmatch(r"/t/(\d+)(/posts)?\.json", path)
        if not single or int(single[1]) not in topics:
            return json_reply(NOT_FOUND, 404)
        topic = topics[int(single[1])]
        if single[2]:
            wanted = {int(i) for i in request.query.get("post_ids[]", []) if i.isdigit()}
            return json_reply({"post_stream": {"posts": [p for p in topic["posts"] if p["id"] in wanted]},
                               "id": topic["doc"]["id"]})
        page = max(1, int(request.arg("page") or 1)) if (request.arg("page") or "1").isdigit() else 1
        chunk = topic["posts"][(page - 1) * POSTS_PER_CHUNK: page * POSTS_PER_CHUNK]
        if not chunk:
            return json_reply(NOT_FOUND, 404)
        return json_reply({"post_stream": {"posts": chunk, "stream": [p["id"] for p in topic["posts"]]},
                           **topic["doc"], "chunk_size": POSTS_PER_CHUNK})

    def topic_list(self, chosen: list[dict], request: Request, path: str) -> Reply:
        page = int(request.arg("page") or 0) if (request.arg("page") or "0").isdigit() else 0
        pinned = [t["listed"] for t in chosen if t["listed"].get("pinned")]
        rest = sorted((t["listed"] for t in chosen if not t["listed"].get("pinned")),
                      key=lambda t: t.get("bumped_at") or "", reverse=True)
        ordered = pinned + rest
        if self.options.get("endless_paging"):
            shown, more = ordered[:TOPICS_PER_PAGE], True
        else:
            shown = ordered[page * TOPICS_PER_PAGE:(page + 1) * TOPICS_PER_PAGE]
            more = len(ordered) > (page + 1) * TOPICS_PER_PAGE
        topic_list = {"can_create_topic": False, "per_page": TOPICS_PER_PAGE, "top_tags": [], "topics": shown}
        if more:
            topic_list["more_topics_url"] = f"{path}?ascending=false&no_definitions=true&order=activity&page={page + 1}"
        return json_reply({"users": [], "primary_groups": [], "flair_groups": [], "topic_list": topic_list})


def register(sandbox) -> None:
    fake = DiscourseFake(sandbox)
    sandbox.discourse = fake
    sandbox.route("/discourse/", fake.handle)


def demo_sources(sandbox) -> list[str]:
    """The written Demo Notes forum (its staff-only category stays out), dated to end an hour ago."""
    demo_dates_end(sandbox, "discourse_dates_end")
    return ["[[sources]]", 'name = "forum-demonotes"', 'kind = "discourse"', f'url = "{sandbox.url("/discourse/demo")}"',
            'forum_name = "Demo Notes community"', ""]
