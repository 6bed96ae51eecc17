"""The categories page: arXiv's taxonomy with paper counts, each linking to its scoped daily list."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from paperfeed.categories import category_counts
from paperfeed.http.deps import SessionDep
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/categories", name="categories")
def categories_page(request: Request, session: SessionDep) -> Response:
    """Every arXiv archive and category with how many papers carry it."""
    return render(request, "categories.html", {"archives": category_counts(session)})
