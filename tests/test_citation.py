"""Per-paper citation and Markdown: /papers/<id>.bib, the BibTeX block of the paper page, /papers/<id>.md."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import bibtexparser
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html

import webdata
from paperfeed.config import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The web test papers (hostile title included) on SQLite."""
    with TestClient(webdata.filled_app(settings)) as c:
        yield c


def _entry(text: str) -> bibtexparser.model.Entry:
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks and len(library.entries) == 1, text
    return library.entries[0]


def test_bib_is_arxivs_misc_entry(client: TestClient) -> None:
    r = client.get(f"/papers/{webdata.MATH_ID}.bib")
    assert r.status_code == 200 and r.headers["content-type"] == "text/x-bibtex; charset=utf-8"
    entry = _entry(r.text)
    fields = {f.key: f.value for f in entry.fields}
    assert entry.entry_type == "misc" and entry.key == "lovelace2026quadratic"
    assert fields["eprint"] == webdata.MATH_ID and fields["archivePrefix"] == "arXiv"
    assert fields["primaryClass"] == "cs.LG" and fields["author"] == "Ada Lovelace and Alan Turing"
    assert fields["year"] == "2026" and fields["url"] == f"https://arxiv.org/abs/{webdata.MATH_ID}"
    # Math is kept as its literal source: '$' and '^' are escaped, never run.
    assert fields["title"] == r"Quadratic Bounds in \$O(n\^{}2)\$ Time"
    old = _entry(client.get(f"/papers/{webdata.OLD_ID}.bib").text)
    assert {f.key: f.value for f in old.fields}["eprint"] == webdata.OLD_ID


def test_bib_escapes_every_latex_special(client: TestClient) -> None:
    text = client.get(f"/papers/{webdata.HOSTILE_ID}.bib").text
    title = {f.key: f.value for f in _entry(text).fields}["title"]
    assert r"\&" in title and r"\_\_pwned" in title and '{"}Quoted{"}' in title
    # No bare special character is left in any value: each one is escaped or part of an escape.
    for value in re.findall(r"= \{(.*)\},?$", text, flags=re.M):
        assert not re.search(r"(?<!\\)[&%#_$]", value), value


def test_paper_page_shows_the_bibtex_as_text_with_a_copy_button(client: TestClient) -> None:
    page = client.get(f"/papers/{webdata.HOSTILE_ID}").text
    doc = lxml_html.fromstring(page)
    (pre,) = doc.xpath('//pre[@id="bibtex"]')
    assert pre.text_content() == client.get(f"/papers/{webdata.HOSTILE_ID}.bib").text
    # The button is hidden until app.js wires it: without JavaScript the text is all there is.
    (button,) = doc.xpath('//button[@data-copy="bibtex"]')
    assert button.get("hidden") is not None
    assert doc.xpath(f'//a[@href="/papers/{webdata.HOSTILE_ID}.bib"]')
    assert "<script>window" not in page  # the title inside <pre> is escaped HTML
    assert html.escape("<script>window.\\_\\_pwned", quote=False) in page


def test_markdown_of_a_paper(client: TestClient) -> None:
    r = client.get(f"/papers/{webdata.MATH_ID}.md")
    assert r.status_code == 200 and r.headers["content-type"] == "text/markdown; charset=utf-8"
    text = r.text
    assert text.startswith("# Quadratic Bounds in $O(n^2)$ Time\n")
    assert "**Authors:** Ada Lovelace, Alan Turing" in text
    assert "- PDF: <https://arxiv.org/pdf/2605.01001>" in text
    assert "- github: <https://github.com/example/quadratic> (★ 1234)" in text
    assert "**Comments:** 0" in text and "0 comments:" in text
    assert client.get(f"/papers/{webdata.OLD_ID}.md").text.startswith("# An Old-Style Identifier Paper")
    assert client.get("/papers/2601.99999.md").status_code == 404


def test_markdown_keeps_hostile_text_literal(client: TestClient) -> None:
    text = client.get(f"/papers/{webdata.HOSTILE_ID}.md").text
    first = text.splitlines()[0]
    assert first.startswith(r"# \<script\>window.\_\_pwned = 1\<")
    # Every '<' is backslash-escaped (shown as text by any Markdown renderer) or opens an http(s) autolink.
    assert re.search(r"(?<!\\)<(?!https?://)", text) is None
    # Neither the hostile project page nor the hostile code link becomes a link (the abstract's TeX
    # \href{javascript:...} stays plain text of the abstract).
    assert "<javascript:" not in text and "](javascript:" not in text and "Project page" not in text
    assert "- github: <https://github.com/example/safe>" in text
