"""API tokens and the signed-in user over the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from paperfeed.accounts import flows, tokens
from paperfeed.errors import NotFound
from paperfeed.http.auth import ApiSessionUser, ApiUser
from paperfeed.http.deps import DbId, FactoryDep, SessionDep

router = APIRouter(prefix="/api", tags=["accounts"])


class WhoAmI(BaseModel):
    """The caller."""

    id: int
    username: str
    email: str
    role: str
    emailVerified: bool  # camelCase, like the rest of the API


class TokenInfo(BaseModel):
    """An API token without its secret."""

    id: int
    name: str
    prefix: str
    scope: str
    createdAt: datetime
    lastUsedAt: datetime | None


class NewTokenIn(BaseModel):
    """A token to create: `read` may only GET, `write` may also use the API's writes."""

    name: str = Field(min_length=1, max_length=64)
    scope: Literal["read", "write"] = "read"


class NewTokenOut(BaseModel):
    """A created token; `token` is shown this once."""

    id: int
    name: str
    scope: str
    token: str


@router.get("/whoami")
def whoami(user: ApiUser) -> WhoAmI:
    """The user the bearer token (or session) belongs to."""
    return WhoAmI(
        id=user.id,
        username=user.username,
        email=user.email,
        role=user.role,
        emailVerified=user.email_verified_at is not None,
    )


@router.get("/tokens")
def list_tokens(user: ApiUser, db: SessionDep) -> list[TokenInfo]:
    """The caller's API tokens (never their secrets)."""
    return [
        TokenInfo(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            scope=t.scope,
            createdAt=t.created_at,
            lastUsedAt=t.last_used_at,
        )
        for t in tokens.list_for(db, user.id)
    ]


@router.post("/tokens", status_code=201)
def create_token(
    body: NewTokenIn, user: ApiSessionUser, factory: FactoryDep, response: Response
) -> NewTokenOut:
    """Create a named token (from a signed-in browser session only); its secret is in this answer only."""
    response.headers["Cache-Control"] = "no-store"  # the secret must not sit in any cache
    try:
        new = flows.create_token(factory, user, body.name, scope=body.scope)
    except tokens.TokenError as exc:
        exc.headers = {"Cache-Control": "no-store"}
        raise
    return NewTokenOut(id=new.id, name=new.name, scope=new.scope, token=new.secret)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: DbId, user: ApiUser, factory: FactoryDep) -> Response:
    """Revoke one of the caller's tokens (404 when there is no such token of theirs)."""
    if not flows.revoke_token(factory, user.id, token_id):
        raise NotFound("no such token")
    return Response(status_code=204)
