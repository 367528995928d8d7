"""Copy the sourcecred Discourse snapshots the sandbox serves into recorded/sourcecred/, named after their URL.

    python pipelines/sandbox/data/discourse/extract_recordings.py ../shared/data/api_discourse

The snapshots are real bodies fetched from https://sourcecred-test.discourse.group by the sourcecred project,
each stored under the sha256 of its URL; INDEX.json (written for ../shared/data) maps hash -> URL. The files are
copied byte for byte; recordings.json maps each new name to its URL and hash. The user profile and user-action
snapshots are left out (the sandbox does not serve them). (Run once; the outputs are committed.)
"""

import json
import shutil
import sys
from pathlib import Path

NAMES = {"/latest.json?order=activity&ascending=false&page=0": "latest-page0.json",
         "/latest.json?order=activity&ascending=false&page=1": "latest-page1.json",
         "/categories.json?show_subcategory_list=true": "categories.json",
         "/t/11.json": "t-11.json", "/t/21.json": "t-21.json", "/t/26.json": "t-26.json", "/t/26.json?page=2": "t-26-page2.json"}
SITE = "https://sourcecred-test.discourse.group"


def main(source: Path) -> None:
    snapshots = source / "sourcecred_snapshots"
    index = json.loads((snapshots / "INDEX.json").read_text(encoding="utf-8"))
    out = Path(__file__).parent / "recorded" / "sourcecred"
    out.mkdir(parents=True, exist_ok=True)
    recordings = {}
    for digest, url in index.items():
        name = NAMES.get(url.removeprefix(SITE))
        if name:
            shutil.copyfile(snapshots / digest, out / name)
            recordings[name] = {"url": url, "sha256_of_url": digest}
    (out / "recordings.json").write_text(json.dumps(recordings, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
