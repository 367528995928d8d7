"""CSV or JSONL exports (surveys, review exports, other tools) as a source.

    [[sources]]
    name = "survey-2026"
    kind = "import"
    path = "exports/survey*.jsonl"     # a file or a glob, relative to listen.toml

Fields: ``id`` and ``text`` required; ``created_at`` (ISO 8601), ``author``, ``title``, ``url``, ``rating``,
``community``, ``lang`` optional. Files must sit under the config file's folder (or a folder listed in
$LISTEN_IMPORT_ROOTS); a path that leads elsewhere, by '..', an absolute path or a symlink, is refused.
A bad row is reported with file and line and skipped; good rows load. A row whose created_at is not a date
loads with the fetch time instead, and a warning naming its line.
A file is read again only when its size or modification time changed (the cursor remembers both).
"""

from __future__ import annotations

import csv
import glob
import io
import itertools
import json
import os
from pathlib import Path

from pipelines.load import parse_timestamp
from pipelines.sources.base import Batch, FetchContext, SourceError

REQUIRED = ("id", "text")
OPTIONAL = ("created_at", "author", "title", "url", "rating", "community", "lang", "kind", "parent_id", "thread_id")
MAX_FIELD = 1_000_000  # characters per field: a 5 MB "text" is an export bug, not a post
MAX_FILE_BYTES = 2_000_000_000
MAX_LISTED = 100  # warnings listed per file; the rest are counted in one line
IMPORT_ROOTS_ENV = "LISTEN_IMPORT_ROOTS"  # extra folders imports may read, os.pathsep-separated

csv.field_size_limit(MAX_FIELD * 4)


def allowed_roots(base: Path) -> list[Path]:
    """Where import files may live: the config file's folder, plus any folder listed in $LISTEN_IMPORT_ROOTS."""
    extra = [Path(p).expanduser() for p in os.environ.get(IMPORT_ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    return [Path(os.path.realpath(root)) for root in [base, *extra]]


def _inside(path: Path, roots: list[Path]) -> bool:
    real = Path(os.path.realpath(path))  # follows every symlink, so a link cannot lead out
    return any(real == root or real.is_relative_to(root) for root in roots)


def _files(config, base: Path) -> list[Path]:
    """The files the source's path or glob names, confined to the allowed roots (a config is not a way to read
    /etc/passwd or another user's home: '..', absolute paths and symlinks that lead outside are refused)."""
    pattern = Path(config.path).expanduser()
    pattern = pattern if pattern.is_absolute() else base / pattern
    roots = allowed_roots(base)
    fixed = Path(*[part for part in itertools.takewhile(lambda part: not glob.has_magic(part), pattern.parts)])
    refusal = (f"{config.name}: import path {config.path!r} leads outside the config file's folder {base}; move "
               f"the file under that folder, or allow its folder with {IMPORT_ROOTS_ENV}=/that/folder")
    if not _inside(fixed, roots):
        raise SourceError(refusal)
    matches = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True))
    if not matches:
        raise SourceError(f"{config.name}: no file matches {pattern} (path is relative to the config file's folder)")
    outside = [p for p in matches if not _inside(p, roots)]
    if outside:
        raise SourceError(refusal.replace(f"import path {config.path!r}", f"{outside[0].name} (a symlink?)"))
    files = [p for p in matches if p.is_file()]
    if not files:
        raise SourceError(f"{config.name}: {pattern} matches only directories")
    return files


def _format(config, path: Path) -> str:
    if config.format != "auto":
        return config.format
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    raise SourceError(f"{config.name}: {path.name}: cannot tell the format from the extension; set format = \"csv\" "
                      f"or \"jsonl\" for this source")


def _check_row(row: dict, where: str) -> tuple[dict | None, str | None]:
    if not isinstance(row, dict):
        return None, f"{where}: expected an object with 'id' and 'text', got {type(row).__name__}"
    missing = [k for k in REQUIRED if row.get(k) in (None, "")]
    if missing:
        return None, f"{where}: missing required field {', '.join(repr(m) for m in missing)}"
    record = {}
    for key in REQUIRED + OPTIONAL:
        value = row.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, (dict, list)):
            return None, f"{where}: field {key!r} must be text or a number, not {type(value).__name__}"
        text = str(value)
        if "\x00" in text:
            return None, f"{where}: field {key!r} contains a NUL byte"
        if len(text) > MAX_FIELD:
            return None, f"{where}: field {key!r} is {len(text):,} characters (limit {MAX_FIELD:,})"
        record[key] = value if isinstance(value, (int, float)) and key == "rating" else text
    if "created_at" in record and parse_timestamp(record["created_at"]) is None:
        # the row still loads (dated by the fetch), but the user must learn which line to fix
        return record | {"created_at": None}, (f"{where}: created_at {record['created_at'][:60]!r} is not a date "
                                                f"(ISO 8601, e.g. 2026-11-21T09:30:00Z); fetch time used")
    return record, None


def _read_jsonl(path: Path, display: str):
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            where = f"{display}, line {number}"
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                yield where, None, f"{where}: not valid UTF-8"
                continue
            except (json.JSONDecodeError, RecursionError) as exc:
                yield where, None, f"{where}: not valid JSON ({getattr(exc, 'msg', 'nested too deeply')})"
                continue
            yield where, *_check_row(row, where)


def _read_csv(path: Path, display: str):
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return
    missing = [k for k in REQUIRED if k not in header]
    if missing:
        raise SourceError(f"{display}: header has no column {', '.join(repr(m) for m in missing)} "
                          f"(found: {', '.join(header)})")
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            where = f"{display}, line {reader.line_num}"
            yield where, None, f"{where}: unreadable CSV row ({exc})"
            continue
        where = f"{display}, line {reader.line_num}"
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield where, None, f"{where}: {len(values)} columns, header has {len(header)}"
            continue
        yield where, *_check_row(dict(zip(header, values)), where)


def fetch(config, cursor: dict, ctx: FetchContext) -> Batch:
    base = Path(ctx.config_dir or ".")
    seen: dict = dict((cursor or {}).get("files", {}))
    records, warnings = [], []
    first_seen: dict[str, str] = {}  # id -> where it was first read (a repeated id replaces the earlier row)
    for path in _files(config, base):
        stat = path.stat()
        if stat.st_size > MAX_FILE_BYTES:
            warnings.append(f"{config.name}: {path}: {stat.st_size:,} bytes is over the {MAX_FILE_BYTES:,} byte limit; "
                            f"split the export")
            continue
        signature = [stat.st_size, int(stat.st_mtime)]
        key = os.path.relpath(path, base)
        if seen.get(key) == signature:
            continue
        reader = _read_jsonl if _format(config, path) == "jsonl" else _read_csv
        bad = 0
        for where, record, problem in reader(path, key):
            problems = [problem] if problem else []
            if record is not None:
                earlier = first_seen.setdefault(str(record["id"]), where)
                if earlier != where:
                    problems.append(f"{where}: id {record['id']!r} already used on {earlier}; this later row "
                                    f"replaces it")
            for problem in problems:
                bad += 1
                if bad <= MAX_LISTED:
                    warnings.append(problem)
            if record is None:
                continue
            record["_file"] = key
            records.append(record)
        if bad > MAX_LISTED:
            warnings.append(f"{key}: {bad - MAX_LISTED} more bad rows not listed")
        seen[key] = signature
        ctx.progress(len(records))
    return Batch(records=records, cursor={"files": seen}, warnings=warnings)


def normalise(config, raw: dict) -> dict:
    kind = raw.get("kind") or ("review" if raw.get("rating") not in (None, "") else "post")
    return {
        "native_id": raw["id"],
        "kind": kind,
        "community": raw.get("community") or config.community or config.name,
        "thread_id": raw.get("thread_id"),
        "parent_id": raw.get("parent_id"),
        "url": raw.get("url"),
        "author": raw.get("author"),
        "created_at": raw.get("created_at"),
        "title": raw.get("title"),
        "body": raw.get("text"),
        "rating": raw.get("rating"),
        "lang_hint": raw.get("lang"),
        "is_deleted": False,
        "extra": {"file": raw.get("_file")},
    }
