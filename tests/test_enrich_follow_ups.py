"""The follow-up queue takes only customers' own voices, and its suggested replies are in the post's language,
fit its intent, and never offer a canned "sorry" for a death, an accident or violence."""

from __future__ import annotations

import pytest

from pipelines.report.i18n import Strings
from pipelines.report.replies import mentions_harm, suggested_reply

LONG = " It has been like this for a week now and nobody from your team has answered me yet."
POSTS = [  # post_id, channel, kind, intent, body
    ("news:1", "feed", "post", "complaint", "Two people were killed in a car crash on the motorway this morning." + LONG),
    ("blog:c1", "feed", "comment", "complaint", "Your newsletter keeps landing in my inbox even though I unsubscribed." + LONG),
    ("reddit:p1", "reddit", "post", "question", "Does anyone know how to export my reading history from the app?" + LONG),
    ("reddit:c1", "reddit", "comment", "wish", "Please add a dark mode to the reader, my eyes hurt at night." + LONG),
    ("survey:7", "import", "post", "complaint", "Die Zeitung wurde heute schon wieder nicht zugestellt." + LONG),
    ("app:r1", "appstore", "review", "complaint", "Jeres app crasher hver gang jeg åbner den." + LONG),
    ("company:9", "feed", "post", "wish", "We would love to hear your ideas for our new podcast series this autumn." + LONG),
    ("toot:5", "mastodon", "post", "complaint", "The app logs me out every single morning since the last update." + LONG),
    ("forum:3", "discourse", "post", "question", "How do I move my subscription to a new e-mail address?" + LONG),
]


@pytest.fixture
def queue(warehouse):
    for post_id, channel, kind, intent, body in POSTS:
        warehouse.execute(
            """INSERT INTO core.posts (post_id, source, channel, native_id, kind, url, created_at, fetched_at,
                                       first_loaded_at, body, content_hash, run_id, lang, intent)
               VALUES (?, ?, ?, ?, ?, ?, now(), now(), now(), ?, md5(?), 'run-1', 'en', ?)""",
            [post_id, post_id.split(":")[0], channel, post_id.split(":")[1], kind,
             f"https://example.org/{post_id.replace(':', '/')}", body, body, intent])
    return {row[0] for row in warehouse.execute("SELECT post_id FROM follow_ups").fetchall()}


def test_articles_of_news_and_company_feeds_never_enter_the_queue(queue):
    assert "news:1" not in queue and "company:9" not in queue


def test_comments_reviews_social_and_forum_posts_and_imports_do(queue):
    assert queue == {"blog:c1", "reddit:p1", "reddit:c1", "survey:7", "app:r1", "toot:5", "forum:3"}


@pytest.mark.parametrize("text", [
    "Two people died after the car crashed into a bus stop; the paper's app showed the story three times.",
    "Min far døde i sidste uge, og I bliver ved med at sende regninger til ham.",
    "Nach dem tödlichen Unfall auf der A7 schickt ihr mir immer noch Werbung für Autoversicherungen.",
    "He was stabbed outside the shop and your delivery driver just walked past.",
])
def test_no_canned_apology_for_deaths_accidents_or_violence(text):
    reply = suggested_reply({"intent": "complaint", "lang": "en", "excerpt": text}, Strings("da"))
    assert reply == Strings("da")("opening_sensitive")
    assert "Ærgerligt" not in reply and "Sorry" not in reply


@pytest.mark.parametrize("text", [
    "The app crashes every time I open the crossword since the update.",
    "Appen crasher hver gang, og jeg betaler 299 kr om måneden for det her!",
    "Die App stürzt seit dem Update ständig ab.",
    "I wish the offer for students also covered the weekend paper.",
    "Dies ist das dritte Mal, dass die Zustellung fehlt.",
])
def test_product_crashes_and_everyday_words_are_not_harm(text):
    assert not mentions_harm(text)


@pytest.mark.parametrize("lang,intent,start", [
    ("da", "complaint", "Ærgerligt at høre"), ("da", "wish", "Tak for idéen"), ("da", "question", "Godt spørgsmål"),
    ("de", "complaint", "Das tut uns leid"), ("de", "wish", "Danke für die Idee"), ("de", "question", "Gute Frage"),
    ("en", "complaint", "Sorry this happened"), ("en", "wish", "Thanks for the idea"), ("en", "question", "Good question"),
])
def test_reply_is_in_the_posts_language_and_fits_its_intent(lang, intent, start):
    for report_lang in ("da", "de", "en"):  # whatever language the report itself is in
        reply = suggested_reply({"intent": intent, "lang": lang, "excerpt": "Noget om appen"}, Strings(report_lang))
        assert reply.startswith(start)
        assert "Noget om appen" in reply


def test_reply_falls_back_to_the_report_language_when_the_posts_is_unknown():
    reply = suggested_reply({"intent": "wish", "lang": "und", "excerpt": "ok"}, Strings("de"))
    assert reply.startswith("Danke für die Idee")


def test_the_organisations_own_accounts_never_enter_the_queue(warehouse):
    """Release notes and the team's own replies on Mastodon or a forum are no customer voice ([follow_ups]
    own_accounts); the customer beside them stays, and handles are matched as pseudonyms, never stored."""
    from pipelines.config import FollowUpSettings
    from pipelines.loop import sync_follow_up_scope
    from pipelines.pseudonyms import pseudonymise

    key = b"0123456789abcdef-test-key"
    posts = [("toot:own", "@DemoNotes", "Version 3.4.1 is out: fixes for offline sync conflicts and a crash."),
             ("forum:own", "support_mads", "Thanks for the report. We can reproduce the crash and are on it."),
             ("toot:customer", "mariekh", "Since 3.4.0 the app crashes every time I attach a photo on iOS.")]
    for post_id, author, body in posts:
        body += LONG
        warehouse.execute(
            """INSERT INTO core.posts (post_id, source, channel, native_id, kind, url, created_at, fetched_at,
                                       first_loaded_at, body, content_hash, run_id, lang, intent, author_key)
               VALUES (?, 's', 'mastodon', ?, 'post', ?, now(), now(), now(), ?, md5(?), 'run-1', 'en',
                       'complaint', ?)""",
            [post_id, post_id, f"https://example.org/{post_id}", body, body, pseudonymise(author, key)])

    def queue() -> set[str]:
        return {row[0] for row in warehouse.execute("SELECT post_id FROM follow_ups").fetchall()}

    assert queue() == {"toot:own", "forum:own", "toot:customer"}
    scope = sync_follow_up_scope(warehouse, FollowUpSettings(own_accounts=["demonotes", "support_mads"]), key)
    assert scope == {"own_accounts": 2, "listen_only": 0}
    assert queue() == {"toot:customer"}
    stored = {row[0] for row in warehouse.execute("SELECT author_key FROM core.own_accounts").fetchall()}
    assert "demonotes" not in " ".join(stored) and stored == {pseudonymise("demonotes", key),
                                                              pseudonymise("support_mads", key)}
    assert sync_follow_up_scope(warehouse, FollowUpSettings(), key)["own_accounts"] == 0  # setting removed: back
    assert queue() == {"toot:own", "forum:own", "toot:customer"}


def test_own_accounts_must_be_handles():
    from pydantic import ValidationError

    from pipelines.config import FollowUpSettings

    assert FollowUpSettings(own_accounts=["u/OurPaper", "@support"]).own_accounts == ["u/OurPaper", "@support"]
    with pytest.raises(ValidationError, match="not a handle"):
        FollowUpSettings(own_accounts=["[deleted]"])


def test_sources_and_communities_listened_to_only_never_enter_the_queue(warehouse):
    """[follow_ups] listen_only: a whole source by name, or one community of a source as posts name it (any
    case); their posts stay in the warehouse, only the queue leaves them out."""
    from pipelines.config import FollowUpSettings
    from pipelines.loop import sync_follow_up_scope

    posts = [("ask:1", "reddit-askreddit", "r/AskReddit", "question", "What is the biggest lie you told your kids?"),
             ("threads:1", "reddit-threads", "r/funny", "question", "Why does my cat sit on the newspaper every day?"),
             ("threads:2", "reddit-threads", "r/DemoNotes", "complaint", "The app crashes when I attach a photo."),
             ("forum:1", "forum", "Feature requests", "wish", "Please add an offline mode for the whole archive.")]
    for post_id, source, community, intent, body in posts:
        body += LONG
        warehouse.execute(
            """INSERT INTO core.posts (post_id, source, channel, community, native_id, kind, url, created_at,
                                       fetched_at, first_loaded_at, body, content_hash, run_id, lang, intent)
               VALUES (?, ?, 'reddit', ?, ?, 'post', ?, now(), now(), now(), ?, md5(?), 'run-1', 'en', ?)""",
            [post_id, source, community, post_id, f"https://example.org/{post_id}", body, body, intent])

    def queue() -> set[str]:
        return {row[0] for row in warehouse.execute("SELECT post_id FROM follow_ups").fetchall()}

    key = b"0123456789abcdef-test-key"
    assert queue() == {"ask:1", "threads:1", "threads:2", "forum:1"}
    scope = sync_follow_up_scope(warehouse, FollowUpSettings(listen_only=["reddit-askreddit", "R/Funny"]), key)
    assert scope == {"own_accounts": 0, "listen_only": 2}
    assert queue() == {"threads:2", "forum:1"}
    assert warehouse.execute("SELECT count(*) FROM core.posts").fetchone()[0] == 4  # listened to, still stored
    sync_follow_up_scope(warehouse, FollowUpSettings(), key)
    assert queue() == {"ask:1", "threads:1", "threads:2", "forum:1"}


def test_listen_only_source_names_must_be_configured(write_config):
    from pipelines.config import ConfigError, load_settings

    sources = '[[sources]]\nname = "reddit-askreddit"\nkind = "reddit"\nsubreddits = ["AskReddit"]\n'
    ok = load_settings(write_config('[follow_ups]\nlisten_only = ["reddit-askreddit", "r/funny"]\n' + sources))
    assert ok.raw.follow_ups.listen_only == ["reddit-askreddit", "r/funny"]
    with pytest.raises(ConfigError, match="reddit-askredit.*no configured source"):
        load_settings(write_config('[follow_ups]\nlisten_only = ["reddit-askredit"]\n' + sources))
