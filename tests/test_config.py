"""listen.toml validation: every error names the file, the source and the field."""

import pytest

from pipelines.cli import main
from pipelines.config import ConfigError, load_settings

FEED = '[[sources]]\nname = "blog"\nkind = "feed"\nurl = "http://127.0.0.1:1/feed"\n'


def test_relative_paths_resolve_against_the_config_directory(write_config, tmp_path):
    settings = load_settings(write_config('[warehouse]\npath = "data/w.duckdb"\n' + FEED))
    assert settings.paths.warehouse == tmp_path / "data" / "w.duckdb"
    assert settings.paths.snapshot == tmp_path / "data" / "snapshot.duckdb"
    assert settings.paths.landing == str(tmp_path / "data" / "landing")
    assert settings.paths.key_file == tmp_path / "data" / "pseudonym.key"
    assert [s.name for s in settings.sources] == ["blog"]


def test_unknown_key_names_file_source_and_field(write_config):
    path = write_config(FEED + 'colour = "blue"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    message = str(err.value)
    assert str(path) in message and "'blog'" in message and "colour" in message and "unknown key" in message


def test_unknown_source_kind_lists_the_known_ones(write_config):
    with pytest.raises(ConfigError, match=r"unknown source kind 'twitter'.*feed, import, reddit, appstore"):
        load_settings(write_config('[[sources]]\nname = "x"\nkind = "twitter"\n'))


def test_duplicate_source_names_are_refused(write_config):
    with pytest.raises(ConfigError, match="duplicate source name 'blog'"):
        load_settings(write_config(FEED + FEED))


def test_missing_required_field_names_source_and_field(write_config):
    with pytest.raises(ConfigError, match=r"source 'blog', field 'url': required field is missing"):
        load_settings(write_config('[[sources]]\nname = "blog"\nkind = "feed"\n'))


def test_non_http_feed_url_is_refused(write_config):
    with pytest.raises(ConfigError, match="http"):
        load_settings(write_config('[[sources]]\nname = "b"\nkind = "feed"\nurl = "file:///etc/passwd"\n'))


def test_invalid_toml_names_the_file(write_config):
    path = write_config("[warehouse\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_missing_config_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="config file not found.*LISTEN_CONFIG"):
        load_settings(tmp_path / "nope.toml")


def test_cli_exits_2_on_bad_config_without_traceback(write_config, capsys):
    path = write_config(FEED + "bogus = 1\n")
    assert main(["--config", str(path), "init"]) == 2
    captured = capsys.readouterr()
    assert "bogus" in captured.err and "Traceback" not in captured.err


def test_listen_config_env_is_honoured(write_config, monkeypatch, tmp_path):
    path = write_config('[warehouse]\npath = "elsewhere/w.duckdb"\n', name="custom.toml")
    monkeypatch.setenv("LISTEN_CONFIG", str(path))
    monkeypatch.chdir(tmp_path.parent)
    assert main(["init"]) == 0
    assert (tmp_path / "elsewhere" / "w.duckdb").exists()


def test_the_api_source_examples_in_docs_parse_with_their_commented_options(write_config):
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[1] / "docs" / "sources.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", docs, re.S)
              if re.search(r'^kind = "(mastodon|bluesky|discourse)"', b, re.M)]
    assert len(blocks) == 3
    for block in blocks:  # with every commented-out option switched on, too
        uncommented = re.sub(r"^# (\w+ = )", r"\1", block, flags=re.M)
        kinds = {s.kind for s in load_settings(write_config(uncommented)).sources}
        assert kinds <= {"mastodon", "bluesky", "discourse"} and len(kinds) == 1


@pytest.mark.parametrize("block, message", [
    ('kind = "mastodon"\ninstance = "https://m.example"\n', "set at least one of hashtags, accounts or search"),
    ('kind = "mastodon"\ninstance = "m.example"\nhashtags = ["x"]\n', "must be an http:// or https:// address"),
    ('kind = "mastodon"\ninstance = "https://m.example"\nhashtags = ["x"]\ntoken_env = "abc-123-secret"\n',
     "must be the NAME of an environment variable"),
    ('kind = "bluesky"\n', "set at least one of search or accounts"),
    ('kind = "bluesky"\nsearch = ["x"]\nlang = "Danish"\n', "field 'lang'"),
    ('kind = "discourse"\nurl = "ftp://forum.example"\n', "must be an http:// or https:// address"),
])
def test_api_source_mistakes_name_the_source(write_config, block, message):
    with pytest.raises(ConfigError, match=message) as err:
        load_settings(write_config(f'[[sources]]\nname = "social"\n{block}'))
    assert "'social'" in str(err.value)
