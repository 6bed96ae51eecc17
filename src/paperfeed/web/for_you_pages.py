"""For you pages: the reader's list (Day / Week / Month), signal buttons, settings, private feed, export.

Everything here is private to the signed-in reader: no page shows one reader's signals or list to anyone
else, and the private feed answers only to its secret (404 otherwise). Every change is a form POST with a
CSRF token, so it works without JavaScript.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperfeed.community.votes import voted_ids
from paperfeed.errors import NotFound
from paperfeed.http.auth import RequireUser, safe_next
from paperfeed.http.csrf import CsrfDep
from paperfeed.http.deps import FactoryDep, SessionDep, SettingsDep, find_paper, session_factory
from paperfeed.http.errors import wants_json
from paperfeed.paths import paper_path
from paperfeed.periods import TABS, check_window, parse_day
from paperfeed.recommend import profiles, signals
from paperfeed.recommend.feeds import feed_document
from paperfeed.recommend.service import for_you
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)

Short = Annotated[str, Form(max_length=2000)]
LABELS = {"day": "today", "week": "this week", "month": "this month"}


@router.get("/for-you", name="for_you")
def for_you_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: RequireUser,
    period: Annotated[str, Query(max_length=16)] = "week",
    date: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The reader's papers of the last day, week or month, best first, each with its reasons."""
    kind = check_window(period)  # PeriodError: a 400 naming the valid ones
    until = parse_day(date) if date else None
    result = for_you(
        session,
        user_id=user.id,
        kind=kind,
        until=until,
        now=datetime.now(UTC),
        limit=settings.for_you_page_size,
        settings=settings,
    )
    ids = [i.paper.id for i in result.items]
    context: dict[str, object] = {
        "result": result,
        "tabs": TABS,
        "labels": LABELS,
        "date_param": date or None,
        "has_profile": profiles.has_profile(session, user.id),
        "my_signals": signals.signal_kinds(session, user.id, ids),
        "my_votes": voted_ids(session, user.id, ids),
        "for_you_cards": True,
    }
    return render(request, "for_you.html", context)


@router.post("/papers/{paper_id:path}/signal", name="signal")
def signal(
    request: Request,
    paper_id: str,
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireUser,
    kind: Annotated[str, Form(max_length=16)] = "more",
    on: Annotated[str, Form(max_length=8)] = "1",
    next: Short = "",
) -> Response:
    """Press ("1") or release ("0") a private signal button: more, less, or dismiss (not interested)."""
    paper = find_paper(factory, paper_id)
    state = signals.apply_signal(
        factory, user_id=user.id, paper_id=paper.id, kind=kind, on=on != "0", now=datetime.now(UTC)
    )
    if wants_json(request):
        return JSONResponse({"paperId": paper.key, "signal": state})
    return RedirectResponse(safe_next(next, paper_path(paper.key)), status_code=303)


def _settings_page(
    request: Request, user_id: int, *, message: str | None = None, secret: str | None = None
) -> Response:
    with session_factory(request)() as session:
        profile = profiles.get_profile(session, user_id)
    base = request.app.state.settings.base_url.rstrip("/")
    context = {"profile": profile, "message": message, "feed_secret": secret, "base": base}
    return render(request, "for_you_settings.html", context)


@router.get("/for-you/settings", name="for_you_settings")
def settings_page(
    request: Request, user: RequireUser, saved: Annotated[str, Query(max_length=16)] = ""
) -> Response:
    """The reader's For-you settings: exploration, categories, private feed, export, delete."""
    messages = {
        "1": "Saved.",
        "revoked": "The feed address is revoked.",
        "deleted": "Your signals and profile are deleted.",
    }
    return _settings_page(request, user.id, message=messages.get(saved))


@router.post("/for-you/settings", name="for_you_settings_save")
def settings_save(
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireUser,
    exploration: Annotated[float, Form(ge=0, le=0.5, allow_inf_nan=False)] = 0.1,
    categories: Short = "",
) -> Response:
    """Save the exploration share and the categories (ProfileError: a 400 saying why)."""
    profiles.save_profile(
        factory,
        user_id=user.id,
        now=datetime.now(UTC),
        categories=categories.replace(",", " ").split(),
        exploration=exploration,
    )
    return RedirectResponse("/for-you/settings?saved=1", status_code=303)


@router.post("/for-you/feed", name="for_you_feed_make")
def feed_make(request: Request, _csrf: CsrfDep, factory: FactoryDep, user: RequireUser) -> Response:
    """Make a new private feed secret (the old URL stops working) and show it once."""
    secret = profiles.make_feed_secret(factory, user_id=user.id, now=datetime.now(UTC))
    response = _settings_page(request, user.id, message="A new feed address is ready.", secret=secret)
    response.headers["Cache-Control"] = "no-store"  # the page carries the secret
    return response


@router.post("/for-you/feed/revoke", name="for_you_feed_revoke")
def feed_revoke(_csrf: CsrfDep, factory: FactoryDep, user: RequireUser) -> Response:
    """Revoke the private feed: its URL answers 404 from now on."""
    profiles.revoke_feed_secret(factory, user_id=user.id, now=datetime.now(UTC))
    return RedirectResponse("/for-you/settings?saved=revoked", status_code=303)


@router.get("/for-you/export", name="for_you_export")
def export(request: Request, session: SessionDep, settings: SettingsDep, user: RequireUser) -> Response:
    """Everything For you keeps about the reader, and their current week's list, as a JSON download."""
    data = profiles.export_profile(session, user.id)
    listing = for_you(
        session,
        user_id=user.id,
        kind="week",
        until=None,
        now=datetime.now(UTC),
        limit=settings.for_you_page_size,
        settings=settings,
    )
    data["recommendations"] = [
        {"paperId": i.paper.key, "title": i.paper.title, "exploration": i.exploration} for i in listing.items
    ]
    body = json.dumps(data, ensure_ascii=False, indent=2)
    headers = {
        "Content-Disposition": 'attachment; filename="for-you.json"',
        "Cache-Control": "no-store",
    }
    return Response(body, media_type="application/json", headers=headers)


@router.post("/for-you/delete", name="for_you_delete")
def delete(_csrf: CsrfDep, factory: FactoryDep, user: RequireUser) -> Response:
    """Delete the reader's signals and profile (public votes and collections stay)."""
    profiles.delete_profile(factory, user_id=user.id)
    return RedirectResponse("/for-you/settings?saved=deleted", status_code=303)


@router.get("/for-you/feed/{name}", name="for_you_feed")
def private_feed(name: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The reader's week as RSS (<secret>.rss) or Atom (<secret>.atom); a wrong or revoked secret is a 404."""
    secret, dot, fmt = name.rpartition(".")
    user_id = profiles.feed_user(session, secret) if dot and fmt in ("rss", "atom") else None
    if user_id is None:
        raise NotFound("no such feed")
    body = feed_document(
        session, settings=settings, user_id=user_id, fmt=fmt, self_url=f"/for-you/feed/{name}"
    )
    media = "application/rss+xml" if fmt == "rss" else "application/atom+xml"
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"},
    )
