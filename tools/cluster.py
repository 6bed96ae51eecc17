"""`make cluster`: compose.yaml's topology from processes on loopback, no Docker needed.

PostgreSQL and Redis as .ci/ starts them, `paperfeed db upgrade` once, two `paperfeed serve` nodes on two
ports (each with its own data folder: search indexes are per node, derived from the shared database), and one
`paperfeed worker`. Every node shares one secret key, as compose's .env makes them. tests/test_cluster.py
drives it; `python tools/cluster.py` runs it in the foreground until Ctrl-C.

Not reproduced: compose's nginx in front (no proxy binary on these machines); the nodes are reached directly.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent


def _ci(script: str) -> str:
    """Start a server with the .ci script (idempotent) and return the URL it prints."""
    out = subprocess.run(["bash", str(ROOT / ".ci" / script)], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def create_database(admin_url: str, name: str) -> str:
    """A fresh PostgreSQL database beside the admin one; returns its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    """Drop a database made by create_database."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Cluster:
    """Two web nodes and a worker over one PostgreSQL database and one Redis queue."""

    base: Path
    database_url: str
    redis_url: str
    ports: tuple[int, int] = (8101, 8102)
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def _env(self, name: str, **extra: str) -> dict[str, str]:
        data = self.base / name
        data.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "PAPERFEED_DATABASE_URL": self.database_url,
            "PAPERFEED_REDIS_URL": self.redis_url,
            "PAPERFEED_DATA_DIR": str(data),
            "PAPERFEED_SECRET_KEY": self.secret,
            "PAPERFEED_LOG_FORMAT": "json",
            **self.env,
            **extra,
        }

    def _spawn(self, name: str, argv: list[str], **extra: str) -> None:
        log = (self.base / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "paperfeed", *argv], env=self._env(name, **extra), stdout=log, stderr=log
        )

    def url(self, node: int) -> str:
        """Base URL of web node 0 or 1."""
        return f"http://127.0.0.1:{self.ports[node]}"

    def start(self, *, timeout_s: float = 120.0) -> None:
        """Migrate once, then start both web nodes and the worker; wait until both nodes answer /readyz."""
        self.base.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "paperfeed", "db", "upgrade"], env=self._env("migrate"), check=True
        )
        for i, port in enumerate(self.ports):
            self._spawn(f"web{i + 1}", ["serve", "--port", str(port)], PAPERFEED_SEARCH_MAINTAINER="true")
        self._spawn("worker", ["worker"])
        deadline = time.monotonic() + timeout_s
        for i in range(len(self.ports)):
            while True:
                try:
                    if httpx.get(self.url(i) + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"web node {i + 1} did not start: see {self.base}/web{i + 1}.log")
                time.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL one process (a crash, not a shutdown)."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM every process still running, then wait (SIGKILL after 30 s)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    """Run the cluster in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--ports", type=int, nargs=2, default=(8101, 8102))
    args = parser.parse_args()
    admin = _ci("start-postgres.sh")
    name = f"paperfeed_cluster_{uuid.uuid4().hex[:6]}"
    cluster = Cluster(args.dir, create_database(admin, name), _ci("start-redis.sh"), ports=tuple(args.ports))
    try:
        cluster.start()
        print(
            f"web nodes: {cluster.url(0)} {cluster.url(1)}; worker running; logs in {args.dir}; Ctrl-C stops"
        )
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()
        drop_database(admin, name)


if __name__ == "__main__":
    main()
