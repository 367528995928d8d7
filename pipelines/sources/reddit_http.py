"""The requests.Session praw runs on: our timeouts, byte caps, politeness, retries and a per-run request budget.

    >>> session = BudgetSession(ctx.http, source="r-denmark", budget=90, max_per_minute=100)
    >>> reddit = praw.Reddit(..., requestor_kwargs={"session": session})
    >>> session.used, session.requests_per_minute()

praw (through prawcore) would otherwise use a bare session: its own 16 s timeout, no byte cap, and retries
with random sleeps. Here every request goes through the same host gate as the shared HttpClient (one request
at a time per host, ``min_delay`` apart), at most ``max_per_minute`` requests a minute, and:

- 429: wait Retry-After when it is short enough (``max_retry_after``), else fail; 5xx/timeouts: backoff retries;
- ``x-ratelimit-remaining`` reaching 0, or the run's budget used up, raise BudgetExhausted: the caller keeps
  what it has and reports the run as partial;
- a failure for good raises RedditHttpError, which prawcore does not retry again.
"""

from __future__ import annotations

import time

import requests

from pipelines.http import RETRY_STATUSES, HttpClient, parse_retry_after, redact_url


class BudgetExhausted(Exception):
    """The run's request budget (or Reddit's rate-limit window) is used up; the message says which."""


class RedditHttpError(Exception):
    """A Reddit request that failed for good; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class BudgetSession(requests.Session):
    def __init__(self, http: HttpClient, *, source: str, budget: int, max_per_minute: float = 100.0,
                 max_bytes: int | None = None):
        super().__init__()
        self.trust_env = False  # no proxies or .netrc credentials picked up behind the user's back
        self.http = http
        self.source = source
        self.budget = budget
        self.min_interval = max(http.min_delay, 60.0 / max_per_minute)
        self.max_bytes = max_bytes or http.max_bytes
        self.used = 0
        self.stamps: list[float] = []  # monotonic time of each request, for the requests-per-minute figure
        self.ratelimit_remaining: float | None = None
        self.ratelimit_reset: float | None = None

    def requests_per_minute(self) -> float:
        """Requests per minute over this run (0 for fewer than two requests)."""
        if len(self.stamps) < 2:
            return 0.0
        return (len(self.stamps) - 1) * 60.0 / max(self.stamps[-1] - self.stamps[0], 1e-6)

    def request(self, method, url, *args, **kwargs):  # the signature prawcore's Requestor calls
        where = f"{self.source}: {method} {redact_url(url)}"
        kwargs["timeout"] = (self.http.connect_timeout, self.http.read_timeout)
        kwargs["stream"] = True
        attempt = 0
        while True:
            attempt += 1
            self._spend(where)
            try:
                response = self._send_once(method, url, where, args, kwargs)
            except RedditHttpError as exc:
                if exc.status is None and "too large" not in str(exc) and attempt <= self.http.retries:
                    self.http._sleep(self.http.backoff * 2 ** (attempt - 1))
                    continue
                raise
            self._note_ratelimit(response)
            if response.status_code not in RETRY_STATUSES:
                return response
            wait = parse_retry_after(response.headers.get("retry-after"))
            if wait is not None and wait > self.http.max_retry_after:
                raise RedditHttpError(f"{where}: HTTP {response.status_code}, Reddit asks to retry after {wait:.0f}s "
                                      f"(longer than max_retry_after {self.http.max_retry_after:.0f}s); the next run "
                                      f"will try again", status=response.status_code)
            if attempt > self.http.retries:
                raise RedditHttpError(f"{where}: HTTP {response.status_code} after {attempt} attempts; Reddit is "
                                      f"failing or rate-limiting, the next run will try again",
                                      status=response.status_code)
            self.http._sleep(wait if wait is not None else self.http.backoff * 2 ** (attempt - 1))

    def _spend(self, where: str) -> None:
        if self.used >= self.budget:
            raise BudgetExhausted(f"request budget of {self.budget} used up")
        if self.ratelimit_remaining is not None and self.ratelimit_remaining < 1:
            raise BudgetExhausted(f"Reddit's rate-limit window is used up (resets in {self.ratelimit_reset or 0:.0f}s)")

    def _note_ratelimit(self, response) -> None:
        try:
            if "x-ratelimit-remaining" in response.headers:
                self.ratelimit_remaining = float(response.headers["x-ratelimit-remaining"])
                self.ratelimit_reset = float(response.headers.get("x-ratelimit-reset") or 0)
        except ValueError:
            pass  # an unreadable header must not stop the run; the budget still bounds it

    def _send_once(self, method, url, where, args, kwargs):
        gate = self.http._gate(url)
        with gate.lock:
            wait = max(gate.last + self.http.min_delay, (self.stamps[-1] + self.min_interval) if self.stamps else 0)
            wait -= time.monotonic()
            if wait > 0:
                self.http._sleep(wait)
            try:
                return self._stream(method, url, where, args, kwargs)
            finally:
                gate.last = time.monotonic()
                self.stamps.append(gate.last)
                self.used += 1

    def _stream(self, method, url, where, args, kwargs):
        deadline = time.monotonic() + self.http.connect_timeout + self.http.read_timeout
        cap = self.max_bytes
        try:
            response = super().request(method, url, *args, **kwargs)
            with response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise RedditHttpError(f"{where}: response too large ({int(declared):,} bytes > cap {cap:,}); "
                                          f"raise max_bytes for this source if it is legitimate")
                chunks, size = [], 0
                for chunk in response.iter_content(chunk_size=65536):
                    size += len(chunk)
                    if size > cap:
                        raise RedditHttpError(f"{where}: response too large (more than {cap:,} bytes); raise "
                                              f"max_bytes for this source if it is legitimate")
                    if time.monotonic() > deadline:
                        raise RedditHttpError(f"{where}: response took longer than "
                                              f"{self.http.connect_timeout + self.http.read_timeout:.0f}s")
                    chunks.append(chunk)
                if not chunks and method == "GET" and response.status_code == 200:
                    raise RedditHttpError(f"{where}: empty response body where JSON was expected; the next run "
                                          f"will try again", status=200)
                response._content = b"".join(chunks)  # requests' own slot: .json()/.text now read these bytes
                response._content_consumed = True
                return response
        except RedditHttpError:
            raise
        except requests.exceptions.Timeout:
            raise RedditHttpError(f"{where}: timed out (connect {self.http.connect_timeout}s / read "
                                  f"{self.http.read_timeout}s)") from None
        except requests.exceptions.ConnectionError as exc:
            text = f"{exc.__class__.__name__} {exc}"
            reason = ("connection closed before the body was complete (truncated response)"
                      if "IncompleteRead" in text or "ChunkedEncoding" in text else "connection failed")
            raise RedditHttpError(f"{where}: {reason}") from None
        except requests.exceptions.ChunkedEncodingError:
            raise RedditHttpError(f"{where}: connection closed before the body was complete (truncated "
                                  f"response)") from None
        except requests.exceptions.RequestException as exc:
            raise RedditHttpError(f"{where}: request failed ({exc.__class__.__name__})") from None
