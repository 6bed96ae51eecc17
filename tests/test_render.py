"""Rendering abstracts and titles: escaped text, MathML for math, nothing executable ever comes out."""

from __future__ import annotations

import pytest
from lxml import etree
from markupsafe import Markup

from paperfeed.text.render import render_abstract, render_inline, strip_controls


def _assert_inert(html: str) -> None:
    """Parse the output as XML: no script element and no event-handler or URL attribute anywhere."""
    root = etree.fromstring(f"<root>{html}</root>".encode())
    for element in root.iter():
        assert isinstance(element.tag, str)
        assert etree.QName(element).localname not in {"script", "img", "a", "iframe", "style"}
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            assert name not in {"href", "src", "style"}, name
            assert "javascript" not in value.lower()


def test_plain_text_is_escaped_into_paragraphs() -> None:
    out = render_abstract("First <b>one</b> & more.\n\nSecond.")
    assert isinstance(out, Markup)
    assert out == "<p>First &lt;b&gt;one&lt;/b&gt; &amp; more.</p><p>Second.</p>"


def test_inline_math_becomes_mathml() -> None:
    out = render_inline(r"Bounds for $\alpha<b$ in \(x_i\)")
    assert out.startswith("Bounds for <math")
    assert "<mi>α</mi><mo>&lt;</mo><mi>b</mi>" in out
    assert "<msub><mi>x</mi><mi>i</mi></msub>" in out
    assert "<p>" not in out
    _assert_inert(str(out))


def test_display_math() -> None:
    out = render_abstract(r"We get $$x^2$$ and \[y\].")
    assert out.count('display="block"') == 2
    _assert_inert(str(out))


def test_escaped_dollar_is_not_math() -> None:
    assert render_inline(r"costs \$5 and \$10") == "costs $5 and $10"


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        r"$\href{javascript:alert(1)}{click}$",
        r"$\text{<script>alert(1)</script>}$",
        r"$\text{<img src=x onerror=alert(1)>}$",
        r"$\style{background:url(javascript:alert(1))}{y}$",
        r'$\color{red" onload="alert(1)}{a}$',
        r"$\mathrm{onerror=alert(1)}$",
        r"$\frac{1}{$ unbalanced",
        r"$$\begin{array}<script>$$",
        '" onmouseover="alert(1)',
    ],
)
def test_hostile_input_is_inert(hostile: str) -> None:
    for out in (render_abstract(hostile), render_inline(hostile)):
        _assert_inert(str(out))
        assert "<script" not in out


def test_href_target_is_dropped_but_text_kept() -> None:
    out = render_inline(r"$\href{javascript:alert(1)}{x}$")
    assert "javascript" not in out
    assert "<mi>x</mi>" in out


def test_unconvertible_math_falls_back_to_code() -> None:
    out = render_inline(r"$\text{a<b}$")
    assert out == r'<code class="tex">\text{a&lt;b}</code>'


def test_safe_colour_attribute_is_kept() -> None:
    assert 'mathcolor="red"' in render_inline(r"$\color{red}{a}$")


# Every C0 control but tab/LF/CR, DEL, and the C1 range: none may reach the HTML.
CONTROLS = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]]


def _has_control(html: str) -> list[str]:
    return [c for c in CONTROLS if c in html]


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_never_reach_the_html(control: str) -> None:
    text = f"Deep{control}learning with $x{control}^2$ and \\(\\text{{a{control}b}}\\)\n\nSecond{control}."
    for out in (render_abstract(text), render_inline(text)):
        assert _has_control(str(out)) == []
        _assert_inert(str(out))  # also proves the output parses as XML, which rejects these characters


def test_control_characters_between_words() -> None:
    # A vertical tab or form feed separates words; a NUL or escape inside a word just goes.
    assert render_inline("Deep\x0blearning\x0cfor\x1fall") == "Deep learning for all"
    assert render_inline("Ro\x00bu\x1bst\x7f") == "Robust"
    assert render_abstract("One\x85two\x01.\n\nThree") == "<p>One two.</p><p>Three</p>"


def test_strip_controls_keeps_text_whitespace() -> None:
    assert strip_controls("tab\there\nline\r\nend") == "tab\there\nline\r\nend"
    assert strip_controls("\x00\x08\x0e\x9f") == ""
