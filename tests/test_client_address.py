"""The client address behind proxies: X-Forwarded-For counts only from PAPERFEED_TRUSTED_PROXIES."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import ValidationError
from typer.testing import CliRunner

from accountkit import CSRF_FIELD, FAST_HASH, client_for, make_user, post_form
from paperfeed.config import Settings
from paperfeed.forwarded import client_address
from paperfeed.mailsink import free_port
from polling import HANG_S, wait_until

ATTACKER, OWNER = "203.0.113.66", "198.51.100.20"


@contextmanager
def served_by_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`paperfeed serve` for real: its uvicorn settings, on loopback, in a thread; yields the base URL."""
    from paperfeed.cli import app

    port = free_port()
    for key, value in FAST_HASH.items():
        monkeypatch.setenv(f"PAPERFEED_{key.upper()}", str(value))
    monkeypatch.setenv("PAPERFEED_SEARCH_MAINTAINER", "false")
    monkeypatch.delenv("PAPERFEED_TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("PAPERFEED_TRUST_PROXY", raising=False)
    servers: list[uvicorn.Server] = []

    def run_in_thread(app: Any, **kwargs: Any) -> None:
        # uvicorn.run with exactly what `serve` passes, in a thread so the test can send requests.
        servers.append(uvicorn.Server(uvicorn.Config(app, **{**kwargs, "log_level": "warning"})))

    monkeypatch.setattr(uvicorn, "run", run_in_thread)
    db = tmp_path / "served.db"
    result = CliRunner().invoke(app, ["serve", "--db", str(db), "--port", str(port)])
    assert result.exit_code == 0, result.output
    (server,) = servers
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), "uvicorn did not start")
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=HANG_S)


def test_rotating_forwarded_for_does_not_dodge_the_login_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default: each guess then came "from" a new address.
    with served_by_cli(tmp_path, monkeypatch) as url, httpx.Client(base_url=url) as client:
        page = client.get("/login")
        match = CSRF_FIELD.search(page.text)
        assert match
        codes = []
        for i in range(7):
            data = {"csrf_token": match.group(1), "email": "ada@example.org", "password": f"guess {i} guess"}
            r = client.post("/login", data=data, headers={"X-Forwarded-For": f"192.0.2.{i + 1}"})
            codes.append(r.status_code)
    # login_limit_account (5) failures on one account from one address, then 429.
    assert codes == [400] * 5 + [429] * 2


def test_right_most_untrusted_hop_is_the_client() -> None:
    proxies = ["10.0.0.0/8", "127.0.0.1"]
    # Not from a proxy: the header is the client's own words.
    assert client_address(ATTACKER, ["192.0.2.9"], proxies) == ATTACKER
    # From our proxy: what it appended is the client; what the client wrote in front is ignored.
    assert client_address("127.0.0.1", [f"192.0.2.9, {ATTACKER}"], proxies) == ATTACKER
    # Two of our proxies in a row (CDN edge 10.x, then the local one), and split header fields.
    assert client_address("127.0.0.1", ["192.0.2.9", f"{ATTACKER}, 10.1.2.3"], proxies) == ATTACKER
    # Ports and IPv6 brackets, as some proxies write them.
    assert client_address("127.0.0.1", [f"{ATTACKER}:5555"], proxies) == ATTACKER
    assert client_address("127.0.0.1", ["[2001:db8::7]:443"], proxies) == "2001:db8::7"
    # A dual-stack listener shows an IPv4 proxy as ::ffff:a.b.c.d.
    assert client_address("::ffff:10.0.0.5", [ATTACKER], proxies) == ATTACKER
    # From a proxy without a header, or with only proxies in it: as far as we can see.
    assert client_address("127.0.0.1", [], proxies) == "127.0.0.1"
    assert client_address("127.0.0.1", ["10.0.0.7"], proxies) == "10.0.0.7"
    # Nothing configured: the peer, always.
    assert client_address("127.0.0.1", [ATTACKER], []) == "127.0.0.1"
    # The old switch: the peer is a proxy whatever its address, one hop.
    assert client_address("192.0.2.1", [f"10.9.9.9, {ATTACKER}"], [], trust_peer=True) == ATTACKER


def test_trusted_proxies_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFEED_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ::1")
    assert Settings().trusted_proxies == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    for bad in ("*", "proxy.example.org", "10.0.0.0/33"):
        with pytest.raises(ValidationError):
            Settings(trusted_proxies=bad)


def test_only_configured_proxies_are_believed_by_the_app(settings: Settings) -> None:
    s = settings.model_copy(update={**FAST_HASH, "login_limit_ip": 2, "trusted_proxies": ["127.0.0.1/32"]})
    make_user(s)

    def attempt(peer: str, forwarded: str) -> int:
        client = client_for(s, ip=peer)
        data = {"email": "nobody@example.org", "password": "guess guess", "next": "/"}
        r = post_form(client, "/login", data, headers={"X-Forwarded-For": forwarded})
        return int(r.status_code)

    # Through the proxy, the attacker's forged front entries change nothing: 2 failures, then 429.
    assert [attempt("127.0.0.1", f"10.0.0.{i}, {ATTACKER}") for i in range(3)] == [400, 400, 429]
    # Another client behind the same proxy is not blocked.
    assert attempt("127.0.0.1", OWNER) == 400
    # A direct client naming the attacker's address in the header is not taken for it.
    assert attempt("192.0.2.50", ATTACKER) == 400
    # ... and cannot dodge its own limit by naming others.
    assert [attempt("192.0.2.50", f"192.0.2.{100 + i}") for i in range(2)] == [400, 429]
