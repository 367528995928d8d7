"""Render the report view to HTML (self-contained, autoescaped), Markdown and CSV extracts.

    >>> html = render_html(view)
    >>> md = render_markdown(view)
    >>> paths = write_csvs(view, Path("reports/2026-11-21"))

HTML: Jinja2 with autoescape on, a Content-Security-Policy meta tag that allows no scripts and no other
origins, inline CSS and inline SVG charts. Markdown: every value passes through `md_text` (see safety.py)
by the environment's `finalize`, so a template cannot forget to escape.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipelines.report.safety import CSP, md_link, md_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECTIONS = [("headlines", "section_headlines"), ("topics", "section_rising"), ("map", "section_map"),
            ("wishes", "section_wishes"), ("follow-ups", "section_follow_ups"), ("regulars", "section_regulars"),
            ("health", "section_health"), ("actions", "section_actions"), ("method", "section_method")]
NUMERIC_KINDS = {"int", "num", "signed", "pct", "pct_points", "score"}


class MdSafe(str):
    """Markdown we produced ourselves (links, table rules): passes `finalize` unescaped."""


def _html_env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"], default=True),
                       undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)


def _md_env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, undefined=StrictUndefined,
                      finalize=lambda value: value if isinstance(value, MdSafe) else md_text(value),
                      keep_trailing_newline=True)
    env.globals.update(
        raw=lambda value: MdSafe(value),
        link=lambda text, url: MdSafe(md_link(text, url)),
        code=lambda value: MdSafe("`" + re.sub(r"[`\s]+", " ", str(value)).strip() + "`"),
        numeric=NUMERIC_KINDS,
    )
    return env


def render_html(view: dict) -> str:
    return _html_env().get_template("report.html.j2").render(**view, csp=CSP, sections=SECTIONS)


def render_markdown(view: dict) -> str:
    text = _md_env().get_template("report.md.j2").render(**view)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def write_csvs(view: dict, directory: Path) -> list[Path]:
    """One CSV per table in the view: <directory>/<table name>.csv."""
    return [table.write_csv(directory / f"{name}.csv") for name, table in view["tables"].items()]
