"""Every SQL block in docs/analyst-queries.md runs against a demo-like snapshot and answers its question."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import fixture_warehouse  # noqa: E402

from pipelines.warehouse import open_warehouse, publish_snapshot, query_snapshot  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "analyst-queries.md"
TODAY = dt.datetime.now(dt.timezone.utc).date()


def doc_queries() -> list[tuple[str, str]]:
    """[(question heading, sql)] in document order."""
    text = DOC.read_text(encoding="utf-8")
    found = []
    for block in re.split(r"^### ", text, flags=re.M)[1:]:
        heading = block.splitlines()[0].strip()
        sql = re.findall(r"```sql\n(.*?)```", block, flags=re.S)
        assert len(sql) == 1, f"{heading!r}: expected exactly one sql block"
        found.append((heading, sql[0]))
    return found


QUERIES = doc_queries()


def test_the_doc_answers_ten_questions():
    assert len(QUERIES) == 10
    assert [h.split(".")[0] for h, _ in QUERIES] == [str(i) for i in range(1, 11)]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    base = tmp_path_factory.mktemp("analyst")

    def write_config(body: str) -> Path:
        path = base / "listen.toml"
        path.write_text(body, encoding="utf-8")
        return path

    settings, _ = fixture_warehouse.install(write_config, TODAY)
    with open_warehouse(settings.paths.warehouse) as con:
        publish_snapshot(con, settings.paths.warehouse, settings.paths.snapshot)
    return settings.paths.snapshot


@pytest.mark.parametrize("heading,sql", QUERIES, ids=[h.split(".")[0] for h, _ in QUERIES])
def test_query_runs_and_finds_rows(snapshot, heading, sql):
    columns, rows = query_snapshot(snapshot, sql)
    assert columns, heading
    assert rows, f"{heading}: no rows on the demo-like warehouse"


def test_danish_reddit_growth_matches_the_fixture(snapshot):
    sql = dict(QUERIES)["1. Which topics grew in Danish Reddit communities this week?"]
    columns, rows = query_snapshot(snapshot, sql)
    by_label = {r[columns.index("label")]: r for r in rows}
    delivery = by_label["delivery late package"]  # Danish text, r-denmark: 8 posts before, 5 this week
    assert (delivery[columns.index("this_week")], delivery[columns.index("previous")]) == (5, 8)
