"""Sending alerts: one e-mail (smtplib) or one webhook POST (the project's HTTP client) per destination per run.

    >>> outcome = send(destination, alerts, Strings("da"), report_path="reports/2026-11-21/editorial-report.html")
    >>> outcome.ok, outcome.attempts, outcome.error
    (False, 3, "desk-mail: SMTP server smtp.example.org:587 refused the login (535); check $LISTEN_SMTP_USER ...")

A failed send is retried with backoff (`[alerts] retries`, `backoff`) when trying again can help (a dropped
connection, a timeout, a 4xx SMTP reply, HTTP 5xx/429), and then reported, never raised: the caller records it and
the run goes on. Secrets (the SMTP user and password, the webhook URL, which carries its token) come from
environment variables named in listen.toml and are scrubbed from every error message before it is returned.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from pipelines.alerts.messages import email_text, webhook_body
from pipelines.errors import ListenError
from pipelines.http import FetchError, HttpClient, redact_url
from pipelines.report.i18n import Strings


@dataclass
class SendOutcome:
    ok: bool
    attempts: int
    error: str | None = None


class SendFailed(ListenError):
    """A send that failed; `retry` says whether trying again may help. Caught inside `send`, whose outcome carries
    the message with secrets scrubbed; never raised to the run."""

    def __init__(self, message: str, retry: bool):
        super().__init__(message)
        self.retry = retry


def scrub(text: str, secrets: dict[str, str]) -> str:
    """`text` with each secret value replaced by the name of the variable it came from ($NAME)."""
    for name, value in sorted(secrets.items(), key=lambda kv: -len(kv[1] or "")):
        if value and len(value) >= 3:
            text = text.replace(value, f"${name}")
    return text


def _env(name: str | None, destination: str) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if not value:
        raise SendFailed(f"environment variable {name} is not set; set it for the process that runs `listen run` "
                      f"(or the Airflow workers)", retry=False)
    return value


def _secrets(destination) -> dict[str, str]:
    """The secret values this destination uses, by variable name, plus the forms they show up in (a URL's path)."""
    found = {}
    for attr in ("username_env", "password_env", "url_env"):
        name = getattr(destination, attr, None)
        value = os.environ.get(name) if name else None
        if value:
            found[name] = value
            if attr == "url_env":
                parts = urlsplit(value)
                found[f"{name} (path)"] = parts.path + (f"?{parts.query}" if parts.query else "")
                found[f"{name} (redacted)"] = redact_url(value)
    return found


def _smtp_send(destination, message: EmailMessage) -> None:
    """One attempt to hand `message` to the SMTP server; SendFailed says whether a retry may help."""
    user, password = _env(destination.username_env, destination.name), _env(destination.password_env, destination.name)
    server = f"{destination.host}:{destination.port}"
    try:
        if destination.security == "ssl":
            smtp = smtplib.SMTP_SSL(destination.host, destination.port, timeout=destination.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(destination.host, destination.port, timeout=destination.timeout)
        with smtp:
            smtp.ehlo()
            if destination.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if user or password:
                smtp.login(user or "", password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendFailed(f"SMTP server {server} refused the login ({exc.smtp_code}); check "
                      f"${destination.username_env} and ${destination.password_env}", retry=False) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise SendFailed(f"SMTP server {server} does not support what the config asks ({exc}); check `security` "
                      f"(starttls, ssl or none)", retry=False) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(f"{address} ({code})" for address, (code, _) in exc.recipients.items())
        raise SendFailed(f"SMTP server {server} refused the recipients {refused}; check `to`", retry=False) from None
    except smtplib.SMTPSenderRefused as exc:
        raise SendFailed(f"SMTP server {server} refused the sender {exc.sender} ({exc.smtp_code}); check `sender`",
                      retry=400 <= exc.smtp_code < 500) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise SendFailed(f"SMTP server {server} answered {exc.smtp_code} {text[:200]}",
                      retry=400 <= exc.smtp_code < 500) from None
    except ssl.SSLError as exc:
        raise SendFailed(f"TLS with SMTP server {server} failed ({exc.reason or exc}); check `security` and `port` "
                      f"(465 is usually ssl, 587 starttls)", retry=False) from None
    except (smtplib.SMTPServerDisconnected, socket.timeout, TimeoutError) as exc:
        raise SendFailed(f"SMTP server {server} dropped the connection or timed out ({exc.__class__.__name__})",
                      retry=True) from None
    except OSError as exc:
        raise SendFailed(f"cannot reach SMTP server {server} ({exc.strerror or exc.__class__.__name__})",
                      retry=True) from None
    except smtplib.SMTPException as exc:
        raise SendFailed(f"SMTP server {server}: {exc.__class__.__name__}: {str(exc)[:200]}", retry=True) from None


def _email(destination, alerts: list[dict], t: Strings, report_path: str | None) -> EmailMessage:
    subject, body = email_text(alerts, t, report_path)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = destination.sender
    message["To"] = ", ".join(destination.to)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=destination.sender.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    message.set_content(body)
    return message


def _post(destination, alerts: list[dict], t: Strings, report_path: str | None, http: HttpClient) -> None:
    url = _env(destination.url_env, destination.name)
    try:
        response = http.request("POST", url, source=destination.name, allow_redirects=False,
                                json=webhook_body(alerts, t, destination.format, report_path),
                                headers={"Content-Type": "application/json"})
    except FetchError as exc:  # the client already retried what retrying can help
        raise SendFailed(str(exc), retry=False) from None
    if response.status >= 300:
        hint = {400: "the receiver rejected the body", 401: "the webhook needs other credentials",
                403: "the webhook was revoked or is not allowed", 404: f"check ${destination.url_env}",
                410: f"the webhook was deleted; update ${destination.url_env}"}.get(response.status, "")
        raise SendFailed(f"webhook answered HTTP {response.status}" + (f" ({hint})" if hint else ""), retry=False)


def send(destination, alerts: list[dict], t: Strings, *, report_path: str | None = None, retries: int = 2,
         backoff: float = 2.0, http: HttpClient | None = None, sleep=time.sleep) -> SendOutcome:
    """Send `alerts` to one destination, retrying what may succeed on a second try; never raises for a failed send."""
    secrets = _secrets(destination)
    attempts = 0
    while True:
        attempts += 1
        try:
            if destination.kind == "email":
                _smtp_send(destination, _email(destination, alerts, t, report_path))
            else:
                # the HTTP client retries 5xx/429 and dropped connections itself: one call makes every attempt
                client = http or HttpClient(retries=retries, backoff=backoff, min_delay=0, sleep=sleep)
                before = client.requests_made
                try:
                    _post(destination, alerts, t, report_path, client)
                finally:
                    attempts = max(1, client.requests_made - before)
            return SendOutcome(True, attempts)
        except SendFailed as exc:
            error = scrub(f"{destination.name}: {exc}", secrets)
            if not exc.retry or attempts > retries:
                return SendOutcome(False, attempts, error)
            sleep(backoff * 2 ** (attempts - 1))
        except Exception as exc:  # a bug or an unforeseen library error: recorded, never the run's end
            return SendOutcome(False, attempts, scrub(f"{destination.name}: unexpected {exc.__class__.__name__}: "
                                                      f"{str(exc)[:200]}", secrets))
