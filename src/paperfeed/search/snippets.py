"""Highlighted snippets: text is HTML-escaped first, then matched words are wrapped in <mark> (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

__all__ = ["highlight", "plain_excerpt"]


def highlight(
    fragment: str, ranges: Iterable[tuple[int, int]], *, prefix: str = "", suffix: str = ""
) -> Markup:
    """`fragment` with the UTF-8 byte ranges marked; every piece of text is escaped, never trusted."""
    raw = fragment.encode("utf-8")
    pieces: list[Markup] = [escape(prefix)]
    pos = 0
    for start, end in sorted(ranges):
        start, end = max(start, pos), min(end, len(raw))
        if start >= end:
            continue
        pieces.append(escape(raw[pos:start].decode("utf-8", errors="ignore")))
        pieces.append(Markup("<mark>{}</mark>").format(raw[start:end].decode("utf-8", errors="ignore")))
        pos = end
    pieces.append(escape(raw[pos:].decode("utf-8", errors="ignore")))
    pieces.append(escape(suffix))
    return Markup("").join(pieces)


def plain_excerpt(text: str, limit: int = 300) -> Markup:
    """The start of `text`, cut at a word, escaped (for hits with no highlighted word)."""
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[: cut if cut > 0 else limit].rstrip() + " …"
    return escape(text)
