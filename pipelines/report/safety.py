r"""Untrusted post text and links: only http(s) links survive; Markdown gets its own escaping.

    >>> safe_url("https://reddit.com/r/Denmark/comments/abc/")
    'https://reddit.com/r/Denmark/comments/abc/'
    >>> safe_url("javascript:alert(1)") is None
    True
    >>> md_text("<b>hi</b> | *x*")
    '&lt;b&gt;hi&lt;/b&gt; \\| \\*x\\*'

HTML escaping is Jinja2's autoescape (on for every template); this module covers what autoescape cannot:
which URLs may become links, and text placed in Markdown (where raw HTML would otherwise pass through).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; script-src 'none'; "
       "connect-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def safe_url(value) -> str | None:
    """The URL if it is an absolute http(s) URL with a host and no whitespace or control characters, else None."""
    if not isinstance(value, str) or not value or len(value) > 2000 or _CONTROL.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    return value


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")
_MD_LINE_START = re.compile(r"^(#|>|[-+=](?=\s|$)|\d+(?=[.)]))")


def md_text(value) -> str:
    """Text that Markdown renders literally, on one line: HTML neutralised, markup characters escaped."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"\s+", " ", text).strip()
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # Only the start of a value can open a heading, quote, list or setext rule; a backslash defuses it.
    return _MD_LINE_START.sub(lambda m: "\\" + m.group(1) if not m.group(1)[0].isdigit() else m.group(1) + "\\",
                              text)


def md_link(text, url) -> str:
    """[text](<url>) for a safe URL, else just the escaped text."""
    url = safe_url(url)
    if not url:
        return md_text(text)
    return f"[{md_text(text)}](<{quote(url, safe=':/?#@!$&*+,;=%~._-')}>)"
