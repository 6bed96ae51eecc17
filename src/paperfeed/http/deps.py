"""FastAPI dependencies shared by the API and web routers: settings, sessions, the search service, ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Form, Path, Request
from sqlalchemy.orm import Session, sessionmaker

from paperfeed import feed
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.errors import NotFound
from paperfeed.forwarded import client_address
from paperfeed.search.service import SearchService

__all__ = [
    "MAX_ID",
    "DbId",
    "FactoryDep",
    "FormId",
    "SearchDep",
    "SessionDep",
    "SettingsDep",
    "client_ip",
    "find_paper",
    "get_search",
    "get_session",
    "get_settings",
    "paper_or_404",
    "session_factory",
]

# Row ids are 64-bit signed integers on SQLite and PostgreSQL (BIGINT): a larger number in a URL or form
# can name no row, and the drivers raise on it (a 500) instead of finding nothing; it is refused with 400.
MAX_ID = 2**63 - 1
DbId = Annotated[int, Path(ge=1, le=MAX_ID)]
FormId = Annotated[int | None, Form(ge=1, le=MAX_ID)]


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def session_factory(request: Request) -> sessionmaker[Session]:
    """The app's session factory: writing services open their own transactions from it."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


def get_session(request: Request) -> Iterator[Session]:
    """A read session for one request, closed when the response is done."""
    with session_factory(request)() as session:
        yield session


def client_ip(request: Request, settings: Settings) -> str:
    """The client's address: the TCP peer, or what our trusted proxies say in X-Forwarded-For."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    return client_address(peer, forwarded, settings.trusted_proxies, trust_peer=settings.trust_proxy)


def get_search(request: Request) -> SearchService:
    """The app's search service (keyword + vector indexes, built once per app)."""
    service: SearchService = request.app.state.search
    return service


def paper_or_404(session: Session, paper_id: str) -> Paper:
    """The paper with this arXiv id (any spelling) or key; NotFound (404, page or JSON) when there is none."""
    paper = feed.get_paper(session, paper_id)
    if paper is None:
        raise NotFound(f"paper {paper_id!r} not found")
    return paper


def find_paper(factory: sessionmaker[Session], paper_id: str) -> Paper:
    """paper_or_404 in a short session of its own, for write routes, which hold no session (see docs)."""
    with factory() as session:
        return paper_or_404(session, paper_id)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FactoryDep = Annotated[sessionmaker[Session], Depends(session_factory)]
SearchDep = Annotated[SearchService, Depends(get_search)]
