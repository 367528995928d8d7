"""How often the alert check is right: detection and false-alarm rates on real labelled data, per language.

    .venv/bin/python bench/eval_alerts.py [--data ../shared/data] [--trials 400] [--cache DIR]

Both parts run the shipped judgement (pipelines.alerts.detect.judge_volume / judge_negative_share with the default
[alerts] settings) on counts drawn from real labelled posts; what a day holds is simulated (none of the sets has
dates), the posts and their labels are not:

- topic volume, on banking77 (10,084 real customer queries, 77 intents as topics): a channel of 60 posts a day
  drawn from the real intent mix, 28 baseline days and a 2-day recent window. False alarms: the share of
  (topic, window) checks raised with nothing injected. Detection: `k` extra posts of one mid-sized intent in the
  recent window. The counts do not depend on the language (the topic model's per-language quality is in
  README, "Measured quality").
- negative share, per language, through the shipped sentiment classifier: one topic of 6 or 30 posts a day whose posts
  are real labelled sentences (da: da_europarl + da_emma; de: de_sb10k; en: en_goemotions_reddit, all sets the
  classifier never trained on), gold-negative with rate 0.2 in the baseline and `p` in the recent window. The
  detector sees the classifier's labels (as in production) and, for comparison, the gold labels.

Prints the tables and writes bench/results/eval_alerts.json. Embeddings are cached per text under --cache.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import SHARED_DATA, print_table  # noqa: E402
from pipelines.alerts.detect import WindowCounts, judge_negative_share, judge_volume  # noqa: E402
from pipelines.config import AlertSettings  # noqa: E402
from pipelines.enrich.labeled import embed_cached, load_labeled  # noqa: E402

CONFIG = AlertSettings()
BASELINE_DAYS, RECENT_DAYS = CONFIG.baseline_days, CONFIG.recent_days
NEGATIVE_SETS = {"da": ["da_europarl_sentiment", "da_emma_sentences"], "de": ["de_sb10k"],
                 "en": ["en_goemotions_reddit"]}
MAX_ROWS = 700  # per language (stable sample), to keep the embedding a few minutes on 2 shared cores


def volume_rates(data: Path, trials: int, rng: random.Random) -> list[list]:
    import csv

    with open(data / "en_topic_banking77" / "en_topic_banking77.shared.csv", encoding="utf-8") as handle:
        labels = [row["label"] for row in csv.DictReader(handle)]
    intents = sorted(set(labels))
    weights = np.array([labels.count(i) for i in intents], dtype=float)
    weights /= weights.sum()
    target = int(np.argsort(weights)[len(weights) // 2])  # a mid-sized intent
    nrng = np.random.default_rng(rng.randrange(2**32))
    per_day = 60
    rows = []
    for extra in (0, 5, 10, 20, 40):
        raised = checks = raised_target = 0
        for _ in range(trials):
            before = nrng.multinomial(per_day * BASELINE_DAYS, weights)
            now = nrng.multinomial(per_day * RECENT_DAYS, weights)
            now[target] += extra
            total_now, total_before = int(now.sum()), int(before.sum())
            for topic in range(len(intents)):
                if not now[topic]:
                    continue
                c = WindowCounts("x", topic, int(now[topic]), int(before[topic]), 0, 0, total_now, total_before)
                hit = judge_volume(c, CONFIG)["held"] is None
                if topic == target:
                    raised_target += hit
                else:
                    raised += hit
                    checks += 1
        expected = weights[target] * per_day * RECENT_DAYS
        rows.append([extra, round(expected, 1), round(raised_target / trials, 3), round(raised / max(checks, 1), 5)])
    return rows


def _negative_pools(data: Path, cache: Path | None) -> dict[str, dict]:
    from pipelines.enrich.cues import cue_matrix
    from pipelines.enrich.sentiment import load_default_model, sentiment_features

    model = load_default_model()
    pools = {}
    for lang, sets in NEGATIVE_SETS.items():
        frames = [load_labeled(data, name) for name in sets]
        rows = [(t, l) for f in frames for t, l in zip(f["text"], f["label"]) if l in ("negative", "neutral", "positive")]
        rows.sort(key=lambda r: hash_key(r[0]))
        rows = rows[:MAX_ROWS]
        started = time.perf_counter()
        texts, langs = [t for t, _ in rows], [lang] * len(rows)
        vectors = embed_cached(texts, cache)
        _, predicted, _ = model.predict(np.asarray(vectors), sentiment_features(texts, langs, cue_matrix(texts, langs)),
                                        langs)
        gold = [l for _, l in rows]
        negative = [p == "negative" for p in predicted]
        pools[lang] = {
            "neg": [n for n, g in zip(negative, gold) if g == "negative"],  # predicted-negative flag of gold negatives
            "rest": [n for n, g in zip(negative, gold) if g != "negative"],
            "rows": len(rows), "seconds": round(time.perf_counter() - started, 1),
            "recall": round(float(np.mean([n for n, g in zip(negative, gold) if g == "negative"])), 3),
            "false_negative_rate": round(float(np.mean([n for n, g in zip(negative, gold) if g != "negative"])), 3),
        }
    return pools


def hash_key(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()


def negative_rates(pools: dict, trials: int, rng: random.Random) -> list[list]:
    base_rate = 0.2
    rows = []
    for lang, pool in pools.items():
        for per_day, p_now in ((6, 0.2), (6, 0.5), (6, 0.8), (30, 0.2), (30, 0.35), (30, 0.5)):
            hits = {"model": 0, "gold": 0}
            for _ in range(trials):
                def draw(n: int, rate: float) -> tuple[int, int]:
                    gold = predicted = 0
                    for _ in range(n):
                        if rng.random() < rate:
                            gold += 1
                            predicted += rng.choice(pool["neg"])
                        else:
                            predicted += rng.choice(pool["rest"])
                    return gold, predicted

                n_before, n_now = per_day * BASELINE_DAYS, per_day * RECENT_DAYS
                gold_before, pred_before = draw(n_before, base_rate)
                gold_now, pred_now = draw(n_now, p_now)
                for name, (neg_now, neg_before) in {"model": (pred_now, pred_before),
                                                    "gold": (gold_now, gold_before)}.items():
                    c = WindowCounts("x", 1, n_now, n_before, neg_now, neg_before, 1000, 10000)
                    hits[name] += judge_negative_share(c, CONFIG)["held"] is None
            rows.append([lang, per_day, p_now, round(hits["model"] / trials, 3), round(hits["gold"] / trials, 3),
                         pool["recall"], pool["false_negative_rate"], pool["rows"]])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--cache", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "cache" / "alerts_eval")
    args = parser.parse_args()
    rng = random.Random(18)
    volume = volume_rates(args.data, args.trials, rng)
    shown = lambda rows: [[f"{v:.4f}" if isinstance(v, float) else v for v in row] for row in rows]  # noqa: E731
    print_table("topic volume (banking77 intent mix, 60 posts/day, 2-day window vs 28 days): detection of k extra "
                "posts of one mid-sized intent; false alarms per topic x window check",
                ["extra posts k", "expected posts now", "detected", "false alarms"], shown(volume))
    pools = _negative_pools(args.data, args.cache)
    negative = negative_rates(pools, args.trials, rng)
    print_table("negative share (one topic, 6 or 30 posts/day, gold-negative rate 0.2 before and p in the 2-day window): "
                "raised with the shipped classifier's labels and with gold labels",
                ["lang", "posts/day", "p now", "raised (classifier)", "raised (gold)", "classifier recall of negatives",
                 "non-negatives called negative", "rows"], shown(negative))
    out = REPO / "bench" / "results" / "eval_alerts.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": CONFIG.model_dump(exclude={"send_to"}), "trials": args.trials,
                               "volume": volume, "negative_share": negative,
                               "embedding_seconds": {lang: p["seconds"] for lang, p in pools.items()}}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
