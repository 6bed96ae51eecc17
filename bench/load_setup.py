"""`make bench-load` set-up: its own PostgreSQL server, the 94k papers (cached), cached vectors, users.

The server is a separate instance from the tests' (own data folder and port) because the benchmark restarts
it; the database survives between runs while that folder exists.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.models import Paper, Submission

ROOT = Path(__file__).resolve().parent.parent
PGBIN = "/usr/lib/postgresql/15/bin"
DB_NAME = "paperfeed_load_94k"


class Postgres:
    """A PostgreSQL 15 server started as .ci/start-postgres.sh starts it, on a folder and port of its own."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.port = port
        self.run = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        self.opts = f"-p {port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off"

    @property
    def admin_url(self) -> str:
        """The postgres database's URL."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        cmd = [*self.run, f"{PGBIN}/pg_ctl", "-D", str(self.data), "-o", self.opts]
        subprocess.run([*cmd, "-l", str(self.data / "log"), "-w", *args], check=True, capture_output=True)

    def running(self) -> bool:
        """pg_ctl status says it runs."""
        cmd = [*self.run, f"{PGBIN}/pg_ctl", "-D", str(self.data), "status"]
        return subprocess.run(cmd, capture_output=True).returncode == 0

    def ensure(self) -> str:
        """Start the server (an existing cluster folder is kept: the database is reused); returns its URL."""
        if self.running():
            return self.admin_url
        if (self.data / "PG_VERSION").exists():
            self._ctl("start")
            return self.admin_url
        env = {**os.environ, "PGDATA": str(self.data), "PGPORT": str(self.port)}
        self.data.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["bash", str(ROOT / ".ci" / "start-postgres.sh")], check=True, env=env)
        return self.admin_url

    def restart(self) -> float:
        """`pg_ctl restart` (fast shutdown, as .ci/start-postgres.sh's options); returns its seconds."""
        t0 = time.monotonic()
        self._ctl("restart")
        return time.monotonic() - t0


def paperfeed(args: list[str], url: str, data_dir: Path) -> None:
    """Run one `paperfeed` command on the database (niced: other work shares the machine)."""
    env = {**os.environ, "PAPERFEED_DATABASE_URL": url, "PAPERFEED_DATA_DIR": str(data_dir)}
    subprocess.run(["nice", "-n", "5", sys.executable, "-m", "paperfeed", *args], check=True, env=env)


def ensure_papers(admin_url: str, data: Path, work: Path, log: Any) -> str:
    """The 94k papers in their own database, ingested once; returns its URL."""
    url = admin_url.rsplit("/", 1)[0] + f"/{DB_NAME}"
    done = work / "papers.done"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME})
        if exists and not done.exists():
            conn.execute(text(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    if not done.exists():
        t0 = time.monotonic()
        paperfeed(["db", "upgrade"], url, work / "setup")
        paperfeed(["ingest", "jsonl", str(data)], url, work / "setup")
        done.write_text(f"ingested in {time.monotonic() - t0:.0f} s\n")
        log(f"ingested {data.name} in {time.monotonic() - t0:.0f} s")
    else:
        paperfeed(["db", "upgrade"], url, work / "setup")
    return url


def load_cached_vectors(
    factory: sessionmaker[Session], settings: Settings, cache: Path | None, log: Any
) -> int:
    """Store the vectors a search benchmark cached (.npz keyed by text) for the papers they match; cheap.

    Used only when the cache's model key matches the embedder's (bench/search_common.model_key), so no vector
    of another model is stored under this one's name. Returns the vectors stored now (0 when none apply).
    """
    from paperfeed.search.embeddings import MODEL_NAME, load_embedder, paper_text
    from paperfeed.search.models import PaperVector
    from paperfeed.search.vector_store import encode_vector, text_hash

    if cache is None or not cache.exists():
        return 0
    with factory() as session:
        if session.scalar(select(func.count()).select_from(PaperVector)):
            return 0  # loaded by an earlier run
    from search_common import model_key

    key = model_key(settings, load_embedder(settings))
    if not cache.name.endswith(f"-{key}.npz"):
        log(f"vector cache {cache.name} is not for this model ({key}): no vectors loaded")
        return 0
    with np.load(cache) as z:  # each z[...] reads the whole array again: once each
        keys, vecs = z["keys"], z["vectors"]
    vectors = {bytes(k): vecs[i] for i, k in enumerate(keys)}
    now = datetime.now(UTC)
    rows = []
    with factory() as session:
        for pid, title, abstract, phash in session.execute(
            select(Paper.id, Paper.title, Paper.abstract, Paper.content_hash)
        ):
            body = paper_text(title, abstract or "")
            vec = vectors.get(hashlib.blake2b(body.encode(), digest_size=12).digest())
            if vec is not None:
                rows.append(
                    {
                        "paper_id": pid,
                        "model": MODEL_NAME,
                        "vector": encode_vector(vec),
                        "content_hash": text_hash(body),
                        "paper_hash": phash,
                        "created_at": now,
                    }
                )
    with factory() as session, session.begin():
        for i in range(0, len(rows), 5000):
            session.execute(PaperVector.__table__.insert(), rows[i : i + 5000])
    return len(rows)


def workload_fixture(factory: sessionmaker[Session], n_papers: int = 3000) -> dict[str, Any]:
    """Paper keys (arXiv ids), busy listing days and title words for the readers."""
    with factory() as session:
        keys = list(
            session.scalars(
                select(Paper.key).where(Paper.arxiv_id.is_not(None)).order_by(func.random()).limit(n_papers)
            )
        )
        days = [
            d.isoformat()
            for d, n in session.execute(
                select(Submission.day, func.count()).group_by(Submission.day).order_by(Submission.day.desc())
            )
            if n >= 100
        ][:40]
        titles = list(session.scalars(select(Paper.title).order_by(func.random()).limit(2000)))
    words = Counter(w.lower() for t in titles for w in t.split() if w.isalpha() and len(w) >= 6)
    return {"papers": keys, "days": days, "words": [w for w, _ in words.most_common(300)]}


def make_users(factory: sessionmaker[Session], settings: Settings, run: str, n: int) -> list[dict[str, Any]]:
    """n verified users with a write token and one collection each (names carry the run id)."""
    from paperfeed.accounts import tokens
    from paperfeed.accounts.users import create_user
    from paperfeed.community.collections import create_collection

    out = []
    for i in range(n):
        name = f"load{run}u{i}"
        password = f"load-password-{run}-{i}"
        with factory() as session, session.begin():
            user = create_user(
                session,
                settings,
                email=f"{name}@example.org",
                username=name,
                password=password,
                verified=True,
            )
            secret = tokens.create(session, user, "load", scope="write").secret
            uid = user.id
        coll = create_collection(factory, user_id=uid, name=f"reading {i}")
        out.append(
            {
                "username": name,
                "email": f"{name}@example.org",
                "password": password,
                "token": secret,
                "collection": coll.id,
                "id": uid,
            }
        )
    return out


def check_acknowledged(
    factory: sessionmaker[Session], acks: dict[str, set[tuple[object, ...]]]
) -> dict[str, str]:
    """Every acknowledged vote, comment and collection save is in the database: 'stored/acknowledged'."""
    from paperfeed.accounts.models import User
    from paperfeed.community.models import CollectionItem, Comment, Vote

    with factory() as session:
        votes = {
            tuple(r)
            for r in session.execute(
                select(User.username, Paper.key)
                .join(Vote, Vote.user_id == User.id)
                .join(Paper, Paper.id == Vote.paper_id)
                .where(User.username.like("load%"))
            )
        }
        ids = [int(c[0]) for c in acks["comment"]]  # type: ignore[call-overload]
        comments = set(session.scalars(select(Comment.id).where(Comment.id.in_(ids)))) if ids else set()
        saves = {
            tuple(r)
            for r in session.execute(
                select(CollectionItem.collection_id, Paper.key).join(
                    Paper, Paper.id == CollectionItem.paper_id
                )
            )
        }
    got_votes = sum(1 for user, key in acks["vote"] if (user, key) in votes)
    got_saves = sum(1 for cid, key in acks["save"] if (cid, key) in saves)
    return {
        "votes": f"{got_votes}/{len(acks['vote'])}",
        "comments": f"{len(comments)}/{len(ids)}",
        "saves": f"{got_saves}/{len(acks['save'])}",
    }


def open_db(url: str, work: Path) -> tuple[Settings, sessionmaker[Session]]:
    """Settings and a session factory on the benchmark database."""
    settings = Settings(database_url=url, data_dir=work / "setup")
    return settings, make_sessionmaker(make_engine(settings))
