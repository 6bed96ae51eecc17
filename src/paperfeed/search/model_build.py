"""Build the `fast` embedding graph from the shipped int8 MiniLM: fused BERT ops, then dynamic int8 MatMuls.

The shipped file stores int8 weights but runs them as fp32 (Cast + Mul on every call) through a graph
exported op by op (attention as ~20 small ops with IsNaN/Where), which ONNX Runtime cannot fuse. Here the
weights are dequantised once and laid into ONNX Runtime's fused contrib ops (EmbedLayerNormalization,
Attention, SkipLayerNormalization, BiasGelu); then onnxruntime.quantization makes every MatMul dynamic
int8 (per-channel weights, u8 activations; the attention becomes QAttention).

The second feed-forward MatMul reads GELU outputs, and in layers 0-3 one or two of its 1,536 input channels
are huge on the [CLS] token (13-24, against at most ~6 for every other channel): with one u8 scale per
batch they would coarsen every other channel ~4x. Those channels are found by running the fp32 graph once
on seeded random token ids (`outlier_channels`: no data needed; the same channels light up as on real
abstracts) and moved to a small fp32 side path (their columns of the first MatMul, GELU, their rows of the
second MatMul, added to the residual), so the int8 MatMuls never see them (docs/benchmarks.md has the
measurements).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BUILD_VERSION = "2"  # bump when the graph below changes: the cached file name carries it
LAYERS = 6
HIDDEN = 384
HEADS = 12
EPS = 1e-12
INTERMEDIATE = 4 * HIDDEN
OUTLIER_THRESHOLD = 8.0  # |GELU output| above this on the calibration input: the channel stays fp32
CALIBRATION_SEED = 0


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


def fused_graph(model: Any, outliers: Sequence[Sequence[int]] | None = None) -> Any:
    """An fp32 MiniLM-L6 ModelProto on ONNX Runtime's fused BERT ops (no token_type_ids input).

    outliers[i]: feed-forward channels of layer i computed on a side path (MatMul `fxa{i}`, BiasGelu,
    MatMul `fxb{i}`, added to the residual) instead of in `ffa{i}`/`ffb{i}`: the same function, exactly.
    """
    from onnx import TensorProto, helper, numpy_helper

    w, mats = _weights(model)
    outliers = outliers or [[] for _ in range(LAYERS)]
    if len(outliers) != LAYERS:
        raise ValueError(f"outliers needs one channel list per layer ({LAYERS})")
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
        ]
        side = np.array(sorted(set(outliers[i])), dtype=np.int64)
        keep = np.setdiff1d(np.arange(INTERMEDIATE), side)
        f1b = layer(i, "intermediate.dense.bias")
        skip = f"x{i}"
        if len(side):
            skip = f"xs{i}"
            nodes += [
                helper.make_node(
                    "MatMul", [f"x{i}", init(f"f1s{i}", f1[:, side])], [f"f1s{i}o"], name=f"fxa{i}"
                ),
                helper.make_node(
                    "BiasGelu", [f"f1s{i}o", init(f"f1bs{i}", f1b[side])], [f"gs{i}"], domain=ms
                ),
                helper.make_node(
                    "MatMul", [f"gs{i}", init(f"f2s{i}", f2[side])], [f"f2s{i}o"], name=f"fxb{i}"
                ),
                helper.make_node("Add", [f"x{i}", f"f2s{i}o"], [skip], name=f"fxadd{i}"),
            ]
        nodes += [
            helper.make_node("MatMul", [f"x{i}", init(f"f1{i}", f1[:, keep])], [f"f1o{i}"], name=f"ffa{i}"),
            helper.make_node("BiasGelu", [f"f1o{i}", init(f"f1b{i}", f1b[keep])], [f"g{i}"], domain=ms),
            helper.make_node("MatMul", [f"g{i}", init(f"f2{i}", f2[keep])], [f"f2o{i}"], name=f"ffb{i}"),
            helper.make_node(
                "SkipLayerNormalization",
                [
                    f"f2o{i}",
                    skip,
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


def outlier_channels(
    fused: Any, threshold: float = OUTLIER_THRESHOLD, seed: int = CALIBRATION_SEED
) -> list[list[int]]:
    """Per layer, the feed-forward channels whose GELU output exceeds threshold on a calibration batch.

    The calibration batch is 16 sequences of 128 seeded random word pieces between [CLS] and [SEP]: the
    outliers sit on [CLS] and are the same as on real abstracts, so no data set is needed.
    """
    import onnxruntime as ort  # type: ignore[import-untyped]
    from onnx import TensorProto, helper

    probe = type(fused)()
    probe.CopyFrom(fused)
    names = [f"g{i}" for i in range(LAYERS)]
    for name in names:
        probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.enable_profiling = False  # a profiling session writes onnxruntime_profile_*.json into the cwd
    session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(seed).integers(1000, 30522, size=(16, 128), dtype=np.int64)
    ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP]
    outs = session.run(names, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    peaks = [np.abs(out.reshape(-1, out.shape[-1])).max(axis=0) for out in outs]
    return [np.flatnonzero(peak > threshold).tolist() for peak in peaks]


def _target(shipped: Path, out_dir: Path) -> Path:
    source_sha = hashlib.sha256(shipped.read_bytes()).hexdigest()
    return out_dir / f"minilm-l6-fast-v{BUILD_VERSION}-{source_sha[:16]}.onnx"


def built_model(shipped: Path, out_dir: Path) -> Path | None:
    """The fast graph already built from this shipped file, or None."""
    target = _target(shipped, out_dir)
    return target if target.exists() and sha_path(target).exists() else None


def build_fast_model(shipped: Path, out_dir: Path) -> Path:
    """Build (once) the fast graph from the verified shipped file; returns its path (a .sha256 beside it)."""
    import onnx
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        QuantType,
        quantize_dynamic,
    )

    target = _target(shipped, out_dir)
    if built_model(shipped, out_dir) is not None:
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        fp32 = Path(tmp) / "fused_fp32.onnx"
        source = onnx.load(str(shipped))
        onnx.save(fused_graph(source, outlier_channels(fused_graph(source))), str(fp32))
        q = Path(tmp) / "fast.onnx"
        # The embeddings are a lookup; the outlier side paths are what must stay fp32.
        keep_fp32 = ["emb"] + [f"fx{ab}{i}" for i in range(LAYERS) for ab in "ab"]
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
