"""GET /api/arxiv/{id}/repos: the repositories paperfeed knows for a paper, in Hugging Face's shape.

Hugging Face answers `{"models": [...], "datasets": [...], "spaces": [...]}`: the Hub repositories that
cite the paper. paperfeed knows the code links found in the abstract, the comment and Hugging Face's own
`githubRepo`: a link to a Hugging Face model, dataset or Space goes in its list, as Hugging Face would
list it (`id` is `owner/name`); every other link (GitHub, GitLab, Zenodo, ...) goes in `code`, a key of
paperfeed's own that Hugging Face clients ignore.
"""

from __future__ import annotations

import hashlib
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from paperfeed.api.schemas import ErrorOut
from paperfeed.db.models import CodeLinkRow
from paperfeed.http.deps import SessionDep, paper_or_404
from paperfeed.text.urls import http_url

router = APIRouter(prefix="/api", tags=["papers"])

_HF_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})
_KINDS = {"datasets": "datasets", "spaces": "spaces"}
# Top-level paths of huggingface.co that are pages, not model repositories.
_NOT_MODELS = frozenset(
    {"papers", "docs", "blog", "collections", "organizations", "settings", "api", "learn"}
)


class HubRepoOut(BaseModel):
    """A Hub repository, as in Hugging Face's lists (only the keys paperfeed can know)."""

    model_config = ConfigDict(populate_by_name=True)
    id_: str = Field(alias="_id", description="Stable id (24 hex digits).")
    id: str = Field(description="owner/name, as on the Hub.")
    author: str
    private: bool = False
    url: str


class CodeOut(BaseModel):
    """A code link paperfeed knows that is not a Hub repository."""

    url: str
    kind: str
    stars: int | None = None


class ReposOut(BaseModel):
    """Hugging Face's answer (models, datasets, spaces) plus paperfeed's other code links."""

    models: list[HubRepoOut]
    datasets: list[HubRepoOut]
    spaces: list[HubRepoOut]
    code: list[CodeOut] = Field(description="paperfeed's: GitHub and other code links (not on the Hub).")


def hub_repo(url: str) -> tuple[str, str] | None:
    """('models'|'datasets'|'spaces', 'owner/name') for a Hub repository URL, else None."""
    parts = urlsplit(url)
    if parts.hostname not in _HF_HOSTS:
        return None
    segs = [s for s in parts.path.split("/") if s]
    kind = "models"
    if segs and segs[0] in _KINDS:
        kind = _KINDS[segs[0]]
        segs = segs[1:]
    if len(segs) < 2 or (kind == "models" and segs[0] in _NOT_MODELS):
        return None
    return kind, f"{segs[0]}/{segs[1]}"


def repos_out(links: list[CodeLinkRow]) -> ReposOut:
    """Sort a paper's code links into Hugging Face's lists and ours (each repository once)."""
    out = ReposOut(models=[], datasets=[], spaces=[], code=[])
    seen: set[tuple[str, str]] = set()
    for link in links:
        url = http_url(link.url)
        if url is None:
            continue
        found = hub_repo(url)
        if found is None:
            out.code.append(CodeOut(url=url, kind=link.kind, stars=link.stars))
            continue
        kind, repo = found
        if (kind, repo) in seen:
            continue
        seen.add((kind, repo))
        rid = hashlib.blake2b(f"{kind}:{repo}".encode(), digest_size=12).hexdigest()
        prefix = "" if kind == "models" else f"{kind}/"
        entry = HubRepoOut(
            id_=rid, id=repo, author=repo.split("/")[0], url=f"https://huggingface.co/{prefix}{repo}"
        )
        getattr(out, kind).append(entry)
    return out


@router.get(
    "/arxiv/{paper_id:path}/repos",
    response_model=ReposOut,
    response_model_exclude_none=True,
    responses={404: {"model": ErrorOut, "description": "No such paper."}},
    summary="Repositories citing a paper: Hub models, datasets and Spaces, plus other code links",
)
def arxiv_repos(
    paper_id: Annotated[str, Path(description="arXiv id (with or without version).")], session: SessionDep
) -> ReposOut:
    """The code links paperfeed knows for the paper, in Hugging Face's shape."""
    return repos_out(list(paper_or_404(session, paper_id).code_links))
