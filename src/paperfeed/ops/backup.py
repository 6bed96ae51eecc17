"""Backups: a consistent copy of the database (and the secret key that signs mailed links) into a folder.

SQLite: the online backup API copies pages under a read transaction, so the copy is consistent while the
server keeps writing (WAL). PostgreSQL: `pg_dump --format=custom` (a consistent snapshot) and `pg_restore`.
The search indexes are not backed up: they are derived from the database (`paperfeed reindex` rebuilds them,
and restore does it). The secret key is: without it every unsubscribe and rating link already mailed breaks.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import make_url

from paperfeed.errors import Conflict, UserError

MANIFEST = "manifest.json"
SQLITE_FILE = "paperfeed.db"
PG_FILE = "paperfeed.pgdump"
SECRET_FILE = "secret.key"  # noqa: S105 (a file name, not a secret)


class BackupError(UserError):
    """A backup or restore that cannot be done (missing tool, bad folder)."""

    status = 400


@dataclass(frozen=True)
class BackupInfo:
    """What a backup folder holds."""

    path: Path
    dialect: str
    created_at: str
    revision: str | None
    with_secret: bool


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(database)


def _libpq_url(url: str) -> str:
    # pg_dump speaks libpq URLs: drop SQLAlchemy's "+psycopg" driver suffix.
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _copy_secret(src: Path | None, dest: Path) -> bool:
    """Copy the key file with owner-only permissions; False when there is none."""
    if src is None or not src.exists():
        return False
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(src.read_text())
    return True


def backup(
    database_url: str, folder: Path, *, secret_path: Path | None, revision: str | None, now: datetime
) -> BackupInfo:
    """Copy the database (consistently, while it serves) and the secret key into a new folder."""
    if folder.exists() and any(folder.iterdir()):
        raise Conflict(f"{folder} exists and is not empty: choose a new folder")
    # Written beside, then renamed: a crash leaves a .partial folder, never a folder that looks complete.
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    dialect = make_url(database_url).get_backend_name()
    if dialect == "sqlite":
        src = sqlite3.connect(_sqlite_path(database_url))
        dst = sqlite3.connect(partial / SQLITE_FILE)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
    elif dialect == "postgresql":
        out = f"--file={partial / PG_FILE}"
        _run(["pg_dump", "--format=custom", "--no-owner", out, _libpq_url(database_url)])
    else:
        raise BackupError(f"no backup method for {dialect}")
    with_secret = _copy_secret(secret_path, partial / SECRET_FILE)
    info = {
        "dialect": dialect,
        "created_at": now.isoformat(),
        "revision": revision,
        "with_secret": with_secret,
    }
    (partial / MANIFEST).write_text(json.dumps(info, indent=2))
    if folder.exists():
        folder.rmdir()
    partial.rename(folder)
    return read_manifest(folder)


def read_manifest(folder: Path) -> BackupInfo:
    """The description of a backup folder; BackupError when it is not one."""
    try:
        raw = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} is not a paperfeed backup (no readable {MANIFEST})") from exc
    return BackupInfo(
        path=folder,
        dialect=str(raw["dialect"]),
        created_at=str(raw["created_at"]),
        revision=raw.get("revision"),
        with_secret=bool(raw.get("with_secret")),
    )


def is_empty(database_url: str) -> bool:
    """True when the database has no papers and no users (or no tables at all)."""
    from sqlalchemy import create_engine, inspect, text

    if make_url(database_url).get_backend_name() == "sqlite" and not _sqlite_path(database_url).exists():
        return True  # do not let the check create the file (or fail on a folder not made yet)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            for table in ("papers", "users"):
                query = text(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608 (fixed names)
                if table in tables and conn.execute(query).first():
                    return False
        return True
    finally:
        engine.dispose()


def restore(folder: Path, database_url: str, *, secret_path: Path | None) -> BackupInfo:
    """Put a backup into an empty target database (and its secret key where the target expects it)."""
    info = read_manifest(folder)
    dialect = make_url(database_url).get_backend_name()
    if dialect != info.dialect:
        raise BackupError(f"the backup is of {info.dialect}; the target is {dialect}")
    if not is_empty(database_url):
        raise Conflict("the target database already holds papers or users: restore into an empty one")
    if dialect == "sqlite":
        target = _sqlite_path(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(folder / SQLITE_FILE)
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        dbname = f"--dbname={_libpq_url(database_url)}"
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", dbname, str(folder / PG_FILE)])
    if info.with_secret and secret_path is not None:
        secret_path.parent.mkdir(parents=True, exist_ok=True)
        _copy_secret(folder / SECRET_FILE, secret_path)
    return info


def _run(argv: list[str]) -> None:
    tool = shutil.which(argv[0])
    if tool is None:
        raise BackupError(f"{argv[0]} is not installed: install the PostgreSQL client tools")
    result = subprocess.run([tool, *argv[1:]], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {result.stderr.strip()[:500]}")
