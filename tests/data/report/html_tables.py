"""Read a rendered report back: tables by name, every tag and attribute, Markdown tables, numbers.

    >>> page = parse_html(html)
    >>> page.tables["channels"][0]["posts"]        # cell text keyed by data-col
    '22'
    >>> page.tags                                   # every (tag, attrs) in document order
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


class ReportPage(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[dict]] = {}
        self.tags: list[tuple[str, dict]] = []
        self.section_ids: list[str] = []
        self._table: str | None = None
        self._row: dict | None = None
        self._col: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        self.tags.append((tag, attrs_d))
        if tag == "section" and "id" in attrs_d:
            self.section_ids.append(attrs_d["id"])
        if tag == "table" and "data-table" in attrs_d:
            self._table = attrs_d["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = {}
        elif tag == "td" and self._row is not None:
            self._col, self._text = attrs_d.get("data-col"), []

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._col:
            self._row[self._col] = "".join(self._text).strip()
            self._col = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._col:
            self._text.append(data)


def parse_html(html: str) -> ReportPage:
    page = ReportPage()
    page.feed(html)
    page.close()
    return page


def markdown_tables(md: str) -> list[list[list[str]]]:
    """Every pipe table as rows of cell strings (header row first), escapes removed."""
    tables, current = [], []
    for line in md.splitlines():
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            cells = [re.sub(r"\\(.)", r"\1", c).strip() for c in cells]
            if not all(set(c) <= set("-:") for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def number(text: str) -> float:
    """'1,234' -> 1234, '−0.47' -> -0.47, '+3.9' -> 3.9, '81.8%' -> 81.8 (en formatting)."""
    cleaned = text.replace("\u2212", "-").replace(",", "").replace("%", "").replace("+", "").strip()
    return float(cleaned)
