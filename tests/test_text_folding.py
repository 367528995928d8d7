"""Styled letters (𝐛𝐨𝐥𝐝, 𝓼𝓬𝓻𝓲𝓹𝓽, ｆｕｌｌｗｉｄｔｈ, ligatures) are folded before redaction, language ID and labelling."""

from __future__ import annotations

import pytest

from pipelines.enrich.analyze import stored_text
from pipelines.enrich.language import detect_language
from pipelines.redaction import redact_many
from pipelines.text import fold_styled, fold_styled_many


@pytest.mark.parametrize(
    ("styled", "plain"),
    [
        ("𝐓𝐡𝐢𝐬 𝐚𝐩𝐩 𝐢𝐬 𝐭𝐞𝐫𝐫𝐢𝐛𝐥𝐞", "This app is terrible"),
        ("𝓓𝓲𝓮 𝓐𝓹𝓹 𝓼𝓽ü𝓻𝔃𝓽 𝓪𝓫", "Die App stürzt ab"),
        ("ＡＰＰＥＮ ＣＲＡＳＨＥＲ", "APPEN CRASHER"),
        ("ﬁnally ﬁxed", "finally fixed"),
        ("Ⓢⓤⓟⓔⓡ 🅂🄴🅁🅅🄸🄲🄴", "Super SERVICE"),
    ],
)
def test_styled_letters_become_plain(styled, plain):
    assert fold_styled(styled) == plain
    assert fold_styled_many([styled, None, ""]) == [plain, None, ""]


@pytest.mark.parametrize("text", ["Prisen er ½ … x² – 10 °C", "Tak 🇩🇰 🙂 ❤️", "Größe: naïve café", None, ""])
def test_other_characters_stay_as_written(text):
    assert fold_styled(text) == text
    assert fold_styled_many([text]) == [text]


def test_full_width_personal_data_is_redacted():
    # before folding, a full-width at sign and digits went past the redaction patterns
    assert redact_many(fold_styled_many(["skriv til kunde＠firma.dk eller ring ８８８８８８８８"])) == [
        "skriv til [email] eller ring [phone]"]
    assert stored_text({"text": "Meine Mail: 𝐦𝐚𝐱@𝐛𝐞𝐢𝐬𝐩𝐢𝐞𝐥.𝐝𝐞"}) == "Meine Mail: [email]"


@pytest.mark.parametrize(("text", "lang"), [("𝓣𝓱𝓲𝓼 𝓪𝓹𝓹 𝓲𝓼 𝓽𝓮𝓻𝓻𝓲𝓫𝓵𝓮 𝓪𝓷𝓭 𝓴𝓮𝓮𝓹𝓼 𝓬𝓻𝓪𝓼𝓱𝓲𝓷𝓰", "en"),
                                            ("ＤＩＥ ＡＰＰ ＳＴÜＲＺＴ ＳＴÄＮＤＩＧ ＡＢ", "de")])
def test_styled_posts_get_a_language(text, lang):
    assert detect_language(stored_text({"text": text})) == lang


def test_posts_stored_before_folding_are_read_folded_when_labelled():
    from pipelines.enrich.analyze import Enricher

    styled, plain = Enricher(embedding="e5-static").analyze(["𝐃𝐚𝐧𝐤𝐞 𝐟ü𝐫 𝐝𝐢𝐞 𝐬𝐜𝐡𝐧𝐞𝐥𝐥𝐞 𝐇𝐢𝐥𝐟𝐞!", "Danke für die schnelle Hilfe!"])
    assert styled["lang"] == plain["lang"] == "de"
    assert styled["intent"] == plain["intent"]
