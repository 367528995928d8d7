"""Suggested opening lines for the follow-up queue: in the post's language, fitting its intent, and never a
canned "sorry to hear" for a post about a death, an accident or violence.

    >>> suggested_reply({"intent": "wish", "lang": "de", "excerpt": "Bitte bietet die Rätsel auch als Druck an."}, Strings("en"))
    'Danke für die Idee – Sie schrieben „Bitte bietet die Rätsel auch als Druck an.“. Können Sie uns ...'
    >>> mentions_harm("Two people died in the crash on the A7")
    True

The reply is written to the customer, so it is in the post's language (the report's language when the post's
is unknown); the note that replaces it for a sensitive post is written to the editor, in the report's language.
Harm words are matched as whole words in all three languages at once, since a post's language label can be
wrong on short texts; words another of the languages uses otherwise are left out ("dies", "tote", "offer"), and
an app that "crashes" is not an accident, a car that crashed into something is.
"""

from __future__ import annotations

import re

from pipelines.report.i18n import LANGS, Strings
from pipelines.text import shorten

OPENING_QUOTE_CHARS = 90
REPLY_INTENTS = ("wish", "complaint", "question")

_HARM_WORDS = {
    "en": r"died|dead|death|deaths|deadly|killed|killing|fatal|fatally|fatalities|accident|accidents|injured"
          r"|injuries|wounded|murder|murdered|shooting|shot dead|stabbed|stabbing|suicide|funeral|passed away"
          r"|obituary|assault|assaulted|raped|rape|violence|violent|victim|victims|car crash|plane crash"
          r"|crashed into|collision|hit by a (?:car|bus|train|truck)",
    "da": r"død|døde|dødt|dødsfald|dødsulykke|dræbt|dræbte|omkom|omkommet|omkomne|ulykke|ulykken|ulykker"
          r"|trafikulykke|færdselsuheld|kvæstet|kvæstede|såret|sårede|skudt|knivstukket|knivstik|drabet|drabssag"
          r"|mord|myrdet|selvmord|begravelse|bisættelse|gik bort|voldtægt|vold|voldelig|ofrene|påkørt",
    "de": r"tot|toten|tod|todes|gestorben|starb|verstorben|verstarb|getötet|tödlich|tödlichen|unfall"
          r"|unfälle|unfalls|verunglückt|verletzt|verletzte|verletzten|schwerverletzt|mord|ermordet|selbstmord"
          r"|suizid|beerdigung|beisetzung|trauerfeier|erschossen|erstochen|messerangriff|gewalt|gewalttat"
          r"|vergewaltigt|vergewaltigung|anschlag|opfer|überfahren|zusammenstoß",
}
_HARM = re.compile(r"\b(?:" + "|".join(_HARM_WORDS.values()) + r")\b", re.IGNORECASE)


def mentions_harm(text: str | None) -> bool:
    """True when ``text`` speaks of a death, an accident, an injury or violence (da, de and en words)."""
    return bool(text) and _HARM.search(text) is not None


def suggested_reply(row: dict, report: Strings) -> str:
    """An opening line for answering ``row`` (a follow_ups row: intent, lang, excerpt) in its thread.

    The greeting fits the intent (thanks for a wish, an apology and a request for details for a complaint, an
    offer to help for a question) and is in the post's language; a post that mentions harm gets a note to the
    editor instead of a template.
    """
    if mentions_harm(row.get("excerpt")):
        return report("opening_sensitive")
    lang = row.get("lang") if row.get("lang") in LANGS else report.lang
    intent = row.get("intent") if row.get("intent") in REPLY_INTENTS else "question"
    return Strings(lang)(f"opening_{intent}", quote=shorten(row.get("excerpt"), OPENING_QUOTE_CHARS))
