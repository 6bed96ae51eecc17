"""CLI command groups, registered on the Typer app in paperfeed.cli."""
