"""`listen demo` end to end: sandbox, config, daily job, snapshot, report — offline, from bundled data."""

import pytest

from pipelines.cli import main
from pipelines.config import load_settings
from pipelines.warehouse import connect


@pytest.mark.slow
def test_demo_runs_the_whole_job_on_bundled_data(tmp_path, capsys):
    code = main(["demo", "--dir", str(tmp_path / "demo")])
    out = capsys.readouterr().out
    assert code == 0, out
    settings = load_settings(tmp_path / "demo" / "listen.toml")
    con = connect(settings.paths.snapshot, read_only=True)
    try:
        channels = dict(con.execute("SELECT channel, count(*) FROM posts GROUP BY 1").fetchall())
        assert channels.get("feed", 0) >= 50 and channels.get("import", 0) >= 600
        assert channels.get("mastodon", 0) >= 30 and channels.get("discourse", 0) >= 20 and channels.get("bluesky", 0) >= 25
        unenriched = con.execute("SELECT count(*) FROM posts WHERE lang IS NULL OR sentiment IS NULL "
                                 "OR intent IS NULL").fetchone()[0]
        assert unenriched == 0
        langs = {r[0] for r in con.execute("SELECT DISTINCT lang FROM posts").fetchall()}
        assert {"da", "de", "en"} <= langs
        assert con.execute("SELECT count(*) FROM topics").fetchone()[0] >= 2
        assert con.execute("SELECT count(*) FROM topic_trends").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM source_runs WHERE status = 'failed'").fetchone()[0] == 0
    finally:
        con.close()
    report = next((settings.paths.reports).glob("*/editorial-report.html"))
    assert report.stat().st_size > 5_000
    assert str(settings.paths.snapshot) in out.replace("\n", "")
