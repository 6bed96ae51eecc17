"""FastAPI dependencies shared by the API and web routers: the settings and a request-scoped session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker

from paperfeed import feed
from paperfeed.config import Settings
from paperfeed.db.models import Paper


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def session_factory(request: Request) -> sessionmaker[Session]:
    """The app's session factory (services that write open their own transactions from it)."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


def get_session(request: Request) -> Iterator[Session]:
    """A read session for one request, closed when the response is done."""
    with session_factory(request)() as session:
        yield session


def paper_or_404(session: Session, paper_id: str) -> Paper:
    """The paper with this arXiv id or key; a 404 under /api when there is none."""
    paper = feed.get_paper(session, paper_id)
    if paper is None:
        raise HTTPException(404, f"paper {paper_id!r} not found")
    return paper


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
