"""Where a database's derived search files live: `<data_dir>/<database name>.index/` (pure paths).

Two databases in one folder (data_dir defaults to the SQLite file's folder) each get their own keyword
index and HNSW file: `var/a.db` -> `var/a.index/keyword`, `var/a.index/vectors.usearch`. Before, both used
`var/search/`, so an ingest into `b.db` synced its papers into `a.db`'s index. The ONNX model built from the
shipped file (`data_dir/search/models`) belongs to no database and stays shared.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import make_url

if TYPE_CHECKING:
    from paperfeed.config import Settings

__all__ = ["index_root"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def index_root(settings: Settings) -> Path:
    """The folder of this database's keyword index and vector file.

    SQLite: `<data_dir>/<file stem>.index`, data_dir being the file's folder unless set explicitly (as in
    Settings; a settings copy with another database_url is not re-validated, so it is worked out here).
    Other databases: `<data_dir>/<database name>.index`.
    """
    database = make_url(settings.database_url).database or ""
    base = Path(settings.data_dir)
    if settings.is_sqlite and database and database != ":memory:":
        path = Path(database)
        if "data_dir" not in settings.model_fields_set:
            base = path.resolve().parent
        name = path.stem
    else:
        name = database
    name = _UNSAFE.sub("_", name).strip("._") or "paperfeed"
    return base / f"{name}.index"
