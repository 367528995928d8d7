"""Near-duplicate posts (cross-posts, syndicated copies): flag them so trends count each text once.

    >>> mark_near_duplicates(con, run_id)      # after the run's loads; returns how many posts were flagged
    3

Each post's normalised text (title + body, lower-cased, URLs and punctuation dropped) becomes a set of word
3-shingles and a 32-value MinHash, cut into 8 bands of 4. Bands are stored in core.post_signatures, so a new post
is compared only with the earlier posts that share a band (an index lookup), never with all history. Candidates
are confirmed by the exact shingle Jaccard similarity (>= JACCARD). The flagged post gets
``duplicate_of`` = the original (the earliest-loaded match, following its own duplicate_of). Texts under
MIN_TOKENS words are skipped: "thanks!" twice is not a cross-post.
"""

from __future__ import annotations

import hashlib
import re
import struct

MIN_TOKENS = 8
SHINGLE = 3
PERMUTATIONS = 32
BANDS = 8
JACCARD = 0.8
_PRIME = (1 << 61) - 1
_SEEDS = [struct.unpack("<QQ", hashlib.blake2b(f"minhash-{i}".encode(), digest_size=16).digest()) for i in range(PERMUTATIONS)]
_URL = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"\w+", re.UNICODE)

SIGNATURE_TABLE = """
CREATE TABLE IF NOT EXISTS core.post_signatures (
    post_id VARCHAR NOT NULL,
    band    VARCHAR NOT NULL
);
CREATE INDEX IF NOT EXISTS post_signatures_band ON core.post_signatures (band);
"""


def normalised_tokens(title: str | None, body: str | None) -> list[str]:
    """Lower-cased words of title + body without URLs; what 'the same text' is judged on."""
    text = f"{title or ''} {body or ''}".lower()
    return _WORD.findall(_URL.sub(" ", text))


def shingles(tokens: list[str]) -> set[int]:
    grams = [" ".join(tokens[i:i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))]
    return {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") for g in grams}


def band_keys(shingle_set: set[int]) -> list[str]:
    """The BANDS locality-sensitive keys of a shingle set (equal keys = a likely near-duplicate)."""
    mins = [min(((a | 1) * s + b) % _PRIME for s in shingle_set) for a, b in _SEEDS]
    rows = PERMUTATIONS // BANDS
    return [f"{band}:" + hashlib.blake2b(struct.pack(f"<{rows}Q", *mins[band * rows:(band + 1) * rows]),
                                         digest_size=8).hexdigest() for band in range(BANDS)]


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def ensure_signature_table(con) -> None:
    con.execute(SIGNATURE_TABLE)


def mark_near_duplicates(con, run_id: str) -> int:
    """Flag this run's posts that near-duplicate an earlier post (or an earlier one of this run); returns the count."""
    ensure_signature_table(con)
    rows = con.execute(
        """SELECT post_id, title, body, first_loaded_at FROM core.posts
           WHERE run_id = ? AND NOT is_deleted ORDER BY first_loaded_at, created_at, post_id""", [run_id]).fetchall()
    if not rows:
        return 0
    con.execute("DELETE FROM core.post_signatures WHERE post_id IN (SELECT post_id FROM core.posts WHERE run_id = ?)",
                [run_id])
    flagged: dict[str, str] = {}
    new_bands: list[tuple[str, str]] = []
    texts: dict[str, set[int]] = {}  # shingles of this run's posts, so in-run matches need no query
    for post_id, title, body, my_loaded in rows:
        tokens = normalised_tokens(title, body)
        if len(tokens) < MIN_TOKENS:
            continue
        mine = shingles(tokens)
        keys = band_keys(mine)
        candidates = _candidates(con, keys, post_id) | {p for p, k in new_bands if k in keys and p != post_id}
        best = None
        for candidate, original, loaded in _describe(con, candidates, flagged):
            theirs = texts.get(candidate)
            if theirs is None:
                other = con.execute("SELECT title, body FROM core.posts WHERE post_id = ?", [candidate]).fetchone()
                theirs = shingles(normalised_tokens(*other)) if other else set()
            if loaded > my_loaded:
                continue  # a later post cannot be the original of this one
            if jaccard(mine, theirs) >= JACCARD and (best is None or loaded < best[1]):
                best = (original, loaded)
        if best:
            flagged[post_id] = best[0]
        texts[post_id] = mine
        new_bands += [(post_id, key) for key in keys]
    if new_bands:
        con.executemany("INSERT INTO core.post_signatures VALUES (?, ?)", new_bands)
    con.execute("UPDATE core.posts SET duplicate_of = NULL WHERE run_id = ? AND duplicate_of IS NOT NULL", [run_id])
    if flagged:
        con.executemany("UPDATE core.posts SET duplicate_of = ? WHERE post_id = ?",
                        [(original, post_id) for post_id, original in flagged.items()])
    return len(flagged)


def _candidates(con, keys: list[str], post_id: str) -> set[str]:
    placeholders = ", ".join("?" for _ in keys)
    found = con.execute(f"SELECT DISTINCT post_id FROM core.post_signatures WHERE band IN ({placeholders}) "
                        f"AND post_id <> ?", [*keys, post_id]).fetchall()
    return {row[0] for row in found}


def _describe(con, candidates: set[str], flagged: dict[str, str]):
    """(candidate, its original, when the original was first loaded) for each candidate, oldest first."""
    if not candidates:
        return []
    ids = sorted(candidates)
    placeholders = ", ".join("?" for _ in ids)
    found = con.execute(f"""SELECT p.post_id, coalesce(p.duplicate_of, p.post_id), coalesce(o.first_loaded_at, p.first_loaded_at)
                            FROM core.posts p LEFT JOIN core.posts o ON o.post_id = p.duplicate_of
                            WHERE p.post_id IN ({placeholders})""", ids).fetchall()
    return sorted(((c, flagged.get(c, original), loaded) for c, original, loaded in found), key=lambda r: r[2])
