"""The one HTTP client: timeouts, byte caps, retries with backoff, conditional GET, politeness per host.

    >>> client = HttpClient(user_agent="community-listening/0.1")
    >>> page = client.get("http://127.0.0.1:8765/feed.xml", etag=cursor.get("etag"), source="blog")
    >>> page.not_modified or page.body[:5]

Every failure raises FetchError naming the source, the URL and the cause, with a next step where one exists.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3

from pipelines import __version__

DEFAULT_USER_AGENT = f"community-listening/{__version__} (self-hosted social listening)"
RETRY_STATUSES = {429, 500, 502, 503, 504, 520, 521, 522, 523, 524}


class FetchError(Exception):
    """A request that failed for good. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url


def redact_url(url: str) -> str:
    """A URL safe to log: user info and query-string secrets removed."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = re.sub(
        r"(?i)\b(access_token|token|key|api_key|apikey|secret|password|client_secret|sig)=[^&]*",
        r"\1=REDACTED",
        parts.query,
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@dataclass
class Response:
    url: str
    status: int
    body: bytes
    headers: dict[str, str]
    not_modified: bool = False

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


EPOCH_FROM = 1_000_000_000  # a reset value this large is a Unix time, not seconds to wait


def ratelimit_wait(headers: dict[str, str], now: float | None = None) -> float | None:
    """Seconds until the server's rate-limit window resets, from whichever header style it sends; None if none.

    Mastodon: ``x-ratelimit-reset`` = ISO 8601 time; Reddit: ``x-ratelimit-reset`` = seconds; IETF draft and
    Bluesky: ``ratelimit-reset`` = seconds (the draft) or a Unix time (Bluesky). Headers are lower-cased.
    """
    value = (headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset") or "").strip()
    if not value:
        return None
    now = now if now is not None else time.time()
    try:
        number = float(value)
    except ValueError:
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
        return max(0.0, when.timestamp() - now)
    return max(0.0, number - now) if number >= EPOCH_FROM else max(0.0, number)


def ratelimit_remaining(headers: dict[str, str]) -> float | None:
    """Requests left in the current rate-limit window (``x-ratelimit-remaining`` or ``ratelimit-remaining``)."""
    value = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def link_url(headers: dict[str, str], rel: str) -> str | None:
    """The URL of one relation in an RFC 8288 ``Link`` header (Mastodon pages with rel="next"/"prev")."""
    for link in requests.utils.parse_header_links(headers.get("link") or ""):
        if rel in (link.get("rel") or "").split():
            return link.get("url") or None
    return None


def decode_json(body: bytes, where: str):
    """A JSON response body, or FetchError saying what came instead (HTML error page, cut body, bad bytes)."""
    if not body.strip():
        raise FetchError(f"{where}: empty response where JSON was expected; the next run will try again")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise FetchError(f"{where}: response is not valid UTF-8 JSON; the next run will try again") from None
    except RecursionError:
        raise FetchError(f"{where}: JSON nested too deeply to read; refusing the response") from None
    except ValueError as exc:
        head = body[:60].decode("utf-8", "replace").strip()
        raise FetchError(f"{where}: response is not valid JSON ({exc.msg} at character {exc.pos}; starts "
                         f"{head!r}): check the URL, or the server is failing") from None


@dataclass
class _HostGate:
    """Serialises requests to one host and keeps `min_delay` seconds between them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float = 0.0


class HttpClient:
    """A polite, bounded HTTP client shared by every source.

    - connect/read timeouts and a total deadline per response (a trickling server cannot hold a run);
    - a byte cap per response, checked while streaming (an oversized body is never held in memory);
    - retries with exponential backoff on 5xx/429, honouring Retry-After up to ``max_retry_after``;
    - conditional GET (If-None-Match / If-Modified-Since) when the caller passes validators;
    - one request at a time per host with ``min_delay`` seconds between them.
    """

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        max_bytes: int = 20_000_000,
        retries: int = 3,
        backoff: float = 1.0,
        max_retry_after: float = 60.0,
        min_delay: float = 1.0,
        session: requests.Session | None = None,
        sleep=time.sleep,
    ):
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.min_delay = min_delay
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxies or .netrc credentials picked up behind the user's back
        self._sleep = sleep
        self._gates: dict[str, _HostGate] = {}
        self._gates_lock = threading.Lock()
        self.requests_made = 0

    @classmethod
    def from_settings(cls, http) -> "HttpClient":
        """Build from config.HttpSettings."""
        return cls(
            user_agent=http.user_agent,
            connect_timeout=http.connect_timeout,
            read_timeout=http.read_timeout,
            max_bytes=http.max_bytes,
            retries=http.retries,
            backoff=http.backoff,
            max_retry_after=http.max_retry_after,
            min_delay=http.min_delay,
        )

    def _gate(self, url: str) -> _HostGate:
        host = urlsplit(url).netloc
        with self._gates_lock:
            return self._gates.setdefault(host, _HostGate())

    def get(
        self,
        url: str,
        *,
        source: str = "",
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        headers: dict[str, str] | None = None,
        accept: str = "*/*",
    ) -> Response:
        """GET with retries; raises FetchError. A 304 returns Response(not_modified=True, body=b'')."""
        if not re.match(r"^https?://", url):
            raise FetchError(f"{source}: refusing to fetch {redact_url(url)!r}: only http(s) URLs are allowed", url=url)
        request_headers = {"User-Agent": self.user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        request_headers.update(headers or {})
        cap = max_bytes or self.max_bytes
        where = f"{source}: {redact_url(url)}" if source else redact_url(url)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._request_once(url, request_headers, cap, where)
            except FetchError as exc:
                if exc.status is None and attempt <= self.retries and "too large" not in str(exc):
                    self._sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise
            if response.status == 304:
                response.not_modified = True
                return response
            if response.status in RETRY_STATUSES:
                wait = parse_retry_after(response.headers.get("retry-after"))
                if wait is None and response.status == 429:  # Mastodon and Bluesky say when their window resets
                    wait = ratelimit_wait(response.headers)
                if wait is not None and wait > self.max_retry_after:
                    raise FetchError(
                        f"{where}: HTTP {response.status}, server asks to retry after {wait:.0f}s, longer than the "
                        f"allowed {self.max_retry_after:.0f}s; the next run will try again",
                        status=response.status,
                        url=url,
                    )
                if attempt <= self.retries:
                    self._sleep(wait if wait is not None else self.backoff * 2 ** (attempt - 1))
                    continue
                raise FetchError(
                    f"{where}: HTTP {response.status} after {attempt} attempts; the server is failing or rate-limiting",
                    status=response.status,
                    url=url,
                )
            if response.status >= 400:
                hint = {401: "check credentials", 403: "access is forbidden", 404: "check the URL",
                        410: "the resource is gone; remove or update the source"}.get(response.status, "")
                raise FetchError(
                    f"{where}: HTTP {response.status}" + (f" ({hint})" if hint else ""), status=response.status, url=url
                )
            return response

    def post_json(self, url: str, payload: dict, *, source: str = "", headers: dict[str, str] | None = None,
                  max_bytes: int | None = None) -> Response:
        """One POST of a JSON body (a login), through the same host gate, caps and errors as GET; no retries.
        Raises FetchError for HTTP >= 400; neither the payload nor the headers ever appear in a message."""
        if not re.match(r"^https?://", url):
            raise FetchError(f"{source}: refusing to post to {redact_url(url)!r}: only http(s) URLs are allowed", url=url)
        request_headers = {"User-Agent": self.user_agent, "Accept": "application/json",
                           "Content-Type": "application/json", **(headers or {})}
        where = f"{source}: POST {redact_url(url)}" if source else redact_url(url)
        response = self._request_once(url, request_headers, max_bytes or self.max_bytes, where, method="POST",
                                      data=json.dumps(payload).encode("utf-8"))
        if response.status >= 400:
            raise FetchError(f"{where}: HTTP {response.status}", status=response.status, url=url)
        return response

    def _request_once(self, url: str, headers: dict[str, str], cap: int, where: str, method: str = "GET",
                      data: bytes | None = None) -> Response:
        gate = self._gate(url)
        with gate.lock:
            wait = gate.last + self.min_delay - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            try:
                return self._stream(url, headers, cap, where, method, data)
            finally:
                gate.last = time.monotonic()
                self.requests_made += 1

    def _stream(self, url: str, headers: dict[str, str], cap: int, where: str, method: str = "GET",
                data: bytes | None = None) -> Response:
        total = self.connect_timeout + self.read_timeout
        deadline = time.monotonic() + total
        try:
            with self.session.request(
                method, url, headers=headers, data=data, stream=True,
                timeout=(self.connect_timeout, self.read_timeout), allow_redirects=method == "GET",
            ) as resp:
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise FetchError(
                        f"{where}: response too large ({int(declared):,} bytes > cap {cap:,}); raise max_bytes for "
                        f"this source if it is legitimate", url=url,
                    )
                # read1 returns as soon as any bytes arrive, so a server that trickles a byte a second (and so
                # never trips the per-read timeout) is caught by the deadline for the whole exchange.
                chunks, size = [], 0
                while True:
                    chunk = resp.raw.read1(65536, decode_content=True)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > cap:
                        raise FetchError(
                            f"{where}: response too large (more than {cap:,} bytes); raise max_bytes for this "
                            f"source if it is legitimate", url=url,
                        )
                    if time.monotonic() > deadline:
                        raise FetchError(f"{where}: response took longer than {total:.0f}s; the server is too slow",
                                         url=url)
                    chunks.append(chunk)
                return Response(
                    url=resp.url,
                    status=resp.status_code,
                    body=b"".join(chunks),
                    headers={k.lower(): v for k, v in resp.headers.items()},
                )
        except FetchError:
            raise
        except Exception as exc:
            raise self._explain(exc, where, url) from None

    def _explain(self, exc: Exception, where: str, url: str) -> Exception:
        """A requests/urllib3 exception as one FetchError line a user can act on."""
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return FetchError(f"{where}: body could not be decoded (corrupt compression)", url=url)
        if isinstance(exc, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)):
            return FetchError(f"{where}: timed out (connect {self.connect_timeout}s / read {self.read_timeout}s)",
                              url=url)
        if isinstance(exc, requests.exceptions.TooManyRedirects):
            return FetchError(f"{where}: too many redirects", url=url)
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)) \
                or "IncompleteRead" in str(exc):
            return FetchError(f"{where}: connection closed before the body was complete (truncated response)",
                              url=url)
        if isinstance(exc, requests.exceptions.ConnectionError):
            text = str(exc)
            reason = "connection failed"
            if "refused" in text.lower():
                reason = "connection refused (is the server running?)"
            elif "Name or service not known" in text or "getaddrinfo" in text:
                reason = "host name could not be resolved"
            return FetchError(f"{where}: {reason}", url=url)
        if isinstance(exc, requests.exceptions.RequestException):
            return FetchError(f"{where}: request failed ({exc.__class__.__name__})", url=url)
        return FetchError(f"{where}: request failed ({exc.__class__.__name__}: {str(exc)[:120]})", url=url)


ENTITY_DECL = re.compile(r"<!\s*ENTITY", re.IGNORECASE)
INTERNAL_SUBSET = re.compile(r"<!\s*DOCTYPE[^>]*\[", re.IGNORECASE)
DOCTYPE = re.compile(r"<!\s*DOCTYPE", re.IGNORECASE)
EXTERNAL_DOCTYPE_BYTES = re.compile(rb"<!\s*DOCTYPE[^>\[]*>", re.IGNORECASE)


def _decode_for_scan(body: bytes) -> tuple[str, bool]:
    """Text to scan for declarations, whatever the encoding; and whether the bytes are ASCII-compatible."""
    for bom, codec in ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
                       (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le")):
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="ignore"), False
    if body[:2] == b"\x00<":
        return body.decode("utf-16-be", errors="ignore"), False
    if body[:2] == b"<\x00":
        return body.decode("utf-16-le", errors="ignore"), False
    return body.decode("latin-1"), True


def check_xml_safe(body: bytes, where: str) -> bytes:
    """Refuse XML that declares DTD entities or has an internal DTD subset, before any parser sees it.

    A plain external DOCTYPE (old RSS 0.91 feeds carry one) declares nothing and no parser here fetches it:
    it is removed rather than fatal. Returns the bytes to parse.
    """
    text, ascii_compatible = _decode_for_scan(body)
    if ENTITY_DECL.search(text) or INTERNAL_SUBSET.search(text):
        raise FetchError(f"{where}: refused: the document declares DTD entities (possible entity-expansion attack)")
    if DOCTYPE.search(text):
        if not ascii_compatible:
            raise FetchError(f"{where}: refused: DOCTYPE declaration in a UTF-16/32 document")
        body = EXTERNAL_DOCTYPE_BYTES.sub(b"", body, count=1)
    return body
