"""Typed settings: environment (PAPERFEED_*), an optional TOML file, then defaults. No global instance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from paperfeed.forwarded import parse_networks


class Settings(BaseSettings):
    """Every knob paperfeed has; each field's description is its documentation (see docs/settings.md)."""

    model_config = SettingsConfigDict(env_prefix="PAPERFEED_", extra="forbid")

    database_url: str = Field(
        "sqlite:///paperfeed.db",
        description="SQLAlchemy URL of the database: a SQLite file (default) or postgresql+psycopg://...",
    )
    data_dir: Path = Field(
        Path("."),
        description="Directory for derived files (search indexes, secret key, job queue, outbox). "
        "Default: the SQLite file's directory (the current directory for PostgreSQL).",
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
    jsonl_max_line_bytes: int = Field(
        1 << 20,
        ge=1024,
        description="Longest line `paperfeed ingest jsonl` reads (bytes; 1 MiB, real records are a few KB): "
        "a longer one is skipped unread and rejected by its line number, and the rest of the file ingests.",
    )

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

    # --- search settings ---
    embed_model: Literal["fast", "shipped"] = Field(
        "fast",
        description="Embedding model graph: `fast` (the int8 weights re-quantised for ONNX Runtime's fused "
        "kernels, built once under data_dir/search/models) or `shipped` (the int8 file as published).",
    )
    embed_max_tokens: int = Field(
        256, ge=16, le=512, description="Tokens of title + abstract an embedding reads (longer is truncated)."
    )
    embed_batch_size: int = Field(
        32, ge=1, le=1024, description="Texts per ONNX Runtime call (length-sorted)."
    )
    embed_threads: int = Field(
        0,
        ge=0,
        le=256,
        description=(
            "Embedding threads (0: one per CPU core): a query's single batch splits its ops across them, "
            "several batches run side by side, one per thread."
        ),
    )
    embed_commit_batch: int = Field(
        256, ge=1, description="Papers embedded per database transaction by the embed job (resume point)."
    )
    vector_index_path: Path | None = Field(
        None,
        description="usearch HNSW index file (default: data_dir/<database name>.index/vectors.usearch, "
        "e.g. var/demo.index/vectors.usearch for var/demo.db).",
    )
    vector_dtype: Literal["f16", "i8"] = Field(
        "f16",
        description="Storage type of the vectors in the HNSW index: f16 (exact enough) or i8 (half size).",
    )
    vector_connectivity: int = Field(16, ge=4, le=128, description="HNSW links per node (M).")
    vector_expansion_add: int = Field(128, ge=8, le=2048, description="HNSW candidate list while building.")
    vector_expansion_search: int = Field(
        64, ge=8, le=4096, description="HNSW candidate list while searching (recall vs speed)."
    )
    search_dir: Path | None = Field(
        None,
        description="Directory of the tantivy keyword index (default: "
        "data_dir/<database name>.index/keyword, so two databases in one folder never share an index).",
    )
    search_rrf_k: float = Field(
        10.0,
        gt=0,
        description="k of reciprocal rank fusion: score = sum of weight / (k + rank) (10: best on SciFact).",
    )
    search_keyword_weight: float = Field(
        1.5, ge=0, description="Weight of the keyword (BM25) ranking in hybrid fusion (1.5: best on SciFact)."
    )
    search_semantic_weight: float = Field(
        1.0, ge=0, description="Weight of the semantic (vector) ranking in hybrid fusion."
    )
    search_candidates: int = Field(
        100, ge=10, le=2000, description="Candidates taken from each side (keyword, vectors) before fusion."
    )
    search_shard_docs: int = Field(
        250_000,
        ge=1000,
        description=(
            "Papers per keyword-index shard: a full build splits the index into ceil(papers / this) shards, "
            "at most one per CPU core, searched in parallel (docs/search.md). The sync keeps the number; "
            "`paperfeed reindex` re-splits a grown corpus."
        ),
    )
    search_prune_min_docs: int = Field(
        200_000,
        ge=0,
        description=(
            "From this many indexed papers on, keyword search runs in two phases: the query's rarer terms "
            "pick candidates, all terms re-score them (docs/search.md). Below it, every match is scored."
        ),
    )
    search_prune_budget: float = Field(
        0.1,
        gt=0,
        description="Two-phase search: the first phase reads at most this many postings per indexed paper.",
    )
    search_prune_pool: int = Field(
        100, ge=10, le=1000, description="Two-phase search: candidates kept by the first phase (at least)."
    )
    search_page_size: int = Field(20, ge=1, le=100, description="Results per page of the search page.")
    search_title_boost: int = Field(
        2, ge=1, le=5, description="How many times a title is indexed in the keyword text (a title boost)."
    )
    search_maintainer: bool = Field(
        False,
        description="Keep the search indexes in sync from the database in a background thread of `serve`.",
    )
    search_embed_in_background: bool = Field(
        True, description="Whether the background maintainer also embeds new papers (needs the model)."
    )
    embed_in: Literal["serve", "worker"] = Field(
        "serve",
        description="Who embeds new papers: `serve` (each web node's maintainer, the demo's way) or `worker` "
        "(only `paperfeed worker`'s embed job; web nodes then only add stored vectors to their index).",
    )
    embed_memory_arena: bool = Field(
        False,
        description="Let ONNX Runtime keep its CPU memory arena: the peak buffers of the largest batch stay "
        "allocated for the process's life (hundreds of MB); off, each run frees its own at no measured "
        "cost in query latency.",
    )
    embed_providers: str = Field(
        "CPUExecutionProvider",
        description="ONNX Runtime execution providers for embedding, comma-separated, in order of preference "
        "(e.g. `CUDAExecutionProvider,CPUExecutionProvider` with onnxruntime-gpu installed). "
        "An unavailable one is an error naming the available ones.",
    )
    search_poll_s: float = Field(
        10.0,
        gt=0,
        description="Seconds between two syncs of the search indexes by the background maintainer.",
    )
    search_sync_after_ingest: bool = Field(
        True, description="Whether `paperfeed ingest ...` updates the keyword index when it finishes."
    )

    # --- operations ---
    ready_max_index_lag_s: float = Field(
        900.0,
        gt=0,
        description="/readyz answers 503 when the keyword index is this many seconds behind the database "
        "(only where this node keeps the index: search_maintainer on).",
    )
    ready_max_embed_backlog: int = Field(
        100_000,
        ge=0,
        description="/readyz answers 503 when more papers than this wait for a vector.",
    )

    metrics_enabled: bool = Field(
        False, description="Serve Prometheus metrics at /metrics (off: /metrics is a 404)."
    )
    metrics_token: str = Field(
        "",
        description="When set, /metrics needs `Authorization: Bearer <token>`; empty with metrics on: "
        "/metrics is open: keep it behind your proxy.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Logs of `serve` and `worker`: text, or one JSON object a line with the request id.",
    )
    log_access: bool = Field(
        True, description="One log line per request (method, path, route, status, time)."
    )
    shutdown_grace_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM, `serve` stops accepting and lets in-flight requests finish this long.",
    )

    # --- digest settings ---
    digest_confirm_max_age_s: int = Field(
        3 * 24 * 3600, ge=300, description="How long a subscription confirmation link stays valid (seconds)."
    )
    digest_resend_interval_s: int = Field(
        600,
        ge=0,
        description="Subscribing again sends at most one confirmation (or preferences) mail per this "
        "many seconds per address.",
    )

    # digest sending: the send ledger, the SMTP pool and the job queue
    digest_send_concurrency: int = Field(
        4, ge=1, le=64, description="Digests in flight at once (threads, each with a pooled SMTP connection)."
    )
    digest_send_max_attempts: int = Field(
        5, ge=1, description="Tries of one digest on 4xx replies and network errors before it is `failed`."
    )
    digest_send_backoff_base_s: float = Field(
        60.0, ge=0, description="Delay before the first retry (seconds); doubled each time, with jitter."
    )
    digest_send_backoff_max_s: float = Field(3600.0, ge=0, description="Longest delay between two retries.")
    digest_send_bounce_threshold: int = Field(
        2,
        ge=1,
        description="5xx bounces after which a subscription is marked `bounced` and gets no more mail.",
    )
    digest_send_prepare_batch: int = Field(
        500, ge=1, description="Subscriptions selected and written to the send ledger per transaction."
    )
    digest_send_stale_after_s: float = Field(
        900.0,
        gt=0,
        description="A digest left `sending` by a process on another host for this long becomes `uncertain` "
        "(a dead process on this host is recognised at once).",
    )
    smtp_pool_max_messages: int = Field(
        100, ge=1, description="Messages sent over one SMTP connection before it is closed and reopened."
    )
    redis_url: str = Field(
        "", description="Redis URL for the job queue (e.g. redis://host:6379/0); empty: SQLite in data_dir."
    )
    jobs_in_process: bool = Field(
        False, description="Run the job consumer (periodic ingest, rank, digests) inside `paperfeed serve`."
    )
    jobs_workers: int = Field(2, ge=1, le=64, description="Worker threads of the job consumer.")
    jobs_ingest_cron: str = Field(
        "0 21 * * *",
        description="When the harvest job runs (crontab: minute hour day month weekday, UTC); empty: never.",
    )
    jobs_ingest_source: str = Field(
        "hf",
        description="Deprecated alias of `jobs_harvest_sources` (used when that one is empty): one source.",
    )
    jobs_harvest_sources: str = Field(
        "",
        description="What the harvest job pulls, space-separated, in order: `oai:<set>` (arXiv OAI-PMH, "
        "incremental from the last harvested day, e.g. `oai:cs`), `hf` (Hugging Face daily papers), "
        "`rss:<category>` (e.g. `rss:cs.AI`). Empty: `jobs_ingest_source`.",
    )
    jobs_oai_initial_days: int = Field(
        2,
        ge=0,
        description="An `oai:<set>` source harvested for the first time starts this many days back "
        "(later runs start from the last day they saw).",
    )
    jobs_embed_cron: str = Field(
        "* * * * *",
        description="When the worker embeds papers without a vector (crontab, UTC); empty: never.",
    )
    jobs_embed_per_run: int = Field(
        10_000,
        ge=1,
        description="Most papers one embed job embeds (the next run continues; bounds how long a worker "
        "thread is busy).",
    )
    jobs_index_cron: str = Field(
        "* * * * *",
        description="When the worker syncs the keyword and vector indexes in data_dir (crontab, UTC); "
        "empty: never.",
    )
    jobs_stars_cron: str = Field(
        "30 3,9,15,21 * * *",
        description="When the worker refreshes GitHub stars (crontab, UTC; every 6 hours, one of them half "
        "an hour after the default harvest); empty: never.",
    )
    jobs_stars_per_run: int = Field(
        500,
        ge=0,
        description="Most repositories one stars job fetches (popular and new papers' first): "
        "unauthenticated GitHub allows 60 calls an hour, 5,000 with `github_token`.",
    )
    jobs_rank_cron: str = Field(
        "0 * * * *", description="When trending scores are refreshed (crontab, UTC); empty: never."
    )
    jobs_digest_cron: str = Field(
        "*/10 22-23 * * *",
        description="When the digest job prepares due digests and sends due ones, retries included "
        "(crontab, UTC); empty: never.",
    )

    # --- account settings ---
    registration_open: bool = Field(
        True, description="Whether anyone may sign up (off: only the CLI creates users)."
    )
    session_idle_hours: float = Field(
        168.0, gt=0, description="A login session ends after this many hours without a request (7 days)."
    )
    session_absolute_hours: float = Field(
        720.0, gt=0, description="A login session ends this many hours after login, however active (30 days)."
    )
    argon2_memory_kib: int = Field(
        19456, ge=8, description="argon2id memory cost (KiB); OWASP's minimum is 19 MiB with t=2, p=1."
    )
    argon2_time_cost: int = Field(2, ge=1, description="argon2id iterations (OWASP: 2 with 19 MiB).")
    argon2_parallelism: int = Field(1, ge=1, description="argon2id lanes (OWASP: 1).")
    verify_link_hours: float = Field(48.0, gt=0, description="How long an email verification link is valid.")
    reset_link_minutes: float = Field(60.0, gt=0, description="How long a password reset link is valid.")
    login_limit_ip: int = Field(
        20, ge=1, description="Failed logins one IP address may make per window before 429."
    )
    login_limit_account: int = Field(
        5, ge=1, description="Failed logins on one account from one IP address per window before 429."
    )
    login_limit_account_total: int = Field(
        100, ge=1, description="Failed logins on one account from all addresses per window (slows a botnet)."
    )
    signup_limit_ip: int = Field(
        10, ge=1, description="Requests that send mail (sign-up, reset, new link) per IP address per window."
    )
    signup_limit_email: int = Field(
        3, ge=1, description="Sign-up, reset and verification mails to one address per window."
    )
    rate_limit_window_s: int = Field(900, ge=1, description="Length of a rate-limit window (seconds).")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        [],
        description="Your reverse proxies' addresses or networks (CIDR), comma-separated, e.g. "
        "`127.0.0.1, 10.0.0.0/8`. Only a request from one of them may name the client in "
        "X-Forwarded-For, and the client is the right-most address that is not one of them. "
        "Empty: the TCP peer is the client.",
    )
    trust_proxy: bool = Field(
        False,
        description="Deprecated (use `trusted_proxies`): count the TCP peer as a proxy whatever its address, "
        "so the last X-Forwarded-For entry is the client. Only behind a proxy that every request goes "
        "through; otherwise anyone could pick their own address and dodge the per-IP limits.",
    )

    # --- community settings ---
    submission_timezone: str = Field(
        "UTC", description="Time zone whose calendar day a user's submission is listed on (IANA name)."
    )
    submission_fetch_retries: int = Field(
        1, ge=0, le=5, description="Retries of the arXiv API call behind a submission (the user is waiting)."
    )
    submission_max_age_days: int = Field(
        7,
        ge=0,
        description="Oldest paper a user may submit to today's list: days since its arXiv publication or "
        "its first listing here, the earlier. Older ones are refused (trending ages count from the first "
        "listing, so a re-listed old paper never ranks as new).",
    )
    comment_max_chars: int = Field(10_000, ge=100, description="Longest comment body accepted (characters).")
    submission_limit_user: int = Field(
        20, ge=1, description="Submissions one user may make per rate-limit window (each may call arXiv)."
    )
    comment_limit_user: int = Field(30, ge=1, description="Comments one user may post per rate-limit window.")
    collection_max_items: int = Field(
        5_000, ge=1, description="Most papers one collection can hold (exports are built in memory)."
    )
    collection_max_per_user: int = Field(
        100, ge=1, description="Most collections one account can have; creating another is refused."
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> object:
        """Comma- or space-separated text (the environment) or a list (TOML); each entry a valid network."""
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        if isinstance(value, list | tuple):
            return parse_networks(str(v) for v in value)
        return value

    @field_validator("submission_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """Refuse a time zone name the system does not know (at startup, not on the first submission)."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)") from None
        return value

    # --- trending settings ---
    trending_weight_votes: float = Field(
        1.0,
        ge=0,
        allow_inf_nan=False,
        description="Trending: weight of ln(1 + upvotes) (source + local votes).",
    )
    trending_weight_comments: float = Field(
        0.5, ge=0, allow_inf_nan=False, description="Trending: weight of ln(1 + comments)."
    )
    trending_weight_stars: float = Field(
        0.6,
        ge=0,
        allow_inf_nan=False,
        description="Trending: weight of ln(1 + GitHub stars gained in the window).",
    )
    trending_gravity: float = Field(
        0.5,
        gt=0,
        allow_inf_nan=False,
        description="Trending: exponent of the age decay (Hacker News uses 1.8 on hours).",
    )
    trending_age_scale_hours: float = Field(
        24.0,
        gt=0,
        allow_inf_nan=False,
        description="Trending: age (hours) at which the decay's base has doubled.",
    )
    trending_default_window: Literal["day", "week", "month"] = Field(
        "week", description="Trending: the window the trending page (and `/`) shows without ?window=."
    )
    github_api_url: str = Field("https://api.github.com", description="GitHub REST API base URL.")
    github_token: str = Field(
        "", description="GitHub token, sent as `Authorization: Bearer` (empty: unauthenticated, 60 calls/h)."
    )
    stars_refresh_interval_h: float = Field(
        24.0, ge=0, description="GitHub stars: a repository is refetched after this many hours at most once."
    )
    github_min_interval_s: float = Field(
        1.0, ge=0, description="Least seconds between two GitHub API requests (GitHub asks for paced calls)."
    )

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

    @model_validator(mode="after")
    def _data_dir_beside_the_database(self) -> Settings:
        """Unless set, data_dir is the SQLite file's directory: derived files live beside their database."""
        if "data_dir" not in self.model_fields_set and self.database_url.startswith("sqlite:///"):
            path = self.database_url.removeprefix("sqlite:///").split("?", 1)[0]
            if path and path != ":memory:":
                self.data_dir = Path(path).resolve().parent
        return self

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
