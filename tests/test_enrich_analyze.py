"""Enricher and `listen analyze`: the contract columns per text, neutral handling of other languages,
and malformed JSONL lines reported by line number while good lines are still written."""

from __future__ import annotations

import io
import json

import pytest

from pipelines.config import EnrichSettings
from pipelines.enrich.analyze import AnalyzeError, Enricher, analyze_file


@pytest.fixture(scope="module")
def enricher():
    return Enricher()


@pytest.fixture(scope="module")
def lexicon_enricher():
    return Enricher(EnrichSettings(sentiment="lexicon"))


def test_each_text_gets_the_four_contract_fields(enricher):
    results = enricher.analyze(["Appen er fantastisk, tak!", "Die App ist schlecht, sie stürzt ständig ab", "How do I log out?"])
    assert [r["lang"] for r in results] == ["da", "de", "en"]
    assert [r["sentiment_label"] for r in results][:2] == ["positive", "negative"]
    assert [r["intent"] for r in results] == ["praise", "complaint", "question"]
    assert all(-1.0 <= r["sentiment"] <= 1.0 for r in results)


def test_unsupported_language_is_labelled_and_neutral(enricher):
    [result] = enricher.analyze(["Je déteste cette application, elle est vraiment horrible et lente."])
    assert result == {"lang": "fr", "sentiment": 0.0, "sentiment_label": "neutral", "intent": "other",
                      "sentiment_confidence": None, "intent_confidence": None, "intent_rule": None}


def test_empty_text_is_und_and_neutral(enricher):
    [result] = enricher.analyze([""])
    assert result == {"lang": "und", "sentiment": 0.0, "sentiment_label": "neutral", "intent": "other",
                      "sentiment_confidence": None, "intent_confidence": None, "intent_rule": None}


def test_posts_in_emoji_only_keep_no_language_but_get_their_feeling(enricher):
    """A comment of "👍👍👍" or "😡😡" says how its author feels in any language: scored by the English models,
    stored as 'und'; punctuation alone is no feeling."""
    results = enricher.analyze(["😡😡😡", "👍👍👍", "❤️🙏", ":(", "!!!", "Je déteste cette application 😡, elle plante tout le temps."])
    assert [r["lang"] for r in results] == ["und", "und", "und", "und", "und", "fr"]
    assert [r["sentiment_label"] for r in results] == ["negative", "positive", "positive", "negative", "neutral",
                                                        "neutral"]
    assert all(r["sentiment_confidence"] is not None for r in results[:4])
    assert results[4]["sentiment_confidence"] is None and results[5]["sentiment_confidence"] is None


def test_lexicon_mode_needs_no_embeddings(lexicon_enricher):
    [result] = lexicon_enricher.analyze(["This app is great"])
    assert result["sentiment_label"] == "positive"
    assert result["sentiment_confidence"] is None and result["intent_confidence"] is None  # not probabilities
    assert result["intent_rule"] == "rules"  # the rules alone labelled it


def test_unknown_sentiment_backend_is_refused():
    with pytest.raises(ValueError, match="not available offline"):
        Enricher(EnrichSettings(sentiment="some/hub-model"))


def test_analyze_file_keeps_other_keys(tmp_path, lexicon_enricher):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a1", "text": "Tak for en god app", "score": 5}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert analyze_file(src, out, EnrichSettings(sentiment="lexicon")) == 1
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["id"] == "a1" and record["score"] == 5 and record["lang"] == "da"
    assert set(record) >= {"sentiment", "sentiment_label", "intent"}


def test_malformed_lines_are_reported_by_number_and_good_lines_written(tmp_path, lexicon_enricher):
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": 1, "text": "Great app"}\n'
        '{"id": 2, "text": "broken json"\n'
        '\n'
        '{"id": 3}\n'
        '{"id": 4, "text": "Tolle App"}\n',
        encoding="utf-8",
    )
    out = io.StringIO()
    with pytest.raises(AnalyzeError) as excinfo:
        analyze_file(src, None, EnrichSettings(sentiment="lexicon"), out=out)
    message = str(excinfo.value)
    assert f"{src}:2:" in message and f"{src}:4:" in message
    assert "2 bad line(s)" in message
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == [1, 4]


def test_missing_input_file_names_the_path(tmp_path):
    with pytest.raises(AnalyzeError, match="not found"):
        analyze_file(tmp_path / "nope.jsonl", None, EnrichSettings(sentiment="lexicon"))


def test_analyze_gives_the_labels_the_warehouse_stores(tmp_path, write_config):
    """`listen analyze` labels the redacted title + text, exactly what load + enrich label in the warehouse."""
    from helpers import import_source, make_install, query

    from pipelines.daily import enrich, ingest, new_run_id

    records = [
        {"id": "1", "text": "Skriv til mig på jens.hansen@example.dk eller ring 20 30 40 50, appen virker ikke!"},
        {"id": "2", "title": "Lieferung", "text": "Bitte melden Sie sich unter +49 170 1234567, die Zeitung kam wieder nicht."},
        {"id": "3", "text": "Please email me at sam@example.org about the refund, I was charged twice."},
    ]
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    settings = make_install(write_config, import_source("survey", str(feedback)))
    ingest(settings, new_run_id())
    enrich(settings)
    stored = {post_id.split(":")[1]: tuple(values) for post_id, *values in query(
        settings, "SELECT post_id, lang, sentiment, sentiment_label, intent, sentiment_confidence, intent_confidence, "
                  "intent_rule FROM core.posts")}

    out = tmp_path / "out.jsonl"
    analyze_file(feedback, out)
    analysed = {r["id"]: (r["lang"], r["sentiment"], r["sentiment_label"], r["intent"], r["sentiment_confidence"],
                          r["intent_confidence"], r["intent_rule"])
                for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert analysed == stored
