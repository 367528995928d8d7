"""Copy the recorded Bluesky responses the sandbox serves into recorded/*.json.

    python pipelines/sandbox/data/bluesky/extract_recordings.py ../shared/data/api_bluesky

bskyr's VCR cassettes (real bsky.social responses, May 2025) and atproto's test data (fetched from the live API)
are copied body for body; recordings.json names each file's origin, request, status and rate-limit headers.
One change: the e-mail address in the createSession body is replaced by "<EMAIL>" (its JWTs were already
blanked by bskyr). (Run once; the outputs are committed.)
"""

import json
import shutil
import sys
from pathlib import Path

import yaml

CASSETTES = {"f_search.yml": "searchPosts-redistricting.json", "f_autfeed.yml": "getAuthorFeed-chriskenny.json",
             "f_postthread.yml": "getPostThread-3k7qmjev5lr2s.json", "f_getposts.yml": "getPosts-3k7qmjev5lr2s.json",
             "f_getquotes.yml": "getQuotes-3lc5c5qv72r2w.json", "f_getlikes.yml": "getActorLikes-bskyr.json",
             "repo_auth_refresh.yml": "createSession.json", "r_post_errors.yml": "error-400.json"}
ATPROTO = {"thread_view_post_with_embed_media.json": "getPostThread-3kaheyt6vpc22.json"}
HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy", "content-type")


def main(source: Path) -> None:
    out = Path(__file__).parent / "recorded"
    out.mkdir(exist_ok=True)
    index = {}
    for cassette, name in CASSETTES.items():
        interaction = yaml.safe_load((source / "bskyr_vcr" / cassette).read_text(encoding="utf-8"))["http_interactions"][0]
        body = interaction["response"]["body"]["string"]
        if name == "createSession.json":
            session = json.loads(body)
            session["email"] = "<EMAIL>"
            body = json.dumps(session, separators=(",", ":"))
        (out / name).write_text(body, encoding="utf-8")
        headers = {k.lower(): v for k, v in interaction["response"]["headers"].items()}
        index[name] = {"origin": f"bskyr_vcr/{cassette}", "recorded_at": str(interaction.get("recorded_at")),
                       "request": f"{interaction['request']['method']} {interaction['request']['uri']}",
                       "status": interaction["response"]["status"],
                       "headers": {k: headers[k] for k in HEADERS if k in headers}}
    for file, name in ATPROTO.items():
        shutil.copyfile(source / "atproto_test_data" / file, out / name)
        index[name] = {"origin": f"atproto_test_data/{file}", "request": "GET app.bsky.feed.getPostThread",
                       "status": 200, "headers": {}}
    (out / "recordings.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
