"""bench/load_stats.py, the pure parts of `make bench-load`: Locust's CSVs, the ramp decision, the event log.

Starts neither the cluster nor Locust: the CSV texts are in the shape Locust 2.x writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from load_stats import (
    Step,
    acknowledged,
    duplicates,
    held_step,
    keep_ramping,
    parse_failures,
    parse_stats,
    read_events,
    window,
)

HEAD = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
)
STATS = (
    HEAD
    + "GET,/trending,300,0,12,15.1,4,90,20000,10.0,0.0,12,14,16,18,25,40,60,80,90,90,90\n"
    + ",Aggregated,1200,3,14,19.5,3,410,9000,40.25,0.1,14,16,18,20,30,60,120,190,400,410,410\n"
)
FAILURES = (
    "Method,Name,Error,Occurrences\n"
    "GET,/search?q,CatchResponseError('HTTP 503'),2\n"
    "POST,/api/papers/[id]/vote,CatchResponseError('HTTP 500'),1\n"
    "GET,/trending,CatchResponseError('conn: [Errno 111] Connection refused'),4\n"
    "POST,/login (post),CatchResponseError('HTTP 429'),1\n"
)


def _step(users: int, rps: float, p99: float, server: int = 0, errors: dict[str, int] | None = None) -> Step:
    return Step(users, 100, 0, rps, 10.0, p99, server, errors or {})


def test_parse_stats_reads_the_aggregated_row() -> None:
    assert parse_stats(STATS) == {
        "requests": 1200.0,
        "failures": 3.0,
        "rps": 40.25,
        "p50_ms": 14.0,
        "p99_ms": 190.0,
    }


def test_parse_stats_without_an_aggregated_row_is_an_error() -> None:
    with pytest.raises(ValueError, match="Aggregated"):
        parse_stats(HEAD)


def test_parse_stats_reads_na_as_zero() -> None:
    row = ",Aggregated,0,0,0,0,0,0,0,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n"
    assert parse_stats(HEAD + row)["p99_ms"] == 0.0


def test_parse_failures_counts_5xx_apart_from_other_errors() -> None:
    server, other = parse_failures(FAILURES)
    assert server == 3
    assert other == {
        "CatchResponseError('conn: [Errno 111] Connection refused')": 4,
        "CatchResponseError('HTTP 429')": 1,
    }


def test_held_step_is_the_best_passing_step_before_the_first_failure() -> None:
    steps = [_step(10, 10.1, 40), _step(20, 20.3, 90), _step(30, 29.0, 260), _step(40, 39.0, 100)]
    held = held_step(steps)
    assert held is not None and held.users == 20  # 40 users passed, but only after 30 failed: not held
    assert not keep_ramping(steps)


def test_a_p99_of_exactly_the_limit_passes_and_any_5xx_fails() -> None:
    assert _step(10, 10, 250).passes()
    assert not _step(10, 10, 250.5).passes()
    assert not _step(10, 10, 20, server=1).passes()
    assert not _step(10, 10, 20, errors={"conn refused": 1}).passes()
    assert held_step([_step(10, 10, 20, server=1)]) is None
    assert keep_ramping([_step(10, 10, 20), _step(20, 20, 30)])


def test_held_step_prefers_the_higher_rate_among_passing_steps() -> None:
    # A step can carry more users but answer fewer requests per second (saturation): the rate decides.
    held = held_step([_step(10, 10, 40), _step(20, 19.5, 90), _step(30, 18.0, 200)])
    assert held is not None and held.users == 20


def test_window_counts_errors_after_the_fault_with_their_status() -> None:
    events = [
        {"t": 99.0, "status": 503},  # before the fault: not counted
        {"t": 100.5, "status": 200},
        {"t": 101.0, "status": 0, "error": "ConnectionRefusedError: [Errno 111]"},
        {"t": 102.0, "status": 0, "error": "ConnectionRefusedError: [Errno 111]"},
        {"t": 103.0, "status": 503},
        {"t": 104.0, "status": 404},  # a client's own 4xx is not the fault's
        {"t": 110.0, "status": 200},
    ]
    w = window(events, 100.0)
    assert w.requests == 6
    assert w.error_count == 3
    assert w.errors == {"ConnectionRefusedError": 2, "503": 1}
    assert (w.first_error_s, w.last_error_s) == (1.0, 3.0)
    assert w.describe() == "3 (ConnectionRefusedError 2, 503 1)"
    assert window(events, 105.0).describe() == "0"
    assert window(events, 100.0, 102.5).error_count == 2


def test_read_events_skips_a_torn_line_and_acknowledged_collects_writes() -> None:
    lines = [
        json.dumps({"t": 1, "status": 200, "ack": ["vote", "u1", "2501.00001"]}),
        json.dumps({"t": 2, "status": 201, "ack": ["comment", 17]}),
        json.dumps({"t": 3, "status": 204, "ack": ["save", 4, "2501.00002"]}),
        json.dumps({"t": 4, "status": 200, "ack": ["vote", "u1", "2501.00001"]}),
        '{"t": 5, "sta',
    ]
    events = read_events(lines)
    assert len(events) == 4
    assert acknowledged(events) == {
        "vote": {("u1", "2501.00001")},
        "comment": {(17,)},
        "save": {(4, "2501.00002")},
    }


def test_duplicates_names_recipients_mailed_twice() -> None:
    assert duplicates(["a@x.org", "b@x.org", "A@x.org"]) == {"a@x.org": 2}
    assert duplicates(["a@x.org"]) == {}
