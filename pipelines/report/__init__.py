"""The editorial topic-trend report: what customers talk about, where, and who to answer.

    >>> from pipelines.report import write_report
    >>> written = write_report(settings, as_of=date(2026, 11, 21), days=7, lang="da")
    >>> written["dir"], [p.name for p in written["files"]][:2]
    (PosixPath('.../reports/2026-11-21'), ['editorial-report.html', 'editorial-report.md'])

Modules: connection (which database, the window), data (SQL per section), scores (rising/falling),
headlines (sentences), charts (SVG), tables (one table, three renderings), build (view for the templates),
render (Jinja2 HTML/Markdown, CSV), i18n (da/de/en), safety (links and Markdown escaping),
model_cards (the measured per-language quality README publishes).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pipelines.enrich.classifiers import classifier_kind
from pipelines.paths import MODELS_DIR
from pipelines.report.build import build_view
from pipelines.report.connection import ReportError, Window, open_for_report, prepare
from pipelines.report.data import collect
from pipelines.report.i18n import LANGS, Strings
from pipelines.report.model_cards import measured_quality
from pipelines.report.render import render_html, render_markdown, write_csvs

HTML_NAME = "editorial-report.html"
MD_NAME = "editorial-report.md"
FORMATS = ("html", "md", "csv")


def _write_text(path: Path, text: str) -> Path:
    """Write via a temp file and rename, so a reader never opens half a report."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_report(settings, as_of: dt.date | None = None, days: int | None = None, formats: list[str] | None = None,
                 out: Path | None = None, lang: str | None = None) -> dict:
    """Write the report for the `days` days up to `as_of` (defaults from [report] in listen.toml).

    Returns {"files": [paths], "dir": path, "source": "warehouse" | "snapshot", "posts": n}.
    """
    config = settings.raw.report
    as_of = as_of or dt.date.today()
    days = days or config.days
    formats = list(formats or config.formats)
    lang = lang or config.lang
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ReportError(f"unknown report format(s) {sorted(unknown)}: use html, md or csv")
    if lang not in LANGS:
        raise ReportError(f"report language {lang!r}: use da, de or en")
    window = Window.ending(as_of, days)
    t = Strings(lang)

    con, source = open_for_report(settings)
    try:
        prepare(con, window, lang)
        data = collect(con, window, sources=[s.name for s in settings.sources])
    finally:
        con.close()
    labelled_by = classifier_kind(settings.raw.topics.embedding)  # the vectors the sentiment/intent models read
    view = build_view(data, t, window, source=source, measured=measured_quality(MODELS_DIR, labelled_by))

    directory = Path(out or settings.paths.reports) / as_of.isoformat()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report directory {directory}: {exc.strerror}; pass --out DIR") from exc
    files: list[Path] = []
    if "html" in formats:
        files.append(_write_text(directory / HTML_NAME, render_html(view)))
    if "md" in formats:
        files.append(_write_text(directory / MD_NAME, render_markdown(view)))
    if "csv" in formats:
        files.extend(write_csvs(view, directory))
    return {"files": files, "dir": directory, "source": source, "posts": data["totals"]["posts"]}


__all__ = ["ReportError", "write_report"]
