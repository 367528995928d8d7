"""Intent rules: wish / question / complaint / praise / other in Danish, German and English."""

from __future__ import annotations

import pytest

from pipelines.enrich.intent import classify_intent, intents_for_docs
from pipelines.enrich.nlp import get_pipeline

CASES = [
    # (text, lang, sentiment label, score, expected)
    ("Det ville være rart hvis appen kunne huske mit login", "da", "neutral", 0.1, "wish"),
    ("Jeg ønsker mig en mørk tilstand", "da", "neutral", 0.0, "wish"),
    ("Hvordan ændrer jeg min adgangskode?", "da", "neutral", 0.0, "question"),
    ("Appen virker ikke efter opdateringen", "da", "negative", -0.3, "complaint"),
    ("Tak, det er en fantastisk app", "da", "positive", 0.7, "praise"),
    ("Butikken åbner klokken ni", "da", "neutral", 0.0, "other"),
    ("Es wäre schön, wenn man Favoriten speichern könnte", "de", "neutral", 0.1, "wish"),
    ("Weiß jemand, wie man das Passwort ändert?", "de", "neutral", 0.0, "question"),
    ("Die App stürzt ständig ab", "de", "negative", -0.5, "complaint"),
    ("Vielen Dank, die App ist super", "de", "positive", 0.6, "praise"),
    ("Der Zug fährt um neun Uhr", "de", "neutral", 0.0, "other"),
    ("Please add a dark mode", "en", "neutral", 0.0, "wish"),
    ("Could you please add dark mode?", "en", "neutral", 0.0, "wish"),
    ("How do I change my password?", "en", "neutral", 0.0, "question"),
    ("The app keeps crashing since the update", "en", "negative", -0.7, "complaint"),
    ("Love the new design, great work", "en", "positive", 0.8, "praise"),
    ("The store opens at nine", "en", "neutral", 0.0, "other"),
]


@pytest.mark.parametrize(("text", "lang", "label", "score", "expected"), CASES)
def test_rules_with_spacy_lemmas(text, lang, label, score, expected):
    doc = get_pipeline(lang)(text)
    assert intents_for_docs([doc], [lang], [label], [score]) == [expected]


def test_lemmas_catch_inflected_wish_verbs():
    # "ønskede" only matches the wish lemma "ønske" through the lookup lemmatizer.
    doc = get_pipeline("da")("Jeg ønskede mig en mørk tilstand")
    assert intents_for_docs([doc], ["da"], ["neutral"], [0.0]) == ["wish"]


def test_reported_wish_of_someone_else_is_not_a_wish():
    doc = get_pipeline("da")("Virksomheden ønsker ikke at udtale sig")
    assert intents_for_docs([doc], ["da"], ["neutral"], [0.0]) == ["other"]


def test_complaint_word_does_not_beat_positive_sentiment():
    assert classify_intent("Not a single bug, I love it", "en", "positive", 0.8) == "praise"


def test_strong_negative_sentiment_alone_is_a_complaint():
    assert classify_intent("Aldrig igen, sikke en omgang", "da", "negative", -0.8) == "complaint"


def test_question_mark_inside_url_is_not_a_question():
    assert classify_intent("Se https://example.org/?id=3 for mere", "da", "neutral", 0.0) == "other"


def test_unsupported_language_is_other():
    assert classify_intent("Pourquoi l'application plante?", "fr", "neutral", 0.0) == "other"


def test_regret_with_should_have_is_not_a_wish():
    # "should have been/bought" looks back; a wish asks for something ahead ("should add", "should have an option").
    assert classify_intent("There should have been a recall on this product.", "en", "negative", -0.4) != "wish"
    assert classify_intent("The app should have an option for dark mode", "en", "neutral", 0.0) == "wish"
