"""`paperfeed digest preview|send` and `paperfeed worker` (issue 4)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
