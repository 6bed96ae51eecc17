"""The `make bench-load` workload: 90% readers, 10% signed-in users, spread over the web nodes.

Run by bench/load.py (headless, --csv). Environment:
- LOAD_HOSTS: the web nodes' base URLs, comma-separated; users take them in turn (no proxy in `make cluster`);
- LOAD_FIXTURE: JSON from bench/load.py: paper keys, days, search words, users (email, password, token,
  collection id);
- LOAD_EVENTS: a folder; each Locust process appends one JSON line per request to its own file there
  (time, name, node, status, and for acknowledged writes what was written, so load.py can check the database).
Every user runs at most one task a second (constant_throughput), so the offered rate follows the user count.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

from locust import between, constant_throughput, events, task  # noqa: F401
from locust.contrib.fasthttp import FastHttpUser

_FIXTURE: dict[str, Any] = {}
_NEXT_HOST = itertools.count()
_LOG: Any = None
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def fixture() -> dict[str, Any]:
    if not _FIXTURE:
        _FIXTURE.update(json.loads(Path(os.environ["LOAD_FIXTURE"]).read_text()))
    return _FIXTURE


def hosts() -> list[str]:
    return [h for h in os.environ["LOAD_HOSTS"].split(",") if h]


def _log(line: dict[str, Any]) -> None:
    global _LOG
    if _LOG is None:
        folder = Path(os.environ["LOAD_EVENTS"])
        folder.mkdir(parents=True, exist_ok=True)
        _LOG = (folder / f"events-{os.getpid()}.jsonl").open("a", buffering=1)
    _LOG.write(json.dumps(line) + "\n")


class _Base(FastHttpUser):
    abstract = True
    wait_time = constant_throughput(1.0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        nodes = hosts()
        self.node = next(_NEXT_HOST) % len(nodes)
        self.host = nodes[self.node]
        super().__init__(*args, **kwargs)

    def go(self, method: str, url: str, name: str, ack: Any = None, **kwargs: Any) -> Any:
        """One request: failures are marked by status ('HTTP 503'), every request goes to the event log."""
        started = time.time()
        with self.client.request(method, url, name=name, catch_response=True, **kwargs) as resp:
            status = resp.status_code or 0
            error = ""
            if status == 0:
                error = str(resp.error or "connection error")
                resp.failure(f"conn: {error[:80]}")
            elif status >= 400:
                resp.failure(f"HTTP {status}")
            else:
                resp.success()
            line: dict[str, Any] = {"t": started, "n": name, "node": self.node, "status": status}
            if error:
                line["error"] = error[:80]
            if status and status < 400 and ack is not None:
                line["ack"] = ack(resp)
            _log(line)
            return resp

    def paper(self) -> str:
        return str(random.choice(fixture()["papers"]))


class Reader(_Base):
    """Anonymous readers: pages, API and feeds."""

    weight = 9

    @task(3)
    def trending(self) -> None:
        self.go("GET", "/trending", "/trending")

    @task(2)
    def daily(self) -> None:
        self.go("GET", f"/papers?date={random.choice(fixture()['days'])}", "/papers?date")

    @task(4)
    def paper_page(self) -> None:
        self.go("GET", f"/papers/{self.paper()}", "/papers/[id]")

    @task(2)
    def search_page(self) -> None:
        self.go("GET", f"/search?q={random.choice(fixture()['words'])}", "/search?q")

    @task(2)
    def api_search(self) -> None:
        self.go("GET", f"/api/papers/search?q={random.choice(fixture()['words'])}", "/api/papers/search")

    @task(1)
    def api_daily(self) -> None:
        self.go("GET", f"/api/daily_papers?date={random.choice(fixture()['days'])}", "/api/daily_papers")

    @task(2)
    def api_paper(self) -> None:
        self.go("GET", f"/api/papers/{self.paper()}", "/api/papers/[id]")

    @task(1)
    def feeds(self) -> None:
        if random.random() < 0.5:
            self.go("GET", "/rss", "/rss")
        else:
            self.go("GET", "/atom", "/atom")


class Member(_Base):
    """Signed-in users: votes, comments and collection saves over the API (bearer token), web logins."""

    weight = 1

    def on_start(self) -> None:
        users = fixture()["users"]
        self.me = users[random.randrange(len(users))]
        self.auth = {"Authorization": f"Bearer {self.me['token']}"}

    @task(4)
    def vote(self) -> None:
        key = self.paper()
        self.go(
            "POST",
            f"/api/papers/{key}/vote",
            "/api/papers/[id]/vote",
            ack=lambda r: ["vote", self.me["username"], r.json()["paperId"]],
            headers=self.auth,
        )

    @task(2)
    def comment(self) -> None:
        self.go(
            "POST",
            f"/api/papers/{self.paper()}/comments",
            "/api/papers/[id]/comments",
            ack=lambda r: ["comment", r.json()["id"]],
            headers=self.auth,
            json={"body": f"load test comment {random.getrandbits(40):x}"},
        )

    @task(2)
    def save(self) -> None:
        key = self.paper()
        cid = self.me["collection"]
        self.go(
            "PUT",
            f"/api/collections/{cid}/papers/{key}",
            "/api/collections/[id]/papers/[id]",
            ack=lambda r: ["save", cid, key],
            headers=self.auth,
            json={"note": "saved under load"},
        )

    @task(1)
    def login(self) -> None:
        form = self.go("GET", "/login", "/login (form)")
        found = CSRF.search(form.text or "") if form.status_code == 200 else None
        if found is None:
            return
        self.go(
            "POST",
            "/login",
            "/login (post)",
            data={"email": self.me["email"], "password": self.me["password"], "csrf_token": found.group(1)},
            headers={"Origin": self.host},
            allow_redirects=False,
        )
