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
        # the delivery complaints written for the demo are a real move: raised, and sent to both receivers
        alerts = con.execute("SELECT kind, channel, sent_to FROM alerts").fetchall()
        assert ("topic_volume", "import", ["demo-desk", "demo-mail"]) in alerts
        # Demo Notes' own release notes and replies ([follow_ups] own_accounts) are no follow-up; its customers are
        own, customers = con.execute(
            "SELECT count(*) FILTER (WHERE p.author_key IN (SELECT author_key FROM core.own_accounts)), "
            "count(*) FILTER (WHERE f.channel IN ('mastodon', 'discourse')) "
            "FROM follow_ups f JOIN posts p USING (post_id)").fetchone()
        assert con.execute("SELECT count(*) FROM core.own_accounts").fetchone()[0] == 3
        assert own == 0 and customers >= 3
        # r/AskReddit and r/funny are listened to, not answered in ([follow_ups] listen_only): stored, not queued
        listened, queued = con.execute(
            "SELECT (SELECT count(*) FROM posts WHERE source = 'reddit-askreddit' OR community = 'r/funny'), "
            "(SELECT count(*) FROM follow_ups WHERE community IN ('r/AskReddit', 'r/funny'))").fetchone()
        assert listened > 0 and queued == 0
    finally:
        con.close()
    report = next((settings.paths.reports).glob("*/editorial-report.html"))
    assert report.stat().st_size > 5_000
    assert str(settings.paths.snapshot) in out.replace("\n", "")
    assert "1 webhook post(s) to the sandbox's receiver, 1 e-mail(s)" in " ".join(out.split())


def _quick_demo(monkeypatch):
    """run_demo with the daily job and the summary stubbed: what is under test is the sandbox's lifetime."""
    import types

    from pipelines import console as console_module, demo

    monkeypatch.setattr(console_module, "run_with_progress", lambda settings, **kw: types.SimpleNamespace(ok=True))
    monkeypatch.setattr(demo, "summarise", lambda settings, console: None)
    return demo


def _feed_url(config_path) -> str:
    return next(s.url for s in load_settings(config_path).sources if s.kind == "feed")


def test_demo_says_the_sandbox_stopped_and_how_to_run_again(tmp_path, monkeypatch):
    import io
    import urllib.error
    import urllib.request

    from rich.console import Console

    demo = _quick_demo(monkeypatch)
    console = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    demo.run_demo(tmp_path / "d", console=console)
    text = " ".join(console.export_text().split())
    config = tmp_path / "d" / "listen.toml"
    assert "stopped with the demo" in text and f"listen demo --dir {tmp_path / 'd'} --serve" in text
    assert "runs only while" in config.read_text(encoding="utf-8")
    with pytest.raises(urllib.error.URLError):  # what `listen run` on this config meets now: nobody listens
        urllib.request.urlopen(_feed_url(config), timeout=5)


def test_demo_serve_keeps_the_sandbox_up_until_interrupted(tmp_path, monkeypatch):
    import io
    import urllib.request

    from rich.console import Console

    demo = _quick_demo(monkeypatch)
    console = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    seen = {}

    def wait():  # stands in for "until Ctrl-C": the sources answer meanwhile
        with urllib.request.urlopen(_feed_url(tmp_path / "d" / "listen.toml"), timeout=10) as response:
            seen["status"] = response.status
        raise KeyboardInterrupt

    demo.run_demo(tmp_path / "d", console=console, serve=True, wait=wait)
    assert seen == {"status": 200}
    text = " ".join(console.export_text().split())
    assert "stays up on http://127.0.0.1:" in text
    assert f"REDDIT_CLIENT_ID=demo REDDIT_CLIENT_SECRET=demo REDDIT_USER_AGENT=listen-demo listen --config " \
           f"{tmp_path / 'd' / 'listen.toml'} run" in text
