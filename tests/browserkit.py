"""pytest plugin for browser tests: Debian's chromium (`browser`, per module) and an app served by uvicorn."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, expect, sync_playwright

from paperfeed.mailsink import free_port
from polling import HANG_S, wait_until

__all__ = ["ARGS", "CHROMIUM", "browser", "free_port", "served_app"]

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps dialling Google's hosts (refused here).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def served_app(app: FastAPI, port: int) -> Iterator[str]:
    """Serve `app` with a real uvicorn on 127.0.0.1:port in a thread; yields its base URL."""
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    # Fails at once if the thread died, else waits as long as a loaded machine needs.
    wait_until(lambda: srv.started or not thread.is_alive(), "uvicorn did not start")
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=HANG_S)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package", pytrace=False)
    # expect() retries for 5 s by default, short for chromium and uvicorn sharing a loaded machine; like
    # the 30 s action and navigation timeouts, this only bounds a wait that ends when the page is there.
    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
