"""`listen forget` and retention: no trace of the person or post is left under the data directory."""

import datetime as dt
import json
import os

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


def test_forget_unknown_author_is_an_error_with_advice(write_config, tmp_path, capsys):
    settings = _setup(write_config, tmp_path)
    assert main(["--config", str(settings.file), "forget", "--author", "nobody", "--source", "forum"]) == 1
    assert "check the handle" in capsys.readouterr().err


def test_retention_deletes_old_posts(write_config, tmp_path):
    settings = _setup(write_config, tmp_path, retention="retention_days = 365\n")
    con = connect(settings.paths.warehouse)
    removed = apply_retention(settings, con, today=dt.date(2026, 11, 23))
    assert removed["forum"]["posts"] == 1
    assert con.execute("SELECT native_id FROM core.posts ORDER BY 1").fetchall() == [("1",), ("2",)]
    con.close()
