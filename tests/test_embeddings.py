"""The ONNX embedder: sha256 checks, shapes, order under length sorting, batch invariance, semantic sanity."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from paperfeed.config import Settings
from paperfeed.search.embeddings import (
    DIM,
    Embedder,
    IntegrityError,
    OnnxEmbedder,
    load_embedder,
    paper_text,
    plan_batches,
    shipped_model_path,
    tokenizer_path,
)
from paperfeed.search.model_build import sha_path

DATA = Path(__file__).parent / "data"


def _papers() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DATA / "jsonl" / "sample.jsonl").read_text().splitlines() if line]
    return [(r["title"], r["summary"]) for r in rows if r.get("title") and r.get("summary")]


@pytest.fixture(scope="module")
def shipped() -> OnnxEmbedder:
    return OnnxEmbedder(max_tokens=128, batch_size=4)


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    data = tmp_path_factory.mktemp("fast")
    return load_embedder(Settings(data_dir=data, embed_max_tokens=128, embed_batch_size=4))


def test_tampered_tokenizer_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    shutil.copy(tokenizer_path(), bad)
    with bad.open("ab") as fh:
        fh.write(b" ")
    emb = OnnxEmbedder(tokenizer_file=bad)  # constructing loads nothing...
    with pytest.raises(IntegrityError, match="sha256"):
        emb.embed(["a text"])  # ...the first use verifies and refuses


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    data = bytearray(shipped_model_path().read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="does not match"):
        OnnxEmbedder(model_path=bad).embed(["a text"])
    with pytest.raises(IntegrityError, match="not found"):
        OnnxEmbedder(model_path=tmp_path / "missing.onnx").embed(["a text"])


def test_tampered_built_model_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embed_max_tokens=32)
    load_embedder(settings).embed(["builds the fast graph"])
    (built,) = (tmp_path / "search" / "models").glob("*.onnx")
    assert sha_path(built).exists()
    with built.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(IntegrityError):
        load_embedder(settings).embed(["a text"])


def test_shape_type_and_unit_length(shipped: OnnxEmbedder, fast: Embedder) -> None:
    texts = [paper_text(t, a) for t, a in _papers()[:5]]
    for emb in (shipped, fast):
        assert isinstance(emb, Embedder)
        vecs = emb.embed(texts)
        assert vecs.shape == (5, DIM) and vecs.dtype == np.float32
        assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
        assert emb.embed([]).shape == (0, DIM)
    with pytest.raises(TypeError):
        shipped.embed("one string")  # type: ignore[arg-type]


def test_length_sorting_keeps_input_order(shipped: OnnxEmbedder) -> None:
    papers = _papers()[:6]
    # Very different lengths, so the length sort reorders them.
    texts = [t if i % 2 else paper_text(t, a) for i, (t, a) in enumerate(papers)]
    together = shipped.embed(texts)
    alone = np.stack([shipped.embed([t])[0] for t in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_same_text_same_vector_across_batch_sizes(shipped: OnnxEmbedder) -> None:
    texts = [paper_text(t, a) for t, a in _papers()[:7]]
    ref = shipped.embed(texts)
    for bs in (1, 3, 16):
        other = OnnxEmbedder(max_tokens=128, batch_size=bs).embed(texts)
        assert np.abs(other - ref).max() < 1e-5


def test_fast_graph_agrees_with_the_shipped_one(shipped: OnnxEmbedder, fast: Embedder) -> None:
    texts = [paper_text(t, a) for t, a in _papers()[:12]]
    cos = (shipped.embed(texts) * fast.embed(texts)).sum(axis=1)
    assert cos.min() >= 0.99
    # The fast graph quantises activations per batch, so a text's vector moves slightly with its batch.
    alone = np.stack([fast.embed([t])[0] for t in texts[:4]])
    assert ((alone * fast.embed(texts)[:4]).sum(axis=1)).min() >= 0.99


def test_a_title_is_closest_to_its_own_abstract(shipped: OnnxEmbedder, fast: Embedder) -> None:
    papers = _papers()[:10]
    for emb in (shipped, fast):
        titles = emb.embed([t for t, _ in papers])
        abstracts = emb.embed([a for _, a in papers])
        sims = titles @ abstracts.T
        assert (sims.argmax(axis=1) == np.arange(len(papers))).all()


def test_truncation_at_the_token_budget() -> None:
    long = "word " * 2000
    short = OnnxEmbedder(max_tokens=16)
    assert short.embed([long, long + "tail that falls past the budget"]).std(axis=0).max() < 1e-6


def test_paper_text_joins_title_and_abstract() -> None:
    assert paper_text("A  title.", " An\n abstract. ") == "A title. An abstract."
    assert paper_text("Only title", "") == "Only title"


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 5, 32, 33, 64, 65, 200])
def test_plan_batches_covers_every_text_once_in_even_batches(n: int, workers: int) -> None:
    rng = np.random.default_rng(n)
    lengths = rng.integers(2, 257, size=n)
    lengths[: n // 2] = 256  # most abstracts reach the 256-token cut
    batches = plan_batches(lengths, 32, workers)
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    assert max(len(b) for b in batches) <= 32
    fewest = -(-n // 32)
    if workers > 1 and n >= workers:
        assert len(batches) == -(-fewest // workers) * workers  # every worker gets as many batches
    else:
        assert len(batches) == fewest
    # Longest first; the costliest batch (texts x its longest text) is no costlier than cutting the
    # sorted texts into as many batches of equal count.
    firsts = [int(lengths[b].max()) for b in batches]
    assert firsts == sorted(firsts, reverse=True)
    cost = max(len(b) * int(lengths[b].max()) for b in batches)
    by_count = np.array_split(np.argsort(-lengths, kind="stable"), len(batches))
    assert cost <= max(len(b) * int(lengths[b].max()) for b in by_count)


def test_plan_batches_cuts_short_texts_off_a_long_batch() -> None:
    lengths = np.array([256] * 8 + [20] * 40)
    batches = plan_batches(lengths, 32, 2)
    # By count: 8 long + 16 short padded to 256 (24 x 256 tokens), then 24 short. By padded tokens: the
    # long ones with as few short ones as the 32-text cap allows (16 x 256), then 32 short (32 x 20).
    assert [len(b) for b in batches] == [16, 32]
    assert set(batches[0].tolist()) >= set(range(8))
    assert plan_batches(np.zeros(0, dtype=np.int64), 32, 2) == []


def test_parallel_batches_match_one_thread(shipped: OnnxEmbedder) -> None:
    texts = [paper_text(t, a) for t, a in _papers()[:9]]
    one = OnnxEmbedder(max_tokens=128, batch_size=2, threads=1)
    three = OnnxEmbedder(max_tokens=128, batch_size=2, threads=3)  # 9 texts: 6 batches, 3 side by side
    assert three.embed(texts[:1]).shape == (1, DIM) and three._parallel is None  # one batch: no pool
    assert np.abs(one.embed(texts) - three.embed(texts)).max() < 1e-5
    assert three._parallel is not None


def test_the_parallel_session_verifies_the_model_again(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    shutil.copy(shipped_model_path(), model)
    emb = OnnxEmbedder(model_path=model, batch_size=1, threads=2)
    assert emb.embed(["one text: one batch, the first session"]).shape == (1, DIM)
    with model.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(IntegrityError, match="does not match"):
        emb.embed(["two texts", "two batches: the one-thread session is loaded now"])
