"""Language identification: da/de/en first-class, other languages labelled, 'und' when it cannot be told.

    >>> detect_language("Appen er fantastisk")
    'da'
    >>> detect_languages(["Wo finde ich die Einstellungen?", "Je ne comprends pas pourquoi l'application plante."])
    ['de', 'fr']
    >>> detect_language("ok")               # too short to tell
    'und'
    >>> detect_language("ok", hint="da")    # a source-declared language settles what the text cannot
    'da'

Two decisions from one py3langid scoring pass (model loaded once per process), and a word vote for short texts:
1. restricted to da/de/en — measured 30/30 on short texts; letting it consider Norwegian sends short Danish
   posts to Bokmål, so the first-class languages are decided among themselves;
2. the full 97-language model, trusted only when it is *very* sure of another language (p >= 0.9 with
   length-normalised probabilities) or when the text is mostly in a non-Latin script. On the shared
   langid set no da/de/en text of any length crossed 0.9 in the full model, while ordinary French, Swedish,
   Polish or Spanish sentences do. Norwegian close to Danish (p < 0.9) is labelled 'da' on purpose: our
   Danish users lose less from that than from short Danish posts labelled Norwegian;
3. a text of at most SHORT_WORDS words ("Danke!", "Not delivered", "Virker ikke") is decided by its words when they
   say clearly more for one of da/de/en than for the others (`word_vote`: spaCy's stop words and the word forms of
   its lookup tables, pipelines.words). The character model has too little text there. Measured with
   `bench/eval_enrichment.py` on 2 December 2026 (da / de / en, right; without the vote -> with it): the first word
   of the shared langid sentences 0.36 / 0.38 / 0.24 -> 0.73 / 0.74 / 0.65, the first two 0.88 / 0.91 / 0.74 ->
   0.92 / 0.94 / 0.88, the first three 0.92 / 0.97 / 0.92 -> 0.96 / 0.98 / 0.97; 8,968 real posts of one to six
   words (reviews, tweets, Reddit comments) 0.982 / 0.927 / 0.942 -> 0.987 / 0.925 / 0.969. German is the one
   loss: posts of the German tweet sets called another language went from 4.0 to 5.3 %, but of the 20 such posts
   read, 13 are English, French or Turkish tweets and 5 German ("Fitness / Spa möglich" -> en). Full sentences
   are not affected (one word list load per process, about 2-3 s).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from itertools import islice

import numpy as np

from pipelines.config import SUPPORTED_LANGS

UNDETERMINED = "und"
OTHER_LANGUAGE_MIN_CONFIDENCE = 0.9
DETECT_CHARS = 400
MIN_LETTERS = 4  # "ok", "lol", "👍": nothing to tell a language from
MIXED_MAX_CONFIDENCE = 0.45  # restricted top-1 this close to uniform (1/3) = mixed or languageless
SHORT_WORDS = 3  # texts of at most this many words are decided by word_vote when it is clear
VOTE_MARGIN = 1.0  # ... that is, when the winner has at least one whole word more than the runner-up

# Stripped before detection: links, handles, placeholders and hashtags carry no language signal.
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\[?\w+\]?|\[(?:email|phone|iban|card|address)\]|#", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# a word as the short-text vote counts it (also how bench/eval_enrichment.py counts a real post's words)
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


@lru_cache(maxsize=1)
def _model():
    """py3langid's full model, loaded once per process, and the column indices of da/de/en in it."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    full = LanguageIdentifier.from_model_file(MODEL_FILE)
    classes = list(full.nb_classes)
    first_class = np.array([classes.index(c) == i for i, c in enumerate(classes)])  # drop alias duplicates
    supported = np.array([classes.index(lang) for lang in SUPPORTED_LANGS])
    return full, classes, first_class, supported


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


def _score(text: str) -> tuple[str, float, str, float]:
    """(best of da/de/en, its probability among them, best of all languages, its probability).

    One walk of py3langid's byte automaton serves both decisions (the walk is the expensive part; restricting
    the classifier is only a column selection), with py3langid's own length normalisation (T = sqrt(bytes)).
    """
    full, classes, first_class, supported = _model()
    encoded = full._encode(text)
    raw = np.asarray(full._raw_score(encoded), dtype=np.float64) / math.sqrt(len(encoded) or 1)
    restricted = _softmax(raw[supported])
    best = int(restricted.argmax())
    overall = _softmax(np.where(first_class, raw, -np.inf))
    top = int(overall.argmax())
    return SUPPORTED_LANGS[best], float(restricted[best]), classes[top], float(overall[top])


def _normalise_hint(hint: str | None) -> str | None:
    """'da-DK', 'de_AT', 'EN' -> ISO 639-1 lower case; anything else -> None."""
    if not hint:
        return None
    code = re.split(r"[-_]", hint.strip().lower(), maxsplit=1)[0]
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def _latin_share(letters: list[str]) -> float:
    """Share of letters in Latin script (Basic Latin to Latin Extended-B, plus Latin Extended Additional)."""
    latin = sum(1 for ch in letters if ch < "\u0250" or "\u1e00" <= ch <= "\u1eff")
    return latin / len(letters)


def word_vote(words: list[str]) -> str | None:
    """The language of a few words by their word lists, or None when they do not say clearly.

    Each word gives one vote, shared equally among the languages that know it; a word that is a stop word in some
    of them but only a content word in others votes for the former ("und" is a German stop word and, by a stray
    entry, a Danish table word). The winner needs VOTE_MARGIN more than the runner-up."""
    from pipelines.words import LANGS, stop_words, word_languages

    votes = dict.fromkeys(LANGS, 0.0)
    for word, langs in zip(words, word_languages(words)):
        stopping = tuple(lang for lang in langs if word.lower() in stop_words(lang))
        langs = stopping or langs
        for lang in langs:
            votes[lang] += 1.0 / len(langs)
    ranked = sorted(votes.values(), reverse=True)
    if ranked[0] - ranked[1] < VOTE_MARGIN:
        return None
    return max(votes, key=votes.get)


def detect_language(text: str | None, hint: str | None = None) -> str:
    """ISO 639-1 code of the text's language, or 'und'. ``hint``: language declared by the source, if any."""
    hint = _normalise_hint(hint)
    # The first DETECT_CHARS characters decide: a long review does not change language halfway, and the
    # byte automaton's cost grows with length.
    cleaned = _NOISE.sub(" ", (text or "")[: DETECT_CHARS + 200])[:DETECT_CHARS]
    letters = _LETTER.findall(cleaned)
    latin = bool(letters) and _latin_share(letters) >= 0.5
    words = [m.group() for m in islice(WORD.finditer(cleaned), SHORT_WORDS + 1)] if latin else []
    voted = word_vote(words) if 0 < len(words) <= SHORT_WORDS else None
    if len(letters) < MIN_LETTERS:
        return voted or hint or UNDETERMINED
    lang, p, other, other_p = _score(cleaned)
    if not latin:
        # Cyrillic, Greek, Arabic, CJK...: certainly not da/de/en, and the full model's top script-mate is the
        # best label even when it hesitates between close relatives (ru/bg/mk).
        return other if other not in SUPPORTED_LANGS else UNDETERMINED
    if other not in SUPPORTED_LANGS and other_p >= OTHER_LANGUAGE_MIN_CONFIDENCE:
        return other
    if voted:
        return voted
    if p < MIXED_MAX_CONFIDENCE:
        return hint or UNDETERMINED
    return lang


def detect_languages(texts: list[str | None], hints: list[str | None] | None = None) -> list[str]:
    """detect_language for each text (hints aligned with texts, or None)."""
    hints = hints if hints is not None else [None] * len(texts)
    if len(hints) != len(texts):
        raise ValueError(f"lang_hints has {len(hints)} entries for {len(texts)} texts")
    return [detect_language(t, h) for t, h in zip(texts, hints)]
