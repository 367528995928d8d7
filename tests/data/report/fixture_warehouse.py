"""A small, demo-like warehouse for report, loop and analyst-query tests, written straight into core.*.

    >>> facts = build(con, as_of)      # con: a migrated writer connection (tests/conftest.py `warehouse`)
    >>> facts["rising_topic"], facts["falling_topic"]
    (2, 5)

Dates are relative to `as_of` (today in the tests, because the follow_ups view looks back from now()).
Shapes the tests rely on, over a 7-day window and the 7 days before:
  topic 2 "app login crash" rises 3 -> 15 posts (mostly reddit complaints),
  topic 5 "customer service hold" falls 12 -> 2, topic 1 "delivery late package" stays 8 -> 8,
  topic 3 "price subscription" 1 -> 3 (small counts), 3 unassigned posts per period;
  authors a0..a3 post on several days (regulars), the rest once; one post quarantined, one follow-up done,
  one action on topic 5; app-reviews has a failed run and misses two days.
"""

from __future__ import annotations

import datetime as dt
import json

UTC = dt.timezone.utc
SOURCES = {
    "r-denmark": ("reddit", "Denmark", "https://www.reddit.com/r/Denmark/comments/{id}/"),
    "r-de": ("reddit", "de", "https://www.reddit.com/r/de/comments/{id}/"),
    "app-reviews": ("appstore", "Example App", "https://apps.apple.com/app/id1/review/{id}"),
    "blog-comments": ("feed", "Example Blog", "https://blog.example.org/post#comment-{id}"),
}
TOPICS = {
    1: ("delivery late package", ["delivery", "late", "package", "courier"]),
    2: ("app login crash", ["app", "login", "crash", "update"]),
    3: ("price subscription", ["price", "subscription", "cost"]),
    4: ("recipes newsletter", ["recipes", "newsletter", "ideas"]),
    5: ("customer service hold", ["customer", "service", "hold", "phone"]),
}
TEXT = {
    1: ("My package was late again, the courier left it at the wrong address and nobody answered my mail about it.",
        "complaint", -0.6, "da"),
    2: ("Since the last update the app crashes at login every single time, I cannot see my orders at all anymore.",
        "complaint", -0.7, "en"),
    3: ("Would be great to have a cheaper subscription for students, I would sign up right away if that existed.",
        "wish", 0.2, "en"),
    4: ("Could you please send more vegetarian recipes in the newsletter? The autumn ideas were really good.",
        "wish", 0.5, "en"),
    5: ("I was on hold with customer service for forty minutes. Is there any faster way to reach a person?",
        "question", -0.3, "de"),
    -1: ("Just saying hello to everyone here, nice weather today in Aarhus and the harbour looks lovely.",
         "other", 0.4, "da"),
}



def _plan() -> list[tuple[int, str, int, str]]:
    rows = []
    # topic 2 rises: 3 before, 15 now (12 reddit, 3 app reviews)
    rows += [(2, "r-denmark", 8 + i, f"u2p{i}") for i in range(3)]
    rows += [(2, "r-denmark" if i % 2 else "r-de", i % 7, "a0" if i == 0 else f"u2c{i}") for i in range(12)]
    rows += [(2, "app-reviews", i, f"u2a{i}") for i in (0, 3, 5)]
    # topic 5 falls: 12 before, 2 now
    rows += [(5, "blog-comments" if i % 3 else "r-de", 7 + i % 7, "a1" if i == 0 else f"u5p{i}") for i in range(12)]
    rows += [(5, "blog-comments", 1, "a1"), (5, "r-de", 4, "u5c1")]
    # topic 1 steady 8 -> 8
    rows += [(1, "r-denmark", 7 + i % 7, f"u1p{i}") for i in range(8)]
    rows += [(1, "r-denmark" if i < 5 else "app-reviews", i % 7, "a2" if i in (0, 1, 7) else f"u1c{i}") for i in range(8)]
    # topic 3 small: 1 -> 3; topic 4: 2 -> 2 wishes
    rows += [(3, "app-reviews", 9, "a3"), (3, "app-reviews", 2, "a3"), (3, "r-denmark", 3, "u3c1"),
             (3, "blog-comments", 6, "u3c2")]
    rows += [(4, "blog-comments", 10, "u4p0"), (4, "blog-comments", 12, "u4p1"), (4, "blog-comments", 2, "u4c0"),
             (4, "blog-comments", 5, "a0")]
    # unassigned: 3 per period
    rows += [(-1, "r-denmark", d, f"un{d}") for d in (1, 4, 6, 8, 11, 13)]
    return rows


def build(con, as_of: dt.date) -> dict:
    """Insert the fixture into a migrated warehouse; returns facts the tests assert against."""
    noon = dt.datetime.combine(as_of, dt.time(12, 0), tzinfo=UTC)
    plan = _plan()
    posts = []
    for n, (topic, source, days_ago, author) in enumerate(plan):
        channel, community, url = SOURCES[source]
        text, intent, sentiment, lang = TEXT[topic]
        created = noon - dt.timedelta(days=days_ago, minutes=n)
        label = "negative" if sentiment < -0.2 else "positive" if sentiment > 0.2 else "neutral"
        native = f"p{n:03d}"
        posts.append({
            "post_id": f"{source}:{native}", "source": source, "channel": channel, "native_id": native,
            "community": community, "kind": "review" if channel == "appstore" else "comment",
            "url": url.format(id=native), "author_key": f"k-{author}", "created_at": created,
            "fetched_at": created + dt.timedelta(hours=1), "first_loaded_at": created + dt.timedelta(hours=1),
            "title": None, "body": f"{text} ({n})", "rating": 2.0 if channel == "appstore" else None,
            "content_hash": f"h{n}", "run_id": f"run-{days_ago}", "lang": lang, "sentiment": sentiment,
            "sentiment_label": label, "intent": intent, "enriched_at": created, "enrich_version": "enrich-test-1",
            "topic_id": topic if topic >= 0 else -1, "topic_model_version": "m1",
        })
    insert_posts(con, posts)
    for tid, (label, keywords) in TOPICS.items():
        reps = [p["post_id"] for p in posts if p["topic_id"] == tid][:2]
        con.execute("""INSERT INTO core.topics (topic_id, label, keywords, size, first_seen, last_seen, status,
                                      model_version, representative_ids) VALUES (?, ?, ?, ?, ?, ?, 'active', 'm1', ?)""",
                    [tid, label, keywords, sum(p["topic_id"] == tid for p in posts), noon - dt.timedelta(days=13),
                     noon, reps])
    con.execute("""INSERT INTO core.topic_models VALUES ('m1', ?, ?, ?, ?, 'models/m1', ?, ?)""",
                [noon - dt.timedelta(days=1), noon - dt.timedelta(days=30), noon, len(posts),
                 json.dumps({"reduce": "pca"}), json.dumps({"topics": 5, "unassigned_share": 0.08})])
    # source runs: every day for each source, except app-reviews on days 2 and 4 (missing) and 5 (failed)
    for days_ago in range(14):
        start = noon - dt.timedelta(days=days_ago, hours=6)
        for source in SOURCES:
            if source == "app-reviews" and days_ago in (2, 4):
                continue
            failed = source == "app-reviews" and days_ago == 5
            con.execute("INSERT INTO core.source_runs (run_id, source, started_at, finished_at, status, fetched, new, "
                        "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [f"run-{days_ago}", source, start, start + dt.timedelta(minutes=2),
                         "failed" if failed else "ok", 0 if failed else 10, 0 if failed else 3,
                         "app-reviews: HTTP 503 from itunes.apple.com" if failed else None])
    quarantined = next(p["post_id"] for p in posts if p["source"] == "blog-comments" and p["topic_id"] == 4)
    con.execute("INSERT INTO core.quarantine VALUES (?, 'run-0', 'posts', 'expect_column_values_to_not_be_null', "
                "?, '{}')", [quarantined, noon])
    done = next(p["post_id"] for p in posts if p["topic_id"] == 2 and p["source"] == "r-denmark"
                and p["created_at"] > noon - dt.timedelta(days=7))
    con.execute("INSERT INTO core.follow_up_done VALUES (?, ?, 'answered in thread')", [done, noon])
    con.execute("INSERT INTO core.actions (topic_id, decided_at, text, owner) VALUES (5, ?, ?, 'support lead')",
                [noon - dt.timedelta(days=5), "Add a call-back option to the support line"])
    refresh_topic_trends(con)  # after the quarantine, as in the daily job: the quarantined post is not counted
    return {"as_of": as_of, "rising_topic": 2, "falling_topic": 5, "steady_topic": 1, "done_post": done,
            "quarantined_post": quarantined, "posts": len(posts)}


POST_COLUMNS = ["post_id", "source", "channel", "native_id", "community", "kind", "url", "author_key", "created_at",
                "fetched_at", "first_loaded_at", "title", "body", "rating", "content_hash", "run_id", "lang",
                "sentiment", "sentiment_label", "intent", "enriched_at", "enrich_version", "topic_id",
                "topic_model_version"]


def insert_posts(con, posts: list[dict]) -> None:
    placeholders = ", ".join("?" for _ in POST_COLUMNS)
    con.executemany(f"INSERT INTO core.posts ({', '.join(POST_COLUMNS)}) VALUES ({placeholders})",
                    [[p.get(c) for c in POST_COLUMNS] for p in posts])


def refresh_topic_trends(con) -> None:
    """What the daily job's trends stage does after the check (sql/refresh/topic_trends.sql)."""
    from pipelines.topics.trends import update_topic_trends

    update_topic_trends(con)


CONFIG = """
[warehouse]
path = "data/warehouse.duckdb"

[report]
lang = "en"
days = 7

[[sources]]
name = "r-denmark"
kind = "reddit"
subreddits = ["Denmark"]

[[sources]]
name = "r-de"
kind = "reddit"
subreddits = ["de"]

[[sources]]
name = "app-reviews"
kind = "appstore"
app_id = "1"

[[sources]]
name = "blog-comments"
kind = "feed"
url = "https://blog.example.org/comments/feed/"

[[sources]]
name = "survey"
kind = "import"
path = "survey.jsonl"
"""


def install(write_config, as_of: dt.date | None = None, with_data: bool = True):
    """(settings, facts): a listen.toml with the fixture's sources and a migrated warehouse, filled unless told not."""
    from pipelines.config import load_settings
    from pipelines.warehouse import connect, initialise

    settings = load_settings(write_config(CONFIG))
    con = connect(settings.paths.warehouse)
    try:
        initialise(con)
        con.execute("SET TimeZone = 'UTC'")
        facts = build(con, as_of or dt.datetime.now(UTC).date()) if with_data else {}
    finally:
        con.close()
    return settings, facts
