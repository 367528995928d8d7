"""Readable topic keywords for da/de/en: cleaned, lemmatised text and a bigram vectorizer with stop words.

    >>> keyword_text("Die Spiele wurden am 3.4. auf https://x.de verschoben", "de")
    'der spiel werden am auf verschieben'
    >>> vectorizer = make_vectorizer(followed_stop_words(settings.followed_terms()))   # for BERTopic's c-TF-IDF

URLs, e-mail-like tokens, redaction placeholders (`[email]`, `[phone]`, `@[user]`, `[deleted]` ...), @-handles
and numbers never become keywords; stop words come from spaCy's da/de/en lists
(one union, because a topic mixes languages), plus the words the sources follow (a Mastodon hashtag, a Bluesky or
Reddit search, subreddit and Discourse category names): every post such a source brings carries them, so they
would name topics by how posts were collected ("demonotes"), not by what they say;
lemmas come from spaCy's lookup tables (spacy-lookups-data),
so "Spiele"/"Spiel" and "prices"/"price" count as one keyword. Without the tables, words stay as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from sklearn.feature_extraction.text import CountVectorizer

from pipelines.words import lemma_table
from pipelines.words import stop_words as language_stop_words

KEYWORD_LANGS = ("da", "de", "en")
# URLs, e-mail addresses, subreddit and user links, @-handles, and every bracketed placeholder the redaction
# step (pipelines.enrich.privacy) or a platform leaves in text: "[email]", "@[user]", "u/[user]", "[deleted]"
_URL = re.compile(r"(?:https?://|www\.)\S+|[^\s@]{1,64}@[^\s@]{1,255}\.\w+|/?r/\w+|/?u/(?:\w+|\[\w+\])|@?\[[^\]\s]{1,24}\]|@\w+",
                  re.IGNORECASE)
# search syntax: a quoted value is what posts say (title:"price increase"); other operators select by metadata
_QUOTED_OPERATOR = re.compile(r'\w+:"([^"]*)"')
_SEARCH_OPERATOR = re.compile(r"\S+:\S*")  # "from:alice.bsky.social", "lang:de", "subreddit:y"
_SLUG_JOINER = re.compile(r"[-_./]+")
_WORD = re.compile(r"[^\W\d_]{2,}(?:[-'’][^\W\d_]+)*", re.UNICODE)
_CLITIC = re.compile(r"(?:'(?:s|re|ve|ll|d|m|t)|n't)$", re.IGNORECASE)
# words that carry no topic in social posts in any of our languages, beyond spaCy's lists
_EXTRA_STOP = {"http", "https", "www", "com", "amp", "quot", "nbsp", "reddit", "deleted", "removed", "edit",
               # what the token pattern leaves of "we'll", "I've", "you're", "can't", "won't"
               "ll", "ve", "re", "ca", "wo",
               "emptydoc",  # BERTopic's stand-in for a document with no words
               # Danish possessives and fillers missing from spaCy's Danish list
               "dit", "sin", "sit", "sine", "bare", "mon", "nok", "lige", "gang", "letzt",
               # greetings and forms of address ("Dear Redditors, ...", "Hej alle", "Hallo zusammen"): no subject
               "dear", "hi", "hello", "hey", "hej", "kære", "hallo", "redditor", "redditors", "lol"}


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Union of spaCy's Danish, German and English stop words (lowercase) plus a few web leftovers."""
    words = set(_EXTRA_STOP)
    for lang in KEYWORD_LANGS:
        words |= language_stop_words(lang)
    # the vectorizer sees lemmas, so lemmatised stop words must be stop words too ("wurden" -> "werden")
    for lang in KEYWORD_LANGS:
        table = lemma_table(lang)
        words |= {table.get(w, w).lower() for w in list(words)}
    return frozenset(words)


# spaCy's lookup tables send a few common words to another word, and a label would then say what no post said:
# English "number" -> "numb" ("support numb"), "data" -> "datum", "media" -> "medium", "worst" -> "wrong" (a topic of
# posts calling a product the worst was labelled "wrong, bad"), "best" and "better" -> "well"; German "Daten" ->
# "Datum" (a date). These keep their word, or get the base form the Danish and German tables give ("beste" -> "gut").
_LEMMA_FIXES = {"en": {"number": "number", "data": "data", "media": "media", "worst": "bad", "best": "good",
                       "better": "good"},
                "de": {"Daten": "Daten", "daten": "Daten"}}


@lru_cache(maxsize=len(KEYWORD_LANGS))
def _keyword_lemmas(lang: str) -> dict[str, str]:
    return {**lemma_table(lang), **_LEMMA_FIXES.get(lang, {})}


def lemmas(text: str, lang: str | None) -> list[str]:
    """The words of `text` as lemmas in spaCy's casing ('Zeitungen' -> 'Zeitung', 'wurden' -> 'werden')."""
    table = _keyword_lemmas(lang) if lang in KEYWORD_LANGS else {}
    words = _WORD.findall(_URL.sub(" ", (text or "").replace("’", "'")))
    out = []
    for word in words:
        word = _CLITIC.sub("", word)  # "what's" -> "what", "don't" -> "do": the stop list knows the base word
        out.append(table.get(word) or table.get(word.lower()) or word)
    return out


def keyword_text(text: str, lang: str | None) -> str:
    """Lowercased lemmas of the words in `text` (no URLs, numbers or punctuation), for the vectorizer."""
    return " ".join(lemma.lower() for lemma in lemmas(text, lang))


def written_forms(lemma_lists: list[list[str]]) -> dict[str, str]:
    """keyword -> its most frequent written form among posts' `lemmas()` ('zeitung' -> 'Zeitung')."""
    seen: dict[str, Counter] = {}
    for words in lemma_lists:
        for lemma in words:
            seen.setdefault(lemma.lower(), Counter())[lemma] += 1
    return {word: forms.most_common(1)[0][0] for word, forms in seen.items()}


def followed_stop_words(terms: Iterable[str]) -> frozenset[str]:
    """The keyword forms (lowercase lemmas in da, de and en) of the words sources follow; search operators go,
    slugs count whole and by their parts.

    >>> sorted(followed_stop_words(["DemoNotes", "site-feedback", "from:alice.bsky.social Waschmaschinen"]))
    ['demonotes', 'feedback', 'site', 'site-feedback', 'waschmaschine', 'waschmaschinen']
    """
    words: set[str] = set()
    for term in terms:
        text = _SEARCH_OPERATOR.sub(" ", _QUOTED_OPERATOR.sub(r" \1 ", term or ""))
        for piece in (text, _SLUG_JOINER.sub(" ", text)):
            for lang in KEYWORD_LANGS:
                words.update(word.lower() for word in lemmas(piece, lang))
    return frozenset(words)


def make_vectorizer(followed: Iterable[str] = (), max_features: int = 50_000) -> CountVectorizer:
    """Unigrams and bigrams over `keyword_text` output, stop words and the `followed` words (from
    `followed_stop_words`) removed, bounded vocabulary."""
    return CountVectorizer(
        ngram_range=(1, 2),
        stop_words=sorted(stop_words() | set(followed)),
        token_pattern=r"(?u)\b[^\W\d_]{2,}(?:[-'’][^\W\d_]+)*\b",
        lowercase=False,  # keyword_text already lowercased; keeps the stop-word check exact
        max_features=max_features,
    )
