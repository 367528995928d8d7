"""What the JSON-API sources (Mastodon, Bluesky, Discourse) share: one run's request budget, the server's
rate-limit window, JSON decoding with clear errors, guarded paging, and the threads a source keeps revisiting.

    >>> api = ApiRun(ctx, config, headers={"Authorization": "Bearer …"})
    >>> statuses = api.get_json(f"{instance}/api/v1/timelines/tag/dsb", {"limit": 40})
    >>> stopped = api.attempt("#dsb", lambda: read_timeline(...))   # False once the run must end
    >>> batch = api.batch(records, cursor)      # stopped_early says why the run ended before everything was read

Every request counts against ``request_budget`` (a retried one once). The server's rate-limit headers
(``x-ratelimit-*``, ``ratelimit-*``) are read after each reply: when its window is used up the run waits for the
reset if that is no longer than ``[http] max_retry_after``, else it ends early, keeping what it has ('partial').
A 429 is waited out by the HTTP client (Retry-After or the reset header); one it cannot wait out also ends the
run early. A listing answering 4xx (an unknown tag, a private category) is recorded and the run goes on with the
next; timeouts, 5xx, oversized or malformed replies end the run. A run with a failure and nothing read fails.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode, urlsplit

from pipelines.errors import ListenError
from pipelines.http import FetchError, decode_json, ratelimit_remaining, ratelimit_wait, redact_url
from pipelines.sources.base import Batch, FetchContext, SourceError

ACCEPT_JSON = "application/json"


class StopRun(ListenError):
    """The run ends here and keeps what it has: budget used up, rate-limit window closed, a failing server."""


class ApiRun:
    """One fetch of one source against a JSON API: budget, rate-limit window, failures per listing."""

    def __init__(self, ctx: FetchContext, config, *, headers: dict[str, str] | None = None,
                 hints: dict[int, str] | None = None):
        self.ctx = ctx
        self.hints = dict(hints or {})  # HTTP status -> what the user should do (added to failure messages)
        self.source = config.name
        self.budget = config.request_budget
        self.max_bytes = config.max_bytes
        self.headers = dict(headers or {})
        self.used = 0
        self.remaining: float | None = None
        self.reset_in: float | None = None
        self.failures: list[str] = []
        self.warnings: list[str] = []
        self.stopped: str | None = None

    # -- requests ----------------------------------------------------------------------------------------------
    def get_json(self, url: str, params: dict | list | None = None, *, headers: dict[str, str] | None = None):
        """GET a JSON document (``params`` may repeat keys: a list of pairs). Raises FetchError, StopRun."""
        return self.get_page(url, params, headers=headers)[0]

    def get_page(self, url: str, params: dict | list | None = None, *, headers: dict[str, str] | None = None):
        """(JSON document, response headers): for APIs that page with a Link header."""
        full = f"{url}?{urlencode(params, doseq=True)}" if params else url
        self._spend()
        try:
            response = self.ctx.http.get(full, source=self.source, accept=ACCEPT_JSON, max_bytes=self.max_bytes,
                                         headers={**self.headers, **(headers or {})})
        except FetchError as exc:
            if exc.status == 429:
                raise StopRun(f"rate-limited by the server ({exc})") from None
            raise
        finally:
            self.used += 1
        self._note_window(response.headers)
        data = decode_json(response.body, f"{self.source}: {redact_url(full)}")
        return data, response.headers

    def post_json(self, url: str, payload: dict):
        """POST a JSON body (a login) and read the JSON answer; counts against the budget like a GET."""
        self._spend()
        try:
            response = self.ctx.http.post_json(url, payload, source=self.source, max_bytes=self.max_bytes)
        finally:
            self.used += 1
        return decode_json(response.body, f"{self.source}: POST {redact_url(url)}")

    def _spend(self) -> None:
        if self.used >= self.budget:
            raise StopRun(f"request budget of {self.budget} used up")
        if self.remaining is not None and self.remaining < 1:
            wait = self.reset_in or 0.0
            if wait > self.ctx.http.max_retry_after:
                raise StopRun(f"the server's rate-limit window is used up (resets in {wait:.0f}s)")
            self.ctx.http._sleep(wait)  # the client's sleep: tests replace it, politeness stays in one place
            self.remaining = None

    def _note_window(self, headers: dict[str, str]) -> None:
        remaining = ratelimit_remaining(headers)
        if remaining is not None:
            self.remaining, self.reset_in = remaining, ratelimit_wait(headers)

    # -- failures ----------------------------------------------------------------------------------------------
    def attempt(self, what: str, work) -> bool:
        """Run one listing or thread read; False when the run must end (budget, rate limit, broken server).

        A 4xx answer or an unusable listing (SourceError) is recorded against `what` and the run goes on; a
        request that failed otherwise (timeout, 5xx, too large, not JSON) ends the run.
        """
        if self.stopped:
            return False
        try:
            work()
        except StopRun as exc:
            self.stopped = str(exc)
        except (FetchError, SourceError) as exc:
            status = getattr(exc, "status", None)
            hint = self.hints.get(status)
            text = str(exc).removeprefix(f"{self.source}: ")
            self.failures.append(f"{what}: {text}" + (f"; {hint}" if hint else ""))
            if isinstance(exc, FetchError) and (status is None or status >= 500):
                self.stopped = "the server failed; later listings were not read"
        return not self.stopped

    def read_all(self, listings) -> None:
        """attempt() each (what, work) in turn, until the run must end."""
        for what, work in listings:
            if not self.attempt(what, work):
                return

    def batch(self, records: list[dict], cursor: dict) -> Batch:
        """The run's Batch; a SourceError when a listing failed and nothing was read (the cursor stays as it was)."""
        if self.failures and not records:
            raise SourceError(f"{self.source}: " + "; ".join(self.failures))
        reasons = self.failures + ([self.stopped] if self.stopped and self.stopped not in " ".join(self.failures)
                                   else [])
        if self.stopped and self.stopped.startswith(("request budget", "rate-limited", "the server's rate-limit")):
            reasons[-1] = f"{self.stopped}; raise request_budget or run more often"
        warnings = self.warnings + [f"{self.source}: {r}" for r in self.failures]
        if self.stopped:
            warnings.append(f"{self.source}: stopped after {self.used} requests: {self.stopped}; the next run continues")
        return Batch(records=records, cursor=cursor, warnings=warnings,
                     stopped_early="; ".join(reasons) if reasons else None)


# -- paging --------------------------------------------------------------------------------------------------
class PageGuard:
    """Bounds one listing's paging: at most `max_pages`, never the same cursor twice, never a page with nothing new.

    >>> guard = PageGuard(api, "#dsb", max_pages=5)
    >>> if not guard.more(next_cursor, new_items=len(fresh)): break
    """

    def __init__(self, run: ApiRun, what: str, max_pages: int,
                 at_limit: str | None = "the rest is read next run (or raise max_pages)"):
        self.run, self.what, self.max_pages, self.at_limit = run, what, max_pages, at_limit
        self.pages = 0
        self.cursors: set[str] = set()

    def more(self, cursor: str | None, new_items: int) -> bool:
        """After a page: whether to read the page at `cursor` (None: the server says there is no more)."""
        self.pages += 1
        if not cursor or not new_items:
            return False
        if cursor in self.cursors:
            self.run.warnings.append(f"{self.run.source}: {self.what}: the server repeated a page cursor; paging stopped")
            return False
        self.cursors.add(cursor)
        if self.pages >= self.max_pages:
            if self.at_limit:  # None: reading back only max_pages pages is the design (a first run's backfill)
                self.run.warnings.append(f"{self.run.source}: {self.what}: more than max_pages={self.max_pages} "
                                         f"pages; {self.at_limit}")
            return False
        return True


def same_origin(url: str, base: str) -> bool:
    """Whether a server-given link stays on the configured host (a Link header must not send us elsewhere)."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc) and a.path.startswith(b.path.rstrip("/") + "/")


def parse_time(value) -> dt.datetime | None:
    """An API timestamp (ISO 8601, 'Z' or offset) as aware UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


# -- threads a source keeps revisiting -------------------------------------------------------------------------
MAX_TRACKED = 2000


class Tracked:
    """Threads (a matched status or topic and what hangs below it) remembered across runs, for ``revisit_days``.

    Each entry: ``{"at": ISO time of the last activity, "count": replies the API last reported, "community":
    label, "items": {child id: {"parent": id, "sig": what changes when the child is edited or answered}}, ...}``.
    The items let a later run tell which children changed or disappeared (deleted: a tombstone is loaded, in its
    place in the thread thanks to the parent).
    """

    def __init__(self, state: dict | None):
        self.threads: dict[str, dict] = {k: dict(v) for k, v in (state or {}).items()}

    def get(self, key: str) -> dict | None:
        return self.threads.get(key)

    def remember(self, key: str, **fields) -> dict:
        entry = self.threads.setdefault(key, {"items": {}})
        entry.update({k: v for k, v in fields.items() if v is not None})
        return entry

    def drop(self, key: str) -> None:
        self.threads.pop(key, None)

    def with_items(self, keys: list[str]) -> list[tuple[str, str]]:
        """(id, thread key) of each thread's own post, then of every reply remembered below it, thread by thread:
        what a revisit asks the server about."""
        return [pair for key in keys for pair in [(key, key)] + [(item, key) for item in self.threads[key]["items"]]]

    def due(self, now: dt.datetime, days: int, skip: set[str]) -> list[str]:
        """Threads active within `days`, newest first, except those already read this run."""
        horizon = now - dt.timedelta(days=days)
        young = [(parse_time(v.get("at")), k) for k, v in self.threads.items() if k not in skip]
        return [k for at, k in sorted(((a, k) for a, k in young if a and a >= horizon), reverse=True)]

    def state(self, now: dt.datetime, days: int) -> dict:
        """What the cursor keeps: threads still within the revisit window, the newest MAX_TRACKED of them."""
        horizon = now - dt.timedelta(days=days)
        kept = [(parse_time(v.get("at")), k) for k, v in self.threads.items()]
        kept = sorted(((a, k) for a, k in kept if a and a >= horizon), reverse=True)[:MAX_TRACKED]
        return {k: self.threads[k] for _, k in kept}


class SourceRun:
    """One fetch of a JSON-API source: its listings' watermarks, the threads it keeps revisiting, its records.

    A source subclasses it with its listings, its thread reads and ``revisit``; ``finish`` revisits what is due
    and returns the Batch. The cursor holds ``listings`` and the remembered threads (under ``threads_key``).
    """

    threads_key = "threads"

    def __init__(self, config, cursor: dict, ctx: FetchContext, api: ApiRun):
        self.config, self.ctx, self.api = config, ctx, api
        self.listings: dict = dict(cursor.get("listings") or {})
        self.tracked = Tracked(cursor.get(self.threads_key))
        self.records: dict[str, dict] = {}

    def cursor(self) -> dict:
        return {"listings": self.listings,
                self.threads_key: self.tracked.state(self.ctx.now, self.config.revisit_days)}

    def keep(self, key: str, record: dict) -> None:
        self.records[key] = record
        self.ctx.progress(len(self.records))

    def revisit(self) -> None:
        raise NotImplementedError

    def revisit_threads(self, per_request: int, noun: str, check, reread, done: set[str]) -> None:
        """Ask about the due threads' posts and replies `per_request` ids at a time (``check(pairs, stale)`` puts
        threads that changed into `stale`: {key: the thread's post as now}), then read those threads again."""
        pairs = self.tracked.with_items(self.tracked.due(self.ctx.now, self.config.revisit_days, skip=set(self.records)))
        stale: dict[str, dict] = {}
        for start in range(0, len(pairs), per_request):
            chunk = pairs[start:start + per_request]
            if not self.api.attempt(f"revisit of {len(chunk)} {noun}", lambda: check(chunk, stale)):
                return
        for key, post in stale.items():
            if self.tracked.get(key) and key not in done:
                done.add(key)
                if not self.api.attempt(f"replies of {key}", lambda: reread(post)):
                    return

    def finish(self) -> Batch:
        if self.config.revisit_days:
            self.revisit()
        return self.api.batch(list(self.records.values()), self.cursor())
