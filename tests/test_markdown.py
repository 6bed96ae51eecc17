"""Comment Markdown: no raw HTML, only http(s)/mailto links with rel=nofollow ugc noopener, safe math."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from paperfeed.community.markdown import LINK_REL, allowed_link, render_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    "$\\href{javascript:alert(1)}{x}$",
    "$$\\href{javascript:alert(1)}{x}$$",
    "$\\text{<script>alert(1)</script>}$",
    "![x](javascript:alert(1))",
    "![x](https://tracker.example/pixel.png)",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    "```html\n<script>alert(1)</script>\n```",
]
SAFE_TAGS = {
    "p", "em", "strong", "a", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "br", "s", "table", "thead", "tbody", "tr", "th", "td", "div",
}  # fmt: skip
MATH_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "ms", "mfrac", "msqrt", "mroot", "mstyle", "merror",
    "mpadded", "mphantom", "mfenced", "menclose", "msub", "msup", "msubsup", "munder", "mover", "munderover",
    "mmultiscripts", "mprescripts", "none", "mtable", "mtr", "mtd", "mlabeledtr", "semantics", "annotation",
}  # fmt: skip


def elements(html: str) -> list[lxml_html.HtmlElement]:
    """Every element of a rendered fragment (inside a wrapper div)."""
    root = lxml_html.fragment_fromstring(html or "<p></p>", create_parent="div")
    return [el for el in root.iter() if isinstance(el.tag, str)][1:]


def check_inert(html: str) -> None:
    """Only allow-listed elements; links http(s)/mailto with our rel; no event handlers or styles."""
    for el in elements(html):
        tag = el.tag.lower()
        assert tag in SAFE_TAGS | MATH_TAGS, f"unexpected <{tag}> in {html!r}"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), name
            assert name.lower() not in {"style", "src", "srcset", "action", "formaction", "xlink:href"}
            if name == "href":
                assert tag == "a" and allowed_link(value), value
        if tag == "a" and el.get("href"):
            assert el.get("rel") == LINK_REL


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_are_inert(payload: str) -> None:
    out = render_markdown(payload)
    check_inert(out)
    assert not any(el.tag in {"script", "img", "iframe", "svg"} for el in elements(out))
    assert "javascript:" not in " ".join(v for el in elements(out) for v in el.attrib.values()).lower()


def test_raw_html_is_shown_as_text() -> None:
    out = render_markdown("a <b>bold</b> <script>alert(1)</script> claim")
    assert "&lt;b&gt;bold&lt;/b&gt;" in out
    assert (
        lxml_html.fragment_fromstring(out).text_content() == "a <b>bold</b> <script>alert(1)</script> claim"
    )


def test_markdown_and_links() -> None:
    out = render_markdown("Some *em*, **strong**, `code` and [a link](https://example.org/x?a=1&b=2).")
    [em] = [e for e in elements(out) if e.tag == "em"]
    assert em.text == "em"
    [a] = [e for e in elements(out) if e.tag == "a"]
    assert a.get("href") == "https://example.org/x?a=1&b=2"
    assert a.get("rel") == "nofollow ugc noopener"
    mail = [e for e in elements(render_markdown("[me](mailto:me@example.org)")) if e.tag == "a"]
    assert mail[0].get("href") == "mailto:me@example.org"


@pytest.mark.parametrize(
    "url", ["/papers/1", "//evil.example/x", "ftp://host/f", "javascript:alert(1)", "#top"]
)
def test_other_link_targets_are_not_links(url: str) -> None:
    out = render_markdown(f"[x]({url})")
    assert not [e for e in elements(out) if e.tag == "a"], out


def test_images_are_not_loaded() -> None:
    out = render_markdown("![pixel](https://tracker.example/p.png)")
    assert not [e for e in elements(out) if e.tag == "img"]
    [a] = [e for e in elements(out) if e.tag == "a"]
    assert a.get("href") == "https://tracker.example/p.png"


def test_math_is_mathml() -> None:
    out = render_markdown("Bound $O(n^2)$ and $$\\sum_i a_i$$ hold; *x_1* stays emphasis.")
    maths = [e for e in elements(out) if e.tag == "math"]
    assert [m.get("display") for m in maths] == ["inline", "block"]
    assert any(e.tag == "msup" for e in elements(out))
    # Inside math, underscores and stars are TeX, not Markdown emphasis.
    out = render_markdown("$a_1 * b_2 * c$")
    assert not [e for e in elements(out) if e.tag == "em"]


def test_dollars_in_prose_are_not_math() -> None:
    out = render_markdown("It costs $5 and $6, or \\$7.")
    assert not [e for e in elements(out) if e.tag == "math"]
    assert "$5 and $6, or $7." in lxml_html.fragment_fromstring(out, create_parent="div").text_content()


def test_math_href_loses_its_link() -> None:
    out = render_markdown("$\\href{javascript:alert(1)}{x}$")
    assert [e for e in elements(out) if e.tag == "math"]
    assert all("href" not in e.attrib for e in elements(out))


def test_controls_are_dropped() -> None:
    out = render_markdown("a\x00b\x1bc")
    assert "\x00" not in out and "\x1b" not in out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*"<>\"'`$\\[]()!*_#-:/ &;=\n", "javascript:", "href", "onerror", "http://", "a", "x"]
        ),
        max_size=40,
    ).map("".join)
)
def test_any_input_renders_inert(text: str) -> None:
    check_inert(render_markdown(text))
