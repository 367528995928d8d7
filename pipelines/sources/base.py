"""What every source module provides, and the shapes it exchanges with the loader.

A source module (``pipelines/sources/<kind>.py``) has two functions and knows nothing about DuckDB:

    def fetch(config, cursor: dict, ctx: FetchContext) -> Batch
        # read what is new since `cursor`; return raw JSON-able records and the cursor to store once loaded
    def normalise(config, raw: dict) -> dict | None
        # one raw record -> the post fields below (None to skip a record, e.g. a stub)

Normalised post fields (the loader adds post_id, source, channel, author_key, redaction, hashes):
    native_id (str, required), kind ('post'|'comment'|'review'), community, thread_id (native id of the
    thread's root post or None), parent_id (native id or None), url, author (handle or None: pseudonymised
    at load, never stored), created_at (ISO 8601 string or None), title, body (plain text), rating (float or
    None), lang_hint, is_deleted (bool), extra (dict of small source-specific values).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from pipelines.errors import ListenError
from pipelines.http import HttpClient


class SourceError(ListenError):
    """A source that cannot deliver; the message names the source and the cause (never a secret)."""


@dataclass
class FetchContext:
    run_id: str
    http: HttpClient
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    config_dir: "object | None" = None  # pathlib.Path of the config file's directory (import paths resolve here)
    progress: Callable[[int], None] = lambda advance: None  # called with records fetched so far (for progress bars)


@dataclass
class Batch:
    records: list[dict]
    cursor: dict
    warnings: list[str] = field(default_factory=list)
    stopped_early: str | None = None  # why the run ended before everything was read (budget, page cap)
