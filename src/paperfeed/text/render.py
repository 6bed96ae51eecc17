"""Render abstracts and titles as safe HTML: escaped text plus LaTeX math as sanitised MathML.

latex2mathml passes text through unescaped (\\text{<script>}) and turns \\href / \\style into attributes,
so its output is never trusted: it is parsed as XML and rebuilt from an allow-list of MathML elements and
attributes, with every text node and attribute value escaped again. Anything the allow-list rejects, or
any conversion error, falls back to the escaped LaTeX source in a <code> element.
"""

from __future__ import annotations

import functools
import re

from latex2mathml.converter import convert as _latex_to_mathml
from lxml import etree
from markupsafe import Markup, escape

__all__ = ["render_abstract", "render_inline", "strip_controls"]

_MATH = re.compile(
    r"\$\$(?P<d1>.+?)\$\$"
    r"|\\\[(?P<d2>.+?)\\\]"
    r"|\\\((?P<i1>.+?)\\\)"
    # A "\$" is a literal dollar sign, not a delimiter.
    r"|(?<![\\$])\$(?P<i2>[^$]+?)(?<!\\)\$",
    re.DOTALL,
)
_MAX_MATH = 2000  # longer "formulas" are almost always a stray '$'; converting them is slow
# C0 controls but tab/LF/CR, DEL and C1 controls: invalid in XML (feeds, MathML) and parse errors in HTML.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_ELEMENTS = frozenset(
    {"math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "ms", "mfrac", "msqrt", "mroot", "mstyle",
     "merror", "mpadded", "mphantom", "mfenced", "menclose", "msub", "msup", "msubsup", "munder", "mover",
     "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr", "mtd", "mlabeledtr",
     "semantics", "annotation"}
)  # fmt: skip
_ATTRIBUTES = frozenset(
    {"display", "mathvariant", "stretchy", "fence", "separator", "separators", "open", "close", "lspace",
     "rspace", "accent", "accentunder", "columnalign", "rowalign", "columnlines", "rowlines",
     "columnspacing", "rowspacing", "columnspan", "rowspan", "linethickness", "mathsize", "minsize",
     "maxsize", "movablelimits", "symmetric", "largeop", "form", "width", "height", "depth", "notation",
     "displaystyle", "scriptlevel", "mathcolor", "mathbackground", "frame", "framespacing", "align",
     "equalrows", "equalcolumns", "encoding"}
)  # fmt: skip
# Attribute values are words, numbers, lengths and colours; nothing that could hold a URL or script.
_SAFE_VALUE = re.compile(r"[\w#.%+\- ]{0,64}")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


class _Unsafe(ValueError):
    """The converter produced something outside the MathML allow-list."""


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        raise _Unsafe("comment or processing instruction")
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        if ns != _MATHML_NS:
            raise _Unsafe(f"foreign namespace {ns}")
        return name
    return tag


def _rebuild(element: etree._Element, out: list[str]) -> None:
    name = _local(element.tag)
    if name not in _ELEMENTS:
        raise _Unsafe(f"element {name}")
    attrs = []
    for key, raw_value in element.attrib.items():
        key_name = _local(key)
        value = raw_value.decode() if isinstance(raw_value, bytes) else raw_value
        if key_name in _ATTRIBUTES and _SAFE_VALUE.fullmatch(value):
            attrs.append(f' {key_name}="{escape(value)}"')
    if name == "math":
        attrs.insert(0, f' xmlns="{_MATHML_NS}"')
    out.append(f"<{name}{''.join(attrs)}>")
    if element.text:
        out.append(str(escape(element.text)))
    for child in element:
        _rebuild(child, out)
        if child.tail:
            out.append(str(escape(child.tail)))
    out.append(f"</{name}>")


@functools.lru_cache(maxsize=4096)
def _math_html(source: str, display: bool) -> str:
    """Sanitised MathML for one formula, or its escaped source in <code> when that is impossible."""
    fallback = f'<code class="tex">{escape(source)}</code>'
    if len(source) > _MAX_MATH or not source.strip():
        return fallback
    try:
        mathml = _latex_to_mathml(source, display="block" if display else "inline")
        root = etree.fromstring(mathml.encode(), _PARSER)
        out: list[str] = []
        _rebuild(root, out)
    except Exception:  # latex2mathml raises many unrelated exception types on bad input
        return fallback
    return "".join(out)


def _plain(text: str) -> str:
    # Outside math, TeX's "\$" is just a dollar sign.
    return str(escape(text.replace("\\$", "$")))


def _render_text(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _MATH.finditer(text):
        out.append(_plain(text[pos : match.start()]))
        display = match.group("d1") is not None or match.group("d2") is not None
        source = match.group("d1") or match.group("d2") or match.group("i1") or match.group("i2") or ""
        out.append(_math_html(source, display))
        pos = match.end()
    out.append(_plain(text[pos:]))
    return "".join(out)


def strip_controls(text: str) -> str:
    """The text without control characters; the whitespace ones (\\v, \\f, \\x1c-\\x1f, NEL) become spaces."""
    if text.isprintable() or not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: " " if m.group().isspace() else "", text)


def render_inline(text: str) -> Markup:
    """Safe HTML for a single-line field (a title): escaped text with math as MathML."""
    return Markup(_render_text(strip_controls(text)))  # noqa: S704 - every piece is escaped or rebuilt from an allow-list


def render_abstract(text: str) -> Markup:
    """Safe HTML for an abstract: one <p> per paragraph (blank-line separated), math as MathML."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", strip_controls(text)) if p.strip()]
    html = "".join(f"<p>{_render_text(p)}</p>" for p in paragraphs)
    return Markup(html)  # noqa: S704 - every piece is escaped or rebuilt from an allow-list
