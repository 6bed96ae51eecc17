"""For-you setup (/for-you/setup: categories, seed import) and digest rating links (/for-you/rate)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from paperfeed.accounts.models import User
from paperfeed.config import Settings
from paperfeed.errors import UserError
from paperfeed.http.auth import RequireUser
from paperfeed.http.csrf import CsrfDep
from paperfeed.http.deps import FactoryDep, SessionDep, SettingsDep
from paperfeed.recommend import mail_links, onboarding
from paperfeed.recommend.models import SEED, ReaderSignal
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)

Pasted = Annotated[str, Form(max_length=2_000_000)]


def _page(
    request: Request, session: Session, user: User, extra: dict[str, Any], *, status_code: int = 200
) -> Response:
    chosen = set(onboarding.profile_categories(session, user.id))
    groups = onboarding.category_groups(session)
    seeds = session.scalar(
        select(func.count()).where(ReaderSignal.user_id == user.id, ReaderSignal.kind == SEED)
    )
    context = {
        "groups": groups,
        "chosen": chosen,
        "seeds": int(seeds or 0),
        "report": None,
        "error": None,
        "saved": False,
        "pasted": "",
    }
    context.update(extra)
    return render(request, "for_you_setup.html", context, status_code=status_code)


@router.get("/for-you/setup", name="for_you_setup")
def setup(request: Request, session: SessionDep, user: RequireUser, saved: int = 0) -> Response:
    """The setup page: categories (with counts, by archive) and the seed import form."""
    return _page(request, session, user, {"saved": bool(saved)})


@router.post("/for-you/setup/categories", name="for_you_categories")
async def save_categories(
    request: Request, _csrf: CsrfDep, factory: FactoryDep, user: RequireUser
) -> Response:
    """Store the ticked categories in the reader's profile, then back to the page (303)."""
    form = await request.form()
    chosen = [str(v) for v in form.getlist("category")][:500]
    onboarding.set_categories(factory, user_id=user.id, categories=chosen, now=datetime.now(UTC))
    return RedirectResponse("/for-you/setup?saved=1", status_code=303)


def _import(
    factory: FactoryDep, settings: Settings, user: User, text: str, data: bytes | None, name: str | None
) -> onboarding.SeedReport:
    return onboarding.import_seed_input(
        factory,
        text=text,
        upload=data,
        filename=name,
        user_id=user.id,
        settings=settings,
        now=datetime.now(UTC),
    )


@router.post("/for-you/setup/seeds", name="for_you_seeds")
async def import_seeds(
    request: Request,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireUser,
    ids: Pasted = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Import pasted ids and/or an uploaded BibTeX / CSL-JSON file; the page shows the import report."""
    data: bytes | None = None
    name: str | None = None
    if file is not None and file.filename:
        # Read one byte past the cap, so a huge upload is refused without being read whole.
        data = await file.read(settings.seed_max_bytes + 1)
        name = file.filename
    try:
        # The import may call arXiv (seconds): run it in the thread pool, off the event loop.
        report = await run_in_threadpool(_import, factory, settings, user, ids, data, name)
    except UserError as exc:  # re-rendered beside the reader's input, like other forms
        with factory() as session:
            return _page(request, session, user, {"error": str(exc), "pasted": ids}, status_code=exc.status)
    with factory() as session:
        return _page(request, session, user, {"report": report})


RateToken = Annotated[str, Query(max_length=400)]
RateTokenForm = Annotated[str, Form(max_length=400)]


@router.get("/for-you/rate", name="for_you_rate")
def rate_page(
    request: Request, session: SessionDep, settings: SettingsDep, token: RateToken = ""
) -> Response:
    """A digest's "More / Less like this" link: shows the paper and one button; a GET records nothing."""
    asked = mail_links.read_rating(session, settings, token)
    return render(request, "for_you_rate.html", {"asked": asked, "token": token, "done": False})


@router.post("/for-you/rate", name="for_you_rate_post")
def rate(request: Request, factory: FactoryDep, settings: SettingsDep, token: RateTokenForm = "") -> Response:
    """Record the link's signal. No login and no CSRF cookie: the signed token is the proof."""
    asked = mail_links.record_rating(factory, settings, token, now=datetime.now(UTC))
    return render(request, "for_you_rate.html", {"asked": asked, "token": "", "done": True})
