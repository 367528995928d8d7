"""Which words belong to Danish, German and English: spaCy's stop words and the word forms of its lookup tables.

    >>> word_languages(["danke"])
    [('de',)]
    >>> word_languages(["not", "delivered"])
    [('da', 'de', 'en'), ('en',)]

Read from installed packages only: spaCy's `lang/<xx>/stop_words.py` and spacy-lookups-data's
`<xx>_lemma_lookup.json.gz` (every inflected form and its lemma: about 550k Danish, 340k German and 50k English
words; the English index and exception tables add 70k more). The tables are read line by line into sorted CRC-32
hashes of the lowercase words (4 MB for all three, against about 230 MB as Python strings), so a word unknown to
a language is called known with a chance of about 1 in 8,000 for Danish (1 in 30,000 for English).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import zlib
from array import array
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from pipelines.config import SUPPORTED_LANGS as LANGS

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')  # a JSON string (escapes kept as written)
# letters one language never writes: a "Danish" word with ü or ß in the Danish table is a German leftover
_FOREIGN_LETTERS = {"da": re.compile("[äöüß]"), "de": re.compile("[æøå]"), "en": re.compile("[æøåäöüß]")}


def spacy_stop_words(lang: str) -> set[str]:
    """spacy/lang/<lang>/stop_words.py read on its own: importing spacy itself takes 5-20 s per process."""
    spec = importlib.util.find_spec("spacy")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("topic keywords and language ID need spaCy's stop-word lists: `pip install spacy`")
    path = Path(list(spec.submodule_search_locations)[0]) / "lang" / lang / "stop_words.py"
    module_spec = importlib.util.spec_from_file_location(f"_listen_stop_words_{lang}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return set(module.STOP_WORDS)


def _lookup_file(name: str):
    return resources.files("spacy_lookups_data") / "data" / name


@lru_cache(maxsize=len(LANGS))
def lemma_table(lang: str) -> dict[str, str]:
    """spaCy's word -> lemma lookup table for `lang`, or {} when spacy-lookups-data is not installed."""
    try:
        table = _lookup_file(f"{lang}_lemma_lookup.json.gz")
        with table.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
            return json.load(handle)
    except (ModuleNotFoundError, FileNotFoundError):
        return {}


def _table_hashes(name: str, foreign: re.Pattern) -> array:
    """CRC-32 hashes of every quoted string of a lookup table (keys and values alike are words), lowercase, without
    words holding `foreign` letters; empty without the file. Read line by line: the tables are one entry per line
    (the English index: one part of speech per line), so no more than a line is held as text."""
    hashes = array("I")
    try:
        with _lookup_file(name).open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
            for line in handle:
                hashes.extend(_hash(word) for word in _QUOTED.findall(line.lower()) if not foreign.search(word))
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    return hashes


def _hash(word: str) -> int:
    return zlib.crc32(word.encode("utf-8"))


@lru_cache(maxsize=len(LANGS))
def word_hashes(lang: str) -> np.ndarray:
    """Sorted CRC-32 hashes of the lowercase words known in `lang` (lookup forms, lemmas and stop words)."""
    names = [f"{lang}_lemma_lookup.json.gz"]
    if lang == "en":
        names += ["en_lemma_index.json.gz", "en_lemma_exc.json.gz"]
    hashes = array("I", (_hash(word) for word in stop_words(lang)))
    for name in names:
        hashes.extend(_table_hashes(name, _FOREIGN_LETTERS[lang]))
    return np.unique(np.frombuffer(hashes, dtype=np.uint32))


@lru_cache(maxsize=len(LANGS))
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words of `lang`, lowercase."""
    return frozenset(word.lower() for word in spacy_stop_words(lang))


def _known(hashes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    at = np.minimum(np.searchsorted(hashes, keys), len(hashes) - 1)
    return hashes[at] == keys if len(hashes) else np.zeros(len(keys), dtype=bool)


def word_languages(words: list[str]) -> list[tuple[str, ...]]:
    """Per word, the languages whose word lists hold it (lowercase compare), in LANGS order."""
    keys = np.array([_hash(w.lower()) for w in words], dtype=np.uint32)
    known = {lang: _known(word_hashes(lang), keys) for lang in LANGS}
    return [tuple(lang for lang in LANGS if known[lang][i]) for i in range(len(words))]
