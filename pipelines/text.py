"""Plain text from the HTML that feeds and APIs deliver.

    >>> html_to_text("<p>Hello <b>world</b></p><script>x()</script><p>Bye &amp; thanks</p>")
    'Hello world\\n\\nBye & thanks'
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {"p", "div", "br", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
          "table", "section", "article", "header", "footer", "hr", "dd", "dt"}
_SKIP = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "head"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append("\n\n" if tag in {"p", "div", "blockquote", "pre", "hr"} else "\n")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip_depth:
            self.parts.append(data)


_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!][^>]*>|&[a-zA-Z#][a-zA-Z0-9]*;")


def html_to_text(value: str | None) -> str:
    """Visible text of an HTML fragment, whitespace tidied; plain text passes through (entities decoded)."""
    if not value:
        return ""
    value = value.replace("\x00", "")
    if _LOOKS_LIKE_HTML.search(value):
        parser = _TextExtractor()
        parser.feed(value)
        parser.close()
        value = "".join(parser.parts)
    value = re.sub(r"[ \t\r\f\v\u00a0]+", " ", value)
    value = re.sub(r" *\n *", "\n", value)
    value = re.sub(r"\n{3,}", "\n\n", value)
    return value.strip()


def shorten(text: str | None, limit: int = 240) -> str:
    """A one-line excerpt of at most `limit` characters, cut at a word boundary."""
    if not text:
        return ""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
