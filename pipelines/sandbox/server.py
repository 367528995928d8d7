"""A loopback HTTP server that plays the real services from recorded payloads, with switchable faults.

    >>> with Sandbox() as sandbox:                       # 127.0.0.1, a free port
    ...     url = sandbox.url("/feeds/heise.atom")
    ...     sandbox.set_fault("/feeds/heise.atom", "status:500")

Routes are (path prefix -> handler) pairs; each service module (feeds, reddit, appstore, mastodon, bluesky,
discourse) registers its own
with `register(sandbox)`. Faults apply to a path prefix and model what real servers do: error statuses with
their headers, slowness, trickling, truncated, oversized or invalid bodies, entity-expansion XML.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title><item><title>&lol3;</title></item></channel></rss>"""
QUADRATIC_BLOWUP = (b'<?xml version="1.0"?>\n<!DOCTYPE kaboom [<!ENTITY a "' + b"a" * 50_000 + b'">]>\n'
                    b"<rss><channel><title>" + b"&a;" * 5_000 + b"</title></channel></rss>")
FAULT_HELP = """fault modes: status:CODE[:retry_after=N] | slow:SECONDS | trickle | truncate | oversize:BYTES |
invalid_utf8 | entity_bomb | quadratic_blowup | empty | html | malformed_json"""
SERVICES = ("feeds", "reddit", "appstore", "mastodon", "bluesky", "discourse", "webhook")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"


Handler = Callable[[Request], Reply]


def static_reply(request: Request, body: bytes, content_type: str, last_modified: float = 1_700_000_000) -> Reply:
    """A file reply with ETag and Last-Modified that answers conditional GETs with 304."""
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    modified = formatdate(last_modified, usegmt=True)
    if request.headers.get("if-none-match") == etag or (
        "if-none-match" not in request.headers and request.headers.get("if-modified-since") == modified
    ):
        return Reply(status=304, headers={"ETag": etag, "Last-Modified": modified})
    return Reply(body=body, content_type=content_type, headers={"ETag": etag, "Last-Modified": modified})


class Sandbox:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, services: tuple[str, ...] = SERVICES):
        if host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("the sandbox only listens on loopback")
        self.routes: list[tuple[str, Handler]] = []
        self.faults: dict[str, str] = {}
        self._fault_budget: dict[str, int] = {}
        self.options: dict = {}  # per-service settings (e.g. feed_dates_end for replaying old feeds as recent)
        self.hits: list[tuple[str, str, float]] = []  # (method, path?query, time) - tests assert politeness from it
        self.user_agents: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.services = services
        for name in services:
            self._register_service(name)

    def _register_service(self, name: str) -> None:
        import importlib

        try:
            module = importlib.import_module(f"pipelines.sandbox.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"pipelines.sandbox.{name}":
                return  # service not built (yet): its routes are simply absent
            raise
        module.register(self)

    # -- lifecycle -----------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> "Sandbox":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- configuration -----------------------------------------------------------------------------------------
    def route(self, prefix: str, handler: Handler) -> None:
        self.routes.append((prefix, handler))
        self.routes.sort(key=lambda r: -len(r[0]))  # longest prefix wins

    def set_fault(self, prefix: str, mode: str | None, times: int | None = None) -> None:
        """Make requests under `prefix` fail in the given way: every time, or only the next `times` requests
        (then the service answers normally again, as a recovering server does). None clears it. See FAULT_HELP."""
        with self._lock:
            if mode is None:
                self.faults.pop(prefix, None)
                self._fault_budget.pop(prefix, None)
            else:
                self.faults[prefix] = mode
                if times is not None:
                    self._fault_budget[prefix] = times

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self._fault_budget.clear()

    def fault_for(self, path: str) -> str | None:
        """The fault to act out for this request (consuming one use of a limited fault)."""
        with self._lock:
            matches = [p for p in self.faults if path.startswith(p)]
            if not matches:
                return None
            prefix = max(matches, key=len)
            mode = self.faults[prefix]
            if prefix in self._fault_budget:
                self._fault_budget[prefix] -= 1
                if self._fault_budget[prefix] <= 0:
                    del self._fault_budget[prefix]
                    del self.faults[prefix]
            return mode

    # -- request handling ----------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Reply:
        for prefix, handler in self.routes:
            if request.path.startswith(prefix):
                return handler(request)
        return Reply(status=404, body=b'{"message": "Not Found", "error": 404}', content_type="application/json")

    def _handler_class(self):
        sandbox = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "listen-sandbox/1"

            def log_message(self, *args):  # keep test and demo output clean
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(min(length, 10_000_000)) if length else b""
                request = Request(self.command, parts.path, parse_qs(parts.query),
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                with sandbox._lock:
                    sandbox.hits.append((self.command, self.path, time.monotonic()))
                    sandbox.user_agents.append(self.headers.get("user-agent", ""))
                fault = sandbox.fault_for(parts.path)
                try:
                    if fault and self._fault(fault):
                        return
                    reply = sandbox.dispatch(request)
                except Exception as exc:  # a bug in a fake must surface as a 500, not a hung client
                    reply = Reply(status=500, body=f"sandbox error: {exc}".encode(), content_type="text/plain")
                self._send(reply)

            do_GET = do_POST = do_HEAD = _serve

            def _send(self, reply: Reply, *, length: int | None = None):
                self.send_response(reply.status)
                headers = {"Content-Type": reply.content_type, **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body) if length is None else length))
                self.end_headers()
                if self.command != "HEAD" and reply.status != 304:
                    self.wfile.write(reply.body)

            def _fault(self, mode: str) -> bool:
                """Act out a fault; return True when the response has been fully handled."""
                name, _, arg = mode.partition(":")
                if name == "status":
                    code, _, extra = arg.partition(":")
                    headers = {}
                    if extra.startswith("retry_after="):
                        headers["Retry-After"] = extra.split("=", 1)[1]
                    if code == "401":
                        headers["WWW-Authenticate"] = 'Bearer realm="reddit", error="invalid_token"'
                    body = b'{"message": "fault", "error": ' + code.encode() + b"}"
                    self._send(Reply(status=int(code), body=body, headers=headers, content_type="application/json"))
                    return True
                if name == "slow":
                    time.sleep(min(float(arg or 5), 30))
                    return False
                if name == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(60):  # one byte a second, for at most a minute
                        try:
                            self.wfile.write(b"<")
                            self.wfile.flush()
                        except OSError:
                            return True
                        time.sleep(1)
                    return True
                if name == "truncate":
                    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>cut</title><item><title>par'
                    self._send(Reply(body=body, content_type="application/rss+xml"), length=len(body) + 5000)
                    self.close_connection = True
                    return True
                if name == "oversize":
                    total = int(arg or 200_000_000)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    if not self.path.endswith("nolength"):
                        self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b"<item><title>" + b"x" * 65000 + b"</title></item>"
                    sent = 0
                    try:
                        while sent < total:
                            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                            sent += len(chunk)
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass  # the client hung up at its byte cap, as it should
                    self.close_connection = True
                    return True
                if name == "invalid_utf8":
                    body = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bad \xff\xfe bytes'
                            b"</title><item><guid>u1</guid><title>caf\xe9 \xc3\x28 ok</title><description>text \x80\x81"
                            b"</description></item></channel></rss>")
                    self._send(Reply(body=body, content_type="application/rss+xml; charset=utf-8"))
                    return True
                if name == "entity_bomb":
                    self._send(Reply(body=BILLION_LAUGHS, content_type="application/rss+xml"))
                    return True
                if name == "quadratic_blowup":
                    self._send(Reply(body=QUADRATIC_BLOWUP, content_type="application/rss+xml"))
                    return True
                if name == "empty":
                    self._send(Reply(body=b"", content_type="application/json"))
                    return True
                if name == "malformed_json":  # a JSON API answering 200 with a body cut mid-object
                    self._send(Reply(body=b'[{"id": "1", "content": "<p>cut', content_type="application/json"))
                    return True
                if name == "html":
                    self._send(Reply(body=b"<html><body><h1>Service unavailable</h1></body></html>",
                                     content_type="text/html"))
                    return True
                raise ValueError(f"unknown fault {mode!r}; {FAULT_HELP}")

        return _Handler
