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
    # Plain str pieces, each escaped, joined once: Markup.format per word was most of a snippet's cost.
    pieces: list[str] = [str(escape(prefix))]
    pos = 0
    for start, end in sorted(ranges):
        start, end = max(start, pos), min(end, len(raw))
        if start >= end:
            continue
        pieces.append(str(escape(raw[pos:start].decode("utf-8", errors="ignore"))))
        pieces.append(f"<mark>{escape(raw[start:end].decode('utf-8', errors='ignore'))}</mark>")
        pos = end
    pieces.append(str(escape(raw[pos:].decode("utf-8", errors="ignore"))))
    pieces.append(str(escape(suffix)))
    return Markup("".join(pieces))  # noqa: S704 - every piece above is escaped or a literal <mark> tag


def plain_excerpt(text: str, limit: int = 300) -> Markup:
    """The start of `text`, cut at a word, escaped (for hits with no highlighted word)."""
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[: cut if cut > 0 else limit].rstrip() + " …"
    return escape(text)
