"""Keyed pseudonyms for authors: the same handle always maps to the same key, the handle is never stored.

    >>> key = load_or_create_key(paths.key_file)
    >>> pseudonymise("u/SomeUser", key) == pseudonymise("someuser", key)
    True

The key is a per-install secret: a file created with mode 0600 by `listen init`, or $LISTEN_PSEUDONYM_KEY.
Handles are normalised (case, leading 'u/' or '@') so a person who writes on several channels under the same
handle is one voice; without the key nobody can recompute or reverse the mapping.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from pipelines.errors import ListenError

KEY_ENV = "LISTEN_PSEUDONYM_KEY"
_ANONYMOUS = {"", "[deleted]", "[removed]", "deleted", "anonymous", "none", "null"}


class PseudonymKeyError(ListenError):
    """The pseudonym key is missing or unusable."""


def normalise_handle(handle: str | None) -> str | None:
    if handle is None:
        return None
    value = str(handle).strip().lower()
    for prefix in ("/u/", "u/", "@"):
        if value.startswith(prefix):
            value = value[len(prefix):]
    return None if value in _ANONYMOUS else value


def load_or_create_key(key_file: Path, *, create: bool = True) -> bytes:
    """The install's secret: $LISTEN_PSEUDONYM_KEY if set, else the key file (created 0600 if missing)."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        if len(from_env) < 16:
            raise PseudonymKeyError(f"{KEY_ENV} is too short: use at least 16 characters (e.g. `openssl rand -hex 32`)")
        return from_env.encode("utf-8")
    if key_file.exists():
        mode = key_file.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(key_file, 0o600)  # tighten a key that was copied around with loose permissions
        key = key_file.read_bytes().strip()
        if len(key) < 16:
            raise PseudonymKeyError(f"{key_file}: pseudonym key is too short or empty; restore it from backup")
        return key
    if not create:
        raise PseudonymKeyError(f"{key_file}: pseudonym key not found; run `listen init` (or set {KEY_ENV})")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_hex(32).encode("ascii"))
    return key_file.read_bytes().strip()


def pseudonymise(handle: str | None, key: bytes) -> str | None:
    """'a_' + 20 hex chars of HMAC-SHA256(key, normalised handle); None for anonymous/deleted authors."""
    value = normalise_handle(handle)
    if value is None:
        return None
    return "a_" + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
