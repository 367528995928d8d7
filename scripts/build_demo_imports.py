"""Build the demo import file from copyable real texts in ../shared/data (run once; output is committed).

    python scripts/build_demo_imports.py ../shared/data pipelines/sandbox/data/imports/demo-feedback.jsonl

Texts are real (Danish LCC sentences, CC BY; English Amazon review snippets from the VADER corpus, MIT).
Ids keep their origin. Dates and authors are NOT in the sources: the demo assigns them at run time.
"""

import csv
import hashlib
import json
import sys
from pathlib import Path


def rows(path: Path):
    with open(path, newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def main(shared: str, out: str) -> None:
    shared_dir = Path(shared)
    picked = []
    for row in rows(shared_dir / "da_lcc_sentiment" / "da_lcc_sentiment.shared.csv"):
        picked.append({"id": f"lcc-{row['id']}", "text": row["text"], "lang": "da", "origin": "lcc-sentiment (CC BY)"})
    english = list(rows(shared_dir / "en_vader_amazonReviewSnippets" / "en_vader_amazonReviewSnippets.shared.csv"))
    english.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
    for row in english[:400]:
        picked.append({"id": f"amazon-{row['id']}", "text": row["text"], "lang": "en",
                       "origin": "vaderSentiment amazonReviewSnippets (MIT)"})
    with open(out, "w", encoding="utf-8") as handle:
        for record in picked:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(picked)} records to {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
