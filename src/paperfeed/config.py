"""Typed settings: environment (PAPERFEED_*), an optional TOML file, then defaults. No global instance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Every knob paperfeed has; each field's description is its documentation (see docs/settings.md)."""

    model_config = SettingsConfigDict(env_prefix="PAPERFEED_", extra="forbid")

    database_url: str = Field(
        "sqlite:///paperfeed.db",
        description="SQLAlchemy URL of the database: a SQLite file (default) or postgresql+psycopg://...",
    )
    data_dir: Path = Field(
        Path("."), description="Directory for derived files (search indexes) next to the database."
    )
    site_name: str = Field("paperfeed", description="Name shown in the page header, feeds and mail.")
    base_url: str = Field(
        "http://127.0.0.1:8000", description="Public URL of the site, used for absolute links in feeds."
    )
    host: str = Field("127.0.0.1", description="Address `paperfeed serve` listens on.")
    port: int = Field(8000, description="Port `paperfeed serve` listens on.")
    demo: bool = Field(False, description="Demo mode: load the bundled papers on first start.")
    page_size: int = Field(50, ge=1, le=500, description="Papers per page on the daily list.")
    sqlite_busy_timeout_ms: int = Field(
        5000, ge=0, description="How long a SQLite writer waits for a lock before failing (ms)."
    )
    sqlite_cache_mb: int = Field(
        64, ge=2, description="SQLite page cache per connection (MB); big ingests need more than 2 MB."
    )
    user_agent: str = Field(
        "paperfeed/0.1 (+https://github.com/paperfeed/paperfeed; mailto:admin@localhost)",
        description="User-Agent sent to arXiv, Hugging Face and GitHub; put a contact address in it.",
    )
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv API endpoint (Atom).")
    arxiv_oai_url: str = Field("https://oaipmh.arxiv.org/oai", description="arXiv OAI-PMH endpoint.")
    arxiv_rss_url: str = Field(
        "https://rss.arxiv.org/rss", description="arXiv RSS base URL; the category is appended."
    )
    hf_api_url: str = Field(
        "https://huggingface.co/api/daily_papers", description="Hugging Face daily papers endpoint."
    )
    arxiv_min_interval_s: float = Field(
        3.0, ge=0, description="Minimum seconds between two requests to arXiv (their terms ask for 3)."
    )
    http_timeout_s: float = Field(30.0, gt=0, description="Timeout of one HTTP request (seconds).")
    http_max_retries: int = Field(
        5, ge=0, description="Retries on 429/503/network errors before a harvest gives up."
    )
    http_backoff_base_s: float = Field(
        2.0, ge=0, description="First backoff delay (seconds); doubled on each retry, capped at 120 s."
    )
    http_max_retry_after_s: float = Field(
        600.0, ge=0, description="Longest Retry-After paperfeed will honour before giving up (seconds)."
    )
    http_max_response_mb: int = Field(
        100, ge=1, description="Largest response body paperfeed reads (MB); a bigger one is an error."
    )
    ingest_batch_size: int = Field(5000, ge=1, description="Records stored per transaction during ingest.")

    ingest_workers: int = Field(
        1,
        ge=0,
        le=32,
        description="Worker processes that parse big dumps while the database writes (0: all in-process).",
    )

    secret_key: str = Field(
        "",
        description="Key that signs links and tokens (confirm, unsubscribe, reset, CSRF). "
        "Empty: a random key is created once in data_dir/secret.key.",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server that sends mail.")
    smtp_port: int = Field(8025, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "none", description="SMTP transport security: none, STARTTLS after connecting, or TLS from the start."
    )
    smtp_user: str = Field("", description="SMTP login (empty: no AUTH).")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_timeout_s: float = Field(30.0, gt=0, description="Timeout of one SMTP operation (seconds).")
    mail_from: str = Field("paperfeed <papers@localhost>", description="From address of every mail sent.")

    # --- search settings (issue 3) ---

    # --- digest settings (issue 4) ---

    # --- account settings (issue 5) ---

    # --- community settings (issue 5) ---

    # --- trending settings (issue 5) ---

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order: explicit arguments, environment, then the TOML file named by PAPERFEED_CONFIG."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("PAPERFEED_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and TOML file), with explicit overrides on top."""
    return Settings(**overrides)


def settings_markdown() -> str:
    """The settings reference (docs/settings.md), rendered from the fields' descriptions."""
    lines = [
        "# Settings",
        "",
        "Set each one as an environment variable, or in a TOML file named by `PAPERFEED_CONFIG`",
        "(keys are the lower-case names without the prefix). The environment wins over the file.",
        "This page is generated from `paperfeed.config.Settings`; `tests/test_config.py` keeps it current.",
        "",
        "| variable | default | what it does |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = f"`{default}`" if default not in (None, "") else ""
        lines.append(f"| `PAPERFEED_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"
