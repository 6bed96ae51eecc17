"""One paper in other formats: /papers/<id>.md (what `hf papers read` fetches) and /papers/<id>.bib."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from paperfeed import feed
from paperfeed.http.deps import SessionDep, SettingsDep, paper_or_404
from paperfeed.paper_export import paper_bibtex, paper_markdown

# Included before web.pages: "/papers/{id:path}" would take "2606.00467.md" as an id.
router = APIRouter(include_in_schema=False)


@router.get("/papers/{paper_id:path}.md", name="paper_markdown")
def markdown(paper_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The paper page as Markdown (text/markdown), as Hugging Face serves /papers/<id>.md."""
    paper = paper_or_404(session, paper_id)
    submission = feed.latest_submission(session, paper)
    comments = paper.source_comments + paper.comment_count
    text = paper_markdown(paper, submission, settings.base_url, comments)
    return Response(text, media_type="text/markdown; charset=utf-8")


@router.get("/papers/{paper_id:path}.bib", name="paper_bib")
def bib(paper_id: str, session: SessionDep) -> Response:
    """The paper's BibTeX entry (arXiv's @misc style), as text/x-bibtex."""
    paper = paper_or_404(session, paper_id)
    name = paper.key.replace("/", "_").replace(":", "_")
    headers = {"Content-Disposition": f'inline; filename="{name}.bib"'}
    return Response(paper_bibtex(paper), media_type="text/x-bibtex; charset=utf-8", headers=headers)
