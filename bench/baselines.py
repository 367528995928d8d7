"""Published sentiment baselines, run as their authors ship them (for eval and bench, not production).

    >>> baseline_labels("vader", ["I love it", "meh"], "en")
    ['positive', 'neutral']
    >>> available_baselines("de")
    ('asent', 'textblob_de')

- ``vader``: vaderSentiment's SentimentIntensityAnalyzer compound (English only).
- ``afinn``: the AFINN word list (Nielsen 2011), summed per text, sign = label (da, en).
- ``dds``: the Danish Sentiment Lexicon (DSL/CST 2022, CC BY-SA 4.0; models/sentiment/lexicons), summed per
  text, sign = label.
- ``asent``: asent 0.8 spaCy components on blank pipelines (``asent_da_v1``; for German our own factory with
  asent's Chen-Skiena lexicon, because asent's ``asent_de_v1`` fails to build under current confection).
- ``sentida`` (da): the Sentida lexicon scorer (PyPI ``sentida``, **CC BY-NC**: measured only, never shipped),
  mean normalised score.
- ``hisia`` (da): Hisia's logistic regression trained on Danish Trustpilot reviews (PyPI ``hisia``, MIT; it pins
  scikit-learn 1.0.2, so install it with ``pip install --no-deps hisia lemmy dill``); binary, no neutral class.
- ``textblob_de`` (de): TextBlobDE polarity (PyPI ``textblob-de``, MIT; ``textblob<0.18``), with the pattern
  tokenizer because the default one downloads NLTK data.
``sentida``, ``hisia`` and ``textblob_de`` are optional: ``available_baselines`` leaves out those not installed.
Labels follow each tool's convention: compound >= 0.05 positive, <= -0.05 negative (VADER, asent, Sentida); a
lexicon sum or TextBlob polarity > 0 positive, < 0 negative; Hisia's own label.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipelines.enrich.sentiment import SENTIMENT_DIR, danish_sentiment_lexicon, label_for_score

BASELINES_BY_LANG = {"en": ("vader", "afinn"), "da": ("afinn", "dds", "asent", "sentida", "hisia"),
                     "de": ("asent", "textblob_de")}
OPTIONAL_BASELINES = {"sentida": "sentida", "hisia": "hisia", "textblob_de": "textblob_de"}  # name -> module
_AFINN_FILES = {"da": "AFINN-da-32.txt", "en": "AFINN-en-165.txt"}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=2)
def _afinn(lang: str) -> tuple[dict[str, int], int]:
    """(single words, longest phrase in words); AFINN also lists phrases like 'does not work'."""
    lexicon: dict[str, int] = {}
    for line in (SENTIMENT_DIR / "lexicons" / _AFINN_FILES[lang]).read_text(encoding="utf-8").splitlines():
        word, _, value = line.rpartition("\t")
        if word:
            lexicon[word.lower()] = int(value)
    return lexicon, max(len(k.split()) for k in lexicon)


def afinn_score(text: str, lang: str) -> float:
    """Sum of AFINN valences, longest phrase first (the afinn package's behaviour, without its dependency)."""
    lexicon, longest = _afinn(lang)
    words = _WORD.findall(text.lower())
    total, i = 0, 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            value = lexicon.get(" ".join(words[i : i + size]))
            if value is not None:
                total += value
                i += size
                break
        else:
            i += 1
    return float(total)


def _register_asent_german() -> str:
    """Register 'listen_asent_de' (Chen-Skiena German lexicon + emoji, German negations) once."""
    from spacy.language import Language

    name = "listen_asent_de"
    if name not in Language.factories:

        @Language.factory(name, default_config={})
        def _make(nlp, name):  # noqa: ANN001 - spaCy factory signature
            from asent.component import Asent
            from asent.lang.emoji import LEXICON as EMOJI
            from asent.utils import LEXICON_PATH, read_lexicon

            lexicon = dict(read_lexicon(LEXICON_PATH / "de_lexicon_chen_skiena_2014_v1.txt"))
            lexicon.update(EMOJI)
            negations = {"nicht", "nie", "niemals", "kein", "keine", "keinen", "keinem", "keiner", "nichts", "ohne"}
            return Asent(nlp, name=name, lexicon=lexicon, negations=negations, contrastive_conjugations={"aber"},
                         lowercase=True, lemmatize=False, force=True)

    return name


def _asent_pipeline(lang: str):
    """A fresh pipeline per call: asent keeps its lexicon in *global* spaCy Token extensions, so the component
    built last wins for every pipeline in the process; force=True makes that one the language asked for."""
    import spacy

    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    if lang == "da":
        import asent  # noqa: F401 - registers asent_da_v1

        nlp.add_pipe("asent_da_v1", config={"force": True})
    elif lang == "de":
        nlp.add_pipe(_register_asent_german())
    else:
        raise ValueError(f"no asent baseline for {lang!r}")
    return nlp


def available_baselines(lang: str) -> tuple[str, ...]:
    """The baselines for ``lang`` that can run here (optional packages installed)."""
    import importlib.util

    return tuple(name for name in BASELINES_BY_LANG.get(lang, ())
                 if name not in OPTIONAL_BASELINES or importlib.util.find_spec(OPTIONAL_BASELINES[name]) is not None)


def baseline_scores(name: str, texts: list[str], lang: str) -> list[float]:
    """Raw baseline score per text (VADER/asent/Sentida compound or TextBlob polarity in [-1, 1]; AFINN and DDS
    sums; Hisia P(positive) - P(negative))."""
    if name == "vader":
        analyzer = _vader()
        return [analyzer.polarity_scores(t)["compound"] for t in texts]
    if name == "afinn":
        return [afinn_score(t, lang) for t in texts]
    if name == "dds":
        lexicon = danish_sentiment_lexicon().lexicon
        return [sum(lexicon.get(w, 0.0) for w in _WORD.findall(t.lower())) for t in texts]
    if name == "asent":
        return [doc._.polarity.compound for doc in _asent_pipeline(lang).pipe(texts, batch_size=256)]
    if name == "sentida":
        from sentida import Sentida

        scorer = Sentida()
        return [scorer.sentida(t, output="mean", normal=True) for t in texts]
    if name == "hisia":
        import warnings

        with warnings.catch_warnings():  # its pickle was made with scikit-learn 1.0.2
            warnings.simplefilter("ignore")
            from hisia import Hisia

            results = [Hisia(t).sentiment for t in texts]
        return [float(r.positive_probability) - float(r.negative_probability) for r in results]
    if name == "textblob_de":
        from textblob_de import PatternTokenizer, TextBlobDE

        tokenizer = PatternTokenizer()
        return [TextBlobDE(t, tokenizer=tokenizer).sentiment.polarity for t in texts]
    raise ValueError(f"unknown baseline {name!r}; use one of {sorted({n for v in BASELINES_BY_LANG.values() for n in v})}")


# Band around zero inside which a baseline's score counts as neutral, per its own convention.
_NEUTRAL_BAND = {"afinn": 0.5, "dds": 0.5, "textblob_de": 1e-9, "hisia": 0.0}


def baseline_labels(name: str, texts: list[str], lang: str) -> list[str]:
    scores = baseline_scores(name, texts, lang)
    if name == "hisia":  # binary: its label is the likelier of the two
        return ["positive" if s >= 0 else "negative" for s in scores]
    return [label_for_score(s, _NEUTRAL_BAND.get(name, 0.05)) for s in scores]
