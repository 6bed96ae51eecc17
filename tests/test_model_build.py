"""The `fast` graph builder: outlier side paths are exact in fp32, every FFN MatMul is int8, cache naming."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from paperfeed.search.embeddings import shipped_model_path
from paperfeed.search.model_build import (
    BUILD_VERSION,
    LAYERS,
    build_fast_model,
    fused_graph,
    outlier_channels,
    sha_path,
)


@pytest.fixture(scope="module")
def source() -> Any:
    return onnx.load(str(shipped_model_path()))


@pytest.fixture(scope="module")
def outliers(source: Any) -> list[list[int]]:
    return outlier_channels(fused_graph(source))


def _hidden(model: Any, ids: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    return np.asarray(out)


def test_outlier_channels_are_few_and_in_the_first_layers(outliers: list[list[int]]) -> None:
    assert len(outliers) == LAYERS
    # The [CLS] outliers of all-MiniLM-L6-v2: one or two GELU channels in each of layers 0-3.
    assert all(1 <= len(ch) <= 2 for ch in outliers[:4]), outliers
    assert sum(len(ch) for ch in outliers) <= 8
    # A threshold above every activation finds none; a low one finds many.
    fused = fused_graph(onnx.load(str(shipped_model_path())))
    assert outlier_channels(fused, threshold=1e6) == [[] for _ in range(LAYERS)]
    assert sum(len(ch) for ch in outlier_channels(fused, threshold=3.0)) > 20


def test_side_path_computes_the_same_function(source: Any, outliers: list[list[int]]) -> None:
    ids = np.random.default_rng(7).integers(1000, 30000, size=(3, 40), dtype=np.int64)
    ids[:, 0], ids[:, -1] = 101, 102
    plain = _hidden(fused_graph(source), ids)
    split = _hidden(fused_graph(source, outliers), ids)
    assert np.abs(plain - split).max() < 1e-3
    nodes = Counter(n.op_type for n in fused_graph(source, outliers).graph.node)
    assert nodes["MatMul"] == 3 * LAYERS + 2 * sum(1 for ch in outliers if ch)
    with pytest.raises(ValueError, match="one channel list per layer"):
        fused_graph(source, [[1]])


def test_built_graph_keeps_only_the_side_paths_in_fp32(tmp_path: Path, outliers: list[list[int]]) -> None:
    built = build_fast_model(shipped_model_path(), tmp_path)
    assert f"-v{BUILD_VERSION}-" in built.name and sha_path(built).exists()
    assert build_fast_model(shipped_model_path(), tmp_path) == built  # cached: not built again
    model = onnx.load(str(built))
    float_matmuls = sorted(n.name for n in model.graph.node if n.op_type == "MatMul")
    expected = sorted(f"fx{ab}{i}" for i, ch in enumerate(outliers) if ch for ab in "ab")
    assert float_matmuls == expected
    quantised = {n.name for n in model.graph.node if n.op_type in ("MatMulInteger", "QAttention")}
    for i in range(LAYERS):  # both feed-forward MatMuls of every layer run in int8 now
        assert {f"att{i}_quant", f"o{i}_quant", f"ffa{i}_quant", f"ffb{i}_quant"} <= quantised
