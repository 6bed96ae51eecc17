"""Build the `fast` embedding graph from the shipped int8 MiniLM: fused BERT ops, then dynamic int8 MatMuls.

The shipped file stores int8 weights but runs them as fp32 (Cast + Mul on every call) through a graph
exported op by op (attention as ~20 small ops with IsNaN/Where), which ONNX Runtime cannot fuse. Here the
weights are dequantised once and laid into ONNX Runtime's fused contrib ops (EmbedLayerNormalization,
Attention, SkipLayerNormalization, BiasGelu); then onnxruntime.quantization makes the attention, attention
output and first feed-forward MatMuls dynamic int8 (per-channel weights, u8 activations). The second
feed-forward MatMul (GELU outputs have outliers) and the embeddings stay fp32: quantising them cost
quality for little speed (docs/embeddings.md has the measurements).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

BUILD_VERSION = "1"  # bump when the graph below changes: the cached file name carries it
LAYERS = 6
HIDDEN = 384
HEADS = 12
EPS = 1e-12


class ModelBuildError(RuntimeError):
    """The shipped graph does not have the layout this builder expects."""


def _weights(model: Any) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Named fp32 weights (int8 * scale folded) and the MatMul weights in graph order."""
    from onnx import numpy_helper

    raw = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    casts: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {k: v for k, v in raw.items() if v.dtype == np.float32}
    for node in model.graph.node:
        if node.op_type == "Cast" and node.input[0] in raw and raw[node.input[0]].dtype == np.int8:
            casts[node.output[0]] = raw[node.input[0]].astype(np.float32)
        elif node.op_type == "Mul" and node.input[0] in casts and node.input[1] in raw:
            weights[node.output[0]] = (casts[node.input[0]] * raw[node.input[1]]).astype(np.float32)
    mats = [weights[n.input[1]] for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    shapes = [(HIDDEN, HIDDEN)] * 4 + [(HIDDEN, 4 * HIDDEN), (4 * HIDDEN, HIDDEN)]
    if len(mats) != 6 * LAYERS or any(m.shape != shapes[i % 6] for i, m in enumerate(mats)):
        raise ModelBuildError("unexpected MatMul layout in the shipped MiniLM graph")
    return weights, mats


def fused_graph(model: Any) -> Any:
    """An fp32 MiniLM-L6 ModelProto on ONNX Runtime's fused BERT ops (no token_type_ids input)."""
    from onnx import TensorProto, helper, numpy_helper

    w, mats = _weights(model)
    inits: list[Any] = []

    def init(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def layer(i: int, suffix: str) -> np.ndarray:
        try:
            return w[f"inner.encoder.layer.{i}.{suffix}"]
        except KeyError as exc:
            raise ModelBuildError(f"shipped graph lacks {exc}") from exc

    emb = "inner.embeddings."
    ms = "com.microsoft"
    # token_type_ids are always 0 for one-segment inputs: fold that row into the position embeddings.
    pos = w[emb + "position_embeddings.weight"] + w[emb + "token_type_embeddings.weight"][0][None, :]
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["ids32"], to=TensorProto.INT32),
        helper.make_node("Cast", ["attention_mask"], ["mask32"], to=TensorProto.INT32),
        helper.make_node(
            "EmbedLayerNormalization",
            [
                "ids32",
                "",
                init("word", w[emb + "word_embeddings.weight"]),
                init("pos", pos),
                "",
                init("emb_g", w[emb + "LayerNorm.weight"]),
                init("emb_b", w[emb + "LayerNorm.bias"]),
                "mask32",
            ],
            ["h0", "mask_index"],
            domain=ms,
            epsilon=EPS,
            name="emb",
        ),
    ]
    h = "h0"
    for i in range(LAYERS):
        q, k, v, o, f1, f2 = mats[6 * i : 6 * i + 6]
        qkv_b = np.concatenate([layer(i, f"attention.self.{p}.bias") for p in ("query", "key", "value")])
        out = "last_hidden_state" if i == LAYERS - 1 else f"h{i + 1}"
        nodes += [
            helper.make_node(
                "Attention",
                [
                    h,
                    init(f"qkv{i}", np.concatenate([q, k, v], axis=1)),
                    init(f"qkv_b{i}", qkv_b),
                    "mask_index",
                ],
                [f"att{i}"],
                domain=ms,
                num_heads=HEADS,
                name=f"att{i}",
            ),
            helper.make_node("MatMul", [f"att{i}", init(f"o{i}", o)], [f"ao{i}"], name=f"o{i}"),
            helper.make_node(
                "SkipLayerNormalization",
                [
                    f"ao{i}",
                    h,
                    init(f"ln1g{i}", layer(i, "attention.output.LayerNorm.weight")),
                    init(f"ln1b{i}", layer(i, "attention.output.LayerNorm.bias")),
                    init(f"ob{i}", layer(i, "attention.output.dense.bias")),
                ],
                [f"x{i}"],
                domain=ms,
                epsilon=EPS,
            ),
            helper.make_node("MatMul", [f"x{i}", init(f"f1{i}", f1)], [f"f1o{i}"], name=f"ffa{i}"),
            helper.make_node(
                "BiasGelu",
                [f"f1o{i}", init(f"f1b{i}", layer(i, "intermediate.dense.bias"))],
                [f"g{i}"],
                domain=ms,
            ),
            helper.make_node("MatMul", [f"g{i}", init(f"f2{i}", f2)], [f"f2o{i}"], name=f"ffb{i}"),
            helper.make_node(
                "SkipLayerNormalization",
                [
                    f"f2o{i}",
                    f"x{i}",
                    init(f"ln2g{i}", layer(i, "output.LayerNorm.weight")),
                    init(f"ln2b{i}", layer(i, "output.LayerNorm.bias")),
                    init(f"f2b{i}", layer(i, "output.dense.bias")),
                ],
                [out],
                domain=ms,
                epsilon=EPS,
            ),
        ]
        h = out
    graph = helper.make_graph(
        nodes,
        "minilm_l6_fused",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", HIDDEN]
            )
        ],
        initializer=inits,
    )
    fused = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ms, 1)],
        producer_name="paperfeed",
    )
    fused.ir_version = 8
    return fused


def build_fast_model(shipped: Path, out_dir: Path) -> Path:
    """Build (once) the fast graph from the verified shipped file; returns its path (a .sha256 beside it)."""
    import onnx
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        QuantType,
        quantize_dynamic,
    )

    source_sha = hashlib.sha256(shipped.read_bytes()).hexdigest()
    target = out_dir / f"minilm-l6-fast-v{BUILD_VERSION}-{source_sha[:16]}.onnx"
    if target.exists() and sha_path(target).exists():
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        fp32 = Path(tmp) / "fused_fp32.onnx"
        onnx.save(fused_graph(onnx.load(str(shipped))), str(fp32))
        q = Path(tmp) / "fast.onnx"
        keep_fp32 = ["emb"] + [f"ffb{i}" for i in range(LAYERS)]
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser logs a generic "consider pre-processing" hint to root
        try:
            quantize_dynamic(
                fp32,
                q,
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=keep_fp32,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        finally:
            root.setLevel(level)
        digest = hashlib.sha256(q.read_bytes()).hexdigest()
        os.replace(q, target)
        # The sidecar is written last: a file without one is an unfinished build and is built again.
        tmp_sha = Path(tmp) / "sha"
        tmp_sha.write_text(digest + "\n", encoding="ascii")
        os.replace(tmp_sha, sha_path(target))
    return target


def sha_path(model: Path) -> Path:
    """Where the sha256 of a built model is recorded."""
    return model.with_name(model.name + ".sha256")
