"""What the JSON-API fakes (Mastodon, Bluesky, Discourse) share: a rate-limit window, JSON replies, date shifts.

    >>> window = RateWindow(sandbox, "mastodon", limit=300, seconds=300)
    >>> used, limit, resets_at = window.take()      # resets_at: epoch seconds; used > limit: answer 429

Options (sandbox.options), per service prefix: ``<service>_window`` = (requests, seconds) replaces the recorded
window, so tests can run a window dry in a few requests.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

from pipelines.sandbox.server import Reply

JSON = "application/json; charset=utf-8"


class RateWindow:
    """A fixed window of `limit` requests per `seconds`, as the real servers count them."""

    def __init__(self, sandbox, service: str, *, limit: int, seconds: int):
        self.sandbox, self.service = sandbox, service
        self.default = (limit, seconds)
        self._lock = threading.Lock()
        self._start = time.time()
        self._used = 0

    def expire(self) -> None:
        """End the current window now (tests replace sleeping with this)."""
        with self._lock:
            self._start = 0.0

    def take(self) -> tuple[int, int, float]:
        """Count one request: (used so far in the window, the window's limit, epoch second it resets)."""
        limit, seconds = self.sandbox.options.get(f"{self.service}_window", self.default)
        with self._lock:
            now = time.time()
            if now - self._start >= seconds:
                self._start, self._used = now, 0
            self._used += 1
            return self._used, limit, self._start + seconds


def json_reply(payload, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status=status, body=body, content_type=JSON, headers=dict(headers or {}))


def parse_stamp(value: str) -> dt.datetime:
    stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def shifted(value: str | None, offset: dt.timedelta) -> str | None:
    """An ISO timestamp moved by `offset`, written back in the API's 'Z' style."""
    if not value or not offset:
        return value
    return (parse_stamp(value) + offset).astimezone(dt.timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def demo_dates_end(sandbox, option: str) -> None:
    """Date a service's recordings for `listen demo`: its newest item lands where the feeds' does (an hour ago)."""
    end = sandbox.options.get("feed_dates_end") or dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    sandbox.options.setdefault(option, end)
