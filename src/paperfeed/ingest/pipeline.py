"""Resolving Pending records: skip the unchanged before parsing, parse the rest in a worker process
while the previous batch is being written (the parse and the SQLite write each keep one core busy)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from paperfeed.ingest.records import Item, PaperRecord, Pending, Rejected

# Below this many records a batch is parsed in-process: shipping it to a worker costs more than it saves.
MIN_PARALLEL = 128


def parse_all(parsers: Sequence[Callable[[], PaperRecord | Rejected]]) -> list[PaperRecord | Rejected]:
    """Run each deferred parse (in a worker process)."""
    return [parse() for parse in parsers]


@dataclass
class Prepared:
    """A batch whose Pending items were checked against the stored hashes."""

    batch: list[Item]
    needed: list[int] = field(default_factory=list)  # positions of Pending items to parse
    skipped: list[int] = field(default_factory=list)  # positions judged unchanged
    parsed: Future[list[PaperRecord | Rejected]] | list[PaperRecord | Rejected] | None = None


class PendingResolver:
    """Checks Pending items against stored hashes and parses the changed ones, maybe in a worker."""

    def __init__(self, stored_hashes: Callable[[list[str]], dict[str, str]], *, workers: int = 0) -> None:
        self._stored_hashes = stored_hashes
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def prepare(self, batch: list[Item]) -> Prepared:
        """Look up hashes now and start parsing what changed (in the background when workers > 0)."""
        prep = Prepared(batch)
        positions = [i for i, item in enumerate(batch) if isinstance(item, Pending)]
        if not positions:
            return prep
        hashes = self._stored_hashes([batch[i].key for i in positions])  # type: ignore[union-attr]
        for i in positions:
            item = batch[i]
            assert isinstance(item, Pending)
            (prep.skipped if hashes.get(item.key) == item.content_hash else prep.needed).append(i)
        parsers = [batch[i].parse for i in prep.needed]  # type: ignore[union-attr]
        if self._workers and len(parsers) >= MIN_PARALLEL:
            try:
                prep.parsed = self._executor().submit(parse_all, parsers)
            except BrokenExecutor:
                self._workers = 0  # a dead pool is not retried: parse in-process from now on
                prep.parsed = parse_all(parsers)
        else:
            prep.parsed = parse_all(parsers) if parsers else []
        return prep

    def finish(self, prep: Prepared, written_since: set[str]) -> tuple[list[Item], int]:
        """The batch with Pending items replaced by records, and how many were unchanged.

        `written_since` holds keys written after `prep` looked up its hashes: a Pending judged unchanged
        against that older state is parsed after all, so the result equals a strictly serial run.
        """
        if prep.parsed is None:
            return prep.batch, 0
        parsers = [prep.batch[i].parse for i in prep.needed]  # type: ignore[union-attr]
        if isinstance(prep.parsed, Future):
            try:
                parsed = prep.parsed.result()
            except BrokenExecutor:
                self._workers = 0
                parsed = parse_all(parsers)
        else:
            parsed = prep.parsed
        out: list[Item | None] = list(prep.batch)
        for pos, record in zip(prep.needed, parsed, strict=True):
            out[pos] = record
        unchanged = 0
        for pos in prep.skipped:
            item = prep.batch[pos]
            assert isinstance(item, Pending)
            if item.key in written_since:
                out[pos] = item.parse()
            else:
                out[pos] = None
                unchanged += 1
        return [item for item in out if item is not None], unchanged

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the parent holds database connections and maybe server threads.
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self._workers, mp_context=ctx)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
