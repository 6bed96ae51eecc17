"""`paperfeed digest send` and `paperfeed worker`: the send ledger and the job consumer (issue 4)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
