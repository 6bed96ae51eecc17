"""`paperfeed rank` and `paperfeed stars` (issue 5)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root Typer app."""
