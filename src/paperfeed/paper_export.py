"""One paper as Markdown (what `hf papers read` prints) and as a BibTeX entry (pure functions)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from paperfeed.community.collections import Entry
from paperfeed.community.exports import bibtex
from paperfeed.db.models import Paper, Submission
from paperfeed.paths import paper_path
from paperfeed.text.render import strip_controls
from paperfeed.text.urls import http_url

__all__ = ["md_escape", "paper_bibtex", "paper_markdown"]

# CommonMark's backslash escapes: a title like "[x](javascript:...)" or "<img ...>" stays literal text.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>#|!])")


def md_escape(text: str) -> str:
    """One line of plain text that renders as itself in Markdown."""
    return _MD_INLINE.sub(r"\\\1", " ".join(strip_controls(text).split()))


def _md_block(text: str) -> str:
    # Paragraphs keep their breaks and TeX keeps its brackets; only '<' is escaped, so no renderer that
    # allows HTML in Markdown turns a stored abstract into markup.
    return strip_controls(text).replace("<", "\\<")


def paper_markdown(paper: Paper, submission: Submission | None, base_url: str, comments: int) -> str:
    """The paper page as Markdown: title, authors, links, abstract, code and the comment count."""
    base = base_url.rstrip("/")
    page = base + paper_path(paper.key)
    lines = [f"# {md_escape(paper.title)}", ""]
    if paper.author_names:
        lines += ["**Authors:** " + ", ".join(md_escape(a) for a in paper.author_names), ""]
    facts = []
    if paper.arxiv_id:
        facts.append(f"**arXiv:** {md_escape(paper.arxiv_id)}")
    if paper.published:
        facts.append(f"**Published:** {paper.published.date().isoformat()}")
    if paper.category_names:
        facts.append("**Categories:** " + ", ".join(md_escape(c) for c in paper.category_names))
    facts.append(f"**Upvotes:** {paper.upvotes + paper.vote_count}")
    facts.append(f"**Comments:** {comments}")
    if submission and submission.submitted_by:
        facts.append(
            f"**Submitted by:** {md_escape(submission.submitter_fullname or submission.submitted_by)}"
        )
    lines += [" · ".join(facts), "", "## Links", "", f"- Paper page: <{page}>"]
    if paper.abs_url:
        lines.append(f"- arXiv: <{paper.abs_url}>")
    if paper.pdf_url:
        lines.append(f"- PDF: <{paper.pdf_url}>")
    project = http_url(paper.project_page)
    if project:
        lines.append(f"- Project page: <{project}>")
    if paper.doi:
        lines.append(f"- DOI: <https://doi.org/{paper.doi}>")
    lines += ["", "## Abstract", "", _md_block(paper.abstract) or "(no abstract)", "", "## Code", ""]
    code = [link for link in paper.code_links if http_url(link.url)]
    for link in code:
        stars = f" (★ {link.stars})" if link.stars is not None else ""
        lines.append(f"- {md_escape(link.kind)}: <{link.url}>{stars}")
    if not code:
        lines.append("No code links known.")
    noun = "comment" if comments == 1 else "comments"
    lines += ["", "## Comments", "", f"{comments} {noun}: <{page}#comments>", ""]
    return "\n".join(lines)


def paper_bibtex(paper: Paper) -> str:
    """arXiv's @misc entry for one paper (eprint, archivePrefix, primaryClass), every field escaped."""
    return bibtex([Entry(paper=paper, note="", added_at=datetime.now(UTC))])
