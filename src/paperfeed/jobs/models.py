"""Tables of the job pipeline: one row per job run (what `paperfeed status` and /readyz report)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from paperfeed.db.models import Base, BigId

__all__ = ["Base", "JobRun"]


class JobRun(Base):
    """One run of a worker job: started `running`, then `ok` or `failed` with its counts or error.

    A row left `running` by a killed worker stays so (its `finished_at` is empty): the next run of the job
    resumes the work from its own cursors, and `paperfeed status` shows the dead run for what it was.
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started_at", "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)
    result: Mapped[str] = mapped_column(String(16))  # running, ok, failed
    message: Mapped[str] = mapped_column(Text, default="")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    host: Mapped[str] = mapped_column(String(255), default="")  # hostname:pid of the worker
