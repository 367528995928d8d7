"""Text analysis for intent: the fast lookup path gives spaCy's lookup lemmas, pipelines load per language."""

from __future__ import annotations

import pytest

from pipelines.enrich.nlp import PipelineError, get_pipeline, text_analyzer

SAMPLES = {
    "da": "jeg ønskede at appen kunne gemme mine indstillinger, men den crashede igen.",
    "de": "ich wünschte, die app würde meine einstellungen speichern, aber sie stürzte wieder ab.",
    "en": "i wished the app would save my settings, but it crashed again.",
}


@pytest.mark.parametrize("lang", ["da", "de", "en"])
def test_lookup_path_matches_spacy_lookup_lemmatizer(lang):
    doc = get_pipeline(lang)(SAMPLES[lang])
    [(lemmas, _)] = text_analyzer(lang).analyze([SAMPLES[lang]])
    spacy_lemmas = {t.lemma_ for t in doc if t.is_alpha}
    assert spacy_lemmas <= lemmas


@pytest.mark.parametrize(("lang", "word", "lemma"), [("da", "ønskede", "ønske"), ("de", "wünschte", "wünschen"), ("en", "crashed", "crash")])
def test_inflected_forms_are_lemmatised(lang, word, lemma):
    [(lemmas, _)] = text_analyzer(lang).analyze([f"x {word} y"])
    assert lemma in lemmas


def test_sentences_are_split_on_end_punctuation():
    [(_, sentences)] = text_analyzer("en").analyze(["It broke. Can you fix it?"])
    assert sentences == ["It broke.", "Can you fix it?"]


def test_trained_mode_without_the_model_says_what_to_install():
    pytest.importorskip("spacy")
    try:
        import da_core_news_sm  # noqa: F401
    except ImportError:
        with pytest.raises(PipelineError, match="spacy download da_core_news_sm"):
            get_pipeline("da", mode="trained")
    else:  # pragma: no cover - only where the trained model is installed
        assert get_pipeline("da", mode="trained").lang == "da"
