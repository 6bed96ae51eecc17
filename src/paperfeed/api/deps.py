"""FastAPI dependencies shared by the API and web routers: the settings and a request-scoped session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.community.errors import CommunityError
from paperfeed.config import Settings


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


def refused(exc: CommunityError) -> HTTPException:
    """A service's refusal as an HTTP error: an error page on the site, {"error": ...} under /api."""
    return HTTPException(exc.status, str(exc))


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
