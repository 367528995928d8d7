"""Published lexicon sentiment baselines, run as their authors ship them (for eval and bench, not production).

    >>> baseline_labels("vader", ["I love it", "meh"], "en")
    ['positive', 'neutral']
    >>> BASELINES_BY_LANG["de"]
    ('asent',)

- ``vader``: vaderSentiment's SentimentIntensityAnalyzer compound (English only).
- ``afinn``: the AFINN word list (Nielsen 2011), summed per text, sign = label (da, en).
- ``asent``: asent 0.8 spaCy components on blank pipelines (``asent_da_v1``; for German our own factory with
  asent's Chen-Skiena lexicon, because asent's ``asent_de_v1`` fails to build under current confection).
Labels follow each tool's convention: compound >= 0.05 positive, <= -0.05 negative (VADER, asent); AFINN sum
> 0 positive, < 0 negative.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipelines.enrich.sentiment import SENTIMENT_DIR, label_for_score

BASELINES_BY_LANG = {"en": ("vader", "afinn"), "da": ("afinn", "asent"), "de": ("asent",)}
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


def baseline_scores(name: str, texts: list[str], lang: str) -> list[float]:
    """Raw baseline score per text (VADER/asent compound in [-1, 1]; AFINN sum)."""
    if name == "vader":
        analyzer = _vader()
        return [analyzer.polarity_scores(t)["compound"] for t in texts]
    if name == "afinn":
        return [afinn_score(t, lang) for t in texts]
    if name == "asent":
        return [doc._.polarity.compound for doc in _asent_pipeline(lang).pipe(texts, batch_size=256)]
    raise ValueError(f"unknown baseline {name!r}; use vader, afinn or asent")


def baseline_labels(name: str, texts: list[str], lang: str) -> list[str]:
    scores = baseline_scores(name, texts, lang)
    band = 0.5 if name == "afinn" else 0.05  # AFINN sums are integers: any non-zero sum is polar
    return [label_for_score(s, band) for s in scores]
