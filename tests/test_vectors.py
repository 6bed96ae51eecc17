"""The usearch vector index: add, search, replace, remove, save (atomic) and reload."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from paperfeed.config import Settings
from paperfeed.search.vectors import VectorIndex, VectorIndexError, default_index_path

DIM = 32


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def vecs() -> np.ndarray:
    return unit(np.random.default_rng(7), 200)


@pytest.mark.parametrize("dtype", ["f16", "i8"])
def test_add_search_best_first(tmp_path: Path, vecs: np.ndarray, dtype: str) -> None:
    ix = VectorIndex.open(tmp_path / "v.usearch", DIM, dtype=dtype)  # type: ignore[arg-type]
    assert ix.search(vecs[0], 5) == []
    assert ix.add(np.arange(1000, 1200), vecs) == 200
    assert len(ix) == 200 and 1000 in ix and 5 not in ix and "x" not in ix
    hits = ix.search(vecs[17], 5)
    assert hits[0][0] == 1017 and hits[0][1] == pytest.approx(1.0, abs=0.02)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    exact = vecs @ vecs[17]
    truth = {1000 + int(j) for j in np.argsort(-exact)[:5]}
    # i8 rounding can swap near-ties among random vectors; f16 must match brute force exactly.
    assert len({i for i, _ in hits} & truth) >= (5 if dtype == "f16" else 4)
    many = ix.search_many(vecs[:3], 2)
    assert [row[0][0] for row in many] == [1000, 1001, 1002]
    assert ix.search(vecs[0], 500)[-1][0] in range(1000, 1200)  # k above the size: everything, no error


def test_replace_remove_get(tmp_path: Path, vecs: np.ndarray) -> None:
    ix = VectorIndex.open(tmp_path / "v.usearch", DIM)
    ix.add([1, 2, 3], vecs[:3])
    ix.add([2], vecs[10])  # replacing an id: still one entry, with the new vector
    assert len(ix) == 3
    got = ix.get(2)
    assert got is not None and float(got @ vecs[10]) > 0.999
    assert ix.search(vecs[10], 1)[0][0] == 2
    ix.add([4, 4], vecs[20:22])  # a repeated id in one call: the last wins
    assert len(ix) == 4 and float(ix.get(4) @ vecs[21]) > 0.999  # type: ignore[operator]
    assert ix.remove([1, 99]) == 1
    assert 1 not in ix and ix.get(1) is None and len(ix) == 3
    assert all(i != 1 for i, _ in ix.search(vecs[0], 3))
    with pytest.raises(ValueError, match="dimension"):
        ix.add([5], np.ones(DIM + 1, dtype=np.float32))


def test_save_reload_and_view(tmp_path: Path, vecs: np.ndarray) -> None:
    path = tmp_path / "sub" / "v.usearch"
    ix = VectorIndex.open(path, DIM)
    ix.add(np.arange(200), vecs)
    ix.meta["cursor"] = "2026-01-01T00:00:00+00:00"
    ix.save()
    assert not ix.dirty
    again = VectorIndex.open(path, DIM)
    assert len(again) == 200 and again.meta["cursor"] == "2026-01-01T00:00:00+00:00"
    assert again.search(vecs[42], 1)[0][0] == 42
    view = VectorIndex.open(path, DIM, view=True)
    assert view.search(vecs[42], 1)[0][0] == 42
    with pytest.raises(VectorIndexError, match="read-only"):
        view.add([1], vecs[0])
    with pytest.raises(VectorIndexError, match="dimension"):
        VectorIndex.open(path, DIM * 2)
    with pytest.raises(VectorIndexError, match="i8"):
        VectorIndex.open(path, DIM, dtype="i8")


def test_save_is_atomic(tmp_path: Path, vecs: np.ndarray) -> None:
    path = tmp_path / "v.usearch"
    ix = VectorIndex.open(path, DIM)
    ix.add(np.arange(50), vecs[:50])
    ix.save()
    before = path.read_bytes()
    ix.add(np.arange(50, 200), vecs[50:])

    class Boom(Exception):
        pass

    real = os.replace

    def failing_replace(src: object, dst: object) -> None:
        raise Boom

    os.replace = failing_replace  # type: ignore[assignment]
    try:
        with pytest.raises(Boom):
            ix.save()
    finally:
        os.replace = real
    # The old file is intact and no temp file is left behind.
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.usearch", "v.usearch.json"]
    assert len(VectorIndex.open(path, DIM)) == 50
    ix.save()
    assert len(VectorIndex.open(path, DIM)) == 200


def test_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "v.usearch"
    path.write_bytes(b"not an index at all")
    with pytest.raises(VectorIndexError, match="rebuild"):
        VectorIndex.open(path, DIM)


def test_default_path_is_the_databases_own_under_data_dir(tmp_path: Path) -> None:
    # data_dir/<database name>.index: two databases in one folder never share a vector file.
    assert default_index_path(Settings(data_dir=tmp_path)) == tmp_path / "paperfeed.index" / "vectors.usearch"
    beside = Settings(database_url=f"sqlite:///{tmp_path / 'var' / 'demo.db'}")
    assert default_index_path(beside) == tmp_path / "var" / "demo.index" / "vectors.usearch"
    pg = Settings(database_url="postgresql+psycopg://u@h/lab", data_dir=tmp_path)
    assert default_index_path(pg) == tmp_path / "lab.index" / "vectors.usearch"
    other = tmp_path / "elsewhere.usearch"
    assert default_index_path(Settings(data_dir=tmp_path, vector_index_path=other)) == other
    ix = VectorIndex.from_settings(Settings(data_dir=tmp_path, vector_dtype="i8"), DIM)
    assert ix.dtype == "i8" and ix.path == tmp_path / "paperfeed.index" / "vectors.usearch"


def test_opening_an_index_first_does_not_crash_the_embedder(tmp_path: Path) -> None:
    # In a fresh interpreter: usearch loaded before onnxruntime used to segfault on the later import.
    code = (
        "import numpy as np\n"
        "from paperfeed.search.vectors import VectorIndex\n"
        f"ix = VectorIndex.open({str(tmp_path / 'v.usearch')!r}, 4)\n"
        "ix.add([1], np.ones(4, dtype=np.float32))\n"
        "from paperfeed.search.embeddings import OnnxEmbedder\n"
        "print(OnnxEmbedder(max_tokens=16).embed(['x']).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "(1, 384)"
