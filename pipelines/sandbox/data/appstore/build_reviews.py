"""Rebuild us-reviews.json: real review texts (VADER Amazon snippets, MIT) in Apple's customer-review entry format.

    python pipelines/sandbox/data/appstore/build_reviews.py ../shared/data

Only the texts are real. Ids, dates, versions, vote counts and reviewer names are generated deterministically
(see NOTICE.md); the rating is derived from the snippet's human sentiment score. Snippets already used by the
demo import file are skipped so the two sources do not share texts.
"""

import csv
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_ID = "1600000001"
COUNT = 120


def main(shared: Path) -> None:
    used = {json.loads(line)["text"] for line in
            (HERE.parent / "imports" / "demo-feedback.jsonl").read_text(encoding="utf-8").splitlines()}
    rows = list(csv.DictReader(open(shared / "en_vader_amazonReviewSnippets" /
                                    "en_vader_amazonReviewSnippets.shared.csv", encoding="utf-8")))
    picked = [r for r in rows if r["text"] not in used and len(r["text"].split()) >= 8][-COUNT:]
    newest = dt.datetime(2024, 5, 31, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    entries, when = [], newest
    for n, row in enumerate(picked):
        digest = int(hashlib.sha1(row["id"].encode()).hexdigest(), 16)
        rating = min(5, max(1, round(3 + float(row["score"]) / 1.5)))
        words = row["text"].split()
        entries.append({
            "author": {"uri": {"label": f"https://itunes.apple.com/us/reviews/id{900000000 + digest % 99999999}"},
                       "name": {"label": f"appfan{digest % 9973}"}, "label": ""},
            "updated": {"label": when.isoformat()},
            "im:rating": {"label": str(rating)},
            "im:version": {"label": f"3.{4 - n * 4 // COUNT}.{digest % 3}"},
            "id": {"label": str(11200000000 - n * 7919)},
            "title": {"label": " ".join(words[:5]).rstrip(",.;:")},
            "content": {"label": row["text"], "attributes": {"type": "text"}},
            "link": {"attributes": {"rel": "related", "href": f"https://itunes.apple.com/us/review?id={APP_ID}&type=Purple%20Software"}},
            "im:voteSum": {"label": str(digest % 7)},
            "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
            "im:voteCount": {"label": str(digest % 11)},
            "_source_id": f"vader-amazon:{row['id']}",
        })
        when -= dt.timedelta(hours=3 + digest % 9, minutes=digest % 60)
    app = {"im:name": {"label": "Listen Demo Notes"}, "rights": {"label": "© 2024 Demo Publisher"},
           "im:price": {"label": "Get", "attributes": {"amount": "0.00", "currency": "USD"}},
           "id": {"label": f"https://apps.apple.com/us/app/listen-demo-notes/id{APP_ID}?uo=2",
                  "attributes": {"im:id": APP_ID, "im:bundleId": "org.example.listen-demo"}},
           "im:artist": {"label": "Demo Publisher"}, "category": {"attributes": {"term": "Productivity"}}}
    out = {"app_id": APP_ID, "country": "us", "app": app, "entries": entries}
    (HERE / "us-reviews.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
