"""Alerts: raised on a real move and not on noise, stored once, sent once to a loopback SMTP server and a loopback
webhook, failures retried and recorded without failing anything, secrets nowhere."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re

import pytest

from pipelines.alerts import raise_and_send
from pipelines.alerts.detect import WindowCounts, judge_negative_share, judge_volume
from pipelines.config import AlertSettings, load_settings
from pipelines.daily import init_install
from pipelines.sandbox.smtp import SmtpReceiver
from pipelines.topics.trends import rising_score, update_topic_trends
from pipelines.warehouse import open_warehouse

from helpers import query

UTC = dt.timezone.utc
DAY = dt.date(2026, 11, 21)
SPIKE = "card_arrival"  # "I am still waiting on my card?": the delivery complaint of a bank's customers
DEFAULTS = AlertSettings()


# -- the judgement, on counts -------------------------------------------------------------------------------------
def counts(now: int, channel_now: int, before: int, channel_before: int, negative_now: int = 0,
           negative_before: int = 0) -> WindowCounts:
    return WindowCounts("reddit", 4, now, before, negative_now, negative_before, channel_now, channel_before)


def test_a_topic_tripling_its_share_of_a_busy_channel_is_raised_with_the_reports_score():
    c = counts(now=36, channel_now=240, before=84, channel_before=1680)  # 5 % of the channel -> 15 %
    detail = judge_volume(c, DEFAULTS)
    assert detail["held"] is None and detail["ratio"] == pytest.approx(3.0)
    assert detail["score"] == rising_score(36, 240, 84, 1680) and detail["score"] > DEFAULTS.min_score


def test_small_counts_and_a_busier_channel_are_not_alerts():
    held = judge_volume(counts(now=3, channel_now=20, before=1, channel_before=280), DEFAULTS)["held"]  # 1 -> 3
    assert held == "3 posts < min_posts 8"
    held = judge_volume(counts(now=9, channel_now=30, before=6, channel_before=90), DEFAULTS)["held"]
    assert held == "score 2.95 < min_score 3"
    everything_doubled = counts(now=168, channel_now=3360, before=84, channel_before=1680)
    assert judge_volume(everything_doubled, DEFAULTS)["held"] == "score -0.04 < min_score 3"
    significant_but_small = counts(now=720, channel_now=6000, before=2000, channel_before=20000)  # 10 % -> 12 %
    assert rising_score(720, 6000, 2000, 20000) > DEFAULTS.min_score
    assert judge_volume(significant_but_small, DEFAULTS)["held"] == "share x1.20 < min_ratio 2"


def test_negative_share_needs_a_real_rise_in_enough_posts():
    rose = counts(now=30, channel_now=300, before=120, channel_before=1200, negative_now=21, negative_before=24)
    detail = judge_negative_share(rose, DEFAULTS)  # 20 % negative -> 70 %
    assert detail["held"] is None and detail["share_now"] == pytest.approx(0.7)
    few = counts(now=4, channel_now=300, before=120, channel_before=1200, negative_now=4, negative_before=24)
    assert judge_negative_share(few, DEFAULTS)["held"] == "4 negative < min_posts 8"  # 4 of 4: too few
    no_history = counts(now=30, channel_now=300, before=2, channel_before=1200, negative_now=21, negative_before=0)
    assert judge_negative_share(no_history, DEFAULTS)["held"] == "topic history 2 posts < min_posts 8"


# -- on real customer messages (banking77, real labels as topics) ---------------------------------------------------
def _banking(shared_data) -> dict[str, list[str]]:
    by_label: dict[str, list[str]] = {}
    with open(shared_data / "en_topic_banking77" / "en_topic_banking77.shared.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_label.setdefault(row["label"], []).append(row["text"])
    return by_label


def _post(post_id: str, day: dt.date, topic: int, text: str, *, channel="appstore", community="Bank app",
          source="app-reviews", label="neutral", hour=10) -> dict:
    return {"post_id": post_id, "source": source, "channel": channel, "native_id": post_id, "community": community,
            "kind": "review", "created_at": dt.datetime.combine(day, dt.time(hour), tzinfo=UTC),
            "url": f"https://apps.example.org/review/{post_id.split(':')[-1]}",
            "fetched_at": dt.datetime.now(UTC), "first_loaded_at": dt.datetime.now(UTC), "body": text,
            "content_hash": post_id, "run_id": "r0", "sentiment": -0.6 if label == "negative" else 0.0,
            "sentiment_label": label, "topic_id": topic}


def _insert(con, posts: list[dict]) -> None:
    import pandas as pd

    frame = pd.DataFrame(posts)  # noqa: F841 (read by DuckDB by name)
    con.execute("INSERT INTO core.posts BY NAME SELECT * FROM frame")


def _install(write_config, body: str = ""):
    settings = load_settings(write_config('[warehouse]\npath = "data/w.duckdb"\n[alerts]\nbackoff = 0\n' + body))
    init_install(settings)
    return settings


def _bank_history(settings, shared_data, *, spike: int = 20, noise: int = 3) -> dict[str, int]:
    """30 days of 40 real banking77 queries a day drawn at random (their real labels as topics); on DAY, `spike`
    more 'card_arrival' queries and `noise` more 'lost_or_stolen_phone' ones. Returns label -> topic id."""
    by_label = _banking(shared_data)
    topics = {label: n for n, label in enumerate(sorted(by_label))}
    pool = [(label, text) for label, texts in by_label.items() for text in texts]
    rng = random.Random(7)
    posts = [_post(f"app-reviews:{age}-{n}", DAY - dt.timedelta(days=age), topics[label], text, hour=n % 24)
             for age in range(30) for n, (label, text) in enumerate(rng.sample(pool, 40))]
    posts += [_post(f"app-reviews:spike-{n}", DAY, topics[SPIKE], text, label="negative", hour=n % 24)
              for n, text in enumerate(by_label[SPIKE][:spike])]
    posts += [_post(f"app-reviews:noise-{n}", DAY, topics["lost_or_stolen_phone"], text, hour=n % 24)
              for n, text in enumerate(by_label["lost_or_stolen_phone"][:noise])]
    with open_warehouse(settings.paths.warehouse) as con:
        con.executemany("INSERT INTO core.topics (topic_id, label, keywords, size, first_seen, last_seen, status, "
                        "model_version, representative_ids) VALUES (?, ?, ?, 0, now(), now(), 'active', 'm1', [])",
                        [[topic, label.replace("_", " "), label.split("_")] for label, topic in topics.items()])
        _insert(con, posts)
        update_topic_trends(con)
    return topics


def test_a_real_spike_is_raised_once_and_the_same_days_noise_is_not(write_config, shared_data):
    settings = _install(write_config)
    topics = _bank_history(settings, shared_data)
    summary = raise_and_send(settings, "run-1", DAY)
    alerts = query(settings, "SELECT alert_id, kind, topic_id, channel, community, score, message, example_post_ids, "
                             "sent_at, sent_to FROM alerts")
    assert [(a[1], a[2]) for a in alerts] == [("topic_volume", topics[SPIKE])], \
        "one alert: the spike; not the 0 -> 3 jump, and none of the 76 other topics' day-to-day noise"
    alert_id, _, _, channel, community, score, message, examples, sent_at, sent_to = alerts[0]
    assert alert_id == f"{DAY}:topic_volume:{topics[SPIKE]}:appstore" and (channel, community) == ("appstore", "Bank app")
    assert score > 5 and "“card arrival” on appstore · Bank app" in message and "in the last 2 days" in message
    assert len(examples) == 3 and all(e.startswith("app-reviews:spike-") for e in examples)
    assert sent_at is None and sent_to == []  # no destination configured: stored, not sent
    assert summary["new"] == 1 and summary["changed"]

    again = raise_and_send(settings, "run-2", DAY)  # a rerun of the same day
    assert again["new"] == 0 and not again["changed"]
    assert query(settings, "SELECT count(*) FROM core.alerts") == [(1,)]
    tomorrow = raise_and_send(settings, "run-3", DAY + dt.timedelta(days=1))  # still in the window: cooling down
    assert tomorrow["new"] == 0


def test_a_jump_of_a_few_posts_is_suppressed_as_noise(write_config, shared_data):
    settings = _install(write_config)
    _bank_history(settings, shared_data, spike=0, noise=5)  # 'lost or stolen phone': ~1 -> ~6 posts in two days
    with open_warehouse(settings.paths.warehouse) as con:
        from pipelines.alerts.detect import window_counts

        topic = con.execute("SELECT topic_id FROM core.topics WHERE label = 'lost or stolen phone'").fetchone()[0]
        jump = next(c for c in window_counts(con, DAY, 2, 28) if c.topic_id == topic and c.channel == "appstore")
    # a fourfold share, but from a handful of posts: below the count an alert needs, whatever the ratio says
    assert jump.posts_now < DEFAULTS.min_posts and jump.posts_now / jump.channel_now > \
        3 * jump.posts_before / jump.channel_before
    assert raise_and_send(settings, "run-1", DAY)["raised"] == 0


def test_negative_share_alert_on_a_topic_turning_sour(write_config, shared_data):
    settings = _install(write_config)
    topics = _bank_history(settings, shared_data, spike=0, noise=0)
    texts = _banking(shared_data)["card_arrival"]
    with open_warehouse(settings.paths.warehouse) as con:
        # a steady topic, 6 a day for 30 days; one in five negative before, most negative in the last two days
        _insert(con, [_post(f"app-reviews:steady-{age}-{n}", DAY - dt.timedelta(days=age), topics[SPIKE],
                            texts[(age * 6 + n) % len(texts)], community="Android",
                            label="negative" if (n < 5 if age < 2 else (age + n) % 5 == 0) else "neutral")
                      for age in range(30) for n in range(6)])
        update_topic_trends(con)
    raise_and_send(settings, "run-1", DAY)
    found = query(settings, "SELECT kind, topic_id, community, message FROM alerts")
    assert [(k, t, c) for k, t, c, _ in found] == [("topic_negative_share", topics[SPIKE], "Android")]
    assert "posts negative in the last 2 days" in found[0][3]


# -- source down --------------------------------------------------------------------------------------------------
def _source_day(con, source: str, day: dt.date, status: str, error: str | None = None) -> None:
    run_id = f"{day}-{source}-{status}"
    con.execute("INSERT INTO core.pipeline_runs (run_id, run_date, started_at, status) VALUES (?, ?, now(), 'ok')",
                [run_id, day])
    con.execute("INSERT INTO core.source_runs (run_id, source, started_at, status, error) VALUES (?, ?, ?, ?, ?)",
                [run_id, source, dt.datetime.combine(day, dt.time(6), tzinfo=UTC), status, error])


def test_a_source_failing_two_run_days_in_a_row_raises_one_alert_per_outage(write_config):
    settings = _install(write_config, '[[sources]]\nname = "blog"\nkind = "feed"\nurl = "http://127.0.0.1:9/x"\n'
                                      '[[sources]]\nname = "shop"\nkind = "feed"\nurl = "http://127.0.0.1:9/y"\n')
    with open_warehouse(settings.paths.warehouse) as con:
        _source_day(con, "blog", DAY - dt.timedelta(days=2), "ok")
        _source_day(con, "blog", DAY - dt.timedelta(days=1), "failed", "blog: HTTP 503 after 4 attempts")
        _source_day(con, "shop", DAY - dt.timedelta(days=1), "failed", "shop: connection refused")
        _source_day(con, "shop", DAY, "ok")  # recovered: no alert
    assert raise_and_send(settings, "r1", DAY - dt.timedelta(days=1))["raised"] == 0  # one failed day: not yet
    with open_warehouse(settings.paths.warehouse) as con:
        _source_day(con, "blog", DAY, "failed", "blog: HTTP 503 after 4 attempts")
    raise_and_send(settings, "r2", DAY)
    raise_and_send(settings, "r3", DAY + dt.timedelta(days=1))  # the outage goes on: the same alert, not a new one
    assert query(settings, "SELECT alert_id, kind, source, channel, message FROM alerts") == [(
        f"source_down:blog:{DAY - dt.timedelta(days=1)}", "source_down", "blog", "feed",
        f"Source “blog” has failed on 2 run days in a row (since 20 Nov 2026). Last error: blog: HTTP 503 after 4 "
        f"attempts")]


# -- delivery: loopback SMTP and webhook --------------------------------------------------------------------------
SMTP_USER, SMTP_PASSWORD = "listen-bot", "pw-Zq81!secret"
WEBHOOK_TOKEN = "T000/B000/XXXXtokenXXXX"


@pytest.fixture
def smtp():
    with SmtpReceiver(users={SMTP_USER: SMTP_PASSWORD}) as receiver:
        yield receiver


def _destinations(smtp_port: int) -> str:
    return (f'[[alerts.send_to]]\nname = "desk-mail"\nkind = "email"\nto = ["desk@example.org", "ed@example.org"]\n'
            f'sender = "listen@example.org"\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
            f'username_env = "TEST_SMTP_USER"\npassword_env = "TEST_SMTP_PASSWORD"\n'
            f'[[alerts.send_to]]\nname = "desk-slack"\nkind = "webhook"\nurl_env = "TEST_WEBHOOK_URL"\n')


@pytest.fixture
def delivering(write_config, shared_data, smtp, sandbox, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("TEST_WEBHOOK_URL", sandbox.url(f"/webhook/services/{WEBHOOK_TOKEN}"))
    sandbox.options["webhooks"].clear()
    settings = _install(write_config, 'lang = "da"\n' + _destinations(smtp.port))
    _bank_history(settings, shared_data)
    return settings


def test_alerts_are_sent_by_email_and_webhook_once(delivering, smtp, sandbox):
    summary = raise_and_send(delivering, "run-1", DAY)
    assert (summary["sent"], summary["failed"]) == (2, 0)
    [mail] = smtp.messages
    assert mail["user"] == SMTP_USER and mail["to"] == ["desk@example.org", "ed@example.org"]
    assert mail["message"]["Subject"].startswith("[listen] 1 alarm(er): Emnets omfang: “card arrival”")
    body = mail["message"].get_content()
    assert "“card arrival” på appstore · Bank app" in body and "https://apps.example.org/review/spike-" in body
    [hook] = sandbox.options["webhooks"]
    assert hook["path"] == f"/webhook/services/{WEBHOOK_TOKEN}" and "Emnets omfang" in hook["json"]["text"]
    sent = query(delivering, "SELECT sent_at IS NOT NULL, sent_to, send_errors FROM alerts")
    assert sent == [(True, ["desk-mail", "desk-slack"], [])]

    raise_and_send(delivering, "run-2", DAY)  # rerun: nothing new, nothing pending
    assert len(smtp.messages) == 1 and len(sandbox.options["webhooks"]) == 1


def test_a_failed_send_is_retried_then_recorded_and_sent_by_a_later_run(delivering, smtp, sandbox):
    smtp.set_fault("tempfail", times=1)  # a busy mail server: 451, then fine
    sandbox.set_fault("/webhook/", "status:404")  # a deleted webhook
    sleeps: list[float] = []
    summary = raise_and_send(delivering, "run-1", DAY, sleep=sleeps.append)
    assert (summary["sent"], summary["failed"]) == (1, 1) and len(smtp.messages) == 1 and sleeps == [0.0]
    rows = query(delivering, "SELECT destination, attempts, sent_at IS NOT NULL, error FROM core.alert_deliveries "
                             "ORDER BY destination")
    assert rows[0][:3] == ("desk-mail", 2, True) and rows[0][3] is None
    assert rows[1][:3] == ("desk-slack", 1, False)
    assert rows[1][3] == "desk-slack: webhook answered HTTP 404 (check $TEST_WEBHOOK_URL)"
    assert query(delivering, "SELECT sent_to, send_errors FROM alerts") == [
        (["desk-mail"], ["desk-slack: desk-slack: webhook answered HTTP 404 (check $TEST_WEBHOOK_URL)"])]

    sandbox.clear_faults()  # fixed by the next morning: the next run sends what is still pending, once
    raise_and_send(delivering, "run-2", DAY + dt.timedelta(days=1))
    assert len(sandbox.options["webhooks"]) == 1 and len(smtp.messages) == 1
    assert query(delivering, "SELECT attempts, sent_at IS NOT NULL, error FROM core.alert_deliveries WHERE "
                             "destination = 'desk-slack'") == [(2, True, None)]


def test_an_unreachable_server_and_a_refused_login_are_recorded_never_raised(delivering, smtp, sandbox, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-" + SMTP_PASSWORD)
    sandbox.set_fault("/webhook/", "status:503")  # retried by the HTTP client, then given up
    summary = raise_and_send(delivering, "run-1", DAY, sleep=lambda s: None)
    assert (summary["sent"], summary["failed"]) == (0, 2)
    errors = dict(query(delivering, "SELECT destination, error FROM core.alert_deliveries"))
    assert errors["desk-mail"].startswith("desk-mail: SMTP server 127.0.0.1:") and "refused the login (535)" in \
        errors["desk-mail"] and "$TEST_SMTP_USER" in errors["desk-mail"]
    assert "HTTP 503 after 3 attempts" in errors["desk-slack"] and WEBHOOK_TOKEN not in errors["desk-slack"]
    assert "$TEST_WEBHOOK_URL" in errors["desk-slack"]
    monkeypatch.delenv("TEST_WEBHOOK_URL")
    smtp.stop()  # the mail server is gone altogether
    summary = raise_and_send(delivering, "run-2", DAY, sleep=lambda s: None)
    errors = dict(query(delivering, "SELECT destination, error FROM core.alert_deliveries"))
    assert "cannot reach SMTP server" in errors["desk-mail"] or "dropped the connection" in errors["desk-mail"]
    assert errors["desk-slack"] == ("desk-slack: environment variable TEST_WEBHOOK_URL is not set; set it for the "
                                    "process that runs `listen run` (or the Airflow workers)")


def test_secrets_reach_no_table_file_or_output(delivering, smtp, sandbox, monkeypatch, capsys):
    from pipelines.cli import main

    sandbox.set_fault("/webhook/", "status:500")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD + "-rotated")  # refused: the error names the variable
    raise_and_send(delivering, "run-1", DAY, sleep=lambda s: None)
    assert main(["--config", str(delivering.file), "status"]) == 0
    assert main(["--config", str(delivering.file), "report", "--format", "html,md,csv"]) == 0
    out = capsys.readouterr()
    files = [delivering.paths.warehouse, *delivering.paths.reports.rglob("*.*")]
    for secret in (SMTP_PASSWORD, WEBHOOK_TOKEN, "XXXXtokenXXXX"):
        assert secret not in out.out + out.err
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"{secret} found in {path}"


# -- where people see them: the top of the report, listen status ---------------------------------------------------
@pytest.mark.parametrize("lang, heading, sentence", [
    ("en", "## Alerts", r"“card arrival” on appstore · Bank app: \d+ posts in the last 2 days, [\d.]+ × its usual"),
    ("da", "## Alarmer", r"“card arrival” på appstore · Bank app: \d+ indlæg de seneste 2 dage, [\d,]+ × emnets"),
    ("de", "## Warnmeldungen", r"„card arrival“ auf appstore · Bank app: \d+ Beiträge in den letzten 2 Tagen, das"),
])
def test_the_report_opens_with_the_alerts_in_its_language(write_config, shared_data, lang, heading, sentence):
    from pipelines.report import write_report

    settings = _install(write_config)
    _bank_history(settings, shared_data)
    raise_and_send(settings, "run-1", DAY)
    written = write_report(settings, as_of=DAY, formats=["md", "html", "csv"], lang=lang)
    md = (written["dir"] / "editorial-report.md").read_text(encoding="utf-8")
    assert md.index(heading) < md.index("## 1 ") and re.search(sentence, md)
    assert "https://apps.example.org/review/spike-" in md
    html = (written["dir"] / "editorial-report.html").read_text(encoding="utf-8")
    assert html.index('id="alerts"') < html.index('id="headlines"') and 'class="alerts raised"' in html
    assert (written["dir"] / "alerts.csv").read_text(encoding="utf-8").count("\n") == 2


def test_a_report_without_alerts_says_so_and_an_old_snapshot_still_renders(write_config, shared_data):
    from pipelines.report import write_report

    settings = _install(write_config)
    _bank_history(settings, shared_data, spike=0, noise=0)
    raise_and_send(settings, "run-1", DAY)
    written = write_report(settings, as_of=DAY, formats=["md"], lang="en")
    assert "No alerts in this period" in (written["dir"] / "editorial-report.md").read_text(encoding="utf-8")
    with open_warehouse(settings.paths.warehouse) as con:  # as a database from before migration 082
        con.execute("DROP VIEW alerts")
        con.execute("DROP TABLE core.alert_deliveries")
    from pipelines.warehouse import connect
    from pipelines.report.data import alerts
    from pipelines.report.connection import Window

    con = connect(settings.paths.warehouse, read_only=True)
    try:
        assert alerts(con, Window.ending(DAY, 7)) == []
    finally:
        con.close()


def test_listen_status_lists_recent_alerts_and_why_one_was_not_sent(delivering, sandbox, capsys):
    from pipelines.cli import main

    sandbox.set_fault("/webhook/", "status:404")
    today = dt.date.today()
    with open_warehouse(delivering.paths.warehouse) as con:  # the history, moved so the spike is today
        con.execute("UPDATE core.posts SET created_at = created_at + to_days(CAST(? AS INTEGER))", [(today - DAY).days])
        con.execute("DELETE FROM core.topic_trends")
        con.execute("INSERT INTO core.topic_trends_stale SELECT DISTINCT created_at::DATE FROM core.posts")
        update_topic_trends(con)
    raise_and_send(delivering, "run-1", today)
    assert main(["--config", str(delivering.file), "status"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "alerts (last 7 days)" in out and "topic volume" in out and "card arrival" in out
    assert "“card arrival” på appstore · Bank app" in out  # the message in the configured language (da)
    assert "not sent: desk-slack: desk-slack: webhook answered HTTP 404" in out


# -- the stage in the daily job -------------------------------------------------------------------------------------
def test_the_daily_job_raises_and_sends_a_source_down_alert_once(write_config, sandbox, monkeypatch):
    from pipelines.daily import STAGES_BY_NAME, run_daily

    from helpers import FAST_HTTP, feed_source

    monkeypatch.setenv("TEST_WEBHOOK_URL", sandbox.url(f"/webhook/services/{WEBHOOK_TOKEN}"))
    sandbox.options["webhooks"].clear()
    settings = load_settings(write_config(
        '[warehouse]\npath = "data/w.duckdb"\n' + FAST_HTTP + '[enrich]\nsentiment = "lexicon"\n[topics]\n'
        'embedding = "tfidf"\n[report]\nformats = ["md"]\n[alerts]\nbackoff = 0\n[[alerts.send_to]]\nname = "desk"\n'
        'kind = "webhook"\nurl_env = "TEST_WEBHOOK_URL"\nformat = "json"\n'
        + feed_source("shop-blog", sandbox.url("/feeds/heise.atom"))))
    sandbox.set_fault("/feeds/heise.atom", "status:404")
    assert STAGES_BY_NAME["alerts"].needs == ()  # a source alert is raised even when the gate stops publishing
    first = run_daily(settings, day=DAY - dt.timedelta(days=1))
    assert not first.ok and next(s for s in first.stages if s.name == "alerts").detail["new"] == 0
    results = [run_daily(settings, day=DAY), run_daily(settings, day=DAY)]  # the second day, and a rerun of it
    details = [next(s for s in r.stages if s.name == "alerts") for r in results]
    assert [(d.ok, d.detail["new"], d.detail["sent"]) for d in details] == [(True, 1, 1), (True, 0, 0)]
    [hook] = sandbox.options["webhooks"]
    [alert] = hook["json"]["alerts"]
    assert alert["alert_id"] == f"source_down:shop-blog:{DAY - dt.timedelta(days=1)}" and alert["source"] == "shop-blog"
    assert "HTTP 404" in alert["message"] and alert["kind"] == "source_down"
    stage_order = [s.name for s in results[0].stages]
    assert stage_order.index("publish") < stage_order.index("alerts") < stage_order.index("report")
    assert details[0].detail["snapshot"]  # the alerts changed after publish: the snapshot was brought up to date
    from pipelines.warehouse import query_snapshot

    _, rows = query_snapshot(settings.paths.snapshot, "SELECT alert_id, sent_to FROM alerts")
    assert rows == [(alert["alert_id"], ["desk"])]


def test_listen_alerts_shows_each_move_and_why_it_was_or_was_not_raised(write_config, shared_data, capsys):
    from pipelines.cli import main

    settings = _install(write_config, '[[sources]]\nname = "blog"\nkind = "feed"\nurl = "http://127.0.0.1:9/x"\n')
    topics = _bank_history(settings, shared_data, spike=20, noise=5)
    with open_warehouse(settings.paths.warehouse) as con:
        _source_day(con, "blog", DAY, "failed", "blog: connection refused")
    assert main(["--config", str(settings.file), "alerts", "--date", str(DAY), "--top", "40"]) == 0
    out = capsys.readouterr().out.replace("<\n", "< ")  # a verdict may wrap after its '<'
    out = "\n".join(line for line in out.splitlines() if line.strip())
    rows = {tuple(line.split()[:3]): line for line in out.splitlines() if line.startswith(" volume ")}
    assert rows[("volume", str(topics[SPIKE]), "appstore")].rstrip().endswith("alert")
    assert "posts <" in rows[("volume", str(topics["lost_or_stolen_phone"]), "appstore")]
    assert "source blog: failed on 1 run day(s) in a row since 2026-11-21 (below source_down_days 2)" in \
        " ".join(out.split())
    assert query(settings, "SELECT count(*) FROM core.alerts") == [(0,)], "listen alerts only reads"


def test_webhook_bodies_escape_what_the_data_wrote():
    from pipelines.alerts.messages import webhook_body
    from pipelines.report.i18n import Strings

    alert = {"alert_id": "a1", "kind": "topic_volume", "raised_at": dt.datetime(2026, 11, 21, 6, 30, tzinfo=UTC),
             "topic_id": 3, "label": "<!channel> refund & <https://evil.example|click>", "channel": "reddit",
             "community": "r/Denmark", "source": None, "score": 5.2,
             "detail": {"posts_now": 30, "posts_before": 10, "ratio": 3.0, "recent_days": 2, "baseline_days": 28},
             "examples": [{"post_id": "r:1", "url": "javascript:alert(1)", "text": "<!here> my refund"},
                          {"post_id": "r:2", "url": "https://reddit.com/r/Denmark/comments/x/", "text": "late again"}]}
    slack = webhook_body([alert], Strings("en"), "slack", None)["text"]
    assert "<!channel>" not in slack and "&lt;!channel&gt; refund &amp; &lt;https://evil.example|click&gt;" in slack
    assert "<!here>" not in slack and "javascript:" not in slack
    assert "<https://reddit.com/r/Denmark/comments/x/|late again>" in slack
    teams = webhook_body([alert], Strings("de"), "teams", None)
    card = teams["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["actions"] == [
        {"type": "Action.OpenUrl", "title": "late again", "url": "https://reddit.com/r/Denmark/comments/x/"}]
    assert any("das 3,0-Fache" in block["text"] for block in card["body"])
    plain = webhook_body([alert], Strings("da"), "json", "/srv/reports/2026-11-21/editorial-report.html")
    assert plain["alerts"][0]["examples"][0]["url"] is None and plain["alerts"][0]["score"] == 5.2
