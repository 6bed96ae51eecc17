"""Comment Markdown to safe HTML: CommonMark without raw HTML or images, http(s)/mailto links only, math.

markdown-it escapes all text itself once `html` is off, so the only ways to inject markup would be link
targets and math. Links are allowed for three schemes and checked twice (when parsed, and again when
rendered); `$...$` / `$$...$$` go through paperfeed.text.render, which rebuilds MathML from an allow-list
or falls back to the escaped source.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markupsafe import Markup

from paperfeed.text.render import render_inline, strip_controls

__all__ = ["LINK_REL", "allowed_link", "render_markdown"]

LINK_REL = "nofollow ugc noopener"
_SCHEMES = frozenset({"http", "https", "mailto"})


def allowed_link(url: str) -> bool:
    """True for absolute http(s) URLs with a host and for mailto: links; everything else is dropped."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        return False
    return scheme == "mailto" or bool(parts.netloc)


def _math_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule for $...$ and $$...$$; the content is kept raw (no emphasis inside formulas)."""
    src, pos = state.src, state.pos
    if src[pos] != "$":
        return False
    delim = "$$" if src.startswith("$$", pos) else "$"
    start = pos + len(delim)
    end = src.find(delim, start, state.posMax)
    while end != -1 and src[end - 1] == "\\":
        end = src.find(delim, end + 1, state.posMax)
    if end == -1 or end == start:
        return False
    content = src[start:end]
    # Like pandoc: "$5 and $6" is prose, not math; a formula does not start or end with a space.
    if delim == "$" and (content[0].isspace() or content[-1].isspace()):
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = content
        token.markup = delim
    state.pos = end + len(delim)
    return True


def _render_math(_self: Any, tokens: Sequence[Token], idx: int, _options: Any, _env: Any) -> str:
    token = tokens[idx]
    return str(render_inline(f"{token.markup}{token.content}{token.markup}"))


def _render_link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    if not allowed_link(href):
        token.attrs.pop("href", None)  # defence in depth: validateLink already refused it while parsing
    token.attrSet("rel", LINK_REL)
    rendered: str = self.renderToken(tokens, idx, options, env)
    return rendered


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["strikethrough", "table"])
    # Images would load third-party URLs (tracking pixels); a link is enough.
    md.disable(["image"])
    md.validateLink = allowed_link  # type: ignore[method-assign]
    md.inline.add_terminator_char("$")
    md.inline.ruler.before("escape", "math", _math_rule)
    md.add_render_rule("math_inline", _render_math)
    md.add_render_rule("link_open", _render_link_open)
    return md


def render_markdown(source: str) -> Markup:
    """Safe HTML for a comment's Markdown source."""
    html = _parser().render(strip_controls(source))
    return Markup(html)  # noqa: S704 - markdown-it escapes every text; links and math are allow-listed
