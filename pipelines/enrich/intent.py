"""Intent: wish / complaint / question / praise / other, by rules over spaCy lemmas and phrases (da, de, en).

    >>> classify_intent("Det ville være rart hvis appen kunne huske mit login", "da", "neutral", 0.1)
    'wish'
    >>> classify_intent("Weiß jemand, wie man das Passwort ändert?", "de", "neutral", 0.0)
    'question'
    >>> classify_intent("The app keeps crashing since the update", "en", "negative", -0.7)
    'complaint'

Order of precedence (labelling rules in models/README.md): wish > question > complaint > praise > other.
A wish phrased as a question ("Could you please add dark mode?") is a wish: it belongs in the pile of wishes.
Complaint and praise need a cue word *or* a clearly polar sentiment from the sentiment model, and a cue
never wins against the opposite sentiment ("not bad at all, love it" is not a complaint).
Single-word cues are matched on lemmas, so "ønskede", "wünschte", "crashed" hit "ønske", "wünschen", "crash".
"""

from __future__ import annotations

import re

INTENTS = ("wish", "complaint", "question", "praise", "other")
STRONG_SENTIMENT = 0.6  # |score| at which sentiment alone makes a complaint or praise

_WISH_PHRASES = {
    "en": r"\bi wish\b|\bplease (?:add|make|bring|let|allow|give|consider|implement|include|support|bring back)\b"
          r"|\bwould (?:be|love it)\b[^.!?]{0,40}\bif\b|\bit would be (?:nice|great|cool|awesome|helpful|good)"
          r"|\bwould love\b|\bfeature request\b|\b(?:can|could) (?:you|they|we) (?:please )?(?:add|make|get|have)\b"
          r"|\bshould (?:add|include|be able|have an? (?:option|setting|way|button|mode))\b|\bi'?d (?:like|love) to see\b|\bwhy not add\b"
          r"|\bhope (?:you|they) (?:add|will|bring|make)\b|\bneeds? an? (?:option|setting|way)\b|\bwould like\b",
    "da": r"\bville (?:være|være så) (?:rart|fedt|godt|dejligt|smart|super|nice|skønt|fint)\b|\bgid\b|\b(?:jeg|vi) håber\b"
          r"|\bvil (?:gerne|meget gerne) (?:have|kunne|se|bede)\b|\bkunne i (?:ikke|ikke godt)\b|\bhvis bare\b"
          r"|\bbør (?:kunne|have|være|indføre|lave)\b|\bvil ønske\b|\bmangler (?:en|et|muligheden)\b|\btilføj",
    "de": r"\bwäre (?:es )?(?:schön|toll|super|gut|cool|klasse|praktisch|hilfreich|nett|wünschenswert)\b"
          r"|\bwäre es möglich\b|\bbitte (?:fügt|baut|macht|bringt|ergänzt|einbauen|hinzufügen)\b|\bhätte (?:gerne|gern)\b"
          r"|\bwürde mich freuen\b|\bwenn (?:man|ich) nur\b|\bsollte(?:n|t)? [^.!?]{0,30}(?:können|geben|einbauen)\b",
}
_WISH_LEMMAS = {
    "en": {"wish", "wishlist"},
    "da": {"ønske", "ønsker", "forslag", "savne", "savner", "gid", "ønskeliste"},
    "de": {"wünschen", "wunsch", "vorschlag", "vermissen", "hoffentlich", "wünschenswert", "wunschliste"},
}
# A wish word only counts as the author's wish next to a first-person word: Danish and German text often
# reports other people's wishes ("virksomheden ønsker", "die Regierung wünscht"). English keeps "wish" alone
# because the elliptic "wish it had..." is common in reviews and third-person "wishes" is rare in posts.
_FIRST_PERSON = {"en": None, "da": {"jeg", "vi", "mig", "os", "min", "mit", "mine", "vores"},
                 "de": {"ich", "wir", "mir", "uns", "mich", "mein", "meine", "unser", "unsere"}}
_QUESTION_OPENERS = {
    "en": r"^(?:how|what|why|where|when|who|which|does|do|is|are|can|could|should|anyone|has anyone|is there)\b",
    "da": r"^(?:hvordan|hvad|hvorfor|hvor|hvornår|hvem|hvilken|hvilke|kan|er|har|findes|ved nogen|har nogen)\b",
    "de": r"^(?:wie|was|warum|wieso|weshalb|wo|wann|wer|welche[rsmn]?|kann|gibt es|weiß jemand|hat jemand|ist)\b",
}
_COMPLAINT_PHRASES = {
    "en": r"\b(?:does ?n[o']t|do ?n[o']t|is ?n[o']t|wo ?n[o']t|can ?n?[o']t|not) (?:work|working|load|loading|open|start)\b"
          r"|\bwaste of\b|\bfix (?:this|it|the)\b|\bgive (?:me )?(?:my|a) refund\b",
    "da": r"\b(?:virker|fungerer|åbner|starter|loader) ikke\b|\bspild af\b|\bfå (?:mine )?penge tilbage\b",
    "de": r"\b(?:funktioniert|geht|klappt|lädt|startet|öffnet) (?:\w+ )?(?:nicht|nie)\b|\bgeld zurück\b",
}
_COMPLAINT_LEMMAS = {
    "en": {"crash", "bug", "buggy", "broken", "useless", "worst", "terrible", "awful", "horrible", "annoying",
           "frustrating", "refund", "scam", "disappointed", "disappointing", "unusable", "ridiculous", "garbage",
           "sucks", "suck", "hate", "error", "fail", "laggy", "glitch", "rubbish", "unacceptable", "complaint"},
    "da": {"crash", "crashe", "crasher", "fejl", "elendig", "elendigt", "dårlig", "dårligt", "irriterende",
           "ubrugelig", "ubrugeligt", "skuffet", "skuffende", "værst", "værste", "frustrerende", "svindel",
           "umulig", "katastrofe", "ringe", "hade", "hader", "træls", "bøvl", "klage", "problem", "problemer"},
    "de": {"absturz", "abstürzen", "stürzen", "fehler", "bug", "schlecht", "schlechter", "katastrophe",
           "katastrophal", "nervig", "nerven", "unbrauchbar", "enttäuschen", "enttäuscht", "enttäuschend",
           "ärgerlich", "frechheit", "abzocke", "mist", "scheiße", "scheiß", "schrecklich", "furchtbar",
           "kaputt", "hassen", "unmöglich", "beschwerde", "problem", "probleme", "zumutung", "miserabel"},
}
_PRAISE_LEMMAS = {
    "en": {"love", "great", "awesome", "amazing", "excellent", "fantastic", "perfect", "thank", "thanks", "best",
           "wonderful", "brilliant", "recommend", "kudos", "superb", "outstanding", "lovely", "enjoy", "impressed"},
    "da": {"elske", "elsker", "fantastisk", "super", "genial", "genialt", "perfekt", "tak", "bedst", "bedste",
           "fremragende", "dejlig", "dejligt", "anbefale", "anbefaler", "fed", "fedt", "skøn", "skønt", "tilfreds",
           "glimrende", "formidabel", "god", "godt"},
    "de": {"lieben", "liebe", "toll", "super", "genial", "perfekt", "danke", "dank", "beste", "best",
           "hervorragend", "klasse", "empfehlen", "zufrieden", "wunderbar", "großartig", "spitze", "prima",
           "gelungen", "empfehlenswert", "begeistert", "top", "klasse", "gut"},
}
_URL = re.compile(r"https?://\S+|www\.\S+")
_COMPILED: dict[tuple[str, str], re.Pattern] = {}


def _pattern(table: dict[str, str], lang: str) -> re.Pattern:
    key = (str(id(table)), lang)
    if key not in _COMPILED:
        _COMPILED[key] = re.compile(table[lang], re.IGNORECASE | re.MULTILINE)
    return _COMPILED[key]


def _is_question(text: str, sentences: list[str], lang: str) -> bool:
    if "?" in _URL.sub(" ", text):
        return True
    opener = _pattern(_QUESTION_OPENERS, lang)
    # Without a '?', only an interrogative opener of the *last* sentence counts ("Does anyone know how to...");
    # "Kan ikke anbefales." opens with "kan" but is a statement, hence the 'ikke' guard for Danish/German.
    last = sentences[-1].strip().lower() if sentences else ""
    return bool(opener.match(last)) and not re.match(r"^\w+ (?:ikke|nicht|not)\b", last)


def classify_intent(
    text: str | None,
    lang: str,
    sentiment_label: str,
    sentiment: float,
    lemmas: set[str] | None = None,
    sentences: list[str] | None = None,
) -> str:
    """Intent of one text. ``lemmas``/``sentences`` come from the spaCy doc; without them they are derived
    by a plain split (slower to be right, same rules)."""
    if not text or lang not in _WISH_PHRASES:
        return "other"
    lowered = text.lower()
    if lemmas is None:
        lemmas = set(re.findall(r"[^\W\d_]+", lowered))
    if sentences is None:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    first_person = _FIRST_PERSON[lang]
    wish_word = bool(lemmas & _WISH_LEMMAS[lang]) and (first_person is None or bool(lemmas & first_person))
    if wish_word or _pattern(_WISH_PHRASES, lang).search(lowered):
        return "wish"
    if _is_question(text, sentences, lang):
        # Rhetorical, venting questions are complaints by the labelling rules, but "negative question without
        # help-seeking words -> complaint" was measured and turned 12 of 29 genuine English questions
        # ("What went horribly wrong...?") into complaints: questions stay questions.
        return "question"
    complaint_cue = bool(lemmas & _COMPLAINT_LEMMAS[lang]) or bool(_pattern(_COMPLAINT_PHRASES, lang).search(lowered))
    if (complaint_cue and sentiment_label != "positive") or sentiment <= -STRONG_SENTIMENT:
        return "complaint"
    praise_cue = bool(lemmas & _PRAISE_LEMMAS[lang])
    if (praise_cue and sentiment_label == "positive") or sentiment >= STRONG_SENTIMENT:
        return "praise"
    return "other"


def intents_for_docs(docs, langs: list[str], labels: list[str], scores: list[float]) -> list[str]:
    """classify_intent for spaCy docs (lemmas and sentence boundaries from the pipeline)."""
    out = []
    for doc, lang, label, score in zip(docs, langs, labels, scores):
        lemmas = {t.lemma_.lower() for t in doc} | {t.lower_ for t in doc}
        sentences = [s.text for s in doc.sents] if doc.has_annotation("SENT_START") else None
        out.append(classify_intent(doc.text, lang, label, score, lemmas=lemmas, sentences=sentences))
    return out


def intents_for_texts(texts: list[str], lang: str, labels: list[str], scores: list[float], mode: str = "blank") -> list[str]:
    """classify_intent for texts of one language, lemmas and sentences from nlp.text_analyzer(lang, mode)."""
    from pipelines.enrich.nlp import text_analyzer

    analyzed = text_analyzer(lang, mode).analyze(texts)
    return [
        classify_intent(text, lang, label, score, lemmas=lemmas, sentences=sentences)
        for text, (lemmas, sentences), label, score in zip(texts, analyzed, labels, scores)
    ]
