"""Lemmas and sentences for the intent rules: spaCy resources, one set per language, loaded once per process.

    >>> text_analyzer("da").analyze(["Jeg ønskede flere indstillinger. Tak!"])
    [({'jeg', 'ønske', 'ønskede', 'flere', 'indstilling', 'indstillinger', 'tak'}, ['Jeg ønskede ...', 'Tak!'])]
    >>> nlp = get_pipeline("da")                 # blank Danish + sentencizer + lookup lemmatizer
    >>> get_pipeline("de", mode="trained")       # de_core_news_sm if installed, else a clear error

``mode="blank"`` (default, `[enrich] spacy = "blank"`) needs only PyPI: the lemma table of spaCy's lookup
lemmatizer (spacy-lookups-data). The intent rules only ask "which lemmas occur" and "what is the last
sentence", so the fast path looks words up in that table directly instead of building spaCy Docs: the blank
pipeline (tokenizer + sentencizer + lookup lemmatizer) ran at ~300 posts/s on real posts here and took 2/3 of
enrichment time, the table lookup gives the same lemmas (tests/test_enrich_nlp.py) at >10k posts/s. Official trained pipelines are not
on PyPI; a user with internet runs ``python -m spacy download da_core_news_sm`` (and de_core_news_sm,
en_core_web_sm) and sets ``spacy = "trained"``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipelines.errors import ListenError

TRAINED_PIPELINES = {"da": "da_core_news_sm", "de": "de_core_news_sm", "en": "en_core_web_sm"}


class PipelineError(ListenError):
    """A spaCy pipeline cannot be loaded; the message says what to install."""


@lru_cache(maxsize=8)
def get_pipeline(lang: str, mode: str = "blank"):
    """The spaCy pipeline for ``lang`` (da/de/en) in ``mode`` 'blank' or 'trained'."""
    import spacy

    if mode == "trained":
        name = TRAINED_PIPELINES.get(lang)
        if name is None:
            raise PipelineError(f"no trained spaCy pipeline configured for {lang!r}")
        try:
            # NER and the parser are not used by any rule here; skipping them keeps throughput up.
            return spacy.load(name, exclude=["ner", "parser"])
        except OSError as exc:
            raise PipelineError(
                f"spaCy pipeline {name!r} is not installed ({exc}); run `python -m spacy download {name}` "
                f"or set [enrich] spacy = \"blank\""
            ) from None
    if mode != "blank":
        raise PipelineError(f"unknown spaCy mode {mode!r}; use 'blank' or 'trained'")
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    try:
        nlp.initialize()  # loads the lemma_lookup table from spacy-lookups-data
    except (ValueError, OSError) as exc:
        raise PipelineError(f"lookup lemmatizer for {lang!r} needs `pip install spacy-lookups-data`: {exc}") from None
    return nlp


_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


class LookupAnalyzer:
    """Lower-cased words, their lookup lemmas and sentences, without building spaCy Docs (mode 'blank')."""

    def __init__(self, lang: str) -> None:
        try:
            from spacy.lookups import load_lookups

            self._table = load_lookups(lang, ["lemma_lookup"]).get_table("lemma_lookup")
        except (ValueError, OSError, ImportError) as exc:
            raise PipelineError(f"lemma table for {lang!r} needs `pip install spacy-lookups-data`: {exc}") from None

    def lemmas(self, text: str) -> set[str]:
        words = set(_WORD.findall(text.lower()))
        get = self._table.get
        return words | {get(word, word) for word in words}

    def analyze(self, texts: list[str]) -> list[tuple[set[str], list[str]]]:
        return [(self.lemmas(t), [s for s in _SENTENCE_END.split(t.strip()) if s]) for t in texts]


class SpacyAnalyzer:
    """The same interface over a spaCy pipeline (mode 'trained': lemmas from the trained lemmatizer)."""

    def __init__(self, lang: str, mode: str) -> None:
        self._nlp = get_pipeline(lang, mode)

    def analyze(self, texts: list[str]) -> list[tuple[set[str], list[str]]]:
        out = []
        for doc in self._nlp.pipe(texts, batch_size=256):
            lemmas = {t.lemma_.lower() for t in doc} | {t.lower_ for t in doc}
            sentences = [s.text for s in doc.sents] if doc.has_annotation("SENT_START") else [doc.text]
            out.append((lemmas, sentences))
        return out


@lru_cache(maxsize=8)
def text_analyzer(lang: str, mode: str = "blank"):
    """Lemmas + sentences for ``lang``: the lookup table in mode 'blank', a trained spaCy pipeline otherwise."""
    return LookupAnalyzer(lang) if mode == "blank" else SpacyAnalyzer(lang, mode)
