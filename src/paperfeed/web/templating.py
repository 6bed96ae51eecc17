"""The Jinja2 environment: autoescaping on, and filters that render abstracts and titles safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from paperfeed.db.models import Paper
from paperfeed.http.csrf import csrf_token
from paperfeed.paper_export import paper_bibtex
from paperfeed.paths import author_path, paper_path
from paperfeed.text.charts import sparkline
from paperfeed.text.render import render_abstract, render_inline

HERE = Path(__file__).parent
# Scripts only from our own /static files, never inline: a rendering bug cannot become an XSS.
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


# How a listing source or a code-link kind reads on a page; unknown values show as stored.
SOURCE_LABELS = {
    "arxiv_api": "arXiv API",
    "oai": "arXiv OAI-PMH",
    "rss": "arXiv RSS",
    "jsonl": "arXiv metadata dump",
    "hf": "Hugging Face daily papers",
    "seed": "seed list",
}
LINK_LABELS = {
    "github": "GitHub",
    "gitlab": "GitLab",
    "bitbucket": "Bitbucket",
    "huggingface": "Hugging Face",
    "zenodo": "Zenodo",
    "project": "Project page",
}


def source_label(source: str) -> str:
    """A reader's name for a listing source ('jsonl' -> 'arXiv metadata dump')."""
    return SOURCE_LABELS.get(source, source)


def link_label(kind: str) -> str:
    """A reader's name for a code-link kind ('github' -> 'GitHub')."""
    return LINK_LABELS.get(kind, kind)


def abstract_excerpt(text: str, limit: int = 300) -> str:
    """The first ~limit characters of an abstract, cut at a word and never inside $...$ math."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > 0 else limit
    head = text[:cut]
    # An odd number of unescaped dollars means we stopped inside inline math: back up to before it.
    if (head.count("$") - head.count("\\$")) % 2:
        head = head[: head.rfind("$")]
    return head.rstrip() + " …"


def http_url(url: str | None) -> str | None:
    """The URL when it is plain http(s), else None: data from sources must never yield javascript: links."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def project_page(paper: Paper) -> str | None:
    """The paper's project page as a link, unless a code link already points there (no twin buttons)."""
    url = http_url(paper.project_page)
    if url is None:
        return None
    same = url.rstrip("/").lower()
    return None if any(link.url.rstrip("/").lower() == same for link in paper.code_links) else url


def with_query(params: dict[str, Any]) -> str:
    """A query string ('?a=1&b=2') from params, skipping None values."""
    clean = {k: v for k, v in params.items() if v is not None}
    return "?" + urlencode(clean) if clean else ""


def current_user(request: Request) -> Any:
    """The signed-in user of this request (set on request.state.user by the session middleware), or None."""
    return getattr(request.state, "user", None)


def make_templates() -> Jinja2Templates:
    """Templates from web/templates with autoescape on for every file."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["abstract"] = render_abstract
    env.filters["inline"] = render_inline
    env.filters["excerpt"] = abstract_excerpt
    env.filters["http_url"] = http_url
    env.filters["source_label"] = source_label
    env.filters["link_label"] = link_label
    env.globals["paper_path"] = paper_path
    env.globals["author_path"] = author_path
    env.globals["sparkline"] = sparkline
    env.globals["with_query"] = with_query
    env.globals["project_page"] = project_page
    env.globals["csrf_token"] = csrf_token
    env.globals["current_user"] = current_user
    env.globals["paper_bibtex"] = paper_bibtex
    return Jinja2Templates(env=env)


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """Render a page with the security headers every HTML answer carries."""
    templates: Jinja2Templates = request.app.state.templates
    context = {"settings": request.app.state.settings, **context}
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
