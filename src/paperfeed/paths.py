"""Site paths shared by the services and the web layer (no paperfeed imports)."""

from __future__ import annotations

from urllib.parse import quote


def paper_path(key: str) -> str:
    """The site path of a paper page (old-style ids keep their slash: /papers/astro-ph/0601001)."""
    return "/papers/" + quote(key, safe="/:")


def author_path(name: str) -> str:
    """The site path of an author page: the exact name, every reserved character percent-encoded."""
    return "/authors/" + quote(name, safe="")
