"""Measured accuracy that the enrichment models ship with, for the report's Method section.

    >>> shipped_metrics([MODELS_DIR])
    [{'model': 'sentiment', 'file': 'metrics.json', 'metric': 'macro_f1', 'value': 0.71}, ...]

Reads `models/<name>/*.json` files whose name mentions metrics, eval or card (top-level numbers, and numbers one
level down such as {"da": {"accuracy": 0.8}}), and lines of `models/<name>/*.md` that mention accuracy, F1,
precision or recall. Anything unreadable is skipped: the report says "not measured" rather than failing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_JSON_NAMES = re.compile(r"(metric|eval|card|accuracy|score)", re.I)
_MD_LINE = re.compile(r"\b(accuracy|f1|precision|recall|macro)\b", re.I)
MAX_ITEMS = 24


def _numbers(data, prefix: str = "", depth: int = 0):
    if isinstance(data, dict) and depth < 2:
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                yield name, value
            elif isinstance(value, dict):
                yield from _numbers(value, name, depth + 1)


def shipped_metrics(directories: list[Path]) -> list[dict]:
    """Metric rows found in the given models directories (each a folder of model folders)."""
    found: list[dict] = []
    for base in directories:
        if not base or not Path(base).is_dir():
            continue
        for path in sorted(Path(base).glob("*/*")):
            if not path.is_file() or path.stat().st_size > 1_000_000:
                continue
            model = path.parent.name
            if path.suffix == ".json" and _JSON_NAMES.search(path.name):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                for metric, value in _numbers(data):
                    found.append({"model": model, "file": path.name, "metric": metric, "value": value})
            elif path.suffix == ".md":
                try:
                    lines = path.read_text(encoding="utf-8").splitlines()
                except (OSError, UnicodeDecodeError):
                    continue
                for line in lines:
                    if _MD_LINE.search(line) and re.search(r"\d", line):
                        text = re.sub(r"[|*`#>]+", " ", line)
                        found.append({"model": model, "file": path.name, "metric": re.sub(r"\s+", " ", text).strip()[:160],
                                      "value": None})
            if len(found) >= MAX_ITEMS:
                return found[:MAX_ITEMS]
    return found
