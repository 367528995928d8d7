"""Customer-language cues in Danish, German and English: the signals a reader uses to tell a complaint, a wish,
a question, thanks or sarcasm apart, as numbers the sentiment and intent classifiers take beside the embedding.

    >>> cue_vector("Fedt at I har hævet prisen igen uden at sige det. Virkelig kundevenligt.", "da")
    {'wish': 0.0, ..., 'sarcasm': 1.0, 'repeated': 1.0, ...}
    >>> cue_vector("Bitte bietet die Rätsel auch als Druckversion an.", "de")["wish"]
    1.0

Each cue is a small set of phrases per language, written from how customers write (labelling rules and the
reasoning behind each list: models/README.md), matched on the lower-cased text and on spaCy lookup lemmas:
- ``wish``: requests for something new or different (every form of the request override below, which it does
  not repeat, and broader ones: "please send", "I would like", "wäre schön", "savner"), with wish words counted
  only beside a first-person word in da/de, where reported wishes of others ("virksomheden ønsker") are common;
- ``fix_request``: a request to repair something ("please fix", "Bitte beheben!", "ret det") - a complaint, not
  a wish;
- ``question``: a "?" outside links, or an interrogative opener in the last sentence;
- ``failure``: something the customer pays for or uses does not work or did not happen ("crasher", "stürzt ab",
  "nicht zugestellt", "still getting emails after I unsubscribed", "no longer shown");
- ``repeated``: it happened again, every time, for the n-th time, or keeps happening ("igen", "schon wieder",
  "das vierte Mal", "keeps landing");
- ``money``: what the customer pays, next to the grievance ("299 kr om måneden", "I pay $15 a month");
- ``complaint_word`` / ``praise_word``: opinion words on the product or service (lemmas);
- ``thanks``: thanks to someone ("tak til", "vielen Dank an", "thanks to support");
- ``resolved``: a problem that was solved ("blev løst", "wurde gelöst", "sorted it out");
- ``sarcasm``: praise words that frame a grievance - a positive opener ("Fedt at", "Toll,", "Great,") or a
  sarcastic idiom ("tak for ingenting", "danke für nichts", "thanks for nothing", "wie kundenfreundlich") together
  with a failure, a repetition, a price rise or something done without notice.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from functools import lru_cache

import numpy as np

CUES = ("wish", "fix_request", "question", "failure", "repeated", "money", "complaint_word", "praise_word",
        "thanks", "resolved", "sarcasm", "exclaim")

_PHRASES: dict[str, dict[str, str]] = {
    "wish": {
        "en": r"\bi wish\b|\bplease (?:add|make|bring|let|allow|give|consider|implement|include|support|offer|provide"
              r"|introduce|extend|publish|send|create|keep|put|show)\b|\bwould (?:be|love it)\b[^.!?]{0,40}\bif\b"
              r"|\bit would be (?:nice|great|cool|awesome|helpful|good|lovely|useful)\b|\bwould love\b"
              r"|\b(?:can|could|would) (?:you|they|we) (?:please )?(?:add|make|get|have|offer|bring|consider|introduce"
              r"|provide|include|also)\b"
              r"|\bshould (?:add|include|be able|have an? (?:option|setting|way|button|mode))\b|\bi'?d (?:like|love) to see\b"
              r"|\bhope (?:you|they) (?:add|will|bring|make)\b|\bneeds? an? (?:option|setting"
              r"|way|button)\b|\bi would like\b|\bwe need\b|\bhow about (?:adding|a|an)\b|\bsuggestion\b",
        "da": r"\b(?:ville|kunne) (?:være|være så) (?:rart|fedt|godt|dejligt|smart|super|nice|skønt|fint|praktisk|en god idé)\b|\bgid\b"
              r"|\b(?:jeg|vi) håber\b[^.!?]{0,40}\b(?:i|man|der)\b|\bvil (?:gerne|meget gerne|rigtig gerne) (?:have|kunne|se|bede)\b"
              r"|\bhvis bare\b"
              r"|\bi (?:burde|bør|skulle|må gerne|kunne)\b|\bbør (?:kunne|have|være|indføre|lave|tilbyde)\b|\bvil ønske\b"
              r"|\bmangler (?:en|et|muligheden)\b|\bforslag\b|\bsavner\b",
        "de": r"\bwäre (?:es )?(?:schön|toll|super|gut|cool|klasse|praktisch|hilfreich|nett|wünschenswert|prima|genial)\b"
              r"|\bwäre es möglich\b|\bbitte (?!beheb|repar|korrig|fix)(?:\w+ ){0,2}?(?:bietet|bieten|fügt|baut|macht|bringt"
              r"|ergänzt|einbauen|hinzufügen|anbieten|erweitert|führt|stellt|gebt|schafft|ermöglicht|überlegt|denkt|auch)\b"
              r"|\bhätte (?:gerne|gern)\b|\bwürde mich freuen\b|\bwenn (?:man|ich) nur\b|\bsolltet (?:ihr )?\b"
              r"|\bsollten (?:sie|ihr)\b|\bsollte(?:n|t)? [^.!?]{0,30}(?:können|geben|einbauen|anbieten)\b"
              r"|\bkönnten sie\b[^.!?]{0,40}\b(?:anbieten|einbauen|einführen|ergänzen|hinzufügen|machen)\b|\bvorschlag\b"
              r"|\bich vermisse\b",
    },
    "fix_request": {
        "en": r"\bplease fix\b|\bfix (?:this|it|the|your)\b|\bsort (?:this|it) out\b|\bget (?:this|it) fixed\b",
        "da": r"\bret (?:det|fejlen|op)\b|\bfiks (?:det|fejlen)\b|\blav det om\b|\bfå det løst\b|\bløs (?:det|problemet)\b",
        "de": r"\bbitte (?:\w+ ){0,2}?(?:beheben|reparieren|korrigieren|fixen)\b|\bbehebt\b|\brepariert\b",
    },
    "failure": {
        "en": r"\bcrash(?:es|ed|ing)?\b|\bfreez(?:es|ing)\b|\bfroze\b|\b(?:does ?n[o']t|do ?n[o']t|did ?n[o']t|is ?n[o']t|wo ?n[o']t"
              r"|can ?n?[o']t|ha(?:ve|s) ?n[o']t|was ?n[o']t|are ?n[o']t|not|never|stopped) (?:been |being |yet |even )?"
              r"(?:work|working|load|loading|open|opening|start|arrive|arrived"
              r"|show|showing|sync|syncing|update|deliver|delivered|received?)\b"
              r"|\b(?:does ?n[o']t|do ?n[o']t|did ?n[o']t|wo ?n[o']t|ha(?:ve|s) ?n[o']t|was ?n[o']t|not|never) (?:yet |even )?"
              r"c[oa]me\b(?! up\b)"  # "the parcel didn't come", but "issues that did not come up" is no failure
              r"|\bnever (?:arrived|came|got|received)\b"
              r"|\bno longer\b|\bstill (?:waiting|not|no|getting|receiving|charged)\b|\b(?:error|bug|glitch)s?\b|\bbroken\b"
              r"|\bunsubscribed\b|\bcharged (?:me )?(?:twice|double|again)\b|\bcan'?t (?:log ?in|sign in|access|find|cancel)\b"
              r"|\blog(?:s|ged|ging) me out\b|\bno (?:answer|reply|response)\b|\bwaste of\b|\brefund\b|\bmissing\b|\blost\b"
              r"|\bwrong\b|\blate\b|\bdelayed?\b|\bcancell?ed\b"
              # nobody at the company can be reached: a complaint about the service itself
              r"|\b(?:been|waited|waiting|sat|sitting|kept|stuck) on hold\b|\bon hold for (?:hours|ages|(?:over |almost "
              r"|nearly |more than |like |about )?(?:\d+|an|half an|one|two|three) (?:min|mins|minutes|hours?))\b"
              r"|\b(?:no ?one|nobody) (?:\w+ )?(?:answers|answered|replies|replied|responds|responded"
              r"|gets back|got back|picks up|can tell|could tell|is answering)\b"
              r"|\b(?:you'?re|you are|they'?re|they are) (?:still )?(?:not|never) (?:answering|responding|replying"
              r"|picking up|getting back)\b"
              r"|\bcan'?t (?:reach|get hold of|contact|get through to) (?:you|your|any ?one|any ?body|some ?one|support"
              r"|customer|them|the (?:support|hotline|helpline|service))\b|\bcan'?t get through\b"
              r"|\b(?:have|has)n'?t heard back\b|\bnever heard back\b"
              # what arrives damaged, an app that closes itself
              r"|\bsoaked\b|\bsoaking wet\b|\bdamaged\b|\bshuts (?:itself )?down\b|\bshut down on (?:me|us)\b"
              r"|\bkeeps? (?:shutting|closing)\b"
              r"|\bcloses? (?:itself|by itself|on its own)\b"
              # what was there and is gone: "the crossword has disappeared"
              r"|\b(?:disappeared|vanished|gone missing)\b|\bprice (?:hike|increase)s?\b"
              # a service that is down or drops out, a battery drained
              r"|\b(?:site|website|app|server|service|internet|wi-?fi|connection|network|signal|page|system|platform|login)"
              r" (?:is|was|has been|have been|went|goes|keeps going|keeps) (?:\w+ )?down\b"
              r"|\b(?:drops?|dropping|dropped|cuts?|cutting) out\b|\bdrains? (?:\w+ )?battery\b|\bbattery drain\b"
              # a card or account that is blocked
              r"|\b(?:card|account|access|profile|login) (?:\w+ ){0,3}?(?:blocked|locked|suspended|frozen|deactivated"
              r"|disabled)\b|\b(?:blocked|locked|suspended|froze|deactivated|disabled) (?:my|our) (?:card|account|access"
              r"|profile)\b",
        "da": r"\bcrash(?:er|ede|et|e)?\b|\bfryser\b|\bfrøs\b|\bvirker (?:\w+ )?ikke\b|\bfungerer (?:\w+ )?ikke\b|\bvirkede ikke\b"
              r"|\b(?:åbner|starter|loader|indlæses|opdaterer|synkroniserer) (?:\w+ )?ikke\b|\b(?:kom|kommer|blev|er) (?:\w+ )?"
              r"(?:ikke|aldrig) (?:\w+ )?(?:leveret|frem|omdelt|modtaget|sendt|tilsendt|kommet)\b|\bikke (?:leveret|modtaget|omdelt)\b"
              r"|\bikke længere\b|\bstadig (?:ikke|ingen|intet|venter)\b|\bventer stadig\b|\bfejl(?:en|ene)?\b|\bbug\b"
              r"|\bi stykker\b|\bafmeldt\b|\btrukket (?:to|dobbelt|igen)\b|\bkan ikke (?:logge|finde|komme|se|åbne|afmelde|bruge"
              r"|booke|bestille|betale|downloade|hente|opsige|afspille|installere|nulstille)\b"
              r"|\bintet svar\b|\bingen svar\b|\baldrig svar\b|\bspild af\b|\bpengene tilbage\b|\bmangler\b|\bforsinket\b"
              r"|\bforkert\b|\bmistet\b|\bhævet prisen\b|\bprisstigning\b"
              r"|\bingen (?:svarer|vender tilbage|tager telefonen|kan (?:svare|hjælpe|fortælle))\b"
              r"|\bhar ikke hørt (?:noget )?fra\b|\bi telefonkø(?:en)?\b"
              r"|\bgennemblødt\b|\bødelagt\b|\bbeskadiget\b|\blukker (?:\w+ )?ned\b|\blukker sig selv\b"
              r"|\bforsvundet\b|\bkom (?:\w+ ){0,3}?ikke\b(?! (?:til at|i tanke|i gang|overens|i tvivl)\b)"
              # the same in a subordinate clause, where the negation comes first: "at appen ikke virker"
              r"|\b(?:ikke|aldrig) (?:længere |mere |rigtigt |ordentligt )?(?:virker|virkede|fungerer|fungerede|åbner|starter"
              r"|loader|indlæses|opdaterer|synkroniserer|synkroniserede)\b"
              r"|\b(?:er|var|har været) nede\b|\b(?:falder|faldt|falde) (?:\w+ ){0,2}?ud\b|\bdræner (?:\w+ )?batteri\w*\b"
              r"|\b(?:kortet|konto|kontoen|adgangen|profilen|mitid) (?:\w+ ){0,3}?(?:spærret|låst|blokeret|deaktiveret)\b"
              r"|\b(?:spærret|låst|blokeret|lukket|deaktiveret) (?:min|mit|vores) (?:kort|konto|adgang|profil)\b",
        "de": r"\bstürzt (?:\w+ ){0,3}?ab\b|\babgestürzt\b|\babsturz\b|\bhängt sich auf\b|\beingefroren\b"
              r"|\b(?:funktioniert|geht|klappt|lädt|startet|öffnet|synchronisiert|aktualisiert) (?:\w+ ){0,2}?(?:nicht|nie|kaum)\b"
              r"|\b(?:nicht|nie|kein\w*) (?:\w+ )?(?:zugestellt|geliefert|angekommen|erhalten|bekommen|angezeigt|gekommen)\b"
              r"|\bnicht mehr\b|\bkeine? [\w-]+ mehr\b|\bimmer noch (?:nicht|kein\w*)\b|\bwarte (?:\w+ )?(?:seit|immer noch)\b"
              r"|\bfehler(?:meldung)?\b|\bbug\b|\bkaputt\b|\babgemeldet\b|\bdoppelt (?:abgebucht|berechnet)\b"
              r"|\bkann (?:mich )?(?:nicht|nie) (?:\w+ )?(?:anmelden|einloggen|kündigen|finden|öffnen|nutzen|buchen|bestellen"
              r"|bezahlen|herunterladen|abspielen|installieren|zurücksetzen)\b"
              r"|\bkeine (?:antwort|reaktion|rückmeldung)\b|\bgeld zurück\b|\bfehlt\b|\bfehlen\b|\bverspätet\b|\bverspätung\b"
              r"|\bfalsch\b|\bverloren\b|\bpreis (?:\w+ )?erhöht\b|\bpreiserhöhung\b"
              r"|\b(?:keiner|niemand) (?:antwortet|meldet sich|geht ran|kann mir (?:\w+ )?(?:sagen|helfen)|reagiert"
              r"|ruft zurück)\b|\berreiche (?:\w+ )?(?:niemanden|niemand|keinen)\b|\bkomme (?:\w+ )?nicht durch\b"
              r"|\bin der warteschleife\b|\bnie (?:eine )?antwort\b"
              r"|\bdurchnässt\b|\bklatschnass\b|\bbeschädigt\b|\bschließt sich (?:\w+ )?(?:von selbst|einfach|ständig"
              r"|immer wieder|jedes mal)\b|\bbeendet sich\b"
              r"|\bverschwunden\b|\bkam (?:\w+ ){0,3}?nicht\b(?! (?:dazu|umhin|drumherum)\b)"
              # the same in a subordinate clause, where the verb comes last: "dass die App nicht funktioniert"
              r"|\b(?:nicht|nie|kaum) (?:mehr |richtig )?(?:funktioniert|funktionierte|geht|ging|klappt|klappte|lädt|startet"
              r"|öffnet|synchronisiert|aktualisiert)\b"
              r"|\bnicht erreichbar\b|\bausgefallen\b|\b(?:fällt|fiel|fallen) (?:\w+ ){0,5}?aus\b"
              r"|\b(?:leert|saugt) (?:\w+ ){0,2}?akku\b"
              r"|\b(?:karte|konto|zugang|profil|account) (?:\w+ ){0,3}?(?:gesperrt|blockiert|deaktiviert|eingefroren)\b"
              r"|\b(?:sperrt|sperrte|gesperrt|blockiert|blockierte|deaktiviert) (?:\w+ )?(?:meine|mein|unsere|unser)n? "
              r"(?:karte|konto|zugang|profil|account)\b",
    },
    "repeated": {
        "en": r"\bagain\b|\bevery (?:single )?time\b|\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time\b|\b\w+ times\b"
              r"|\bkeeps?\b|\bconstantly\b|\ball the time\b|\bover and over\b|\bstill\b|\bfor (?:\w+ )?(?:days|weeks|months)\b"
              r"|\btwice\b|\b(?:days?|weeks?|months?|times|mornings?|issues|editions) (?:running|in a row)\b"
              r"|\bevery (?:single )?(?:day|morning|evening|night|week|weekend)\b",
        "da": r"\bigen\b|\bhver (?:eneste )?gang\b|\b(?:anden|tredje|fjerde|femte|\d+\.) gang\b|\b\w+ gange\b|\bbliver ved\b"
              r"|\bhele tiden\b|\bkonstant\b|\bstadig\b|\bi (?:dagevis|ugevis|(?:\w+ )?(?:dage|uger|måneder))\b|\bendnu en gang\b"
              r"|\bdobbelt\b|\bi træk\b|\bhver (?:eneste )?(?:dag|morgen|aften|nat|uge|weekend)\b",
        "de": r"\bwieder\b|\berneut\b|\bjedes (?:einzelne )?mal\b|\bjedesmal\b|\b(?:zweite|dritte|vierte|fünfte|\d+\.) mal\b"
              r"|\b\w+ mal\b|\bständig\b|\bdauernd\b|\bimmer noch\b|\bseit (?:\w+ )?(?:tagen|wochen|monaten)\b|\bschon wieder\b"
              r"|\bzweimal\b|\bdoppelt\b|\bin folge\b|\bhintereinander\b"
              r"|\b(?:jeden|jede|jedes) (?:einzelnen? )?(?:tag|morgen|abend|nacht|woche|wochenende)\b",
    },
    "money": {
        "en": r"(?:[$€£]\s?\d|\d\s?(?:dollars?|euros?|pounds?|usd|eur|gbp)\b)|\bi pay\b|\bpaying (?:for|customer)\b",
        "da": r"\d\s?(?:kr|kroner|dkk|euro)\b|\bjeg betaler\b|\bbetaler \w+ for\b",
        "de": r"\d\s?(?:€|euro|eur)\b|€\s?\d|\bich zahle\b|\bzahle \w+ für\b",
    },
    # a subscription counts as money only next to a grievance ("I'm cancelling my subscription, third price hike"),
    # not in a calm question ("Can I pause my subscription while I'm abroad?")
    "subscription": {
        "en": r"\bsubscription\b|\bmembership\b",
        "da": r"\babonnement\b|\bmedlemskab\b",
        "de": r"\babo\b|\babonnement\b|\bmitgliedschaft\b",
    },
    "thanks": {
        "en": r"\bthanks?\b(?! for nothing)|\bthank you\b|\bkudos\b|\bshout ?out\b|\bappreciate\b",
        "da": r"\btak\b(?! for ingenting| for intet)|\btusind tak\b|\bmange tak\b",
        "de": r"\bdanke\b(?! für nichts)|\bvielen dank\b|\bherzlichen dank\b(?! auch)|\bdankeschön\b",
    },
    "resolved": {
        "en": r"\b(?:was|got|been|were) (?:\w+ ){0,5}?(?:solved|resolved|fixed|sorted)\b|\bsorted (?:it|me) out\b|\bworks? again\b"
              # "finally" and something that now works, unless a negation follows: "Finally the export works!"
              r"|\bfinally (?:\w+ ){0,4}?(?:works?|working|fixed|solved|arrived)\b(?! (?:\w+ )?(?:not|no|never)\b)",
        "da": r"\b(?:blev|er|var) (?:\w+ ){0,5}?løst\b|\bklaret\b|\bvirker igen\b|\bhurtig(?:t)? (?:hjælp|svar|levering)\b"
              r"|\bendelig (?:\w+ ){0,4}?(?:virker|fungerer|løst|kommet)\b(?! (?:\w+ )?(?:ikke|aldrig)\b)",
        "de": r"\b(?:wurde|ist|war|wurden) (?:\w+ ){0,5}?(?:gelöst|behoben|erledigt|geklärt)\b|\bfunktioniert wieder\b"
              r"|\bschnelle (?:hilfe|antwort|lieferung)\b"
              r"|\bendlich (?:\w+ ){0,4}?(?:funktioniert|geht|klappt|behoben|gelöst|angekommen)\b(?! (?:\w+ ){0,2}?(?:nicht|nichts|nie|kein\w*)\b)",
    },
    "sarcasm_idiom": {
        "en": r"\bthanks? (?:a lot )?for nothing\b|\boh (?:great|wonderful|perfect|joy)\b|\bjust (?:great|perfect|wonderful)\b"
              r"|\byeah,? right\b|\bso (?:customer[- ]friendly|helpful|professional)\b|\bway to go\b|\bwell done,?\b[^.!?]{0,40}\bagain\b"
              r"|\bwhat a (?:service|joke)\b",
        "da": r"\btak for (?:ingenting|intet)\b|\bvirkelig (?:kundevenligt|professionelt|godt gået|flot)\b|\bsikke en service\b"
              r"|\bgodt gået\b[^.!?]{0,40}\bigen\b|\bså kundevenligt\b|\bnå ja\b|\bflot klaret\b",
        "de": r"\bdanke für nichts\b|\bna (?:toll|super|klasse|prima)\b|\bwie kundenfreundlich\b|\bsehr kundenfreundlich\b"
              r"|\bherzlichen dank auch\b|\becht (?:toll|super|klasse)\b[^.!?]{0,40}\bwieder\b|\bganz toll\b|\bgroßes kino\b",
    },
    "sarcasm_opener": {
        "en": r"^(?:oh,? )?(?:great|fantastic|wonderful|brilliant|perfect|nice|love (?:it|how|that)|wow|awesome|thanks)\b[,!.]?",
        "da": r"^(?:fedt|super|dejligt|fantastisk|flot|godt|herligt|tak|skønt|perfekt|genialt)\b(?: at\b|[,!.])",
        "de": r"^(?:toll|super|klasse|prima|großartig|wunderbar|perfekt|genial|danke|spitze|na toll)\b[,!.]?",
    },
    "sarcasm_target": {  # what a sarcastic opener is about: a change for the worse, done to the customer
        "en": r"\bagain\b|\bwithout (?:telling|notice|warning|asking)\b|\braised (?:the|your|our) prices?\b|\bprice (?:hike|increase)\b"
              r"|\bonce more\b|\byet another\b",
        "da": r"\bigen\b|\buden at (?:sige|varsle|fortælle|spørge)\b|\bhævet prisen\b|\bsat prisen op\b|\bendnu en\b|\bendnu engang\b",
        "de": r"\bwieder\b|\bohne (?:vorwarnung|ankündigung|bescheid|zu fragen)\b|\bpreis (?:\w+ )?erhöht\b|\bpreiserhöhung\b"
              r"|\bnoch ein(?:e|en|mal)?\b|\berneut\b",
    },
}
_QUESTION_OPENERS = {
    "en": r"^(?:how|what|why|where|when|who|which|does|do|is|are|can|could|should|anyone|has anyone|is there|will)\b",
    # Danish and German reviews drop the subject ("Har bestilt …", "Ist super"): a verb-first sentence without
    # "?" is a statement there, so only question words and "does anyone" openers count.
    "da": r"^(?:hvordan|hvad|hvorfor|hvor|hvornår|hvem|hvilken|hvilke|findes der|ved nogen|har nogen|er der nogen)\b",
    "de": r"^(?:wie|was|warum|wieso|weshalb|wo|wann|wer|welche[rsmn]?|gibt es|weiß jemand|hat jemand|kann mir jemand)\b",
}
_WISH_LEMMAS = {
    "en": {"wish", "wishlist"},
    "da": {"ønske", "ønsker", "ønskeliste"},
    "de": {"wünschen", "wunsch", "hoffentlich", "wünschenswert", "wunschliste"},
}
# In Danish and German a wish word is the author's own only beside a first-person word ("virksomheden ønsker" is
# news); English keeps "wish" alone, as the elliptic "wish it had..." is common in reviews.
_FIRST_PERSON = {"en": None, "da": {"jeg", "vi", "mig", "os", "min", "mit", "mine", "vores"},
                 "de": {"ich", "wir", "mir", "uns", "mich", "mein", "meine", "unser", "unsere"}}
COMPLAINT_LEMMAS = {
    "en": {"crash", "bug", "buggy", "broken", "useless", "worst", "terrible", "awful", "horrible", "annoying",
           "frustrating", "refund", "scam", "disappointed", "disappointing", "unusable", "ridiculous", "garbage",
           "sucks", "suck", "hate", "error", "fail", "laggy", "glitch", "rubbish", "unacceptable", "complaint",
           "poor", "bad", "worse", "slow", "fed", "disgrace", "joke", "pathetic", "incompetent", "rip-off",
           # what reviews of shops, hotels and restaurants complain of: staff, dirt, price, food
           "rude", "unfriendly", "unhelpful", "impolite", "dirty", "filthy", "mouldy", "moldy", "musty", "smelly",
           "overpriced", "disgusting", "inedible", "stale", "noisy"},
    "da": {"crash", "crashe", "crasher", "fejl", "elendig", "elendigt", "dårlig", "dårligt", "irriterende",
           "ubrugelig", "ubrugeligt", "skuffet", "skuffende", "værst", "værste", "frustrerende", "svindel",
           "umulig", "katastrofe", "ringe", "hade", "hader", "træls", "bøvl", "klage", "problem", "problemer",
           "uacceptabelt", "langsom", "pinligt", "latterligt", "trist", "sur", "vred", "utilfreds", "møg",
           "uvenlig", "uvenlige", "uvenligt", "uhøflig", "uhøflige", "uhøfligt", "uhjælpsom", "beskidt", "beskidte",
           "snavset", "mugget", "ulækker", "ulækkert", "ildelugtende", "overpris", "overpriset", "uspiselig"},
    "de": {"absturz", "abstürzen", "stürzen", "fehler", "bug", "schlecht", "schlechter", "katastrophe",
           "katastrophal", "nervig", "nerven", "unbrauchbar", "enttäuschen", "enttäuscht", "enttäuschend",
           "ärgerlich", "frechheit", "abzocke", "mist", "scheiße", "scheiß", "schrecklich", "furchtbar",
           "kaputt", "hassen", "unmöglich", "beschwerde", "problem", "probleme", "zumutung", "miserabel",
           "unverschämt", "ärgern", "langsam", "lächerlich", "sauer", "unzufrieden", "peinlich", "schlimm",
           "unfreundlich", "unhöflich", "dreckig", "schmutzig", "verdreckt", "verschimmelt", "schimmelig", "muffig",
           "eklig", "überteuert", "ungenießbar", "nutzlos"},
}
PRAISE_LEMMAS = {
    "en": {"love", "great", "awesome", "amazing", "excellent", "fantastic", "perfect", "thank", "thanks", "best",
           "wonderful", "brilliant", "recommend", "kudos", "superb", "outstanding", "lovely", "enjoy", "impressed",
           "helpful", "quick", "friendly", "good", "nice", "happy", "glad"},
    "da": {"elske", "elsker", "fantastisk", "super", "genial", "genialt", "perfekt", "tak", "bedst", "bedste",
           "fremragende", "dejlig", "dejligt", "anbefale", "anbefaler", "fed", "fedt", "skøn", "skønt", "tilfreds",
           "glimrende", "formidabel", "god", "godt", "hurtig", "hurtigt", "venlig", "hjælpsom", "glad", "flot", "ros",
           "rose", "roser", "upåklagelig", "upåklageligt", "problemfrit"},
    "de": {"lieben", "liebe", "toll", "super", "genial", "perfekt", "danke", "dank", "beste", "best",
           "hervorragend", "klasse", "empfehlen", "zufrieden", "wunderbar", "großartig", "spitze", "prima",
           "gelungen", "empfehlenswert", "begeistert", "top", "gut", "schnell", "freundlich", "hilfsbereit", "froh",
           "lob", "loben", "bestens", "einwandfrei", "reibungslos"},
}
# links, also as Bluesky and X show them: no scheme, cut short ("youtu.be/CSdW5ZnI_K4?...")
# (bounded: a hostile "a.a.a.a…" must not make every start position scan to its end)
_URL = re.compile(r"https?://\S+|www\.\S+|\b(?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24}/\S*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


# "again" that promises a return visit or purchase is praise, not a repetition: "we'll definitely be back again",
# "vi kommer gerne igen", "gerne wieder", "jederzeit wieder" (removed before the repeated cue, the again signal
# and the sarcasm target are read)
_RETURN_VISIT = {
    "en": re.compile(r"\b(?:would|will|'d|'ll|gladly|definitely|happily|certainly|surely) (?:\w+ ){0,2}?(?:come|be back"
                     r"|go|buy|order|book|stay|visit|shop|use|choose|recommend|return|fly|eat)(?: \w+){0,3}? again\b"),
    "da": re.compile(r"\b(?:kommer|handler|bestiller|køber|booker|bruger|vælger|besøger) (?:\w+ ){0,2}?(?:gerne|helt sikkert"
                     r"|bestemt|med glæde) (?:\w+ )?igen\b|\bgerne igen\b"),
    "de": re.compile(r"\b(?:kommen|komme|buchen|buche|bestellen|bestelle|kaufen|kaufe|besuchen) (?:\w+ ){0,2}?(?:gerne?"
                     r"|bestimmt|sicher|definitiv|jederzeit) (?:\w+ )?wieder\b|\bgerne? wieder\b|\bjederzeit wieder\b"
                     r"|\bimmer wieder gerne?\b"),
}
# "I will never use it again" promises no return: a phrase with a negation stays
_NEGATED_RETURN = re.compile(r"\b(?:never|not|ikke|aldrig|nicht|nie|nimmer|keine?)\b|n't\b")


def without_return_visits(lowered: str, lang: str) -> str:
    """``lowered`` without the phrases that promise to come back ("vi kommer gerne igen")."""
    pattern = _RETURN_VISIT.get(lang)
    if pattern is None:
        return lowered
    return pattern.sub(lambda m: m.group(0) if _NEGATED_RETURN.search(m.group(0)) else " ", lowered)


# A statement that something was fixed ("Version 3.4.1 fixes the crash when ...", "Wir haben den Fehler behoben, durch
# den die App abstürzte", "Opdateringen retter fejlen, hvor appen crasher") names the failure it ended: release notes,
# a developer's answer, a customer's "the update fixed it". The clause it governs - to the end of the sentence or a
# contrast word ("but", "aber", "men", "still") - is removed before the failure, fix-request, repetition and
# complaint-word cues are read, and the post counts as resolved. Not when negated, promised or claimed ("didn't fix",
# "supposed to fix", "nicht behoben", "har ikke rettet", "retter ikke"), not asked ("Is the crash fixed?"), and not
# German imperatives ("Behebt das endlich!", "Bitte behebt ..." are fix requests).
_FIX = {  # the fix and what follows it: "fixes the crash ...", "retter fejlen ...", "haben den Fehler behoben, ..."
    "en": re.compile(r"\bfixes (?:for|to)\b|\bbug ?fixes\b|\b(?:a|the|our) (?:[\w.]+ )?fix (?:for|to)\b"
                     r"|\b(?:version|update|release|patch|build|it|this|which|that"
                     r"|v?\d+(?:\.\d+)+\w*) (?:\w+ )?(?:fixes|resolves|solves|addresses)\b"
                     r"|\b(?:fix(?:es|ed)|resolv(?:es|ed)|solv(?:es|ed)|patch(?:es|ed)|address(?:es|ed)|repair(?:s|ed))"
                     r" (?:it|them|(?:\w+ ){0,3}?(?:issues?|problems?|bugs?|crash(?:es)?|errors?|glitch(?:es)?|freez(?:e|es|ing)"
                     r"|conflicts?|leaks?|outages?|regressions?))\b"),
    "da": re.compile(r"\b(?:retter|løser|udbedrer|fikser|reparerer) (?:\w+ ){0,2}?(?:fejl|problem|nedbrud|crash|bug)\w*\b"
                     r"|\bhar (?:\w+ ){0,2}?(?:rettet|løst|udbedret|fikset|repareret) (?:\w+ ){0,2}?(?:fejl|problem|nedbrud"
                     r"|crash|bug)\w*\b|\bfejlrettelser?\b"),
    "de": re.compile(r"(?<=\w )(?<!bitte )(?<!doch )(?<!endlich )(?<!ihr )(?:behebt|beseitigt|korrigiert|löst|repariert"
                     r"|fixt) (?:\w+ ){0,3}?(?:fehler|problem|absturz|abstürze|bug|crash|störung|konflikt)\w*\b(?! aus\b)"
                     r"|\b(?:haben|hat|habe) (?:\w+ ){0,5}?(?:behoben|beseitigt|korrigiert|gefixt|repariert|gelöst)\b"
                     r"|\bfehlerbehebung(?:en)?\b|\bbugfix(?:es)?\b"),
}
_FIXED = {  # what was fixed, said before the fix: "the crash ... has been fixed", "fejlen er rettet", "der Absturz wurde behoben"
    "en": re.compile(r"\b(?:has|have|had) (?:now )?been (?:fixed|resolved|solved|patched|repaired)\b"
                     r"|\b(?:was|were|got) (?:\w+ ){0,3}?(?:fixed|resolved|solved|patched|repaired)\b"
                     r"|\b(?:is|are) now (?:fixed|resolved|solved)\b"),
    "da": re.compile(r"\b(?:er|blev|bliver|var) (?:\w+ ){0,4}?(?:rettet|løst|udbedret|fikset|repareret)\b"),
    "de": re.compile(r"\b(?:wurde|wurden|ist|sind|war|waren) (?:\w+ ){0,5}?(?:behoben|beseitigt|korrigiert|gefixt|repariert"
                     r"|gelöst)\b"),
}
_STOP = r"[!?…;\n]|\.(?!\d)"  # a sentence ends; a period inside a version number ("3.4.1") does not
_SENTENCE_STOP = re.compile(_STOP)
_FIX_CLAUSE_END = {lang: re.compile(_STOP + r"|\b(?:" + words + r")\b") for lang, words in {
    "en": "but|however|yet|still|although|though|except|unfortunately|sadly|now",
    "da": "men|dog|stadig|alligevel|desværre|nu",
    "de": "aber|jedoch|trotzdem|immer noch|noch immer|allerdings|leider|dafür|nun|jetzt",
}.items()}
_FIX_CLAUSE_START = {lang: re.compile(_STOP + r"|[,:]|\b(?:" + words + r")\b") for lang, words in {  # a passive
    "en": "but|however|and|although|though|because|since",  # fix's clause starts after one of these
    "da": "men|og|dog|fordi|selvom",
    "de": "aber|und|jedoch|weil|obwohl|doch",
}.items()}
# what a post that reports a fix must not hold besides it to be no complaint (intent.reported_fix) and no bad news
# (sentiment.invert_by_cues): one list for both rules
GRIEVANCE_CUES = ("failure", "complaint_word", "question", "fix_request", "sarcasm")
_FIX_DENIED = {  # in the five words before the fix, or right after it (German: in its main clause)
    "en": re.compile(r"\b(?:not|no|never|nothing|without|supposed|meant|claims?|claimed|promised?|should|would|could"
                     r"|will|needs?|want|wants|hope|hopefully|trying|tried|try|pretends?|apparently|allegedly|says?|said"
                     r"|told|states?|stated)\b|n't\b"),
    "da": re.compile(r"\b(?:ikke|aldrig|ingen|intet|ingenting|uden|skulle|burde|angiveligt|lovet|lovede|håber"
                     r"|forhåbentlig|vil|siger|sagde|påstår|påstod)\b"),
    "de": re.compile(r"\b(?:nicht|nie|niemals|kein\w*|nichts|ohne|soll\w*|angeblich|versprochen|hoffentlich|würde"
                     r"|sagt|sagte|behauptet|behauptete)\b"),
}


def without_fixes(lowered: str, lang: str) -> tuple[str, bool]:
    """(``lowered`` without the clauses that say a failure was fixed, whether one was removed).

    The sentence and clause boundaries are found once and looked up by position (bisect), so a long post with many
    fix phrases stays linear."""
    if lang not in _FIX:
        return lowered, False
    found = [(m, passive) for pattern, passive in ((_FIX[lang], False), (_FIXED[lang], True))
             for m in pattern.finditer(lowered)]
    if not found:
        return lowered, False
    stops = [(m.start(), m.group(0)) for m in _SENTENCE_STOP.finditer(lowered)]
    stop_at = [position for position, _ in stops]
    clause_ends = [m.start() for m in _FIX_CLAUSE_END[lang].finditer(lowered)]
    clause_starts = [m.end() for m in _FIX_CLAUSE_START[lang].finditer(lowered)]
    denied = _FIX_DENIED[lang]
    spans = []
    for match, passive in found:
        i = bisect_left(stop_at, match.end())
        if i < len(stops) and stops[i][1] == "?":
            continue  # asked, not said: "Is the crash fixed?", "Is there a fix for the crash yet?"
        j = bisect_left(clause_ends, match.end())
        end = clause_ends[j] if j < len(clause_ends) else len(lowered)
        before = " ".join(lowered[max(0, match.start() - 60):match.start()].split()[-5:])
        following = lowered[match.end():min(end, match.end() + 300)]
        after = following.split(",")[0] if lang == "de" else " ".join(following.split()[:2])
        if denied.search(match.group(0)) or denied.search(before) or denied.search(after):
            continue
        start = match.start()
        if passive:  # back to the start of the clause that names what was fixed
            k = bisect_right(clause_starts, match.start())
            start = clause_starts[k - 1] if k else 0
        spans.append((start, end))
    if not spans:
        return lowered, False
    out, last = [], 0
    for start, end in sorted(spans):
        if end <= last:
            continue
        out.append(lowered[last:max(start, last)])
        out.append(" ")
        last = end
    out.append(lowered[last:])
    return "".join(out), True


@lru_cache(maxsize=64)
def _pattern(cue: str, lang: str) -> re.Pattern:
    """The cue's pattern for lower-cased text: every caller lower-cases first and the tables are written in lower
    case (tests/test_enrich_intent.py checks both), so no IGNORECASE, which made `re` twice as slow on them."""
    table = _QUESTION_OPENERS if cue == "question_opener" else _PHRASES[cue]
    return re.compile(table[lang], re.MULTILINE)


def _has(cue: str, lang: str, lowered: str) -> bool:
    return _pattern(cue, lang).search(lowered) is not None


# a short quotation: what someone else asked, or a dialog's text ('The app asks "Are you sure?" and crashes')
_QUOTED = re.compile(r'"[^"\n]{1,80}"|“[^”\n]{1,80}”|„[^“”\n]{1,80}[“”]|«[^»\n]{1,80}»|»[^«\n]{1,80}«')


def is_question(text: str, sentences: list[str], lang: str) -> bool:
    """A '?' outside links and short quotations, or an interrogative opener of the *last* sentence ("Does anyone
    know how to...")."""
    own = _QUOTED.sub(" ", _URL.sub(" ", text))
    if "?" in (own if any(ch.isalpha() for ch in own) else text):  # a post that is one quotation asks it
        return True
    last = sentences[-1].strip().lower() if sentences else ""
    # "Kan ikke anbefales." opens with "kan" but is a statement, hence the negation guard; "What a mess!", "Wie
    # schön!", "Hvor er det flot!" open with a question word but exclaim
    if last.rstrip().endswith("!") or _EXCLAMATIVE[lang].match(last):
        return False
    return bool(_pattern("question_opener", lang).match(last)) and not re.match(r"^\w+ (?:ikke|nicht|not)\b", last)


_EXCLAMATIVE = {
    "en": re.compile(r"^(?:what an?\b|how \w+(?: of (?:you|them|him|her|us))?[.…]*$)"),
    "da": re.compile(r"^(?:hvor (?:er|var) (?:det|den|de) (?:\w+ )?(?:flot|flotte|dejligt|dejlig|skønt|skøn|godt|sødt|sød"
                     r"|trist|irriterende|dumt|ærgerligt|fedt)\b|hvad for (?:en|et) (?:dejlig|skøn|flot|god|fed|herlig"
                     r"|dum|trist)\w*\b)"),
    "de": re.compile(r"^(?:was für (?:ein\w*|\w+e)\b(?! \w+ (?:ist|sind|war|hat|haben|kann|soll|muss|gibt)\b)"
                     r"|wie \w+[.…]*$)"),
}


def cue_vector(text: str, lang: str, lemmas: set[str] | None = None, sentences: list[str] | None = None) -> dict[str, float]:
    """The cues of ``text`` (in ``lang``: da, de or en) as 0/1 values in the order of ``CUES``."""
    if lang not in _QUESTION_OPENERS or not text:
        return dict.fromkeys(CUES, 0.0)
    lowered = text.lower()
    if lemmas is None:
        lemmas = set(re.findall(r"[^\W\d_]+", lowered))
    if sentences is None:
        sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    first_person = _FIRST_PERSON[lang]
    wish_word = bool(lemmas & _WISH_LEMMAS[lang]) and (first_person is None or bool(lemmas & first_person))
    unfixed, fixed = without_fixes(lowered, lang)
    failure = _has("failure", lang, unfixed)
    complaint_word = bool((_lookup_lemmas(unfixed, lang) if fixed else lemmas) & COMPLAINT_LEMMAS[lang])
    recurring = without_return_visits(unfixed, lang)
    repeated = _has("repeated", lang, recurring)
    opener = any(_has("sarcasm_opener", lang, s.strip().lower()) for s in sentences)
    sarcasm = _has("sarcasm_idiom", lang, lowered) or (opener and _has("sarcasm_target", lang, recurring))
    found = {
        "wish": wish_word or _has("wish", lang, lowered) or _requests(lowered, lang),
        "fix_request": _has("fix_request", lang, unfixed),
        "question": is_question(text, sentences, lang),
        "failure": failure,
        "repeated": repeated,
        "money": _has("money", lang, lowered) or (_has("subscription", lang, lowered) and (failure or complaint_word)),
        "complaint_word": complaint_word,
        "praise_word": bool(lemmas & PRAISE_LEMMAS[lang]),
        "thanks": _has("thanks", lang, lowered) and not sarcasm,
        "resolved": fixed or _has("resolved", lang, lowered),
        "sarcasm": sarcasm,
        "exclaim": "!" in text,
    }
    return {cue: float(found[cue]) for cue in CUES}


def _lookup_lemmas(text: str, lang: str) -> set[str]:
    from pipelines.enrich.nlp import text_analyzer

    return text_analyzer(lang, "blank").analyze([text])[0][0]


def cue_matrix(texts: list[str], langs: list[str], spacy_mode: str = "blank") -> np.ndarray:
    """(n, len(CUES)) cue values for texts in their languages; lemmas and sentences from nlp.text_analyzer.
    Texts in other languages get zeros."""
    from pipelines.enrich.nlp import text_analyzer

    out = np.zeros((len(texts), len(CUES)), dtype=np.float32)
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(langs):
        if lang in _QUESTION_OPENERS and texts[i]:
            by_lang[lang].append(i)
    for lang, idx in by_lang.items():
        analyzed = text_analyzer(lang, spacy_mode).analyze([texts[i] for i in idx])
        for i, (lemmas, sentences) in zip(idx, analyzed):
            out[i] = list(cue_vector(texts[i], lang, lemmas, sentences).values())
    return out


# --- override signals ---------------------------------------------------------------------------------------
# Narrower than the cues above: an intent override replaces the classifier's answer, so it fires only on the
# unambiguous forms - a request addressed to the product or organisation ("please add", "Kan I ikke ...",
# "Bitte bietet ...", not "I wish I were there"), sarcasm about a failure, a price rise or something done
# without notice (not "Godt at se dig igen"), and a failure that happened again (not "still").
_OVERRIDE_PHRASES: dict[str, dict[str, str]] = {
    # A request for something new or different, addressed to the product or organisation: "please (also) add",
    # an imperative that opens a sentence ("Add ...", "Allow users to ...", "Bring back ...", "Tilføj ...",
    # "Bringt ... zurück"), "X should be added / possible", "there should be an option", "it would be useful to
    # have", "I suggest ...", "Kan I ikke ...", "I burde ...", "Giv os muligheden ...", "Es sollte möglich sein",
    # "Mein Vorschlag", and asked as a question about plans: "Will you (ever) add ...?", "Vil I tilføje ...?",
    # "Werdet ihr ... einbauen?". Looking back ("should have been", "wäre schön gewesen") is no request; neither is a
    # request to fix something (fix_request, a complaint) nor one to readers ("please retweet").
    "request": {
        "en": r"\bwill you (?:ever |please |also |guys |finally )?(?:add|bring back|offer|introduce|support|include"
              r"|implement)\b"
              r"|\bplease,? (?:\w+ ){0,2}?(?:add|make|bring|let|allow|give (?:us|users|me|people|the option)|consider|implement|include|support|offer"
              r"|provide|introduce|extend|publish|create|enable|expose|restore|reinstate|rethink|reconsider)\b"
              r"|\b(?:can|could|would) you (?:please )?(?:add|make|offer|bring|consider|introduce|provide|include"
              r"|allow|enable|support)\b"
              r"|\b(?:any chance|is there (?:any )?chance|maybe|perhaps) (?:that )?you(?: guys)? (?:could|can|would|might|will)"
              r" (?:please )?(?:add|make|offer|bring|consider|introduce|provide|include|allow|enable|support)\b"
              r"|\byou should (?:add|make|offer|consider|bring|include|introduce|start|allow"
              r"|support|enable)\b|\b(?:it )?(?:would|'d) be (?:really |very |so |super |extremely |much |a lot )?"
              r"(?:nice|great|cool|awesome|helpful|good|lovely|useful|handy|convenient|beneficial|better) (?:if|to (?:have|be able|get|see|add"
              r"|allow))\b|\bfeature request\b|\bwhy not (?:add|make|offer|allow|support)\b|\bi wish (?:you|they) would\b(?! have)"
              r"|\bi wish there (?:was|were|is)\b|\bhow about adding\b|\bi(?:'d| would)? (?:suggest|propose)\b"
              r"|\bmy suggestion\b|\bshould (?:also )?be (?:added|possible|available|supported|included|implemented|allowed"
              r"|optional|configurable|an option)\b|\bthere should be (?:an?|the|some) (?:option|way|setting|button|mode"
              r"|feature|possibility|choice)\b|\bi(?:'d| would) (?:like|love) (?:to (?:have the option|be able)|the (?:option"
              r"|ability|possibility|choice)|an? (?:option|way|setting|feature|button))\b|\b(?:give|let) (?:us|users|me|people)"
              r" (?:the |an? )?(?:option|ability|choice|possibility|chance to choose)\b",
        "da": r"\bvil i (?:ikke |snart |nogensinde |også |gerne )?(?:tilføje|indføre|tilbyde|genindføre|lave en|lave et)\b"
              r"|\b(?:ville|kunne) (?:være|være så) (?:rart|fedt|godt|dejligt|smart|super|nice|skønt|fint|praktisk)\b[^.!?]{0,20}\bhvis\b"
              r"|\bkunne i (?:ikke|ikke godt|evt|eventuelt|måske)\b|\bkan i (?:ikke|ikke godt|evt|eventuelt|måske)\b"
              r"|\bkunne i (?:også |godt )?(?:lave|tilføje|tilbyde|indføre|genindføre|udgive|lancere)\b"
              r"|\btilføj\b(?! (?:\w+ )?til (?:kurv|indkøbskurv|favorit|ønskeliste|min|din))|\b(?:lav|tilbyd|indfør) (?:en|et|også|gerne)\b"
              r"|\b(?:det|der) (?:burde|bør|skulle) (?:også )?(?:være|kunne) (?:muligt|en mulighed|mulighed)\b"
              r"|\bdet (?:ville|kunne) være (?:\w+ )?(?:rart|fedt|godt|dejligt|smart|super|nice|skønt|fint|praktisk|nyttigt|en fordel"
              r"|en god idé) (?:at|med|hvis)\b|\bjeg (?:vil )?(?:foreslå|foreslår)\b|\bmit forslag\b"
              r"|\bgiv (?:os|brugerne|kunderne) (?:muligheden|mulighed|en|et)\b|\bgør det muligt\b|\bgenindfør\b"
              r"|\bhvorfor ikke (?:tilbyde|lave|indføre|tilføje|give)\b|\b(?:savner|mangler) (?:muligheden|en mulighed"
              r"|at kunne)\b",
        "de": r"\bwäre (?:es )?(?:sehr |echt |wirklich |total |doch )?(?:schön|toll|super|gut|cool|klasse|praktisch"
              r"|hilfreich|nett|wünschenswert|prima|genial|sinnvoll|nützlich)\b(?![^.!?]*\bgewesen\b)[^.!?]{0,20}\b(?:wenn|zu)\b"
              r"|\bbitte (?!beheb|repar|korrig|fix)(?:\w+ ){0,2}?(?:bietet|bieten|fügt|baut|macht|bringt"
              r"|ergänzt|einbauen|hinzufügen|anbieten|erweitert|führt|stellt|gebt|schafft|ermöglicht|einführen|ermöglichen"
              r"|erlaubt|erlauben|wieder einführen|zurückbringen)\b|\bkönntet ihr\b|\bihr solltet\b|\bsolltet ihr\b"
              r"|\b(?:es )?(?:sollte|müsste) (?:\w+ ){0,4}?(?:möglich sein|eine (?:option|möglichkeit|funktion) geben)\b"
              r"|\bsollte (?:\w+ ){0,3}?(?:hinzugefügt|eingeführt|angeboten|ergänzt|ermöglicht|erweitert|eingebaut) werden\b"
              r"|\bich (?:würde )?(?:schlage vor|vorschlagen)\b|\bmein vorschlag\b|\bich wünsche mir\b|\bwir wünschen uns\b"
              r"|\b(?:werdet ihr|werden sie) (?:\w+ ){0,5}?(?:einbauen|anbieten|hinzufügen|einführen|ergänzen|ermöglichen)\b",
    },
    # The same kind of request as an imperative that opens a sentence ("Add an option …", "I burde …", "Indfør en
    # …", "Bringt … zurück"). Kept apart from "request": a pattern anchored at sentence starts inside one big
    # alternation made every search 4x slower.
    "request_opening": {
        "en": r"(?:^|[.!?]\s+)(?:@\w+ )*(?:bring back\b|(?:add|allow|enable|support|introduce|implement|expose|provide|offer"
              r"|include) (?:an?|support|more|some|users|us|me|people|developers|apps|options?|ability|dark|\w+ing)\b)",
        "da": r"(?:^|[.!?]\s*)(?:i (?:burde|bør|skulle|må gerne)\b|(?:indfør|tilbyd|lav) (?:\w+ )?(?:en|et|også|muligheden)\b)",
        "de": r"(?:^|[.!?]\s*)(?:bitte )?(?:fügt|bringt|ergänzt|ermöglicht|erlaubt|gebt) (?:\w+ ){0,4}?(?:hinzu|zurück|ein|an"
              r"|uns|die möglichkeit|eine)\b",
    },
    # A why-question that vents a grievance (labelling rules: "rhetorical questions that vent a grievance" are
    # complaints): "why" and, in the same sentence, something taken from the customer - a higher price, a
    # removed feature, money taken - or a failure or complaint word (checked with the cues).
    "why": {
        "en": r"\b(?:why|how come)\b",
        "da": r"\b(?:hvorfor|hvordan kan det være)\b",
        "de": r"\b(?:warum|wieso|weshalb|wie kann es sein)\b",
    },
    # A why-question about a social norm asks, it does not vent: "Why is it rude to ...?", "Hvorfor er det uhøfligt
    # at ...?", "Warum ist es unhöflich, ...?" ("Why is it so hard to cancel?" is still a grievance)
    "norm_question": {
        "en": r"\bwhy (?:is|was|would|isn'?t) it (?:\w+ )?(?:considered |seen as |deemed )?(?:rude|impolite|polite"
              r"|bad|wrong|weird|ok|okay|acceptable|unacceptable|normal|illegal|legal|taboo|frowned upon) (?:to|that|for)\b",
        "da": r"\bhvorfor er det (?:\w+ )?(?:uhøfligt|høfligt|forkert|dårligt|mærkeligt|ok|okay|normalt|ulovligt"
              r"|lovligt|tabu|uacceptabelt) at\b",
        "de": r"\b(?:warum|wieso|weshalb) (?:ist|gilt) es (?:\w+ )?(?:als )?(?:unhöflich|höflich|falsch|schlecht"
              r"|komisch|ok|okay|normal|illegal|verboten|tabu|unangebracht)\b",
    },
    # what the customer is made to do (with "again" in the same why-question: a chore imposed again and again)
    "imposed": {
        "en": r"\b(?:have to|has to|need to|must|forced to|required to)\b",
        "da": r"\b(?:skal|må|nødt til|tvunget til)\b",
        "de": r"\b(?:muss|müssen|musst|gezwungen)\b",
    },
    "taken": {
        "en": r"\b(?:rais(?:e|ed|ing) (?:the |your |its |our )?(?:price|fee|subscription)s?|more expensive|price (?:hike|increase)"
              r"|pay (?:\w+ ){0,2}more|charged? (?:me )?(?:twice|double|more|again)|remove|removed|removing|got rid of|take away"
              r"|took away|taken away|discontinue|discontinued)\b",
        "da": r"\b(?:dyrere|prisen (?:\w+ )?(?:steget|sat op|hævet)|hævet prisen|sat prisen op|betale (?:\w+ ){0,3}mere"
              r"|trukket (?:to|dobbelt|igen)|fjernet|fjerne|nedlagt|droppet)\b",
        "de": r"\b(?:teurer|doppelt so viel|preis\w* (?:\w+ )?(?:erhöht|gestiegen)|mehr (?:be)?zahlen|(?:zweimal|doppelt) "
              r"(?:abgebucht|berechnet)|entfernt|abgeschafft|gestrichen)\b",
    },
    "again": {
        "en": r"\bagain\b|\bevery (?:single )?time\b|\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time\b"
              r"|\b(?:three|four|five|several|many) times\b|\bkeeps? \w+ing\b|\bonce more\b|\btwice\b"
              r"|\b(?:days?|weeks?|months?|times|mornings?|issues|editions) (?:running|in a row)\b"
              r"|\bevery (?:single )?(?:day|morning|evening|night|week|weekend)\b",
        "da": r"\bigen\b|\bhver (?:eneste )?gang\b|\b(?:anden|tredje|fjerde|femte|\d+\.) gang\b|\bbliver ved med\b"
              r"|\bendnu en gang\b|\b(?:to|tre|fire|flere|mange) gange\b|\bdobbelt\b|\bi træk\b"
              r"|\bhver (?:eneste )?(?:dag|morgen|aften|nat|uge|weekend)\b",
        "de": r"\bwieder\b|\berneut\b|\bjedes (?:einzelne )?mal\b|\bjedesmal\b|\b(?:zweite|dritte|vierte|fünfte|\d+\.) mal\b"
              r"|\bständig\b|\bdauernd\b|\b(?:zweimal|dreimal|viermal|mehrmals|doppelt)\b|\bin folge\b|\bhintereinander\b"
              r"|\b(?:jeden|jede|jedes) (?:einzelnen? )?(?:tag|morgen|abend|nacht|woche|wochenende)\b",
    },
}


SIGNALS = ("request", "sarcastic_grievance", "repeated_failure", "own_failure", "grievance_question")


def override_signals(text: str, lang: str, cues: dict[str, float]) -> dict[str, bool]:
    """The narrow signals the intent overrides use (SIGNALS)."""
    if lang not in _QUESTION_OPENERS or not text:
        return dict.fromkeys(SIGNALS, False)
    lowered = text.lower()
    again = re.search(_OVERRIDE_PHRASES["again"][lang], without_return_visits(lowered, lang)) is not None
    # the post's sentences without links, split once for the two signals that read words within one sentence
    unsolved = not cues["resolved"]
    sentences = (_SENTENCE_END.split(_URL.sub(" ", lowered))
                 if unsolved and (cues["failure"] or cues["question"]) else [])
    return {
        "request": _requests(lowered, lang),
        "sarcastic_grievance": bool(cues["sarcasm"]) and (
            bool(cues["failure"]) or _has("sarcasm_idiom", lang, lowered) or _notice_or_price(lowered, lang)
            or (again and re.search(_NEGATION[lang], lowered) is not None)),  # "Toll, schon wieder kein WLAN"
        "repeated_failure": bool(cues["failure"]) and again and not cues["resolved"],
        "own_failure": bool(cues["failure"]) and unsolved and _own_failure(sentences, lang),
        "grievance_question": bool(cues["question"]) and unsolved and _grievance_question(
            sentences, lang, bool(cues["failure"] or cues["complaint_word"])),
    }


def _grievance_question(sentences: list[str], lang: str, negative_cue: bool) -> bool:
    """A sentence asking why that holds something taken from the customer, a chore imposed again and again, or
    a failure or complaint word anywhere in the post: "Warum kostet der Tarif jetzt doppelt so viel?", "Hvorfor
    har I fjernet krydsordet?", "Why do I have to log in every single time?", "Why does the app crash every
    time?"; not "Why is the sky blue?"."""
    for sentence in sentences:
        if re.search(_OVERRIDE_PHRASES["norm_question"][lang], sentence):
            continue
        if re.search(_OVERRIDE_PHRASES["why"][lang], sentence) and (
                negative_cue or re.search(_OVERRIDE_PHRASES["taken"][lang], sentence)
                or (re.search(_OVERRIDE_PHRASES["imposed"][lang], sentence)
                    and re.search(_OVERRIDE_PHRASES["again"][lang], sentence))):
            return True
    return False


# Something of the author's failed: in one sentence the author ("my/our …", "I", "min", "jeg", "meine", "ich") and a
# failure that is more than an everyday word ("my card is not working", "I never received my certificate", "min
# pakke er ikke leveret", "meine Zeitung wurde nicht zugestellt"; not "I was wrong", "I lost my keys", "jeg har
# mistet min hue").
_AUTHOR = {"en": r"\b(?:my|our|i|i'?ve|i'?m|we|we'?ve|me|us)\b", "da": r"\b(?:min|mit|mine|vores|jeg|vi|mig|os)\b",
           "de": r"\b(?:mein|meine[nmrs]?|unser|unsere[nmrs]?|ich|wir|mir|mich|uns)\b"}
_EVERYDAY_FAILURE = {"en": {"wrong", "lost", "late", "no longer", "waste of", "error", "errors", "bug", "bugs"},
                     "da": {"forkert", "mistet", "ikke længere", "spild af", "fejl", "fejlen", "fejlene", "bug"},
                     "de": {"falsch", "verloren", "nicht mehr", "fehler", "bug"}}


def _own_failure(sentences: list[str], lang: str) -> bool:
    failure = _pattern("failure", lang)
    for sentence in sentences:
        if not any(m.group(0) not in _EVERYDAY_FAILURE[lang] for m in failure.finditer(sentence)):
            continue
        if re.search(_AUTHOR[lang], sentence):
            return True
    return False


@lru_cache(maxsize=1024)  # the wish cue and the request override ask about the same text one after the other
def _requests(lowered: str, lang: str) -> bool:
    return any(pattern.search(lowered) for pattern in _request_patterns(lang))


@lru_cache(maxsize=8)
def _request_patterns(lang: str) -> tuple[re.Pattern, re.Pattern]:
    return tuple(re.compile(_OVERRIDE_PHRASES[key][lang], re.MULTILINE) for key in ("request", "request_opening"))


_NOTICE_OR_PRICE = {
    "en": r"\bwithout (?:telling|notice|warning|asking)\b|\bprices?\b|\bprice (?:hike|increase)\b",
    "da": r"\buden at (?:sige|varsle|fortælle|spørge)\b|\bpris(?:en)?\b|\bprisstigning\b",
    "de": r"\bohne (?:vorwarnung|ankündigung|bescheid|zu fragen)\b|\bpreis\w*\b",
}


_NEGATION = {"en": r"\b(?:no|not|never)\b|n't\b", "da": r"\b(?:ikke|ingen|intet|aldrig)\b",
             "de": r"\b(?:kein\w*|nicht|nie)\b"}


def _notice_or_price(lowered: str, lang: str) -> bool:
    return re.search(_NOTICE_OR_PRICE[lang], lowered) is not None
