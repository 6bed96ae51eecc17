"""Sign up, verify, log in/out, password reset, account settings.

Every state change is a POST with a CSRF token (login included: no login CSRF). Mails go out after the
response (BackgroundTasks), so a known and an unknown address answer alike, in time as in bytes, and an
SMTP failure never turns into an error page (the user can ask for a new link).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Query, Request
from starlette.responses import RedirectResponse, Response

from paperfeed.community import accounts, ratelimit, sessions, tokens
from paperfeed.community.account_models import User
from paperfeed.community.accounts import AccountError
from paperfeed.http.auth import CurrentUser, RequireUser, safe_next
from paperfeed.http.csrf import CsrfDep
from paperfeed.http.deps import DbId, SessionDep, SettingsDep
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form()]
NextQ = Annotated[str | None, Query(max_length=2000)]

SENT = (
    "Check your inbox: if the address can receive mail, a message with a link is on its way. "
    "Nothing after a few minutes? Look in the spam folder, or ask for a new link below."
)
RESET_SENT = "If an account uses that address, a link to choose a new password is on its way. It works once."
# One message for a wrong password and an unconfirmed address: which one it is would tell whoever signed
# up with someone else's address that it was unknown.
WRONG_LOGIN = "Wrong email or password, or the address is not confirmed yet (open the link we mailed you)."


def _email_key(email: str) -> str:
    """The address as rate-limit keys see it (normalised when valid)."""
    try:
        return accounts.normalize_email(email)
    except AccountError:
        return email.strip().lower()[:320]


def _spend(db: SessionDep, limits: list[ratelimit.Limit]) -> float:
    """Count this request against the limits and commit, before any work (429 when one is used up)."""
    try:
        now = ratelimit.spend(db, limits)
    except ratelimit.RateLimited as exc:
        db.rollback()
        raise ratelimit.too_many(exc) from None
    db.commit()  # now: a concurrent request of the same burst sees this hit before it does any work
    return now


def _refund(db: SessionDep, limits: list[ratelimit.Limit], counted_at: float) -> None:
    """Take back the hits of a re-check that succeeded: these limits count failures."""
    for lim in limits:
        ratelimit.refund(db, lim, now=counted_at)


def _message(request: Request, title: str, message: str, *, status_code: int = 200) -> Response:
    return render(
        request, "account_message.html", {"title": title, "message": message}, status_code=status_code
    )


# --- sign up and email verification ---


@router.get("/signup")
def signup_form(request: Request, settings: SettingsDep) -> Response:
    """The sign-up form."""
    ctx = {"error": None, "email": "", "username": "", "open": settings.registration_open}
    return render(request, "signup.html", ctx)


@router.post("/signup")
def signup(
    request: Request,
    _csrf: CsrfDep,
    db: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    email: Field = "",
    username: Field = "",
    password: Field = "",
) -> Response:
    """Create an account and mail a verification link; the same answer whether the email is known or not."""
    if not settings.registration_open:
        raise HTTPException(403, "registration is closed on this site")
    ip = ratelimit.client_ip(request, settings)
    try:
        form = accounts.check_sign_up(email=email, username=username, password=password)
        _spend(db, list(ratelimit.mail_limits(settings, ip, form.email)))  # a valid form counts
        result = accounts.sign_up(db, settings, email=email, username=username, password=password)
    except AccountError as exc:
        db.rollback()
        ctx = {"error": str(exc), "email": email[:320], "username": username[:64], "open": True}
        return render(request, "signup.html", ctx, status_code=400)
    db.commit()
    user = result.user
    if result.kind == "created" or user.email_verified_at is None:
        background.add_task(accounts.send_verification, settings, user)
    else:
        background.add_task(accounts.send_already_registered, settings, user)
    return render(request, "verify.html", {"state": "sent", "message": SENT, "token": ""})


@router.get("/verify")
def verify_form(request: Request, token: Annotated[str, Query(max_length=1000)] = "") -> Response:
    """The page a verification link opens: a button that confirms (a GET changes nothing)."""
    return render(request, "verify.html", {"state": "confirm", "message": "", "token": token})


@router.post("/verify")
def verify(
    request: Request, _csrf: CsrfDep, db: SessionDep, settings: SettingsDep, token: Field = ""
) -> Response:
    """Confirm the address in a verification token."""
    try:
        accounts.verify_email(db, settings, token)
    except AccountError as exc:
        db.rollback()
        return render(
            request, "verify.html", {"state": "error", "message": str(exc), "token": ""}, status_code=400
        )
    db.commit()
    return render(request, "verify.html", {"state": "done", "message": "", "token": ""})


@router.post("/verify/resend")
def resend_verification(
    request: Request,
    _csrf: CsrfDep,
    db: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    background: BackgroundTasks,
    email: Field = "",
) -> Response:
    """Mail a new verification link (to the signed-in user, or to the address given); same answer always."""
    address = user.email if user is not None else _email_key(email)
    _spend(db, list(ratelimit.mail_limits(settings, ratelimit.client_ip(request, settings), address)))
    target = accounts.by_email(db, address)
    if target is not None and target.email_verified_at is None:
        background.add_task(accounts.send_verification, settings, target)
    return render(request, "verify.html", {"state": "sent", "message": SENT, "token": ""})


# --- log in and out ---


@router.get("/login")
def login_form(request: Request, next: NextQ = None) -> Response:
    """The login form; `next` is where to go afterwards (a path on this site only)."""
    return render(request, "login.html", {"error": None, "email": "", "next": safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    _csrf: CsrfDep,
    db: SessionDep,
    settings: SettingsDep,
    email: Field = "",
    password: Field = "",
    next: Field = "/",
) -> Response:
    """Check the password and start a new session (a new id: a planted one is never adopted)."""
    ip = ratelimit.client_ip(request, settings)
    per_ip, account_ip, account = ratelimit.login_limits(settings, ip, _email_key(email))
    # Counted as a failure before the password is checked; a success takes its hits back below.
    counted_at = _spend(db, [per_ip, account_ip, account])
    user = accounts.authenticate(db, settings, email, password)
    if user is None:
        db.rollback()
        ctx = {"error": WRONG_LOGIN, "email": "", "next": safe_next(next)}
        return render(request, "login.html", ctx, status_code=400)
    ratelimit.reset(db, account_ip)  # this account from this address: the owner is back
    _refund(db, [per_ip, account], counted_at)  # only failures count against these
    old = getattr(request.state, "session_id", None)
    if old:
        sessions.delete_one(db, old)
    sessions.purge_expired(db, settings, user_id=user.id)  # sessions this user abandoned long ago
    raw = sessions.create(db, user)
    db.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    sessions.set_cookie(response, settings, raw)
    return response


@router.post("/logout")
def logout(request: Request, _csrf: CsrfDep, db: SessionDep, settings: SettingsDep) -> Response:
    """End this session (the row is deleted, so a copied cookie stops working too)."""
    raw = getattr(request.state, "session_id", None) or sessions.cookie_value(request.scope)
    if raw:
        sessions.delete_one(db, raw)
        db.commit()
    response = RedirectResponse("/", status_code=303)
    sessions.clear_cookie(response, settings)
    return response


# --- password reset ---


@router.get("/reset")
def reset_form(request: Request) -> Response:
    """Ask for a password reset link."""
    return render(request, "reset.html", {"sent": False, "error": None})


@router.post("/reset")
def reset_request(
    request: Request,
    _csrf: CsrfDep,
    db: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    email: Field = "",
) -> Response:
    """Mail a reset link when the address has an account; the same answer when it has none."""
    address = _email_key(email)
    _spend(db, list(ratelimit.mail_limits(settings, ratelimit.client_ip(request, settings), address)))
    user = accounts.by_email(db, address)
    if user is not None:
        background.add_task(accounts.send_reset, settings, user)
    return render(request, "reset.html", {"sent": True, "error": None})


@router.get("/reset/confirm")
def reset_confirm_form(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """The page a reset link opens: a form for the new password (or why the link is dead)."""
    try:
        accounts.user_for_reset(db, settings, token)
    except AccountError as exc:
        return render(
            request, "reset_confirm.html", {"token": "", "error": str(exc), "done": False}, status_code=400
        )
    return render(request, "reset_confirm.html", {"token": token, "error": None, "done": False})


@router.post("/reset/confirm")
def reset_confirm(
    request: Request,
    _csrf: CsrfDep,
    db: SessionDep,
    settings: SettingsDep,
    token: Field = "",
    password: Field = "",
) -> Response:
    """Set the new password; every session of the account ends and the link stops working."""
    try:
        accounts.user_for_reset(db, settings, token)
    except AccountError as exc:  # a dead link: no form, a way to ask for a new one
        ctx = {"token": "", "error": str(exc), "done": False}
        return render(request, "reset_confirm.html", ctx, status_code=400)
    try:
        accounts.reset_password(db, settings, token, password)
    except AccountError as exc:  # a bad password: the form again, the link still good
        db.rollback()
        ctx = {"token": token, "error": str(exc), "done": False}
        return render(request, "reset_confirm.html", ctx, status_code=400)
    db.commit()
    return render(request, "reset_confirm.html", {"token": "", "error": None, "done": True})


# --- account settings ---


def _account_page(
    request: Request,
    db: SessionDep,
    user: User,
    *,
    message: str | None = None,
    error: str | None = None,
    new_token: tokens.NewToken | None = None,
    status_code: int = 200,
) -> Response:
    fresh = db.get(User, user.id) or user
    ctx = {
        "user": fresh,
        "tokens": tokens.list_for(db, user.id),
        "message": message,
        "error": error,
        "new_token": new_token,
    }
    response = render(request, "account.html", ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # a new token's secret must not sit in a cache
    return response


@router.get("/account")
def account(request: Request, db: SessionDep, user: RequireUser) -> Response:
    """Settings: password, API tokens, account deletion."""
    return _account_page(request, db, user)


@router.post("/account/password")
def change_password(
    request: Request,
    _csrf: CsrfDep,
    db: SessionDep,
    settings: SettingsDep,
    user: RequireUser,
    current: Field = "",
    password: Field = "",
    revoke_tokens: Field = "",
) -> Response:
    """Change the password (the current one is required); other sessions end, API tokens on request."""
    keep = getattr(request.state, "session_id", None)
    limits = ratelimit.recheck_limits(settings, ratelimit.client_ip(request, settings), user.id)
    counted_at = _spend(db, limits)  # a wrong current password counts like a failed login
    try:
        accounts.change_password(
            db, settings, user, current, password, keep_session=keep, revoke_tokens=bool(revoke_tokens)
        )
    except AccountError as exc:
        db.rollback()
        return _account_page(request, db, user, error=str(exc), status_code=400)
    _refund(db, limits, counted_at)
    db.commit()
    done = "Password changed. Other sessions were logged out" + (
        " and your API tokens revoked." if revoke_tokens else "."
    )
    return _account_page(request, db, user, message=done)


@router.post("/account/tokens")
def create_token(
    request: Request,
    _csrf: CsrfDep,
    db: SessionDep,
    user: RequireUser,
    name: Field = "",
    scope: Field = tokens.READ,
) -> Response:
    """Create a named API token (read or write) and show its secret, once."""
    try:
        new = tokens.create(db, user, name, scope=scope)
    except tokens.TokenError as exc:
        db.rollback()
        return _account_page(request, db, user, error=str(exc), status_code=exc.status)
    db.commit()
    return _account_page(request, db, user, new_token=new)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: DbId, _csrf: CsrfDep, db: SessionDep, user: RequireUser) -> Response:
    """Revoke one of the user's API tokens."""
    tokens.revoke(db, user.id, token_id)
    db.commit()
    return RedirectResponse("/account", status_code=303)


@router.post("/account/delete")
def delete_account(
    request: Request,
    _csrf: CsrfDep,
    db: SessionDep,
    settings: SettingsDep,
    user: RequireUser,
    password: Field = "",
) -> Response:
    """Delete the account after the password is confirmed: sessions, tokens, votes, private lists go."""
    limits = ratelimit.recheck_limits(settings, ratelimit.client_ip(request, settings), user.id)
    counted_at = _spend(db, limits)
    try:
        accounts.delete_account(db, settings, user, password)
    except AccountError as exc:
        db.rollback()
        return _account_page(request, db, user, error=str(exc), status_code=400)
    _refund(db, limits, counted_at)
    db.commit()
    request.state.user = None  # the page below is rendered logged out
    response = _message(request, "Account deleted", "Your account and its data were deleted. Goodbye.")
    sessions.clear_cookie(response, settings)
    return response
