"""Build demo-statuses.json and demo-instance.json: customer-like statuses WRITTEN BY US, in the recorded format.

    python pipelines/sandbox/data/mastodon/build_demo.py

The texts below are ours (Danish, German and English users of a fictional notes app, "Demo Notes", and its
support account); every field around them copies the shape of a recorded Mastodon 4.6.4 status
(recorded/timeline-public.json) and instance (recorded/instance-v2.json). Ids are Mastodon snowflakes made from
the creation time, so ordering by id is ordering by time, as on a real instance. The sandbox shifts the dates
so the newest status lands an hour before the demo runs. (Run once; the outputs are committed.)
"""

import copy
import datetime as dt
import json
import re
from html import escape
from pathlib import Path

HERE = Path(__file__).parent
DOMAIN = "mastodon.demo.example"
END = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)  # shifted by the sandbox; only spacing matters

# (key, hours before END, author acct, language, text, replying to key or None, edited)
STATUSES = [
    ("sync-en", 20, "mariekh", "en", "Third time this week #DemoNotes lost a note I wrote offline. The sync says "
     "'conflict' and then just keeps the older version. Anyone else?", None, False),
    ("sync-en-r1", 19, "demonotes", "en", "@mariekh Sorry about that! Which app version are you on? The 3.4.1 fix "
     "for offline sync conflicts is rolling out today.", "sync-en", False),
    ("sync-en-r2", 18, "mariekh", "en", "@demonotes 3.4.0 on Android. I'll update and report back.", "sync-en-r1",
     False),
    ("sync-en-r3", 17, "tomas@fosstodon.example", "en", "@mariekh Same here on the iPad, lost a shopping list "
     "twice since the update.", "sync-en", False),
    ("tables-en", 150, "readinglog", "en", "Really enjoying the new markdown tables in #DemoNotes 3.4. Finally my "
     "reading log lives in one place.", None, False),
    ("export-en", 96, "jkowalski", "en", "Is there a way to export all my #DemoNotes notebooks to PDF at once? Doing "
     "it one by one takes forever.", None, False),
    ("export-en-r1", 95, "demonotes", "en", "@jkowalski Not yet, but bulk export is planned for the summer release.",
     "export-en", False),
    ("share-en", 60, "priya_pm@hachyderm.example", "en", "Feature wish for #DemoNotes: let me share one notebook "
     "read-only with a link. I would use it for our team's meeting notes every day.", None, False),
    ("price-en", 40, "oldfashioned", "en", "#DemoNotes raised the family plan price again. 30% more for the same "
     "features is hard to swallow.", None, True),
    ("dark-en", 200, "nightowl", "en", "The dark mode in #DemoNotes is gorgeous, well done.", None, False),
    ("laptop-en", 130, "mariekh", "en", "Sync between my laptop and phone has been flawless for a month. "
     "#DemoNotes", None, False),
    ("sync-da", 10, "sofie_aarhus", "da", "Er der andre der oplever at #DemoNotes ikke synkroniserer mellem telefon "
     "og computer i dag? Mine noter fra i morges er væk.", None, False),
    ("sync-da-r1", 9, "demonotes", "da", "@sofie_aarhus Hej! Vi undersøger en fejl i synkroniseringen lige nu. Dine "
     "noter er ikke slettet, de ligger stadig på serveren.", "sync-da", False),
    ("sync-da-r2", 7, "sofie_aarhus", "da", "@demonotes Tak for det hurtige svar, nu er de kommet tilbage.",
     "sync-da-r1", False),
    ("sync-da-r3", 8, "lars_k@social.example.dk", "da", "@sofie_aarhus Samme her, min indkøbsliste forsvandt også i "
     "morges.", "sync-da", False),
    ("spell-da", 170, "hanne_b", "da", "Jeg ville ønske at #DemoNotes havde en dansk ordbog til stavekontrollen. Den "
     "engelske retter alt til noget mærkeligt.", None, False),
    ("price-da", 44, "mikkel_cph", "da", "Prisstigningen på familieabonnementet i #DemoNotes er for meget. Overvejer "
     "at skifte til noget andet.", None, False),
    ("offline-da", 120, "lars_k@social.example.dk", "da", "Den nye offline-tilstand i #DemoNotes er virkelig god på "
     "toget, hvor der ingen dækning er.", None, False),
    ("account-da", 80, "bente_odense", "da", "Hvordan flytter jeg mine noter fra en gammel konto til en ny i "
     "#DemoNotes?", None, False),
    ("crash-da", 14, "mikkel_cph", "da", "Appen crasher hver gang jeg prøver at vedhæfte et billede. #DemoNotes på "
     "iPhone 12.", None, False),
    ("crash-de", 12, "jonas_hh", "de", "Seit dem letzten Update stürzt #DemoNotes beim Öffnen großer Notizbücher "
     "ständig ab. Sehr ärgerlich, ich brauche die App für die Arbeit.", None, False),
    ("crash-de-r1", 11, "demonotes", "de", "@jonas_hh Das tut uns leid! Kannst du uns Version und Gerät nennen? Wir "
     "arbeiten an einer Lösung.", "crash-de", False),
    ("crash-de-r2", 10, "jonas_hh", "de", "@demonotes Version 3.4.0 auf einem Pixel 7. Danke für die schnelle "
     "Antwort.", "crash-de-r1", False),
    ("crash-de-r3", 9, "anna_muc@chaos.example", "de", "@jonas_hh Bei mir genauso, ebenfalls Android. Die Sync "
     "hängt dann auch.", "crash-de", False),
    ("sort-de", 100, "katrin_b", "de", "Ich wünsche mir bei #DemoNotes eine Funktion, um Notizen nach Datum zu "
     "sortieren. Die Suche allein reicht nicht.", None, False),
    ("tablet-de", 140, "jonas_hh", "de", "Die Synchronisierung mit dem Tablet funktioniert endlich zuverlässig. "
     "Danke #DemoNotes!", None, False),
    ("price-de", 42, "katrin_b", "de", "Warum kostet der Familientarif von #DemoNotes jetzt fast doppelt so viel? "
     "Keine neue Funktion, nur ein höherer Preis.", None, False),
    ("markdown-de", 70, "dev_felix", "de", "Gibt es bei #DemoNotes einen Export nach Markdown? Ich möchte meine "
     "Notizen auch im Git-Repository haben.", None, False),
    ("train-de", 110, "anna_muc@chaos.example", "de", "Der Offline-Modus von #DemoNotes hat mich im Zug gerettet, "
     "alles war nach der Ankunft synchronisiert.", None, False),
    ("release-en", 6, "demonotes", "en", "Version 3.4.1 is out: fixes for offline sync conflicts and a crash when "
     "attaching photos on iOS. #DemoNotes", None, False),
    ("release-de", 5, "demonotes", "de", "Wir haben die Synchronisierung großer Notizbücher verbessert. Bitte "
     "aktualisiert auf 3.4.1. #DemoNotes", None, False),
]
HASHTAG = re.compile(r"#(\w+)")
MENTION = re.compile(r"@([\w.]+(?:@[\w.-]+)?)")


def snowflake(when: dt.datetime, sequence: int) -> str:
    return str((int(when.timestamp() * 1000) << 16) + sequence)


def account_url(acct: str) -> str:
    user, _, host = acct.partition("@")
    return f"https://{host or DOMAIN}/@{user}"


def html(text: str) -> str:
    """Mastodon's rendering: a <p>, hashtags and mentions as links (escaped text between them)."""
    parts, last = [], 0
    for match in re.finditer(f"{HASHTAG.pattern}|{MENTION.pattern}", text):
        parts.append(escape(text[last:match.start()], quote=False))
        if match.group(1):
            tag = match.group(1)
            parts.append(f'<a href="https://{DOMAIN}/tags/{tag.lower()}" class="mention hashtag" rel="tag">'
                         f"#<span>{tag}</span></a>")
        else:
            acct = match.group(2)
            parts.append(f'<span class="h-card" translate="no"><a href="{account_url(acct)}" class="u-url mention">'
                         f"@<span>{acct.split('@')[0]}</span></a></span>")
        last = match.end()
    parts.append(escape(text[last:], quote=False))
    return "<p>" + "".join(parts) + "</p>"


def main() -> None:
    template = json.loads((HERE / "recorded" / "timeline-public.json").read_text(encoding="utf-8"))[3]
    accounts: dict[str, dict] = {}
    ids: dict[str, str] = {}
    statuses = []
    for sequence, (key, hours, acct, lang, text, reply_to, edited) in enumerate(STATUSES):
        created = END - dt.timedelta(hours=hours)
        ids[key] = snowflake(created, sequence)
        if acct not in accounts:
            account = copy.deepcopy(template["account"])
            user = acct.split("@")[0]
            account.update(id=snowflake(END - dt.timedelta(days=400), len(accounts)), username=user, acct=acct,
                           display_name="", url=account_url(acct), uri=account_url(acct).replace("/@", "/users/"),
                           statuses_count=sum(1 for s in STATUSES if s[2] == acct), roles=[],
                           bot=False, note="", last_status_at=END.date().isoformat())
            accounts[acct] = account
        status = copy.deepcopy(template)
        parent = ids[reply_to] if reply_to else None
        status.update(
            id=ids[key], created_at=created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            in_reply_to_id=parent,
            in_reply_to_account_id=next((s["account"]["id"] for s in statuses if s["id"] == parent), None),
            language=lang, content=html(text), account=accounts[acct],
            url=f"{account_url(acct)}/{ids[key]}", uri=f"{account_url(acct).replace('/@', '/users/')}/statuses/{ids[key]}",
            edited_at=(created + dt.timedelta(minutes=25)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            if edited else None,
            mentions=[{"id": accounts[m]["id"], "username": m.split("@")[0], "url": account_url(m), "acct": m}
                      for m in MENTION.findall(text) if m in accounts],
            tags=[{"name": t.lower(), "url": f"https://{DOMAIN}/tags/{t.lower()}"} for t in HASHTAG.findall(text)],
            application={"name": "Demo Notes (written by the community-listening project)", "website": None})
        statuses.append(status)
    (HERE / "demo-statuses.json").write_text(json.dumps(statuses, ensure_ascii=False, indent=1) + "\n",
                                              encoding="utf-8")
    instance = json.loads((HERE / "recorded" / "instance-v2.json").read_text(encoding="utf-8"))
    instance.update(domain=DOMAIN, title="Mastodon demo instance (written by the community-listening project)",
                    source_url="https://github.com/mastodon/mastodon")
    (HERE / "demo-instance.json").write_text(json.dumps(instance, ensure_ascii=False, indent=1) + "\n",
                                              encoding="utf-8")


if __name__ == "__main__":
    main()
