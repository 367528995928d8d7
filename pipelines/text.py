"""Plain text from the HTML that feeds and APIs deliver, and styled letters folded to plain ones.

    >>> html_to_text("<p>Hello <b>world</b></p><script>x()</script><p>Bye &amp; thanks</p>")
    'Hello world\\n\\nBye & thanks'
    >>> fold_styled("𝐓𝐡𝐢𝐬 𝐚𝐩𝐩 𝐢𝐬 𝓽𝓮𝓻𝓻𝓲𝓫𝓵𝓮 ＡＧＡＩＮ ①")
    'This app is terrible AGAIN 1'
"""

from __future__ import annotations

import re
import unicodedata
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


# Letters that social posts write in "fonts" (𝐛𝐨𝐥𝐝, 𝓼𝓬𝓻𝓲𝓹𝓽, 𝔣𝔯𝔞𝔨𝔱𝔲𝔯, ｆｕｌｌｗｉｄｔｈ, Ⓒⓘⓡⓒⓛⓔⓓ, 🅂🅀🅄🄰🅁🄴🄳, ﬁ-ligatures): to a
# language model, a lexicon or a redaction pattern they are not letters at all. NFKC maps each to its plain
# letter; only these blocks are folded, so "…", "½", "²" or a non-breaking space stay as written.
_STYLED_RANGES = ((0x1D400, 0x1D7FF), (0xFF01, 0xFF5E), (0xFB00, 0xFB06), (0x2460, 0x24FF), (0x1F130, 0x1F189))
_STYLED = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _STYLED_RANGES) + "]")
_STYLED_RE2 = "[" + "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in _STYLED_RANGES) + "]"


def fold_styled(text: str | None) -> str | None:
    """`text` with styled letters and digits (mathematical alphanumerics, full-width forms, ligatures, enclosed
    letters) replaced by plain ones; None and text without them pass through unchanged."""
    if not text or not _STYLED.search(text):
        return text
    return _STYLED.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def fold_styled_many(texts: list[str | None]) -> list[str | None]:
    """[fold_styled(t) for t in texts], with one vectorised scan (RE2, pyarrow) picking the texts that need it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    gates = pc.fill_null(pc.match_substring_regex(pa.array(texts, pa.large_string()), _STYLED_RE2), False)
    return [fold_styled(text) if gate else text for text, gate in zip(texts, gates.to_pylist())]
