"""Near-duplicate posts (cross-posts, syndicated copies): flag them so trends count each text once.

    >>> mark_near_duplicates(con, run_id)      # after the run's loads; returns how many posts were flagged
    3

Each post's normalised text (title + body, lower-cased, URLs and punctuation dropped) becomes a set of word
3-shingles and a 32-value MinHash, cut into 8 bands of 4. Bands are stored in core.post_signatures (migration 002),
so a new post is compared only with the earlier posts that share a band (an index lookup), never with all history.
Candidates are confirmed by the exact shingle Jaccard similarity (>= JACCARD). The flagged post gets
``duplicate_of`` = the original (the earliest-loaded match, following its own duplicate_of). Texts under
MIN_TOKENS words are skipped: "thanks!" twice is not a cross-post.
"""

from __future__ import annotations

import hashlib
import re
import struct

import pyarrow as pa

MIN_TOKENS = 8
SHINGLE = 3
PERMUTATIONS = 32
BANDS = 8
JACCARD = 0.8
_PRIME = (1 << 61) - 1
_SEEDS = [struct.unpack("<QQ", hashlib.blake2b(f"minhash-{i}".encode(), digest_size=16).digest()) for i in range(PERMUTATIONS)]
_URL = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"\w+", re.UNICODE)

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


def mark_near_duplicates(con, run_id: str) -> int:
    """Flag this run's posts that near-duplicate an earlier post (or an earlier one of this run); returns the count.

    Set-based: one join finds every candidate pair through shared bands, one query fetches the earlier posts'
    texts, and signatures and flags are written back as Arrow tables (no per-post queries or executemany).
    """
    rows = con.execute(
        """SELECT post_id, title, body, first_loaded_at FROM core.posts
           WHERE run_id = ? AND NOT is_deleted ORDER BY first_loaded_at, created_at, post_id""", [run_id]).fetchall()
    if not rows:
        return 0
    con.execute("DELETE FROM core.post_signatures WHERE post_id IN (SELECT post_id FROM core.posts WHERE run_id = ?)",
                [run_id])
    con.execute("UPDATE core.posts SET duplicate_of = NULL, changed_at = now() "
                "WHERE run_id = ? AND duplicate_of IS NOT NULL", [run_id])
    mine: dict[str, set[int]] = {}
    order: dict[str, int] = {}
    signature_rows: list[tuple[str, str]] = []
    for position, (post_id, title, body, _loaded) in enumerate(rows):
        tokens = normalised_tokens(title, body)
        if len(tokens) < MIN_TOKENS:
            continue
        mine[post_id] = shingles(tokens)
        order[post_id] = position
        signature_rows += [(post_id, key) for key in band_keys(mine[post_id])]
    if not signature_rows:
        return 0
    con.register("run_bands", pa.table({"post_id": [r[0] for r in signature_rows],
                                        "band": [r[1] for r in signature_rows]}))
    try:
        earlier_pairs = con.execute(
            """SELECT DISTINCT r.post_id, s.post_id FROM run_bands r JOIN core.post_signatures s USING (band)
               WHERE s.post_id <> r.post_id""").fetchall()
        in_run_pairs = con.execute(
            """SELECT DISTINCT a.post_id, b.post_id FROM run_bands a JOIN run_bands b USING (band)
               WHERE a.post_id <> b.post_id""").fetchall()
        described = _describe(con, sorted({other for _, other in earlier_pairs}))
        con.execute("INSERT INTO core.post_signatures SELECT post_id, band FROM run_bands")
    finally:
        con.unregister("run_bands")
    earlier = {pid: (shingles(normalised_tokens(title, body)), original, loaded)
               for pid, title, body, original, loaded in described}
    candidates: dict[str, set[str]] = {}
    for post_id, other in earlier_pairs + in_run_pairs:
        candidates.setdefault(post_id, set()).add(other)
    flagged: dict[str, str] = {}
    for post_id in sorted(mine, key=order.get):  # load order: an in-run original is decided before its copies
        best = None  # (original, rank): earlier posts from before this run rank below any post of this run
        for other in candidates.get(post_id, ()):
            if other in mine:
                if order[other] >= order[post_id]:
                    continue  # a later post cannot be the original of this one
                theirs, original, rank = mine[other], flagged.get(other, other), (1, order[other])
            elif other in earlier:
                theirs, original, loaded = earlier[other]
                rank = (0, loaded.timestamp() if loaded else 0)
            else:
                continue
            if jaccard(mine[post_id], theirs) >= JACCARD and (best is None or rank < best[1]):
                best = (original, rank)
        if best:
            flagged[post_id] = best[0]
    if flagged:
        con.register("run_flags", pa.table({"post_id": list(flagged), "original": list(flagged.values())}))
        try:
            con.execute("""UPDATE core.posts SET duplicate_of = f.original, changed_at = now() FROM run_flags f
                           WHERE core.posts.post_id = f.post_id""")
        finally:
            con.unregister("run_flags")
    return len(flagged)


def _describe(con, ids: list[str]) -> list[tuple]:
    """(post_id, title, body, its original, when the original was first loaded) for earlier posts."""
    if not ids:
        return []
    con.register("candidate_ids", pa.table({"post_id": pa.array(ids, pa.string())}))
    try:
        return con.execute("""SELECT p.post_id, p.title, p.body, coalesce(p.duplicate_of, p.post_id),
                                     coalesce(o.first_loaded_at, p.first_loaded_at)
                              FROM core.posts p JOIN candidate_ids c USING (post_id)
                              LEFT JOIN core.posts o ON o.post_id = p.duplicate_of""").fetchall()
    finally:
        con.unregister("candidate_ids")
