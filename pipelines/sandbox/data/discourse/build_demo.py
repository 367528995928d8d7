"""Build demo-forum.json: a customer forum WRITTEN BY US, in the shapes recorded from a real Discourse.

    python pipelines/sandbox/data/discourse/build_demo.py

The posts below are ours (Danish, German and English users of the fictional notes app "Demo Notes", and its
staff). Around them every field copies the recorded sourcecred-test.discourse.group payloads: categories from
recorded/sourcecred/categories.json, topics from t-11.json, posts from its first post. One category is
read-restricted (staff only) so the sandbox can show that such topics stay out. The sandbox serves this file as
the forum /discourse/demo, shifting dates so the newest post lands an hour before the demo runs.
(Run once; the output is committed.)
"""

import copy
import datetime as dt
import json
import re
from html import escape
from pathlib import Path

HERE = Path(__file__).parent
RECORDED = HERE / "recorded" / "sourcecred"
END = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)  # shifted by the sandbox; only spacing matters
CATEGORIES = [(1, "Support", "support", False), (2, "Feature requests", "feature-requests", False),
              (3, "Announcements", "announcements", False), (4, "Staff", "staff", True)]
# topic id, category, title, pinned, tags, [(hours before END, username, text, replying to post number or None)]
TOPICS = [
    (101, 1, "Notes disappear after a sync conflict", False, ["sync"], [
        (30, "alice_w", "Since updating to 3.4.0, notes I edit offline vanish after the next sync. The conflict "
                        "dialog shows for a second and then the older version wins. Can I get them back?", None),
        (29, "support_mads", "Thanks for the report. Conflicted versions are kept under Settings → History for 30 "
                             "days, so nothing is lost. The fix is in 3.4.1.", 1),
        (27, "alice_w", "Found them in History, thank you! Still scary when notes just vanish.", 2),
        (12, "ben_r", "Same problem on my Chromebook since yesterday. Restoring from History worked, but the sync "
                      "conflicts keep coming back.", None),
    ]),
    (102, 1, "App stürzt beim Öffnen großer Notizbücher ab", False, ["android", "crash"], [
        (26, "jonas_hh", "Mein Notizbuch mit 2000 Notizen lässt sich seit dem Update nicht mehr öffnen, die App "
                         "stürzt sofort ab. Android 14, Version 3.4.0.", None),
        (25, "support_mads", "Danke! Wir können das nachstellen. Bis zum Fix hilft es, das Notizbuch in der "
                             "Web-Version zu öffnen.", 1),
        (20, "claudia_s", "Bei mir das gleiche Problem. Die Web-Version geht, aber unterwegs ist das sehr "
                          "unpraktisch.", None),
    ]),
    (103, 1, "Kan ikke logge ind efter skift af adgangskode", False, ["login"], [
        (50, "sofie_aarhus", "Efter jeg skiftede adgangskode, kan jeg ikke logge ind på telefonen. Computeren virker "
                             "fint. Hvad gør jeg?", None),
        (49, "support_mads", "Prøv at logge helt ud på telefonen og ind igen. Virker det ikke, så skriv til os, så "
                             "nulstiller vi din session.", 1),
        (47, "sofie_aarhus", "Det virkede, tak for hjælpen!", 2),
    ]),
    (104, 2, "Share a notebook read-only with a link", False, ["sharing"], [
        (90, "priya_pm", "Our team keeps meeting notes in Demo Notes. A read-only share link for one notebook would "
                         "save us copying notes into e-mails every week.", None),
        (88, "tomas", "+1, and please let the link expire after a while.", 1),
        (80, "product_lea", "This is on the roadmap for the summer release, expiring links included.", None),
    ]),
    (105, 2, "Dansk stavekontrol", False, [], [
        (120, "hanne_b", "Stavekontrollen kender kun engelsk og tysk. Det ville være rart med en dansk ordbog.", None),
        (118, "lars_k", "Enig, den retter 'også' til 'also' hele tiden.", 1),
    ]),
    (106, 2, "Notizen nach Datum sortieren", False, [], [
        (70, "katrin_b", "Ich hätte gern eine Sortierung nach Erstellungsdatum in der Notizliste. Im Moment geht nur "
                         "alphabetisch.", None),
        (66, "dev_felix", "Und bitte auch nach Änderungsdatum, das wäre für mich noch wichtiger.", 1),
    ]),
    (107, 3, "Demo Notes 3.4.1 released", True, ["release"], [
        (8, "product_lea", "3.4.1 fixes offline sync conflicts, the crash with large notebooks on Android and photo "
                           "attachments on iOS.", None),
        (6, "ben_r", "Updated, and sync works again. Thanks for the quick fix.", None),
        (3, "claudia_s", "Große Notizbücher öffnen sich jetzt wieder, danke!", None),
    ]),
    (108, 4, "Internal: hotfix rollout plan", False, [], [
        (9, "support_mads", "Internal note: roll 3.4.1 out to 10% of Android users first, then everyone.", None),
    ]),
]
STAFF = {"support_mads", "product_lea"}


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
                  .replace("ß", "ss").replace("æ", "ae").replace("ø", "oe").replace("å", "aa")).strip("-")


def stamp(hours: float) -> str:
    return (END - dt.timedelta(hours=hours)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def main() -> None:
    recorded_topic = json.loads((RECORDED / "t-11.json").read_text(encoding="utf-8"))
    recorded_category = json.loads((RECORDED / "categories.json").read_text(encoding="utf-8"))["category_list"]["categories"][0]
    users: dict[str, int] = {}
    categories = []
    for category_id, name, slug, restricted in CATEGORIES:
        category = copy.deepcopy(recorded_category)
        category.update(id=category_id, name=name, slug=slug, read_restricted=restricted, has_children=False,
                        subcategory_ids=[], description=None, description_text=None, description_excerpt=None,
                        topic_url=f"/t/about-the-{slug}-category/{category_id}",
                        topic_count=sum(1 for t in TOPICS if t[1] == category_id),
                        post_count=sum(len(t[5]) for t in TOPICS if t[1] == category_id))
        categories.append(category)
    topics, post_id = [], 1000
    for topic_id, category_id, title, pinned, tags, posts in TOPICS:
        topic = {k: v for k, v in recorded_topic.items() if k not in ("post_stream", "suggested_topics", "details",
                                                                         "timeline_lookup", "bookmarks")}
        slug = slugify(title)
        rendered = []
        for number, (hours, user, text, reply_to) in enumerate(posts, start=1):
            post_id += 1
            users.setdefault(user, len(users) + 10)
            post = copy.deepcopy(recorded_topic["post_stream"]["posts"][0])
            post.update(id=post_id, name=None, username=user, display_username=None, created_at=stamp(hours),
                        updated_at=stamp(hours), cooked="".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n")),
                        post_number=number, reply_to_post_number=reply_to, reply_count=sum(
                            1 for p in posts if p[3] == number), topic_id=topic_id, topic_slug=slug, version=1,
                        user_id=users[user], moderator=user in STAFF, staff=user in STAFF, admin=False,
                        avatar_template=f"/letter_avatar_proxy/v4/letter/{user[0]}/8797f3/{{size}}.png",
                        reads=3 + 2 * number, score=float(number), actions_summary=[])
            rendered.append(post)
        topic.update(id=topic_id, title=title, fancy_title=escape(title), slug=slug, category_id=category_id,
                     tags=tags, posts_count=len(posts), highest_post_number=len(posts), created_at=rendered[0]["created_at"],
                     last_posted_at=rendered[-1]["created_at"], pinned=pinned, pinned_globally=False,
                     pinned_at=rendered[0]["created_at"] if pinned else None, user_id=rendered[0]["user_id"],
                     reply_count=len(posts) - 1, like_count=0, views=10 * len(posts), word_count=sum(
                         len(p[2].split()) for p in posts), participant_count=len({p[1] for p in posts}),
                     draft_key=f"topic_{topic_id}")
        topics.append({"topic": topic, "posts": rendered})
    forum = {"written_by": "the community-listening project (demo data, not a recording)",
             "categories": categories, "topics": topics}
    (HERE / "demo-forum.json").write_text(json.dumps(forum, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
