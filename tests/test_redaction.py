"""Redaction before storage: personal data becomes placeholders; ordinary text, numbers and URLs stay."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipelines.redaction import redact

CASES = Path(__file__).parent / "data" / "enrich" / "redaction_cases.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Skriv til jens.hansen@mail.dk", "Skriv til [email]"),
        ("Ring til mig på 22 33 44 55", "Ring til mig på [phone]"),
        ("Mit nummer er +45 31 12 45 78", "Mit nummer er [phone]"),
        ("Ruf an unter 030 12345678", "Ruf an unter [phone]"),
        ("Call me at (555) 123-4567", "Call me at [phone]"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN [iban]"),
        ("Konto DK50 0040 0440 1162 43", "Konto [iban]"),
        ("Karte 4111 1111 1111 1111", "Karte [card]"),
        ("Jeg bor på Vestergade 12, 8000 Aarhus C", "Jeg bor på [address]"),
        ("Ich wohne in der Hauptstraße 5, 10115 Berlin", "Ich wohne in der [address]"),
        ("I live at 221B Baker Street", "I live at [address]"),
        ("Danke @anna_k!", "Danke @[user]!"),
        ("thanks u/spez", "thanks u/[user]"),
    ],
)
def test_each_kind_of_personal_data_is_replaced(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Version 2.4.1 kostet 49,99 € seit 11.03.2024",
        "Prisen steg fra 1.299 kr. til 1.499 kr. i 2023",
        "Order #12345678 shipped 2024-03-11",
        "Card ending 4111 1111 1111 1112 is not a valid number",  # fails Luhn
        "IBAN-like DE00 1234 5678 9012 3456 78 with a bad checksum",
        "Meeting 10:30-12:00, room 204",
        "ISBN 978-3-16-148410-0",
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    assert redact(text) == text


def test_urls_are_kept_but_emails_inside_them_are_not():
    text = "see https://medium.com/@author/post and https://ex.com/unsub?e=jane@doe.dk"
    assert redact(text) == "see https://medium.com/@author/post and https://ex.com/unsub?e=[email]"


@pytest.mark.parametrize("value", [None, ""])
def test_empty_values_pass_through(value):
    assert redact(value) == value


def test_committed_case_set_precision_and_recall():
    """On tests/data/enrich/redaction_cases.jsonl: recall >= 0.95 and no placeholder on non-personal text."""
    placeholder = re.compile(r"\[(?:email|phone|iban|card|address|user)\]")
    caught = missed = spurious = 0
    for line in CASES.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        out = redact(case["text"])
        hits = sum(span not in out for span in case["pii"])
        caught += hits
        missed += len(case["pii"]) - hits
        spurious += max(len(placeholder.findall(out)) - hits, 0)
    assert caught / (caught + missed) >= 0.95
    assert spurious == 0


@pytest.mark.parametrize("text, expected", [
    # where a handle starts: not after a word character, '@', '/' or '.' (the lookbehind sits after the '@')
    ("me/@user and x@y", "me/@user and x@y"),
    ("@@user", "@@user"),
    ("hi@anna_k", "hi@anna_k"),
    ("(@anna) @[user] @ab.", "(@[user]) @[user] @[user]."),
    ("@1234567890123456789012345678901234 end", "@1234567890123456789012345678901234 end"),
    # e-mails pass the cheap '@label.' hint first
    ("foo.@bar.com", "[email]"),
    ("e.@x.dk", "[email]"),
    ("mail@sub.domain.co.uk!", "[email]!"),
])
def test_handle_and_email_edges(text, expected):
    assert redact(text) == expected
