"""One spaCy pipeline per language, loaded once per process.

    >>> nlp = get_pipeline("da")                 # blank Danish + sentencizer + lookup lemmatizer
    >>> [t.lemma_ for t in nlp("Jeg ønsker flere indstillinger")]
    ['Jeg', 'ønske', 'flere', 'indstilling']
    >>> get_pipeline("de", mode="trained")       # de_core_news_sm if installed, else a clear error

``mode="blank"`` (default, `[enrich] spacy = "blank"`) needs only PyPI: spaCy's rule-based tokenizer, a
sentencizer and the lookup lemmatizer with tables from spacy-lookups-data. Official trained pipelines are not
on PyPI; a user with internet runs ``python -m spacy download da_core_news_sm`` (and de_core_news_sm,
en_core_web_sm) and sets ``spacy = "trained"``.
"""

from __future__ import annotations

from functools import lru_cache

TRAINED_PIPELINES = {"da": "da_core_news_sm", "de": "de_core_news_sm", "en": "en_core_web_sm"}


class PipelineError(Exception):
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
