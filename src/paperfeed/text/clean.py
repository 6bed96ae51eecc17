"""Clean text fields from feeds: strip HTML tags, decode entities, normalise whitespace, drop control chars.

Scientific text is full of '<' that is not HTML ("p<0.05", "$0<z<5$", "<think>" in LLM papers), and of
'&' that is not an entity ("A&A", "P&notes"). A general HTML parser eats both, so only real HTML element
names count as tags, and only complete '&name;' / '&#NN;' references are decoded. When real tags are
present, lxml.html parses the text (attributes, comments, script bodies) after every other '<' and '&'
has been escaped. LaTeX is kept as text; it is rendered later (text/render.py).

Text stays text: what comes out holds no markup, even where the source hid it (entity-encoded tags
"&lt;script&gt;" that decoding turns into real ones, tags inside $math$, a tag with attributes whatever its
name). The JSON API, feeds and mail then carry a title as the plain text it is, and a reader that renders
an RSS <title> as HTML finds nothing to run. Angle brackets that are science ("p<0.05", "<think>",
"$<p>$") are kept.
"""

from __future__ import annotations

import html
import re
import unicodedata

import lxml.html
from lxml import etree

__all__ = ["CLEANING_VERSION", "clean_block", "clean_line", "detex_accents"]

# Bump whenever clean_line/clean_block give different output for the same input: sources that recognise
# unchanged records by their raw bytes (jsonl) hash this in, so a re-run re-cleans what was stored.
# 2: an indented line starts a paragraph in clean_block.
# 3: markup that entity decoding or math let through is removed (text stays text).
CLEANING_VERSION = 3

# Control characters other than whitespace (str.split() already treats \t\n\v\f\r and \x1c-\x1f as such).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BARE_AMP = re.compile(r"&(?!(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)")
_MATH = re.compile(r"\$[^$]+\$")
_PARA = re.compile(r"\n[ \t\f\v]*\n")
# arXiv's plain-text abstracts (OAI-PMH, the API, Hugging Face copies) start a paragraph with a newline
# and a two-space indent ("...vector fields.\n  In particular, ..."); wrapped lines have no indent.
_PARA_OR_INDENT = re.compile(r"\n[ \t\f\v]*\n|\n(?: {2,}|\t)(?=\S)")

# HTML elements seen in feeds (and the dangerous ones); anything else in angle brackets is text.
_HTML_TAGS = (
    "a|abbr|address|article|aside|audio|b|base|bdi|bdo|big|blockquote|body|br|button|canvas|caption|"
    "center|cite|code|col|colgroup|dd|del|details|dfn|dialog|div|dl|dt|em|embed|fieldset|figcaption|"
    "figure|font|footer|form|frame|frameset|h[1-6]|head|header|hr|html|i|iframe|img|input|ins|kbd|"
    "label|legend|li|link|main|mark|math|meta|nav|noscript|object|ol|optgroup|option|p|param|picture|"
    "pre|q|s|samp|script|section|select|small|source|span|strike|strong|style|sub|summary|sup|svg|"
    "table|tbody|td|template|textarea|tfoot|th|thead|title|tr|tt|u|ul|var|video|wbr"
)
_TAG = re.compile(rf"<(?:/?(?:{_HTML_TAGS})(?=[\s/>])|!--)", re.IGNORECASE)
_NOT_TAG_LT = re.compile(rf"<(?!/?(?:{_HTML_TAGS})(?=[\s/>])|!--)", re.IGNORECASE)
_DROP = frozenset({"script", "style", "noscript", "template", "head", "title", "iframe", "object"})
_BLOCK = frozenset(
    {"p", "div", "blockquote", "li", "ul", "ol", "pre", "table", "tr", "section", "article", "br"}
    | {f"h{i}" for i in range(1, 7)}
)


def _decode_entity(match: re.Match[str]) -> str:
    return html.unescape(match.group(0))


def _strip_html(value: str, *, block: bool) -> str:
    """Text content of a string with real HTML tags; block elements become line breaks in blocks."""
    safe = _NOT_TAG_LT.sub("&lt;", _BARE_AMP.sub("&amp;", value))
    if "$" in safe:
        # Inside inline math every '<' is a comparison ("$a<b$"), never a tag.
        safe = _MATH.sub(lambda m: m.group(0).replace("<", "&lt;"), safe)
    try:
        root = lxml.html.fragment_fromstring(safe, create_parent="div")
    except (etree.ParserError, ValueError):
        # Unparseable markup: fall back to dropping tag-like spans so no markup leaks through.
        return _TAG_SPAN.sub(" ", value)
    for element in list(root.iter()):
        if element is root:
            continue
        tag = element.tag if isinstance(element.tag, str) else ""
        if not tag or tag.lower() in _DROP:
            # Comments, processing instructions, scripts and styles carry no readable text.
            element.drop_tree()
        elif block and tag.lower() in _BLOCK:
            element.tail = ("\n" if tag.lower() == "br" else "\n\n") + (element.tail or "")
        elif not block and tag.lower() in _BLOCK:
            element.tail = " " + (element.tail or "")
    text: str = root.text_content()
    return text


_TAG_SPAN = re.compile(rf"</?(?:{_HTML_TAGS})(?:\s[^<>]*)?/?>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
# A tag, whatever its name, with an attribute that runs script or loads something ("<x-card onclick=...>"):
# an abstract may describe a grammar ("<copy lines="i-j"/>"), but never needs one of these.
_ATTR_TAG = re.compile(
    r"</?[A-Za-z][\w:-]*\s(?:[^<>]*?\s)?(?:on\w+|href|src|srcdoc|action|formaction|style|background|poster"
    r"|data|xlink:href)\s*=[^<>]*>",
    re.IGNORECASE,
)
# Inside math "<p>" or "<a>" is a mean value, but these never are: they are removed there too.
_ACTIVE = (
    "script|style|iframe|frame|frameset|object|embed|img|image|svg|math|link|meta|base|form|input|button|"
    "textarea|select|video|audio|source|template|noscript|title|head|html|body|a"
)
_ACTIVE_TAG = re.compile(rf"</?(?:{_ACTIVE})(?=[\s/>])[^<>]*>?", re.IGNORECASE)
_ACTIVE_OPEN = re.compile(rf"<(?=/?(?:{_ACTIVE})(?=[\s/>]))", re.IGNORECASE)
_MATH_SPLIT = re.compile(r"(\$[^$]+\$)")


def _drop_markup(value: str) -> str:
    """The text with any markup left after cleaning removed; science's angle brackets stay."""
    while True:
        parts = _MATH_SPLIT.split(value)
        for i, part in enumerate(parts):
            if "<" not in part:
                continue
            if i % 2:  # inside $...$
                part = _ACTIVE_TAG.sub(" ", _ATTR_TAG.sub(" ", part))
                parts[i] = _ACTIVE_OPEN.sub("", part)
            else:
                part = _TAG_SPAN.sub(" ", _ATTR_TAG.sub(" ", part))
                # An opener left unclosed ("<script src=x") loses its '<': it cannot start a tag then.
                parts[i] = _NOT_TAG_LT.sub("\x00", part).replace("<", "").replace("\x00", "<")
        out = "".join(parts)
        if out == value:
            return out
        # A removal can join two pieces into a new tag ("<<b>script>"): go again until nothing changes.
        value = out


def _slow_text(value: str, *, block: bool) -> tuple[str, bool]:
    """The text with tags stripped and entities decoded, and whether it was parsed as HTML."""
    # lxml would turn NULs into U+FFFD, so control characters go before parsing.
    value = _CONTROL.sub("", value)
    probe = _MATH.sub("", value) if "$" in value else value
    if "<" in probe and _TAG.search(probe):
        return _drop_markup(_strip_html(value, block=block)), True
    if "&" in value:
        value = _ENTITY.sub(_decode_entity, value)
    # Entities may decode to control characters (&#1;); _flatten removes those afterwards.
    return (_drop_markup(value) if "<" in value else value), False


def _flatten(value: str) -> str:
    """One line: runs of whitespace become one space, control characters go, ends stripped."""
    flat = value.replace("\n", " ").strip(" ") if "\n" in value else value.strip(" ")
    # isprintable() is False for every whitespace but " " and for control characters, so a printable
    # string without double spaces is already clean; checking that is ~10x faster than split/join.
    if flat.isprintable() and "  " not in flat:
        return flat
    out = " ".join(value.split())
    if not out.isprintable():
        out = " ".join(_CONTROL.sub("", value).split())
    return out


def clean_line(value: str | None) -> str:
    """Clean a single-line field (title, author, comment): no tags, no entities, one space between words."""
    if not value:
        return ""
    if "<" in value or "&" in value:
        value, _ = _slow_text(value, block=False)
    return _flatten(value)


def clean_block(value: str | None) -> str:
    """Clean an abstract like clean_line, but blank lines and indented lines start paragraphs ("\\n\\n")."""
    if not value:
        return ""
    breaks = _PARA_OR_INDENT
    if "<" in value or "&" in value:
        value, was_html = _slow_text(value, block=True)
        if was_html:
            # In HTML an indent is only source formatting; block elements already became blank lines.
            breaks = _PARA
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in value or not breaks.search(value):
        # arXiv hard-wraps abstracts at ~80 columns: single newlines are just spaces.
        return _flatten(value)
    paragraphs = (_flatten(part) for part in breaks.split(value))
    return "\n\n".join(p for p in paragraphs if p)


# TeX accent commands as combining characters (arXiv author lists write "Andr\\'e", "G{\\"o}del").
_COMBINING = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a",
}  # fmt: skip
_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "l": "ł", "L": "Ł",
            "aa": "å", "AA": "Å", "i": "ı", "j": "ȷ"}  # fmt: skip
_TEX_ACCENT = re.compile(
    r"\\(?:([`'^\"~=.])|([uvHckr])(?=[\s{]))\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij](?![A-Za-z])|[A-Za-z]))"
)
_TEX_LETTER = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|[oOlLij])(?![A-Za-z])(?:\{\}|\s(?=[a-z]))?")


def _accent(match: re.Match[str]) -> str:
    mark = match.group(1) or match.group(2)
    base = match.group(3) or match.group(4)
    # An accent on a dotless i or j (\\'\\i) is an ordinary accented i or j.
    base = base[1:] if base.startswith("\\") else base
    return unicodedata.normalize("NFC", base + _COMBINING[mark])


def detex_accents(value: str) -> str:
    """Turn TeX accents and special letters in names into Unicode: "Andr\\'e" -> "André"."""
    if "\\" not in value:
        return value
    value = _TEX_ACCENT.sub(_accent, value)
    value = _TEX_LETTER.sub(lambda m: _LETTERS[m.group(1)], value)
    # Braces that grouped an accent ({\\'e}) mean nothing once it is a letter; names hold no other braces.
    return value.replace("{", "").replace("}", "")
