"""Copy the Mastodon.py cassettes' response bodies used by the sandbox into recorded/*.json, unchanged.

    python pipelines/sandbox/data/mastodon/extract_recordings.py ../shared/data/api_mastodon

Each body is written byte for byte as recorded; recordings.json names, per file, the cassette, the interaction,
the recorded request, status and rate-limit/link headers. (Run once; the outputs are committed.)
"""

import json
import sys
from pathlib import Path

import yaml

WANTED = [  # (cassette, method, uri ending) -> file
    ("test_instance.yaml", "GET", "/api/v2/instance/", "instance-v2.json"),
    ("test_timeline_disabled.yaml", "GET", "/api/v1/timelines/public?local=1&remote=1", "timeline-public.json"),
    ("test_public_tl_anonymous.yaml", "GET", "/api/v1/timelines/public", "timeline-public-anonymous.json"),
    ("test_hashtag_tl.yaml", "GET", "/api/v1/timelines/tag/hoot", "timeline-tag-hoot.json"),
    ("test_fetch_next_previous.yaml", "GET", "/statuses?limit=5", "account-statuses-page1.json"),
    ("test_fetch_next_previous.yaml", "GET", "&max_id=117020580489281910", "account-statuses-max_id.json"),
    ("test_fetch_next_previous.yaml", "GET", "&min_id=117020580481736214", "account-statuses-min_id.json"),
    ("test_account_pinned.yaml", "GET", "/statuses?pinned=1", "account-statuses-pinned.json"),
    ("test_status.yaml", "GET", "/api/v1/statuses/117020583223442465", "status.json"),
    ("test_status_context.yaml", "GET", "/context", "context-empty.json"),
    ("test_search.yaml", "GET", "&type=statuses", "search-statuses.json"),
    ("test_status_missing.yaml", "GET", "/api/v1/statuses/0", "error-404.json"),
]
HEADERS = ("link", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "content-type")


def main(source: Path) -> None:
    out = Path(__file__).parent / "recorded"
    out.mkdir(exist_ok=True)
    index = {}
    for cassette, method, ending, name in WANTED:
        interactions = yaml.safe_load((source / cassette).read_text(encoding="utf-8"))["interactions"]
        number, found = next((n, i) for n, i in enumerate(interactions)
                             if i["request"]["method"] == method and i["request"]["uri"].endswith(ending))
        body = found["response"]["body"]["string"]
        (out / name).write_text(body, encoding="utf-8")
        headers = {k.lower(): v for k, v in found["response"]["headers"].items()}
        index[name] = {"cassette": cassette, "interaction": number, "request": f"{method} {found['request']['uri']}",
                       "status": found["response"]["status"]["code"],
                       "headers": {k: headers[k][0] for k in HEADERS if k in headers}}
    (out / "recordings.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
