"""PoliteClient against a real local server: User-Agent, spacing, Retry-After, backoff, giving up."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from paperfeed.config import Settings
from paperfeed.ingest.http import (
    MAX_BACKOFF_S,
    HttpError,
    PoliteClient,
    backoff_delay,
    parse_retry_after,
)
from replay import UA, FakeClock, ReplayServer, Reply, clocked_client, fast_client

NOW = datetime(2026, 4, 12, 22, 0, 0, tzinfo=UTC)


DEFAULTS: dict[str, object] = {"min_interval_s": 0.0, "max_retries": 3, "max_retry_after_s": 5.0}


def make_client(**kw: object) -> PoliteClient:
    return fast_client(**{**DEFAULTS, **kw})


def clocked(clock: FakeClock, **kw: object) -> PoliteClient:
    """make_client on a fake clock: spacing is read where requests leave the client, never from the server."""
    return clocked_client(clock, **{**DEFAULTS, **kw})


# --- pure helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10", 10.0),
        (" 3 ", 3.0),
        ("0.25", 0.25),
        ("-5", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        ("Sun, 12 Apr 2026 22:02:00 GMT", 120.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    assert backoff_delay(0, 2.0, rand=lambda: 0.0) == 1.0
    assert backoff_delay(0, 2.0, rand=lambda: 1.0) == 2.0
    assert backoff_delay(3, 2.0, rand=lambda: 0.0) == 8.0
    assert backoff_delay(30, 2.0, rand=lambda: 1.0) == MAX_BACKOFF_S
    assert backoff_delay(30, 2.0, rand=lambda: 0.0) == MAX_BACKOFF_S / 2


def test_from_settings_copies_every_value() -> None:
    settings = Settings(
        user_agent="ua-from-settings",
        http_timeout_s=7.0,
        arxiv_min_interval_s=3.0,
        http_max_retries=4,
        http_backoff_base_s=1.5,
        http_max_retry_after_s=99.0,
    )
    with PoliteClient.from_settings(settings, min_interval_s=0.5) as client:
        assert client.user_agent == "ua-from-settings"
        assert client.min_interval_s == 0.5
        assert client.max_retries == 4
        assert client.backoff_base_s == 1.5
        assert client.max_retry_after_s == 99.0
        assert client._client.timeout.read == 7.0
    with PoliteClient.from_settings(settings) as client:
        assert client.interval_for("export.arxiv.org") == 3.0


def test_empty_user_agent_is_refused() -> None:
    with pytest.raises(ValueError, match="user_agent"):
        PoliteClient(user_agent="  ")


# --- against the replay server ---------------------------------------------------------------------


def test_sends_user_agent_and_params(replay_server: ReplayServer) -> None:
    replay_server.add("/q", Reply(200, body=b"hello"), query={"a": "1", "b": "x y"})
    with make_client() as client:
        response = client.get(f"{replay_server.url}/q", params={"a": 1, "b": "x y", "skip": None})
    assert response.text == "hello"
    (req,) = replay_server.requests
    assert req.headers["User-Agent"] == UA
    assert req.query == {"a": ["1"], "b": ["x y"]}


def test_min_interval_spaces_requests_to_a_host(replay_server: ReplayServer) -> None:
    replay_server.add("/p", Reply(200, body=b"ok"))
    clock = FakeClock()
    with clocked(clock, min_interval_s=0.15) as client:
        for _ in range(3):
            client.get(f"{replay_server.url}/p")
    assert len(replay_server.requests) == 3
    assert clock.gaps() == pytest.approx([0.15, 0.15])
    assert clock.slept == pytest.approx([0.15, 0.15])


def test_the_default_clock_really_waits(replay_server: ReplayServer) -> None:
    """Without an injected clock the client sleeps for real (a lower bound: load only makes it longer)."""
    replay_server.add("/p", Reply(200))
    with make_client(min_interval_s=0.1) as client:
        started = time.monotonic()
        client.get(f"{replay_server.url}/p")
        client.get(f"{replay_server.url}/p")
        assert time.monotonic() - started >= 0.1


class _Bookings(dict[str, float]):
    """The client's per-host slots, recording every slot it books (under its host lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.booked: list[float] = []

    def __setitem__(self, host: str, at: float) -> None:
        self.booked.append(at)
        super().__setitem__(host, at)


def test_threads_sharing_a_client_still_respect_the_interval(replay_server: ReplayServer) -> None:
    replay_server.add("/p", Reply(200))
    interval = 0.08
    clock = FakeClock()
    # Slots, not send times: with two threads, one thread's sleep may move the fake clock between the
    # other's slot and its request hook.
    bookings = _Bookings()
    start = threading.Barrier(2)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        time.sleep(0.01)  # yield while "waiting", so a thread that skipped the host lock would overtake

    def fetch_twice() -> None:
        start.wait()
        for _ in range(2):
            client.get(f"{replay_server.url}/p")

    with make_client(min_interval_s=interval, clock=clock, sleep=sleep) as client:
        client._last_request = bookings
        threads = [threading.Thread(target=fetch_twice) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(replay_server.requests) == 4
    times = sorted(bookings.booked)
    assert len(times) == 4
    assert all(b - a >= interval - 1e-9 for a, b in itertools.pairwise(times)), times


def test_host_interval_override(replay_server: ReplayServer) -> None:
    replay_server.add("/p", Reply(200))
    clock = FakeClock()
    with clocked(clock, min_interval_s=30.0, host_intervals={"127.0.0.1": 0.0}) as client:
        client.get(f"{replay_server.url}/p")
        client.get(f"{replay_server.url}/p")
    assert clock.slept == [] and clock.gaps() == [0.0]
    assert len(replay_server.requests) == 2


def test_503_retry_after_seconds_is_honoured(replay_server: ReplayServer) -> None:
    replay_server.add("/busy", [Reply(503, {"Retry-After": "0.3"}, b"busy"), Reply(200, body=b"done")])
    clock = FakeClock()
    with clocked(clock) as client:
        response = client.get(f"{replay_server.url}/busy")
    assert response.status_code == 200
    assert response.text == "done"
    assert len(replay_server.requests) == 2
    assert clock.slept == [0.3]
    assert clock.gaps() == pytest.approx([0.3])


def test_429_retry_after_http_date_uses_wall_clock(replay_server: ReplayServer) -> None:
    when = format_datetime(NOW + timedelta(seconds=4), usegmt=True)
    replay_server.add("/rate", [Reply(429, {"Retry-After": when}), Reply(200, body=b"ok")])
    slept: list[float] = []
    with make_client(sleep=slept.append, wall_clock=lambda: NOW) as client:
        assert client.get(f"{replay_server.url}/rate").text == "ok"
    assert slept == [4.0]
    assert len(replay_server.requests) == 2


def test_interval_applies_to_retries_too(replay_server: ReplayServer) -> None:
    # No Retry-After and a zero backoff: only the per-host interval can space the retry.
    replay_server.add("/flaky", [Reply(503), Reply(200, body=b"ok")])
    clock = FakeClock()
    with clocked(clock, min_interval_s=0.2, backoff_base_s=0.0) as client:
        client.get(f"{replay_server.url}/flaky")
    assert len(replay_server.requests) == 2
    assert clock.gaps() == pytest.approx([0.2])


def test_retry_after_beyond_maximum_gives_up_at_once(replay_server: ReplayServer) -> None:
    replay_server.add("/later", Reply(503, {"Retry-After": "3600"}))
    with make_client(max_retry_after_s=60.0) as client, pytest.raises(HttpError) as info:
        client.get(f"{replay_server.url}/later")
    assert len(replay_server.requests) == 1
    assert info.value.status == 503
    assert "3600" in str(info.value) and "/later" in str(info.value)


def test_server_errors_back_off_then_give_up_naming_url_and_status(replay_server: ReplayServer) -> None:
    replay_server.add("/down", Reply(500, body=b"internal error"))
    base = 0.04
    clock = FakeClock()
    # The smallest jitter: equal jitter always waits half of each doubled delay, base/2 then base.
    with (
        clocked(clock, max_retries=2, backoff_base_s=base, rand=lambda: 0.0) as client,
        pytest.raises(HttpError) as info,
    ):
        client.get(f"{replay_server.url}/down", params={"page": 2})
    assert len(replay_server.requests) == 3
    err = info.value
    assert err.status == 500 and err.attempts == 3
    assert f"{replay_server.url}/down?page=2" in str(err)
    assert "last status 500" in str(err)
    assert clock.slept == pytest.approx([base / 2, base])  # the second wait is the doubled one
    assert clock.gaps() == pytest.approx([base / 2, base])


def test_404_is_not_retried(replay_server: ReplayServer) -> None:
    replay_server.add("/missing", Reply(404, body=b"no such thing"))
    with make_client() as client, pytest.raises(HttpError) as info:
        client.get(f"{replay_server.url}/missing")
    assert len(replay_server.requests) == 1
    assert info.value.status == 404
    assert "HTTP 404" in str(info.value) and "no such thing" in str(info.value)
    assert info.value.response is not None


def test_timeout_is_retried(replay_server: ReplayServer) -> None:
    # The first reply never comes, so the first attempt times out on any machine; the retry is answered.
    replay_server.add("/slow", [Reply(hold=True), Reply(200, body=b"fast")])
    with make_client(timeout_s=0.5) as client:
        response = client.get(f"{replay_server.url}/slow")
    assert response.text == "fast"
    # Two requests, or more if a loaded machine made an answered one time out too (it is retried alike).
    assert len(replay_server.requests) >= 2


def test_dropped_connection_is_retried(replay_server: ReplayServer) -> None:
    replay_server.add("/drop", [Reply(drop=True), Reply(200, body=b"back")])
    with make_client() as client:
        assert client.get(f"{replay_server.url}/drop").text == "back"
    assert len(replay_server.requests) == 2


def test_connection_refused_gives_up_with_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The socket is closed: nothing listens on that port now.
    with make_client(max_retries=1) as client, pytest.raises(HttpError) as info:
        client.get(f"http://127.0.0.1:{port}/x")
    assert info.value.status is None
    assert info.value.attempts == 2
    assert "ConnectError" in str(info.value) and f"127.0.0.1:{port}/x" in str(info.value)


def test_unmatched_route_is_a_404(replay_server: ReplayServer) -> None:
    with make_client() as client, pytest.raises(HttpError):
        client.get(f"{replay_server.url}/nowhere")
    assert [r.path for r in replay_server.unmatched] == ["/nowhere"]


def test_query_string_in_the_url_is_kept(replay_server: ReplayServer) -> None:
    """A URL that already carries its query (the HF daily_papers ?date=) must reach the server intact."""
    replay_server.add("/q", Reply(200, body=b"ok"), query={"date": "2026-06-12"})
    with PoliteClient(user_agent="t/1", timeout_s=2.0, min_interval_s=0.0, max_retries=0) as client:
        assert client.get(f"{replay_server.url}/q?date=2026-06-12").content == b"ok"
        assert client.get(f"{replay_server.url}/q", params={"date": "2026-06-12"}).content == b"ok"
    assert [r.param("date") for r in replay_server.requests] == ["2026-06-12", "2026-06-12"]


def test_oversized_responses_are_refused(replay_server: ReplayServer) -> None:
    """A declared-too-big body and a small gzip that inflates past the cap both fail, without retries."""
    import gzip as _gzip

    replay_server.add("/big", Reply(200, body=b"x" * 5000))
    bomb = _gzip.compress(b"a" * 200_000)
    replay_server.add("/bomb", Reply(200, headers={"Content-Encoding": "gzip"}, body=bomb))
    replay_server.add("/fine", Reply(200, body=b"y" * 900))
    with PoliteClient(
        user_agent="t/1", timeout_s=2.0, min_interval_s=0.0, max_retries=3, max_response_bytes=1000
    ) as client:
        with pytest.raises(HttpError, match="5000 bytes exceeds 1000"):
            client.get(f"{replay_server.url}/big")
        assert len(bomb) < 1000
        with pytest.raises(HttpError, match="exceeds 1000 bytes"):
            client.get(f"{replay_server.url}/bomb")
        assert client.get(f"{replay_server.url}/fine").content == b"y" * 900
    assert [r.path for r in replay_server.requests] == ["/big", "/bomb", "/fine"]  # no retries


def test_redirect_hops_wait_for_their_slot_too(replay_server: ReplayServer) -> None:
    """arXiv answers some URLs with a redirect; the hop is a request like any other and is spaced."""
    replay_server.add("/old", Reply(301, headers={"Location": "/new?x=1"}))
    replay_server.add("/new", Reply(200, body=b"moved"), query={"x": "1"})
    replay_server.add("/loop", Reply(302, headers={"Location": "/loop"}))
    clock = FakeClock()
    with clocked(clock, min_interval_s=0.2, max_retries=0) as client:
        assert client.get(f"{replay_server.url}/old").content == b"moved"
        with pytest.raises(HttpError, match="more than 5 redirects"):
            client.get(f"{replay_server.url}/loop")
    first, second = replay_server.requests[:2]
    assert (first.path, second.path) == ("/old", "/new")
    assert len(replay_server.requests) == 2 + 6  # the loop: the first request and five hops
    assert clock.gaps() == pytest.approx([0.2] * 7)  # every hop waited for its slot
