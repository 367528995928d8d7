"""The one HTTP client: timeouts, byte caps, retries with backoff, conditional GET, politeness per host.

    >>> client = HttpClient(user_agent="community-listening/0.1")
    >>> page = client.get("http://127.0.0.1:8765/feed.xml", etag=cursor.get("etag"), source="blog")
    >>> page.not_modified or page.body[:5]

JSON APIs call `request` (any method, params, a body, auth) and judge the status themselves; a per-run
`RequestBudget` caps and paces their requests and stops when the API's rate-limit headers say the window is used
up; `Response.json()` and `Response.links` (the Link header, for paging) read what came back:

    >>> budget = RequestBudget(limit=90, per_minute=100)
    >>> page = client.request("GET", url, source="r-denmark", params={"limit": 100}, budget=budget)
    >>> page.status_code, page.json()["data"], page.links.get("next")

Every failure raises FetchError naming the source, the URL and the cause, with a next step where one exists.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json as jsonlib
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers, parse_header_links

from pipelines import __version__
from pipelines.errors import ListenError

DEFAULT_USER_AGENT = f"community-listening/{__version__} (self-hosted social listening)"
RETRY_STATUSES = {429, 500, 502, 503, 504, 520, 521, 522, 523, 524}


class FetchError(ListenError):
    """A request that failed for good. ``status`` is the HTTP status when there was one; ``retry`` says whether
    trying again at once may help (a dropped connection may, a body over the byte cap will not)."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None, retry: bool = False):
        super().__init__(message)
        self.status = status
        self.url = url
        self.retry = retry


class BudgetExhausted(FetchError):
    """The run's request budget (or the API's rate-limit window) is used up: keep what was fetched, report the run
    as partial, and continue next run. The message says which limit was reached."""


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
    """A whole response, read within the byte cap and the deadline. Reads like a requests.Response where a client
    library expects one (`status_code`, case-insensitive `headers`, `text`, `json()`)."""

    url: str
    status: int
    body: bytes
    headers: CaseInsensitiveDict
    not_modified: bool = False

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def text(self) -> str:
        """The body as text, in the charset the server declared (UTF-8 if none); undecodable bytes replaced."""
        charset = get_encoding_from_headers(self.headers) if "charset" in self.content_type else None
        return self.body.decode(charset or "utf-8", errors="replace")

    def json(self):
        """The body parsed as JSON; ValueError when it is not JSON."""
        return jsonlib.loads(self.body)

    @property
    def links(self) -> dict[str, str]:
        """The Link header by relation (RFC 8288), e.g. {'next': 'https://.../api?page=2'}: how APIs page."""
        return {link["rel"]: link["url"] for link in parse_header_links(self.headers.get("link", ""))
                if link.get("rel") and link.get("url")}


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


def ratelimit_wait(headers, now: float | None = None) -> float | None:
    """Seconds until the server's rate-limit window resets, from whichever header style it sends; None if none.

    Mastodon: ``x-ratelimit-reset`` = ISO 8601 time; Reddit: ``x-ratelimit-reset`` = seconds; IETF draft and
    Bluesky: ``ratelimit-reset`` = seconds (the draft) or a Unix time (Bluesky).
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


def ratelimit_remaining(headers) -> float | None:
    """Requests left in the current rate-limit window (``x-ratelimit-remaining`` or ``ratelimit-remaining``)."""
    value = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def link_url(headers, rel: str) -> str | None:
    """The URL of one relation in an RFC 8288 ``Link`` header (Mastodon pages with rel="next"/"prev")."""
    for link in parse_header_links(headers.get("link") or ""):
        if rel in (link.get("rel") or "").split():
            return link.get("url") or None
    return None


def decode_json(body: bytes, where: str):
    """A JSON response body, or FetchError saying what came instead (HTML error page, cut body, bad bytes)."""
    if not body.strip():
        raise FetchError(f"{where}: empty response where JSON was expected; the next run will try again")
    try:
        return jsonlib.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise FetchError(f"{where}: response is not valid UTF-8 JSON; the next run will try again") from None
    except RecursionError:
        raise FetchError(f"{where}: JSON nested too deeply to read; refusing the response") from None
    except ValueError as exc:
        head = body[:60].decode("utf-8", "replace").strip()
        raise FetchError(f"{where}: response is not valid JSON ({exc.msg} at character {exc.pos}; starts "
                         f"{head!r}): check the URL, or the server is failing") from None


RATELIMIT_HEADERS = (("x-ratelimit-remaining", "x-ratelimit-reset"), ("ratelimit-remaining", "ratelimit-reset"))


@dataclass
class RequestBudget:
    """How many requests one run may send to an API and how fast, and what the API says is left of its window.

        >>> budget = RequestBudget(limit=90, per_minute=100)
        >>> client.request("GET", url, source="r-denmark", budget=budget)   # BudgetExhausted once used up
        >>> budget.used, budget.requests_per_minute()

    Every attempt counts, retries included. ``per_minute`` keeps requests at least 60/per_minute seconds apart (on
    top of the client's per-host ``min_delay``). The rate-limit headers APIs send (``x-ratelimit-remaining`` /
    ``-reset`` as Reddit and Mastodon do, or the IETF draft's ``ratelimit-remaining``) are noted from every
    response; when one says nothing is left, the next request raises BudgetExhausted instead of being sent.
    """

    limit: int
    per_minute: float | None = None
    used: int = 0
    stamps: list[float] = field(default_factory=list)  # monotonic time of each request sent
    remaining: float | None = None
    reset: str | None = None

    def take(self) -> None:
        """Count one request, or raise BudgetExhausted when the budget or the API's window is used up."""
        if self.used >= self.limit:
            raise BudgetExhausted(f"request budget of {self.limit} used up")
        if self.remaining is not None and self.remaining < 1:
            raise BudgetExhausted("the API's rate-limit window is used up"
                                  + (f" (it resets at {self.reset})" if self.reset else ""))
        self.used += 1

    def earliest(self) -> float:
        """The monotonic time the next request may be sent at."""
        if not self.per_minute or not self.stamps:
            return 0.0
        return self.stamps[-1] + 60.0 / self.per_minute

    def note(self, headers) -> None:
        """Remember what the API says is left (an unreadable header is ignored: the budget still bounds the run)."""
        for remaining, reset in RATELIMIT_HEADERS:
            if remaining in headers:
                try:
                    self.remaining = float(headers[remaining])
                except ValueError:
                    return
                self.reset = headers.get(reset)
                return

    def requests_per_minute(self) -> float:
        """Requests per minute over this run (0 for fewer than two requests)."""
        if len(self.stamps) < 2:
            return 0.0
        return (len(self.stamps) - 1) * 60.0 / max(self.stamps[-1] - self.stamps[0], 1e-6)


@dataclass
class _HostGate:
    """Serialises requests to one host and keeps `min_delay` seconds between them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float = 0.0


class HttpClient:
    """A polite, bounded HTTP client shared by every source.

    - connect/read timeouts and a total deadline per response (a trickling server cannot hold a run);
    - a byte cap per response, checked while streaming (an oversized body is never held in memory);
    - retries with exponential backoff on 5xx/429 and dropped connections, honouring Retry-After up to
      ``max_retry_after``;
    - conditional GET (If-None-Match / If-Modified-Since) when the caller passes validators;
    - one request at a time per host with ``min_delay`` seconds between them; an optional RequestBudget per run.
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
        """GET with retries; raises FetchError for any status >= 400. A 304 returns Response(not_modified=True)."""
        request_headers = {"Accept": accept}
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        request_headers.update(headers or {})
        response = self.request("GET", url, source=source, headers=request_headers, max_bytes=max_bytes)
        if response.status == 304:
            response.not_modified = True
            return response
        if response.status >= 400:
            hint = {401: "check credentials", 403: "access is forbidden", 404: "check the URL",
                    410: "the resource is gone; remove or update the source"}.get(response.status, "")
            where = self._where(source, "GET", url)
            raise FetchError(f"{where}: HTTP {response.status}" + (f" ({hint})" if hint else ""),
                             status=response.status, url=url)
        return response

    def request(
        self,
        method: str,
        url: str,
        *,
        source: str = "",
        params=None,
        data=None,
        json=None,
        headers: dict[str, str] | None = None,
        auth=None,
        max_bytes: int | None = None,
        allow_redirects: bool = True,
        budget: RequestBudget | None = None,
    ) -> Response:
        """Send one request, retrying 5xx/429 (Retry-After honoured) and dropped connections; returns the response
        whatever its status (the caller judges a 4xx) or raises FetchError when it failed for good, and
        BudgetExhausted when `budget` allows no more requests."""
        if not re.match(r"^https?://", url):
            raise FetchError(f"{source}: refusing to fetch {redact_url(url)!r}: only http(s) URLs are allowed", url=url)
        request_headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate", **(headers or {})}
        send = dict(params=params, data=data, json=json, headers=request_headers, auth=auth,
                    allow_redirects=allow_redirects)
        cap = max_bytes or self.max_bytes
        where = self._where(source, method, url)
        attempt = 0
        while True:
            attempt += 1
            if budget is not None:
                budget.take()
            try:
                response = self._request_once(method, url, send, cap, where, budget)
            except FetchError as exc:
                if exc.retry and attempt <= self.retries:
                    self._sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise
            if budget is not None:
                budget.note(response.headers)
            if response.status not in RETRY_STATUSES:
                return response
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
            if attempt > self.retries:
                raise FetchError(
                    f"{where}: HTTP {response.status} after {attempt} attempts; the server is failing or "
                    f"rate-limiting, the next run will try again",
                    status=response.status,
                    url=url,
                )
            self._sleep(wait if wait is not None else self.backoff * 2 ** (attempt - 1))

    def post_json(self, url: str, payload: dict, *, source: str = "", headers: dict[str, str] | None = None,
                  max_bytes: int | None = None) -> Response:
        """One POST of a JSON body (a login), through the same host gate, caps and errors as every request; no
        retries. Raises FetchError for HTTP >= 400; neither the payload nor the headers ever appear in a message."""
        if not re.match(r"^https?://", url):
            raise FetchError(f"{source}: refusing to post to {redact_url(url)!r}: only http(s) URLs are allowed", url=url)
        send = dict(json=payload, allow_redirects=False,
                    headers={"User-Agent": self.user_agent, "Accept": "application/json", **(headers or {})})
        where = self._where(source, "POST", url)
        response = self._request_once("POST", url, send, max_bytes or self.max_bytes, where, None)
        if response.status >= 400:
            raise FetchError(f"{where}: HTTP {response.status}", status=response.status, url=url)
        return response

    @staticmethod
    def _where(source: str, method: str, url: str) -> str:
        target = redact_url(url) if method.upper() == "GET" else f"{method.upper()} {redact_url(url)}"
        return f"{source}: {target}" if source else target

    def _request_once(self, method: str, url: str, send: dict, cap: int, where: str,
                      budget: RequestBudget | None) -> Response:
        gate = self._gate(url)
        with gate.lock:
            wait = max(gate.last + self.min_delay, budget.earliest() if budget else 0.0) - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            try:
                return self._stream(method, url, send, cap, where)
            finally:
                gate.last = time.monotonic()
                self.requests_made += 1
                if budget is not None:
                    budget.stamps.append(gate.last)

    def _stream(self, method: str, url: str, send: dict, cap: int, where: str) -> Response:
        total = self.connect_timeout + self.read_timeout
        deadline = time.monotonic() + total
        try:
            with self.session.request(method, url, stream=True, timeout=(self.connect_timeout, self.read_timeout),
                                      **send) as resp:
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
                                         url=url, retry=True)
                    chunks.append(chunk)
                return Response(url=resp.url, status=resp.status_code, body=b"".join(chunks),
                                headers=CaseInsensitiveDict(resp.headers))
        except FetchError:
            raise
        except Exception as exc:
            raise self._explain(exc, where, url) from None

    def _explain(self, exc: Exception, where: str, url: str) -> FetchError:
        """A requests/urllib3 exception as one FetchError line a user can act on."""
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return FetchError(f"{where}: body could not be decoded (corrupt compression)", url=url, retry=True)
        if isinstance(exc, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)):
            return FetchError(f"{where}: timed out (connect {self.connect_timeout}s / read {self.read_timeout}s)",
                              url=url, retry=True)
        if isinstance(exc, requests.exceptions.TooManyRedirects):
            return FetchError(f"{where}: too many redirects", url=url, retry=True)
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)) \
                or "IncompleteRead" in str(exc):
            return FetchError(f"{where}: connection closed before the body was complete (truncated response)",
                              url=url, retry=True)
        if isinstance(exc, requests.exceptions.ConnectionError):
            text = str(exc)
            reason = "connection failed"
            if "refused" in text.lower():
                reason = "connection refused (is the server running?)"
            elif "Name or service not known" in text or "getaddrinfo" in text:
                reason = "host name could not be resolved"
            return FetchError(f"{where}: {reason}", url=url, retry=True)
        if isinstance(exc, requests.exceptions.RequestException):
            return FetchError(f"{where}: request failed ({exc.__class__.__name__})", url=url, retry=True)
        return FetchError(f"{where}: request failed ({exc.__class__.__name__}: {str(exc)[:120]})", url=url,
                          retry=True)


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
