"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when PAPERFEED_TEST_PG_URL is set)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import hypothesis
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade

# Loaded once here (pytest only honours pytest_plugins in the top-level conftest): every test module
# gets the replay_server fixture of tests/replay.py.
pytest_plugins = ["replay", "smtpsink", "browserkit"]

# Hypothesis times every example (a 200 ms deadline) and its data generation (the too_slow health check):
# both are stopwatches that fail on a loaded machine, not on a wrong answer. Loaded here, before the test
# modules are imported, so every @settings(...) inherits it. Speed belongs in bench/.
hypothesis.settings.register_profile(
    "paperfeed", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("paperfeed")

DATA = Path(__file__).parent / "data"


def _pg_url() -> str:
    url = os.environ.get("PAPERFEED_TEST_PG_URL")
    if not url:
        pytest.fail(
            "PAPERFEED_TEST_PG_URL is not set: run the tests with `make test` (it starts PostgreSQL)",
            pytrace=False,
        )
    return url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh SQLite file in a temp dir."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'paperfeed.db'}", data_dir=tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings on a migrated empty database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite:///{tmp_path / 'paperfeed.db'}", data_dir=tmp_path)
        return
    admin_url = _pg_url()
    name = f"pf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield Settings(database_url=f"{base}/{name}", data_dir=tmp_path)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(db_settings: Settings) -> Iterator[Engine]:
    """A migrated engine on each database backend."""
    eng = make_engine(db_settings)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(settings: Settings) -> Iterator[Engine]:
    """A migrated engine on a SQLite file only (for tests that are not about storage)."""
    eng = make_engine(settings)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the parametrised engine."""
    return make_sessionmaker(engine)


@pytest.fixture(autouse=True)
def _rate_limit_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rate-limit time stands still during a test (tests that mean a time pass it as `now=`).

    Windows are fixed (900 s by default): requests that straddle a boundary start counting again and miss
    their 429, the more often the slower the machine runs the test.
    """
    from paperfeed.accounts import ratelimit

    frozen = time.time()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: frozen))
