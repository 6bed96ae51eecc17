"""Sign up, verify, log in/out, password reset, account settings.

Every state change is a POST with a CSRF token (login included: no login CSRF). Mails go out after the
response (BackgroundTasks), so a known and an unknown address answer alike, in time as in bytes, and an
SMTP failure never turns into an error page (the user can ask for a new link).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import RedirectResponse, Response

from paperfeed.accounts import flows, tokens
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import User
from paperfeed.accounts.users import AccountError
from paperfeed.errors import Forbidden
from paperfeed.http import session as http_session
from paperfeed.http.auth import CurrentUser, RequireUser, safe_next
from paperfeed.http.csrf import CsrfDep
from paperfeed.http.deps import DbId, FactoryDep, SettingsDep, client_ip
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
    factory: FactoryDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    email: Field = "",
    username: Field = "",
    password: Field = "",
) -> Response:
    """Create an account and mail a verification link; the same answer whether the email is known or not."""
    if not settings.registration_open:
        raise Forbidden("registration is closed on this site")
    try:
        result = flows.sign_up(
            factory,
            settings,
            ip=client_ip(request, settings),
            email=email,
            username=username,
            password=password,
        )
    except AccountError as exc:  # the form again, with what the user typed
        ctx = {"error": str(exc), "email": email[:320], "username": username[:64], "open": True}
        return render(request, "signup.html", ctx, status_code=400)
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
    request: Request, _csrf: CsrfDep, factory: FactoryDep, settings: SettingsDep, token: Field = ""
) -> Response:
    """Confirm the address in a verification token."""
    try:
        flows.verify_email(factory, settings, token)
    except AccountError as exc:
        return render(
            request, "verify.html", {"state": "error", "message": str(exc), "token": ""}, status_code=400
        )
    return render(request, "verify.html", {"state": "done", "message": "", "token": ""})


@router.post("/verify/resend")
def resend_verification(
    request: Request,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: CurrentUser,
    background: BackgroundTasks,
    email: Field = "",
) -> Response:
    """Mail a new verification link (to the signed-in user, or to the address given); same answer always."""
    address = user.email if user is not None else flows.email_key(email)
    target = flows.resend_verification(factory, settings, ip=client_ip(request, settings), address=address)
    if target is not None:
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
    factory: FactoryDep,
    settings: SettingsDep,
    email: Field = "",
    password: Field = "",
    next: Field = "/",
) -> Response:
    """Check the password and start a new session (a new id: a planted one is never adopted)."""
    done = flows.log_in(
        factory,
        settings,
        ip=client_ip(request, settings),
        email=email,
        password=password,
        old_session=getattr(request.state, "session_id", None),
    )
    if done is None:
        ctx = {"error": WRONG_LOGIN, "email": "", "next": safe_next(next)}
        return render(request, "login.html", ctx, status_code=400)
    response = RedirectResponse(safe_next(next), status_code=303)
    http_session.set_cookie(response, settings, done.session_id)
    return response


@router.post("/logout")
def logout(request: Request, _csrf: CsrfDep, factory: FactoryDep, settings: SettingsDep) -> Response:
    """End this session (the row is deleted, so a copied cookie stops working too)."""
    flows.log_out(
        factory, getattr(request.state, "session_id", None) or http_session.cookie_value(request.scope)
    )
    response = RedirectResponse("/", status_code=303)
    http_session.clear_cookie(response, settings)
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
    factory: FactoryDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    email: Field = "",
) -> Response:
    """Mail a reset link when the address has an account; the same answer when it has none."""
    address = flows.email_key(email)
    user = flows.request_reset(factory, settings, ip=client_ip(request, settings), address=address)
    if user is not None:
        background.add_task(accounts.send_reset, settings, user)
    return render(request, "reset.html", {"sent": True, "error": None})


@router.get("/reset/confirm")
def reset_confirm_form(
    request: Request,
    factory: FactoryDep,
    settings: SettingsDep,
    token: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """The page a reset link opens: a form for the new password (or why the link is dead)."""
    try:
        flows.check_reset(factory, settings, token)
    except AccountError as exc:
        return render(
            request, "reset_confirm.html", {"token": "", "error": str(exc), "done": False}, status_code=400
        )
    return render(request, "reset_confirm.html", {"token": token, "error": None, "done": False})


@router.post("/reset/confirm")
def reset_confirm(
    request: Request,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    token: Field = "",
    password: Field = "",
) -> Response:
    """Set the new password; every session of the account ends and the link stops working."""
    try:
        flows.check_reset(factory, settings, token)
    except AccountError as exc:  # a dead link: no form, a way to ask for a new one
        ctx = {"token": "", "error": str(exc), "done": False}
        return render(request, "reset_confirm.html", ctx, status_code=400)
    try:
        flows.reset_password(factory, settings, token, password)
    except AccountError as exc:  # a bad password: the form again, the link still good
        ctx = {"token": token, "error": str(exc), "done": False}
        return render(request, "reset_confirm.html", ctx, status_code=400)
    return render(request, "reset_confirm.html", {"token": "", "error": None, "done": True})


# --- account settings ---


def _account_page(
    request: Request,
    factory: sessionmaker[Session],
    user: User,
    *,
    message: str | None = None,
    error: str | None = None,
    new_token: tokens.NewToken | None = None,
    status_code: int = 200,
) -> Response:
    with factory() as db:
        fresh = db.get(User, user.id) or user
        mine = tokens.list_for(db, user.id)
    ctx = {
        "user": fresh,
        "tokens": mine,
        "message": message,
        "error": error,
        "new_token": new_token,
    }
    response = render(request, "account.html", ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # a new token's secret must not sit in a cache
    return response


@router.get("/account")
def account(request: Request, factory: FactoryDep, user: RequireUser) -> Response:
    """Settings: password, API tokens, account deletion."""
    return _account_page(request, factory, user)


@router.post("/account/password")
def change_password(
    request: Request,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireUser,
    current: Field = "",
    password: Field = "",
    revoke_tokens: Field = "",
) -> Response:
    """Change the password (the current one is required); other sessions end, API tokens on request."""
    try:
        flows.change_password(
            factory,
            settings,
            user,
            ip=client_ip(request, settings),
            current=current,
            password=password,
            keep_session=getattr(request.state, "session_id", None),
            revoke_tokens=bool(revoke_tokens),
        )
    except AccountError as exc:
        return _account_page(request, factory, user, error=str(exc), status_code=400)
    done = "Password changed. Other sessions were logged out" + (
        " and your API tokens revoked." if revoke_tokens else "."
    )
    return _account_page(request, factory, user, message=done)


@router.post("/account/tokens")
def create_token(
    request: Request,
    _csrf: CsrfDep,
    factory: FactoryDep,
    user: RequireUser,
    name: Field = "",
    scope: Field = tokens.READ,
) -> Response:
    """Create a named API token (read or write) and show its secret, once."""
    try:
        new = flows.create_token(factory, user, name, scope=scope)
    except tokens.TokenError as exc:
        return _account_page(request, factory, user, error=str(exc), status_code=exc.status)
    return _account_page(request, factory, user, new_token=new)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: DbId, _csrf: CsrfDep, factory: FactoryDep, user: RequireUser) -> Response:
    """Revoke one of the user's API tokens."""
    flows.revoke_token(factory, user.id, token_id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/delete")
def delete_account(
    request: Request,
    _csrf: CsrfDep,
    factory: FactoryDep,
    settings: SettingsDep,
    user: RequireUser,
    password: Field = "",
) -> Response:
    """Delete the account after the password is confirmed: sessions, tokens, votes, private lists go."""
    try:
        flows.delete_account(factory, settings, user, ip=client_ip(request, settings), password=password)
    except AccountError as exc:
        return _account_page(request, factory, user, error=str(exc), status_code=400)
    request.state.user = None  # the page below is rendered logged out
    response = _message(request, "Account deleted", "Your account and its data were deleted. Goodbye.")
    http_session.clear_cookie(response, settings)
    return response
