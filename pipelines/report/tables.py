"""One table definition, three renderings: HTML and Markdown show `cell()`, the CSV extract the raw value.

    >>> table = Table("channels", [Column("channel", "Channel"), Column("posts", "Posts", "int")],
    ...               [{"channel": "reddit", "posts": 1234}])
    >>> table.cell(table.columns[1], table.rows[0], Strings("da"))
    '1.234'
    >>> table.write_csv(Path("reports/2026-11-21/channels.csv"))

Because both come from the same row dicts, the CSV and the page cannot disagree; tests check it anyway.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.report.i18n import Strings
from pipelines.report.safety import safe_url

KINDS = {"text", "int", "num", "signed", "pct", "pct_points", "score", "date", "datetime", "intent", "list", "url"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key!r}: unknown kind {self.kind!r}")


@dataclass
class Table:
    """A named table; `name` is the CSV file stem."""

    name: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    link_key: str | None = None  # a column whose cell links to row["url"] (when safe)

    def cell(self, column: Column, row: dict, t: Strings) -> str:
        value = row.get(column.key)
        if value is None or value == "":
            return "–" if column.kind in {"num", "signed", "pct", "pct_points", "score"} else ""
        kind = column.kind
        if kind == "int":
            return t.int(value)
        if kind == "num":
            return t.num(value, 2)
        if kind in {"signed", "score"}:
            return t.num(value, 1 if kind == "score" else 2, signed=True)
        if kind == "pct":
            return t.pct(value)
        if kind == "pct_points":
            return t.num(value * 100, 1, signed=True)
        if kind == "date":
            return t.date(value)
        if kind == "datetime":
            return t.date(value) + (f" {value:%H:%M}" if isinstance(value, dt.datetime) else "")
        if kind == "intent":
            return t.intent(value)
        if kind == "list":
            return ", ".join(str(v) for v in value)
        if kind == "url":
            return safe_url(value) or ""
        return str(value)

    def link(self, row: dict) -> str | None:
        return safe_url(row.get("url"))

    def raw(self, column: Column, row: dict):
        """The CSV value: numbers unformatted, dates ISO, lists joined with '; ', unsafe URLs dropped."""
        value = row.get(column.key)
        if value is None:
            return ""
        if column.kind == "list":
            return "; ".join(str(v) for v in value)
        if column.kind == "url":
            return safe_url(value) or ""
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        if isinstance(value, float):
            return round(value, 6)
        return value

    def write_csv(self, path: Path) -> Path:
        """UTF-8 with BOM so spreadsheet programs detect the encoding; one header row of column keys."""
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.key for c in self.columns])
            for row in self.rows:
                writer.writerow([_defuse(self.raw(c, row)) for c in self.columns])
        return path


def _defuse(value):
    """Spreadsheets run cells starting with = + - @ as formulas; post text is untrusted, so prefix a quote."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value
