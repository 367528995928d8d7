"""Topic words an editor can read, as BERTopic representation models: keywords, and a label per language.

    >>> words = PostWords(langs, [lemmas(text, lang) for text, lang in zip(texts, langs)])
    >>> parts = {"Main": ReadableKeywords(words), **{lang: LanguageLabel(lang, words) for lang in ("da", "de", "en")}}
    >>> topic_model = BERTopic(representation_model=parts, ...).fit(keyword_docs, embeddings)
    >>> topic_model.get_topic(3)[:3]                  # [('levering', 0.21), ('zeitung', 0.18), ('avis', 0.15)]
    >>> topic_model.topic_aspects_["de"][3]           # [('Zeitung', 0.31), ('Zustellung', 0.22)]

BERTopic sees each post as `vocabulary.keyword_text(text, lang)` (lemmas, no stop words, numbers, URLs,
handles or redaction placeholders), so its c-TF-IDF counts "Zeitungen" and "Zeitung" as one word.
- `ReadableKeywords` ("Main"): BERTopic's c-TF-IDF ranking over all languages, without near-repeats and
  without two-word phrases nobody wrote.
- `LanguageLabel` (one aspect per language): c-TF-IDF over only that language's posts (their topic against
  the other topics in the same language), 2-4 words without near-repeats or unwritten phrases, each in the form most
  often written in those posts ("Zeitung", "Netflix"); a word of one or two letters only as an acronym ("EU", not
  "St" or "mm"). A topic gets a label in its main language and in
  every other language that holds at least `min_docs` and `min_share` of its posts; otherwise that aspect
  is empty for the topic.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from bertopic.representation import BaseRepresentation
from scipy.sparse import csr_matrix
from sklearn.base import clone

from pipelines.topics.vocabulary import written_forms

EMPTY = [("", 1e-05)]  # BERTopic's own filler for a representation without words


def same_stem(a: str, b: str) -> bool:
    """True for one word in two forms: 'price'/'prices', 'deliver'/'delivery', 'kunde'/'kunden'."""
    a, b = a.lower(), b.lower()
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < 4:
        return False
    prefix = 0
    for x, y in zip(a, b):
        if x != y:
            break
        prefix += 1
    return prefix >= max(4, int(np.ceil(0.75 * shorter)))


def near_repeat(candidate: str, chosen: list[str]) -> bool:
    """'price increase' next to 'price', or 'delivered' next to 'delivery', says nothing new."""
    words = candidate.split()
    return any(same_stem(w, c) for other in chosen for w in words for c in other.split())


def distinct_words(ranked: list[tuple[str, float]], n: int) -> list[tuple[str, float]]:
    """The first `n` words of a ranking that are neither empty nor near-repeats of an earlier one."""
    chosen: list[tuple[str, float]] = []
    for word, score in ranked:
        if not word or score <= 0 or near_repeat(word, [c for c, _ in chosen]):
            continue
        chosen.append((word, float(score)))
        if len(chosen) == n:
            break
    return chosen


class ReadableKeywords(BaseRepresentation):
    """BERTopic's c-TF-IDF words per topic, `top_n_words` of them, without near-repeats and without two-word
    phrases nobody wrote (the vectorizer drops stop words before pairing: "limit for top-up" -> "limit top-up")."""

    def __init__(self, words: "PostWords", top_n_words: int = 10):
        self.words = words
        self.top_n_words = top_n_words

    def get_params(self, deep: bool = False) -> dict:
        return {"top_n_words": self.top_n_words}

    def extract_topics(self, topic_model, documents, c_tf_idf, topics):
        written = self.words.written_pairs()
        return {topic: distinct_words([(w, s) for w, s in words if " " not in w or w in written], self.top_n_words)
                or EMPTY for topic, words in topics.items()}


class PostWords:
    """What the three `LanguageLabel`s share: each post's language and lemmas, and once per fit the posts'
    words as BERTopic's fitted vectorizer counts them (a word once per post)."""

    def __init__(self, langs: list[str | None], lemma_lists: list[list[str]]):
        self.langs = np.array([lang or "" for lang in langs], dtype=object)
        self.lemma_lists = lemma_lists
        self._bag: tuple[int, csr_matrix] | None = None
        self._forms: dict[str, dict[str, str]] = {}
        self._pairs: set[str] | None = None

    def bag(self, topic_model, documents) -> csr_matrix:
        """(posts x vocabulary) 0/1 matrix in `documents` order, computed on the first call of a fit."""
        key = id(documents)
        if self._bag is None or self._bag[0] != key:
            bag = topic_model.vectorizer_model.transform(documents["Document"].to_numpy(dtype=object)).tocsr()
            bag.data[:] = 1
            self._bag = (key, bag)
        return self._bag[1]

    def written_pairs(self) -> set[str]:
        """Two-word phrases as posts wrote them (lowercase lemmas, side by side)."""
        if self._pairs is None:
            self._pairs = {f"{a.lower()} {b.lower()}" for words in self.lemma_lists for a, b in zip(words, words[1:])}
        return self._pairs

    def forms(self, lang: str) -> dict[str, str]:
        """keyword -> its most frequent written form in this language's posts ('zeitung' -> 'Zeitung')."""
        if lang not in self._forms:
            self._forms[lang] = written_forms([words for words, post_lang in zip(self.lemma_lists, self.langs)
                                               if post_lang == lang])
        return self._forms[lang]


class LanguageLabel(BaseRepresentation):
    """A 2-4 word label per topic from the posts in one language (an aspect named after the language)."""

    def __init__(self, lang: str, words: PostWords, n_words: int = 3, min_docs: int = 2, min_share: float = 0.2):
        self.lang = lang
        self.words = words
        self.n_words = n_words
        self.min_docs = min_docs
        self.min_share = min_share

    def get_params(self, deep: bool = False) -> dict:  # the posts' words are data, not parameters
        return {"lang": self.lang, "n_words": self.n_words, "min_docs": self.min_docs, "min_share": self.min_share}

    def extract_topics(self, topic_model, documents, c_tf_idf, topics):
        ids = documents["ID"].to_numpy(dtype=np.int64)
        langs = self.words.langs[ids]
        topic_of = documents["Topic"].to_numpy(dtype=np.int64)
        sizes = Counter(topic_of.tolist())
        in_lang = langs == self.lang
        counts = Counter(topic_of[in_lang].tolist())
        main = _main_languages(topic_of, langs)
        out = {topic: EMPTY for topic in topics}
        labelled = [t for t in sorted(counts) if t in topics and (
            main.get(t) == self.lang
            or (counts[t] >= self.min_docs and counts[t] >= self.min_share * sizes[t]))]
        if not labelled:
            return out
        classes = sorted(counts)  # every topic with posts in this language competes for its words
        rows = np.flatnonzero(in_lang)
        # a word counts once per post: a label word is one many posts use, not one post's repetition
        bag = self.words.bag(topic_model, documents)[rows]
        membership = csr_matrix((np.ones(len(rows)), (np.searchsorted(classes, topic_of[rows]), np.arange(len(rows)))),
                                shape=(len(classes), len(rows)))
        posts_with_word = (membership @ bag).tocsr()
        present = np.flatnonzero(posts_with_word.getnnz(axis=0))  # words this language uses at all
        posts_with_word = posts_with_word[:, present]
        # ClassTfidfTransformer normalises its input in place: give it a copy, the counts are needed below
        scores = clone(topic_model.ctfidf_model).fit(posts_with_word).transform(posts_with_word.copy()).tocsr()
        words = topic_model.vectorizer_model.get_feature_names_out()[present]
        forms, written = self.words.forms(self.lang), self.words.written_pairs()
        for row, topic in enumerate(classes):
            if topic not in labelled:
                continue
            line, used_by = scores.getrow(row), posts_with_word.getrow(row).toarray().ravel()
            order = np.argsort(-line.data, kind="stable")[:60]
            ranked = [(str(words[line.indices[i]]), float(line.data[i]), used_by[line.indices[i]]) for i in order]
            ranked = [(w, s, n) for w, s, n in ranked if (" " not in w or w in written) and _readable(w, forms)]
            # words used in two posts or more first; a small topic may have none, then its best single ones
            shared = distinct_words([(w, s) for w, s, n in ranked if n >= 2], self.n_words)
            picked = shared if len(shared) >= 2 else distinct_words(
                [(w, s) for w, s, n in ranked if n >= 2] + [(w, s) for w, s, n in ranked if n < 2], self.n_words)
            if picked:
                out[topic] = [(" ".join(forms.get(w, w) for w in word.split()), score) for word, score in picked]
        return out


def _readable(word: str, forms: dict[str, str]) -> bool:
    """A label word of one or two letters is an abbreviation or a unit ("St", "mm", "gb") unless posts write it in
    capitals, as acronyms are ("EU", "TV")."""
    if " " in word or len(word) > 2:
        return True
    return forms.get(word, word).isupper()


def _main_languages(topic_of: np.ndarray, langs: np.ndarray) -> dict[int, str]:
    """Each topic's most frequent language among da/de/en (ties: alphabetical)."""
    main: dict[int, str] = {}
    for topic in np.unique(topic_of).tolist():
        counted = Counter(lang for lang in langs[topic_of == topic].tolist() if lang in ("da", "de", "en"))
        if counted:
            main[topic] = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return main

