"""The pure parts of `make bench-load`: Locust's CSV stats, the ramp decision, and the client event log.

Nothing here starts a process or opens a socket (tests/test_bench_load.py runs it on strings).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

P99_LIMIT_MS = 250.0


@dataclass
class Step:
    """One ramp step: Locust's aggregated figures plus the 5xx count from its failures CSV."""

    users: int
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p99_ms: float
    server_errors: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def passes(self, limit_ms: float = P99_LIMIT_MS) -> bool:
        """Held: p99 within the limit, no 5xx, and no connection errors (a dead node is not 'held')."""
        return self.requests > 0 and self.p99_ms <= limit_ms and self.server_errors == 0 and not self.errors


def _num(text: str) -> float:
    text = (text or "").strip()
    return float(text) if text and text != "N/A" else 0.0


def parse_stats(csv_text: str) -> dict[str, float]:
    """The 'Aggregated' row of Locust's <prefix>_stats.csv: requests, failures, rps, p50 and p99 (ms)."""
    for row in csv.DictReader(io.StringIO(csv_text)):
        if row.get("Name") == "Aggregated":
            return {
                "requests": _num(row["Request Count"]),
                "failures": _num(row["Failure Count"]),
                "rps": _num(row["Requests/s"]),
                "p50_ms": _num(row["50%"]),
                "p99_ms": _num(row["99%"]),
            }
    raise ValueError("no Aggregated row in Locust's stats CSV")


STATUS = re.compile(r"\bHTTP (\d{3})\b")


def parse_failures(csv_text: str) -> tuple[int, dict[str, int]]:
    """Locust's <prefix>_failures.csv -> (5xx count, other errors by message: connection errors, 4xx)."""
    server = 0
    other: Counter[str] = Counter()
    for row in csv.DictReader(io.StringIO(csv_text)):
        n = int(_num(row["Occurrences"]))
        found = STATUS.search(row["Error"])
        if found and found.group(1).startswith("5"):
            server += n
        else:
            other[row["Error"][:120]] += n
    return server, dict(other)


def held_step(steps: Sequence[Step], limit_ms: float = P99_LIMIT_MS) -> Step | None:
    """The highest rate held: the best passing step before the first failing one (None if the first fails)."""
    best: Step | None = None
    for step in steps:
        if not step.passes(limit_ms):
            break
        if best is None or step.rps > best.rps:
            best = step
    return best


def keep_ramping(steps: Sequence[Step], limit_ms: float = P99_LIMIT_MS) -> bool:
    """Ramp on while every step so far passed."""
    return all(step.passes(limit_ms) for step in steps)


# --- the client event log (one JSON object a line, written by bench/locustfile.py) -------------------------


@dataclass
class Window:
    """What clients saw around a fault at time t0 (seconds, the clients' clock)."""

    requests: int
    errors: Counter[str]
    first_error_s: float | None
    last_error_s: float | None

    @property
    def error_count(self) -> int:
        """Every request that did not get a 2xx/3xx answer."""
        return sum(self.errors.values())

    def describe(self) -> str:
        """'12 (conn refused 10, 503 2)' or '0'."""
        if not self.errors:
            return "0"
        parts = ", ".join(f"{k} {v}" for k, v in self.errors.most_common())
        return f"{self.error_count} ({parts})"


def read_events(lines: Iterable[str]) -> list[dict[str, object]]:
    """Parse the event log, skipping a torn last line (a Locust process killed mid-write)."""
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _label(status: int, error: str) -> str:
    if status == 0:
        return error.split(":")[0][:40] or "connection error"
    return str(status)


def window(events: Sequence[dict[str, object]], t0: float, t1: float | None = None) -> Window:
    """Errors among the requests that started at or after t0 (and before t1), timed from t0."""
    errors: Counter[str] = Counter()
    first = last = None
    n = 0
    for ev in events:
        t = float(ev["t"])  # type: ignore[arg-type]
        if t < t0 or (t1 is not None and t >= t1):
            continue
        n += 1
        status = int(ev["status"])  # type: ignore[call-overload]
        if status == 0 or status >= 500 or status == 429:
            errors[_label(status, str(ev.get("error", "")))] += 1
            first = t - t0 if first is None else first
            last = t - t0
    return Window(n, errors, first, last)


def acknowledged(events: Sequence[dict[str, object]]) -> dict[str, set[tuple[object, ...]]]:
    """Writes the server acknowledged: votes (user, paper), comments (id), saves (collection, paper)."""
    out: dict[str, set[tuple[object, ...]]] = {"vote": set(), "comment": set(), "save": set()}
    for ev in events:
        ack = ev.get("ack")
        if isinstance(ack, list) and ack and ack[0] in out:
            out[str(ack[0])].add(tuple(ack[1:]))
    return out


def duplicates(recipients: Iterable[str]) -> dict[str, int]:
    """Recipients that received more than one message, with their counts."""
    counts = Counter(r.lower() for r in recipients)
    return {r: n for r, n in counts.items() if n > 1}
