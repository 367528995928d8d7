"""Redact personal data from post text before it is stored (runs at load time on title and body).

    >>> redact("Skriv til jens.hansen@mail.dk eller ring +45 12 34 56 78")
    'Skriv til [email] eller ring [phone]'
    >>> redact("IBAN DE89 3704 0044 0532 0130 00, Karte 4111 1111 1111 1111")
    'IBAN [iban], Karte [card]'
    >>> redact("Ich wohne in der Hauptstraße 5, 10115 Berlin. Danke @anna_k!")
    'Ich wohne in der [address]. Danke @[user]!'
    >>> redact("Version 2.4.1 kostet 49,99 € seit 11.03.2024: https://example.org/a?b=1")   # unchanged
    'Version 2.4.1 kostet 49,99 € seit 11.03.2024: https://example.org/a?b=1'

Placeholders: ``[email] [phone] [iban] [card] [address] @[user]`` (and ``u/[user]`` for Reddit user links).
URLs are kept (public permalinks matter for follow-ups), except e-mail addresses inside them.
Every @-handle is treated as a private person: text alone cannot tell a brand account from a person.
Card numbers must pass the Luhn check and IBANs the ISO 7064 mod-97 check, so order numbers, dates, prices
and version numbers stay. Most posts contain no '@' and no digit; they return after two substring scans.
"""

from __future__ import annotations

import functools
import re
import sys

EMAIL = "[email]"
PHONE = "[phone]"
IBAN = "[iban]"
CARD = "[card]"
ADDRESS = "[address]"
HANDLE = "@[user]"

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# The lookbehind sits after the '@' (same meaning) so the pattern starts with a literal and the scan jumps
# from '@' to '@' instead of trying every position.
_HANDLE = re.compile(r"@(?<![\w@/.]@)(?!\[)[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?\b")
# An e-mail needs '@', a domain label and a dot; checking that first skips _EMAIL's slow scan of every word.
_EMAIL_HINT = re.compile(r"@[A-Za-z0-9-]+\.")
_REDDIT_USER = re.compile(r"(?<![\w/])(/?u/)[A-Za-z0-9_-]{3,20}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"(?<![\d.,])\d(?:[ -]?\d){12,18}(?![\d.,]\d)")

# Phone numbers, most specific first. Separators are spaces, '-', '/', '.' between digit groups.
_PHONE_PATTERNS = [
    # international: +45 12 34 56 78, +49 (0)30 1234567, 0049 171 1234567, +1 (555) 123-4567
    r"(?:\+|\b00)\d{1,3}[ .-]?(?:\(0\)[ .-]?)?(?:\(?\d{1,5}\)?[ ./-]?){1,5}\d{2,}",
    # German national: 030 12345678, 0171/1234567, 089 / 4567890, (089) 123 456 78, 0171-123 45 67
    r"(?<![\d.,])\(?0\d{2,5}\)?(?: ?[/-] ?| )?\d{2,8}(?:[ -]\d{2,5}){0,3}(?![\d.,]\d)",
    # Danish grouped: 12 34 56 78 and 1234 5678
    r"(?<![\d.,])[2-9]\d(?: \d{2}){3}(?![\d.,]\d)",
    r"(?<![\d.,])[2-9]\d{3} \d{4}(?![\d.,]\d)",
    # North American: 555-123-4567, (555) 123-4567
    r"(?<![\d.,])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\d.,]\d)",
    # bare 8-12 digit runs are phones only after a phone word (see _PHONE_AFTER_CUE)
]
_PHONE = re.compile("|".join(f"(?:{p})" for p in _PHONE_PATTERNS), re.IGNORECASE)
# "ring 12345678", "Tel.: 4930123456", "call me on 07700900123": group 1 is kept, group 2 is the number.
_PHONE_AFTER_CUE = re.compile(
    r"(\b(?:tlf|tel|telefon|telefonnummer|mobil|mobilnummer|handy|handynummer|phone|call|ring|sms|nummer|number)"
    r"\.?:?(?:\s+[a-zæøåäöü]{1,6}){0,3}\s*(?:nr\.?\s*)?)(\+?\d[\d -]{6,16}\d)(?![\d.,]\d)",
    re.IGNORECASE,
)

_DA_DE_STREET = (
    r"(?:gade|vej|allé|alle|plads|stræde|torv|vænge|boulevard|straße|strasse|str\.|weg|gasse|platz|allee|damm|ufer"
    r"|chaussee|steig|pfad)"
)
_ADDRESS = re.compile(
    # Vestergade 12, 2. th., 8000 Aarhus C  /  Hauptstraße 5a, 10115 Berlin
    rf"\b[A-ZÆØÅÄÖÜ][a-zæøåäöüß-]+{_DA_DE_STREET}\s\d{{1,4}}\s?[a-zA-Z]?\b"
    r"(?:,?\s\d{1,2}\.?\s?(?:th|tv|mf|sal|st)\b\.?)?"
    r"(?:,?\s\d{4,5}\s[A-ZÆØÅÄÖÜ][a-zæøåäöüß]+(?:\s[A-Z]\b|\s[A-ZÆØÅÄÖÜ][a-zæøåäöüß]+)?)?"
    # 221B Baker Street, 10 Downing St.
    r"|\b\d{1,5}[A-Za-z]?\s(?:[A-Z][a-z]+\s){1,3}(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Drive|Boulevard"
    r"|Blvd\.|Court|Terrace|Crescent)(?![A-Za-z])"
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _card_or_keep(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return CARD if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group()


def _iban_or_keep(match: re.Match) -> str:
    return IBAN if _iban_ok(match.group()) else match.group()


def _phone_or_keep(match: re.Match, group: int = 0) -> str:
    text = match.group(group)
    start, end = match.span(group)
    before, after = match.string[max(0, start - 2) : start], match.string[end : end + 2]
    if re.search(r"\d[ -]?$", before) or re.match(r"[ -]?\d", after):
        return text  # a slice of a longer digit-group run (an invalid card/IBAN, a tracking code)
    digits = sum(ch.isdigit() for ch in text)
    # Too few digits for any phone number, or a pair of years like "2023 2024" / "1999-2000".
    if digits < 8 or digits > 15 or re.fullmatch(r"(?:19|20)\d\d[ /-](?:19|20)\d\d", text):
        return text
    return PHONE


# Cheap gates before the expensive patterns. IBANs, card and phone numbers all hold at least eight digits
# separated by at most a few spaces/brackets/dots/dashes; an address needs a street word. Most posts with a
# digit (dates, prices, versions) pass neither gate and skip five regex scans (redaction runs on every post).
_DIGIT = re.compile(r"\d")
_EIGHT_DIGITS = re.compile(r"\d(?:[\s()./+-]{0,3}\d){7}")
# Case-sensitive, as _ADDRESS is (an IGNORECASE scan was 30x slower and matched "alle", "weg", "Ufer" anywhere).
_EN_STREET = r"Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Drive|Boulevard|Blvd\.|Court|Terrace|Crescent"
_STREET_WORD = re.compile(_DA_DE_STREET + "|" + _EN_STREET)


def _redact_plain(text: str) -> str:
    """Everything but URLs: e-mails, IBANs, cards, phones, addresses, handles (in that order: longest first)."""
    if "@" in text:
        if _EMAIL_HINT.search(text):
            text = _EMAIL.sub(EMAIL, text)
        text = _HANDLE.sub(HANDLE, text)
    if "u/" in text:
        text = _REDDIT_USER.sub(lambda m: f"{m.group(1)}[user]", text)
    if _DIGIT.search(text) is None:
        return text
    if _EIGHT_DIGITS.search(text):
        text = _IBAN.sub(_iban_or_keep, text)
        text = _CARD.sub(_card_or_keep, text)
    if _STREET_WORD.search(text):
        text = _ADDRESS.sub(ADDRESS, text)
    if _EIGHT_DIGITS.search(text):
        text = _PHONE_AFTER_CUE.sub(lambda m: m.group(1) + _phone_or_keep(m, group=2), text)
        text = _PHONE.sub(_phone_or_keep, text)
    return text


def redact(text: str | None) -> str | None:
    """Replace personal data in ``text`` with placeholders; None and '' pass through unchanged."""
    if not text:
        return text
    if "@" not in text and "u/" not in text and _DIGIT.search(text) is None:
        return text
    parts: list[str] = []
    position = 0
    for url in _URL.finditer(text):
        parts.append(_redact_plain(text[position : url.start()]))
        link = url.group()
        parts.append(_EMAIL.sub(EMAIL, link) if "@" in link else link)
        position = url.end()
    parts.append(_redact_plain(text[position:]))
    return "".join(parts)


# -- a column at a time ------------------------------------------------------------------------------------------
# redact() leaves a text unchanged unless it holds '@' or 'u/' (e-mails, handles, Reddit users), eight digits with
# at most three non-alphanumerics between each (IBANs, cards, phones all need that), or a street word before a
# digit or an English street word (addresses). One RE2 scan over the whole Arrow column (C++, no per-text Python)
# tests that necessary condition; only the texts that pass it go through redact(). RE2's \d and \s are ASCII,
# Python's are Unicode, so the scan is a superset: any gap character that is not an ASCII letter or digit, and any
# text holding a non-ASCII decimal digit goes to redact() regardless. tests/test_scaling.py checks redact_many()
# equals redact() text by text, on real posts and on Unicode edge cases.
_GATE_PARTS = [
    r"@",
    r"u/",
    r"[0-9](?:[^0-9A-Za-z]{0,3}[0-9]){7}",
    r"(?s)" + _DA_DE_STREET + r".[0-9]",
    _EN_STREET,
]


@functools.cache
def _gate_pattern() -> str:
    """The RE2 pattern of the necessary condition, with every non-ASCII decimal digit (Python's \\d) spelled out."""
    digits = [cp for cp in range(128, sys.maxunicode + 1) if chr(cp).isdecimal()]
    ranges: list[tuple[int, int]] = []
    for cp in digits:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    non_ascii_digit = "[" + "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]"
    return "|".join(f"(?:{part})" for part in [*_GATE_PARTS, non_ascii_digit])


def may_hold_personal_data(texts) -> list[bool]:
    """Per text (a list or an Arrow string array; None allowed): False means redact() would return it unchanged."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.large_string())
    return pc.fill_null(pc.match_substring_regex(array, _gate_pattern()), False).to_pylist()


def redact_many(texts: list[str | None]) -> list[str | None]:
    """[redact(t) for t in texts], with one vectorised scan deciding which texts need the per-text patterns."""
    return [redact(text) if gate else text for text, gate in zip(texts, may_hold_personal_data(texts))]
