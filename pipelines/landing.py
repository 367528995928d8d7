"""The landing zone: raw records exactly as fetched, one gzipped JSONL file per source and run.

    >>> path = write_landed(settings.paths.landing, "blog", run_id, records, day=date(2026, 11, 21))
    >>> list(read_landed(path)) == records
    True

Layout: <landing>/<source>/<yyyy-mm-dd>/<run_id>.jsonl.gz. Local directories are written atomically
(temp file + rename); an fsspec URL (file://, memory://, s3://...) goes through fsspec.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
from pathlib import Path
from typing import Iterable, Iterator

import msgspec

from pipelines.errors import ListenError


class LandingError(ListenError):
    """A landed file that cannot be written or read; names the file."""


def _is_url(location: str) -> bool:
    return "://" in location


def landed_path(landing: str, source: str, run_id: str, day: dt.date) -> str:
    return f"{landing.rstrip('/')}/{source}/{day.isoformat()}/{run_id}.jsonl.gz"


def write_landed(landing: str, source: str, run_id: str, records: Iterable[dict], day: dt.date) -> str:
    """Write records to the landing zone; returns the file's path or URL."""
    target = landed_path(landing, source, run_id, day)
    payload = io.BytesIO()
    with gzip.GzipFile(fileobj=payload, mode="wb", mtime=0) as gz:
        for record in records:
            gz.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
    data = payload.getvalue()
    try:
        if _is_url(landing):
            import fsspec

            fs, path = fsspec.core.url_to_fs(target)
            fs.makedirs(fs._parent(path), exist_ok=True)
            with fs.open(path, "wb") as handle:
                handle.write(data)
        else:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            try:
                with open(tmp, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except OSError:
                tmp.unlink(missing_ok=True)  # a full disk must not leave half a file behind
                raise
    except OSError as exc:
        raise LandingError(f"cannot write landing file {target}: {exc.strerror or exc}") from exc
    return target


_decode = msgspec.json.Decoder().decode  # ~4x json.loads; json.loads stays the judge of what it refuses


def decode_landed(line: bytes, target: str, number: int) -> dict:
    """One landed JSON line -> its record; a line that is not JSON is a LandingError naming file and line."""
    try:
        return _decode(line)
    except (msgspec.DecodeError, RecursionError):
        pass  # NaN, lone surrogates: what json.dumps wrote, json.loads reads
    try:
        return json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LandingError(f"{target}, line {number}: not valid JSON "
                           f"({getattr(exc, 'msg', None) or exc.reason})") from exc


def _lines(stream, block: int = 1 << 20) -> Iterator[bytes]:
    """The lines of a binary stream, without their newline: decompressed a megabyte at a time and split, which
    costs a fifth of GzipFile's readline per line."""
    rest = b""
    while data := stream.read(block):
        lines = (rest + data).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def read_landed(target: str, *, raw: bool = False) -> Iterator[dict | bytes]:
    """Yield the records of one landed file, streaming (a million-record file is never held whole).

    raw=True yields each record's JSON line undecoded, for the loader to decode with decode_landed() in its
    worker processes (a line of bytes crosses a process boundary far cheaper than a dict).
    """
    try:
        if _is_url(target):
            import fsspec

            opened = fsspec.open(target, "rb").open()
        else:
            opened = open(target, "rb")
    except OSError as exc:
        raise LandingError(f"cannot read landing file {target}: {exc.strerror or exc}") from exc
    number = 0
    try:
        with opened, gzip.GzipFile(fileobj=opened, mode="rb") as gz:
            for number, line in enumerate(_lines(gz), start=1):
                if line.strip():
                    yield line if raw else decode_landed(line, target, number)
    except (OSError, EOFError) as exc:
        raise LandingError(f"cannot read landing file {target} (after line {number}): {exc}") from exc


def list_landed(landing: str, source: str | None = None) -> list[str]:
    """All landed files (optionally of one source), oldest day first."""
    pattern = f"{landing.rstrip('/')}/{source or '*'}/*/*.jsonl.gz"
    if _is_url(landing):
        import fsspec

        fs, path = fsspec.core.url_to_fs(pattern)
        protocol = landing.split("://", 1)[0]
        return sorted(f"{protocol}://{p.lstrip('/')}" if protocol != "file" else f"file://{p}" for p in fs.glob(path))
    return sorted(str(p) for p in Path(landing).glob(f"{source or '*'}/*/*.jsonl.gz"))


def rewrite_landed(target: str, keep) -> int:
    """Rewrite one landed file keeping only records where keep(record) is true; returns records removed.

    Used by `listen forget` and retention. An emptied file is deleted.
    """
    records = list(read_landed(target))
    kept = [r for r in records if keep(r)]
    removed = len(records) - len(kept)
    if not removed:
        return 0
    if _is_url(target):
        import fsspec

        fs, path = fsspec.core.url_to_fs(target)
        if not kept:
            fs.rm(path)
            return removed
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
            for record in kept:
                gz.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        with fs.open(path, "wb") as handle:
            handle.write(buf.getvalue())
        return removed
    path = Path(target)
    if not kept:
        path.unlink()
        return removed
    tmp = path.with_name(f".{path.name}.tmp")
    with gzip.open(tmp, "wb") as gz:
        for record in kept:
            gz.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    os.replace(tmp, path)
    return removed
