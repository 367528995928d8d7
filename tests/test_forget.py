"""`listen forget` and retention: no trace of the person or post is left under the data directory, in the topic
model folders or in the topics' descriptions."""

import csv
import datetime as dt
import json
import os
from pathlib import Path

from pipelines.cli import main
from pipelines.config import load_settings
from pipelines.daily import ingest, init_install, new_run_id, publish
from pipelines.forget import apply_retention
from pipelines.warehouse import connect

SECRET_TEXT = "Mein Nachbar Zyxwvut hat die Waschmaschine kaputt gemacht"


def _setup(write_config, tmp_path, retention=""):
    records = [
        {"id": "1", "text": SECRET_TEXT, "author": "Qwertzuiop77", "url": "https://forum.example/t/1"},
        {"id": "2", "text": "Zweiter Beitrag von derselben Person", "author": "qwertzuiop77"},
        {"id": "3", "text": "Someone else entirely", "author": "other_person", "url": "https://forum.example/t/3",
         "created_at": "2020-01-01T00:00:00Z"},
    ]
    (tmp_path / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    settings = load_settings(write_config(
        f'[warehouse]\npath = "data/w.duckdb"\n[[sources]]\nname = "forum"\nkind = "import"\npath = "f.jsonl"\n{retention}'))
    init_install(settings)
    ingest(settings, new_run_id())
    publish(settings)
    return settings


# the forgotten person's own word: it is in their posts only, so a model fitted with them learns it
THEIR_WORD = "zyxwvut"
THEIR_POSTS = [SECRET_TEXT, "Zyxwvut und die Waschmaschine: wieder kaputt, wieder Zyxwvut",
               "Die Waschmaschine von Zyxwvut macht Geräusche", "Zyxwvut repariert die Waschmaschine nie",
               "Waschmaschine kaputt, sagt Zyxwvut", "Zyxwvut Waschmaschine Zyxwvut Schaden"]


def _topics_setup(write_config, tmp_path, shared_data, min_posts_to_fit: int):
    """An install whose fitted topic model learnt from the person's six posts (and 36 news sentences)."""
    from pipelines.daily import assign_topics, enrich

    with (shared_data / "en_topic_agnews" / "en_topic_agnews.shared.csv").open(encoding="utf-8") as handle:
        news = [r["text"] for r in csv.DictReader(handle) if r["label"] in ("sports", "business", "world")][:36]
    day = dt.datetime(2026, 11, 20, 8, tzinfo=dt.timezone.utc)
    records = [{"id": f"their-{i}", "text": text, "author": "Qwertzuiop77", "url": f"https://forum.example/t/{i}",
                "created_at": (day + dt.timedelta(hours=i)).isoformat()} for i, text in enumerate(THEIR_POSTS)]
    records += [{"id": f"news-{i}", "text": text, "author": f"reader{i % 7}",
                 "created_at": (day + dt.timedelta(hours=i % 30)).isoformat()} for i, text in enumerate(news)]
    (tmp_path / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    settings = load_settings(write_config(
        '[warehouse]\npath = "data/w.duckdb"\n[enrich]\nsentiment = "lexicon"\nembed = false\n'
        f'[topics]\nembedding = "tfidf"\nmin_topic_size = 3\nmin_posts_to_fit = {min_posts_to_fit}\n'
        '[[sources]]\nname = "forum"\nkind = "import"\npath = "f.jsonl"\n'))
    init_install(settings)
    ingest(settings, new_run_id())
    enrich(settings)
    assert assign_topics(settings)["assigned"]["model_version"]
    publish(settings)
    return settings


def _their_traces(settings) -> list[str]:
    """Where the person's word or post ids are still found in model folders and topic descriptions."""
    found = []
    models = Path(settings.paths.models)
    blob = _all_bytes_under(models).lower() if models.is_dir() else b""
    if THEIR_WORD.encode() in blob:
        found.append("model folder: their word")
    found += [f"model folder: {i}" for i in range(len(THEIR_POSTS)) if f'"forum:their-{i}"'.encode() in blob]
    for path, table in ((settings.paths.warehouse, "core.topics"), (settings.paths.snapshot, "topics")):
        con = connect(path, read_only=True)
        for topic_id, text, ids in con.execute(
                f"SELECT topic_id, lower(concat_ws(' ', label, keywords::VARCHAR, labels::VARCHAR)), "
                f"representative_ids FROM {table}").fetchall():
            if THEIR_WORD in text:
                found.append(f"{path.name} topic {topic_id}: their word")
            found += [f"{path.name} topic {topic_id}: {i}" for i in ids or [] if i.startswith("forum:their-")]
        con.close()
    return found


def _all_bytes_under(directory) -> bytes:
    import gzip

    blob = b""
    for root, _, files in os.walk(directory):
        for name in files:
            data = open(os.path.join(root, name), "rb").read()
            if name.endswith(".gz"):
                data += gzip.decompress(data)
            blob += data
    return blob


def test_forget_author_leaves_no_trace(write_config, tmp_path):
    settings = _setup(write_config, tmp_path)
    con = connect(settings.paths.warehouse)
    pseudonym = con.execute("SELECT author_key FROM core.posts WHERE native_id = '1'").fetchone()[0]
    con.close()
    assert SECRET_TEXT.encode() in _all_bytes_under(settings.paths.data_dir)
    assert main(["--config", str(settings.file), "forget", "--author", "QWERTZUIOP77", "--source", "forum"]) == 0
    blob = _all_bytes_under(settings.paths.data_dir)
    for trace in (SECRET_TEXT, "Zweiter Beitrag", "qwertzuiop77", "Qwertzuiop77", pseudonym):
        assert trace.encode() not in blob, trace
    con = connect(settings.paths.snapshot, read_only=True)
    assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == 1  # the other person stays
    con.close()


def test_forget_url_removes_one_post(write_config, tmp_path):
    settings = _setup(write_config, tmp_path)
    assert main(["--config", str(settings.file), "forget", "--url", "https://forum.example/t/1"]) == 0
    blob = _all_bytes_under(settings.paths.data_dir)
    assert SECRET_TEXT.encode() not in blob
    assert b"Zweiter Beitrag" in blob


def test_forget_author_leaves_nothing_in_topic_models(write_config, tmp_path, shared_data):
    settings = _topics_setup(write_config, tmp_path, shared_data, min_posts_to_fit=30)
    before = _their_traces(settings)
    assert "model folder: their word" in before and any("w.duckdb topic" in t for t in before), before
    con = connect(settings.paths.warehouse)
    old_model, old_topics = con.execute("SELECT max(model_version), count(*) FROM core.topics").fetchone()
    con.close()
    assert main(["--config", str(settings.file), "forget", "--author", "Qwertzuiop77", "--source", "forum"]) == 0
    assert _their_traces(settings) == []
    # refitted on the 36 remaining posts: a new model in use, the old folder gone, the other topics kept their ids
    con = connect(settings.paths.warehouse, read_only=True)
    versions = [r[0] for r in con.execute("SELECT model_version FROM core.topic_models ORDER BY fitted_at").fetchall()]
    assert len(versions) == 2 and versions[0] == old_model
    assert sorted(p.name for p in Path(settings.paths.models).iterdir()) == [versions[1]]
    assert con.execute("SELECT count(*) FROM core.posts WHERE topic_model_version = ?", [versions[1]]).fetchone()[0] == 36
    kept = con.execute("SELECT count(*) FROM core.topics WHERE status = 'active' AND topic_id < ?", [old_topics]
                       ).fetchone()[0]
    assert kept >= 1
    con.close()


def test_forget_with_too_few_posts_left_removes_the_model(write_config, tmp_path, shared_data):
    settings = _topics_setup(write_config, tmp_path, shared_data, min_posts_to_fit=40)
    assert "model folder: their word" in _their_traces(settings)
    assert main(["--config", str(settings.file), "forget", "--author", "Qwertzuiop77", "--source", "forum"]) == 0
    assert _their_traces(settings) == []
    # 36 posts are left, 40 are needed: no model until more come, and the topics stage says so
    assert not Path(settings.paths.models).is_dir() or not any(Path(settings.paths.models).iterdir())
    from pipelines.daily import assign_topics
    from pipelines.topics.stage import topics_state

    assert assign_topics(settings)["assigned"]["state"] == "waiting"
    con = connect(settings.paths.warehouse, read_only=True)
    assert topics_state(con)["state"] == "waiting"  # what status and the report say: not the removed model
    con.close()


def test_forget_unknown_author_or_url_is_a_usage_error_with_advice(write_config, tmp_path, capsys):
    settings = _setup(write_config, tmp_path)
    assert main(["--config", str(settings.file), "forget", "--author", "nobody", "--source", "forum"]) == 2
    assert "check the handle" in capsys.readouterr().err
    assert main(["--config", str(settings.file), "forget", "--url", "https://forum.example/t/404"]) == 2
    assert "copy the permalink" in capsys.readouterr().err
    con = connect(settings.paths.warehouse, read_only=True)
    assert con.execute("SELECT count(*) FROM core.posts").fetchone()[0] == 3  # nothing was touched
    con.close()


def test_retention_deletes_old_posts(write_config, tmp_path):
    settings = _setup(write_config, tmp_path, retention="retention_days = 365\n")
    con = connect(settings.paths.warehouse)
    removed = apply_retention(settings, con, today=dt.date(2026, 11, 23))
    assert removed["forum"]["posts"] == 1
    assert con.execute("SELECT native_id FROM core.posts ORDER BY 1").fetchall() == [("1",), ("2",)]
    con.close()
