"""Observability: /metrics (off, token, route templates, database counts), request ids, JSON logs, SIGTERM."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

import webdata
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.jobs.runs import finish_run, start_run
from paperfeed.logs import JsonFormatter, RequestIdFilter


def _client(settings: Settings, **over: object) -> TestClient:
    app = webdata.filled_app(settings.model_copy(update=over))
    return TestClient(app)


def test_metrics_are_off_unless_enabled(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token_when_one_is_set(settings: Settings) -> None:
    with _client(settings, metrics_enabled=True, metrics_token="s3cret") as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")


def test_metrics_label_routes_by_template_and_count_the_database(settings: Settings) -> None:
    with _client(settings, metrics_enabled=True) as client:
        papers = client.get("/api/daily_papers").json()
        key = papers[0]["paper"]["id"]
        assert client.get(f"/papers/{key}").status_code == 200
        for junk in ("/nope/1", "/nope/2", "/%0d%0aevil"):
            client.get(junk)
        assert client.get("/api/papers/search", params={"q": "retrieval"}).status_code == 200
        body = client.get("/metrics").text
    assert 'route="/papers/{paper_id:path}"' in body or 'route="/papers/{key:path}"' in body
    assert (
        'paperfeed_http_request_duration_seconds_count{method="GET",route="<unmatched>",status="4xx"} 3.0'
        in body
    )
    assert "nope" not in body and "evil" not in body  # raw paths never become labels
    assert 'paperfeed_search_duration_seconds_count{surface="api"} 1.0' in body
    total = sum(
        float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith("paperfeed_papers{")
    )
    assert total == len(webdata.records())


def test_metrics_count_job_runs_by_result_and_the_last_success(settings: Settings) -> None:
    with _client(settings, metrics_enabled=True) as client:
        factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
        t0 = datetime(2026, 6, 1, 21, tzinfo=UTC)
        ok = start_run(factory, "harvest", t0)
        finish_run(factory, ok, now=t0 + timedelta(minutes=2), started=t0, ok=True)
        bad = start_run(factory, "harvest", t0 + timedelta(days=1))
        finish_run(factory, bad, now=t0 + timedelta(days=1, minutes=1), started=t0, ok=False, message="x")
        start_run(factory, "embed", t0)  # killed mid-way: stays running
        body = client.get("/metrics").text
    assert 'paperfeed_job_runs{job="harvest",result="ok"} 1.0' in body
    assert 'paperfeed_job_runs{job="harvest",result="failed"} 1.0' in body
    assert 'paperfeed_job_runs{job="embed",result="running"} 1.0' in body
    last = {
        line.split("}", 1)[0] + "}": float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("paperfeed_job_last_success_timestamp_seconds{")
    }
    assert last == {
        'paperfeed_job_last_success_timestamp_seconds{job="harvest"}': (t0 + timedelta(minutes=2)).timestamp()
    }
    assert 'paperfeed_job_last_success_timestamp_seconds{job="embed"}' not in body


def test_request_ids_are_echoed_when_safe_and_made_otherwise(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        made = client.get("/healthz", headers={"X-Request-ID": "x" * 200})
        assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "x" * 200
        assert client.get("/healthz").headers["x-request-id"] != made.headers["x-request-id"]


def test_json_access_log_carries_the_request_id(settings: Settings) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("paperfeed.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with TestClient(create_app(settings)) as client:
            client.get("/healthz", headers={"X-Request-ID": "req-42"})
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [r for r in lines if r.get("request_id") == "req-42"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/healthz" and mine[0]["status"] == 200 and mine[0]["level"] == "info"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_logs_json_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PAPERFEED_LOG_FORMAT": "json", "PAPERFEED_SEARCH_MAINTAINER": "false"}
    db = tmp_path / "p.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperfeed", "serve", "--db", str(db), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(300):  # up to 60 s on a loaded machine; the test never asserts on time
            try:
                if (
                    httpx.get(
                        f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "boot"}
                    ).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("serve did not come up")
        # A request in flight: headers sent, body not yet. SIGTERM must let it finish, not cut it.
        conn = socket.create_connection(("127.0.0.1", port))
        body = b"username=a&password=b"
        conn.sendall(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.sendall(body)
        conn.settimeout(60)
        answer = conn.recv(4096)
        conn.close()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert answer.startswith(b"HTTP/1.1 "), answer  # the in-flight request got its answer
    # uvicorn re-raises SIGTERM after a clean shutdown, so the exit status says "terminated", not 0.
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Application shutdown complete." in err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(r.get("request_id") == "boot" and r.get("route") == "/healthz" for r in records), err
    assert any("Finished server process" in r["message"] for r in records), err
