"""A loopback SMTP receiver (stdlib only) for tests and the demo: it speaks enough ESMTP for smtplib (EHLO, AUTH
PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps what it received, with switchable faults.

    >>> with SmtpReceiver(users={"listen": "s3cret"}) as smtp:          # 127.0.0.1, a free port
    ...     smtp.set_fault("tempfail", times=1)                           # the next DATA gets 451, then all is well
    ...     ...                                                            # send to 127.0.0.1:smtp.port
    ...     smtp.messages[0]["to"], smtp.messages[0]["message"]["Subject"]

Faults: "tempfail" (451 after DATA, as a greylisting or busy server answers), "reject_auth" (535 whatever the
credentials), "drop" (closes the connection after the greeting), "reject_rcpt" (550 for every recipient).
"""

from __future__ import annotations

import base64
import email
import email.policy
import socketserver
import threading


class SmtpReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, users: dict[str, str] | None = None):
        if host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("the SMTP receiver only listens on loopback")
        self.users = users  # None: no AUTH offered; else user -> password that AUTH must match
        self.messages: list[dict] = []  # {"from", "to", "user", "data" (bytes), "message" (email.message)}
        self.sessions = 0
        self._faults: dict[str, int | None] = {}
        self._lock = threading.Lock()
        self._server = socketserver.ThreadingTCPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def set_fault(self, mode: str | None, times: int | None = None) -> None:
        """Act out `mode` every time, or for the next `times` sessions that reach it; None clears every fault."""
        with self._lock:
            if mode is None:
                self._faults.clear()
            else:
                self._faults[mode] = times

    def _fault(self, mode: str) -> bool:
        with self._lock:
            if mode not in self._faults:
                return False
            left = self._faults[mode]
            if left is not None:
                if left <= 1:
                    del self._faults[mode]
                else:
                    self._faults[mode] = left - 1
            return True

    def start(self) -> "SmtpReceiver":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "SmtpReceiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handler_class(self):
        receiver = self

        class _Session(socketserver.StreamRequestHandler):
            timeout = 10

            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def readline(self) -> str | None:
                raw = self.rfile.readline(10_000)
                return raw.decode("utf-8", "replace").rstrip("\r\n") if raw else None

            def handle(self) -> None:
                with receiver._lock:
                    receiver.sessions += 1
                self.reply("220 listen-sandbox ESMTP")
                if receiver._fault("drop"):
                    return
                sender, recipients, user = None, [], None
                while (line := self.readline()) is not None:
                    verb, _, arg = line.partition(" ")
                    verb = verb.upper()
                    if verb in {"EHLO", "HELO"}:
                        extras = ["250-AUTH PLAIN LOGIN"] if receiver.users is not None else []
                        for extra in ["250-listen-sandbox", *extras, "250-8BITMIME"]:
                            self.reply(extra)
                        self.reply("250 SMTPUTF8")
                    elif verb == "AUTH":
                        user = self.authenticate(arg)
                        if user is None:
                            self.reply("535 5.7.8 Authentication credentials invalid")
                        else:
                            self.reply("235 2.7.0 Authentication successful")
                    elif verb == "MAIL":
                        if receiver.users is not None and user is None:
                            self.reply("530 5.7.0 Authentication required")
                            continue
                        sender, recipients = arg.split(":", 1)[1].strip().split(" ")[0].strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        if receiver._fault("reject_rcpt"):
                            self.reply("550 5.1.1 No such user here")
                            continue
                        recipients.append(arg.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        data = self.read_data()
                        if receiver._fault("tempfail"):
                            self.reply("451 4.3.0 Try again later")
                            continue
                        message = email.message_from_bytes(data, policy=email.policy.default)
                        with receiver._lock:
                            receiver.messages.append({"from": sender, "to": recipients, "user": user, "data": data,
                                                      "message": message})
                        self.reply("250 OK: queued")
                    elif verb in {"RSET", "NOOP"}:
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 5.5.2 Command not implemented")

            def read_data(self) -> bytes:
                lines = []
                while True:
                    raw = self.rfile.readline(1_000_000)
                    if not raw or raw in (b".\r\n", b".\n"):
                        break
                    lines.append(raw[1:] if raw.startswith(b"..") else raw)
                return b"".join(lines)

            def authenticate(self, arg: str) -> str | None:
                mechanism, _, initial = arg.partition(" ")
                if mechanism.upper() == "PLAIN":
                    if not initial:
                        self.reply("334 ")
                        initial = self.readline() or ""
                    try:
                        _, user, password = base64.b64decode(initial).decode().split("\0")
                    except ValueError:
                        return None
                elif mechanism.upper() == "LOGIN":
                    self.reply("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.readline() or "").decode()
                    self.reply("334 UGFzc3dvcmQ6")
                    password = base64.b64decode(self.readline() or "").decode()
                else:
                    return None
                if receiver._fault("reject_auth") or (receiver.users or {}).get(user) != password:
                    return None
                return user

        return _Session
