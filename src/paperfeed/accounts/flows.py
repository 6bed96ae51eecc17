"""The account use cases as web and API call them, each owning its transactions (docs/architecture.md).

users.py, sessions.py, tokens.py and ratelimit.py are steps that take a Session; the functions here compose
them for one request. Rate limits are counted first, in a transaction of their own committed before the
password check or the mail (so a concurrent burst sees every hit), then the work runs in a second one. A
check that succeeds takes back the hits of limits that count failures.

`ip` is the client address as http/ computed it (trusted proxies only).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from paperfeed.accounts import ratelimit, sessions, tokens, users
from paperfeed.accounts.models import ApiToken, User
from paperfeed.accounts.users import AccountError, SignUp
from paperfeed.config import Settings

__all__ = [
    "LoggedIn",
    "change_password",
    "check_reset",
    "create_account",
    "create_token",
    "delete_account",
    "email_key",
    "log_in",
    "log_out",
    "purge_expired",
    "request_reset",
    "resend_verification",
    "reset_password",
    "revoke_token",
    "set_role",
    "sign_up",
    "token_list",
    "verify_email",
]

Factory = sessionmaker[Session]


def email_key(email: str) -> str:
    """The address as rate-limit keys see it (normalised when valid)."""
    try:
        return users.normalize_email(email)
    except AccountError:
        return email.strip().lower()[:320]


def _refund(factory: Factory, limits: list[ratelimit.Limit], counted_at: float) -> None:
    with factory() as db, db.begin():
        for lim in limits:
            ratelimit.refund(db, lim, now=counted_at)


def sign_up(
    factory: Factory, settings: Settings, *, ip: str, email: str, username: str, password: str
) -> SignUp:
    """Check the form, count it against the mail limits, then create the account (or find the owner's)."""
    form = users.check_sign_up(email=email, username=username, password=password)
    ratelimit.spend_now(factory, list(ratelimit.mail_limits(settings, ip, form.email)))  # a valid form counts
    with factory() as db, db.begin():
        return users.sign_up(db, settings, email=email, username=username, password=password)


def verify_email(factory: Factory, settings: Settings, token: str) -> User:
    """Confirm the address a verification token names."""
    with factory() as db, db.begin():
        return users.verify_email(db, settings, token)


def _mail_target(factory: Factory, settings: Settings, ip: str, address: str) -> User | None:
    ratelimit.spend_now(factory, list(ratelimit.mail_limits(settings, ip, address)))
    with factory() as db:
        return users.by_email(db, address)


def resend_verification(factory: Factory, settings: Settings, *, ip: str, address: str) -> User | None:
    """The unconfirmed account a new verification link should go to, if any (counted either way)."""
    target = _mail_target(factory, settings, ip, address)
    return target if target is not None and target.email_verified_at is None else None


def request_reset(factory: Factory, settings: Settings, *, ip: str, address: str) -> User | None:
    """The account a reset link should go to, if the address has one (counted either way)."""
    return _mail_target(factory, settings, ip, address)


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A successful login: the user and the new session's raw id (for the cookie)."""

    user: User
    session_id: str


def log_in(
    factory: Factory, settings: Settings, *, ip: str, email: str, password: str, old_session: str | None
) -> LoggedIn | None:
    """Check the password, start a new session (a new id: a planted one is never adopted); None if wrong."""
    per_ip, account_ip, account = ratelimit.login_limits(settings, ip, email_key(email))
    # Counted as a failure before the password is checked; a success takes its hits back below.
    counted_at = ratelimit.spend_now(factory, [per_ip, account_ip, account])
    with factory() as db, db.begin():
        user = users.authenticate(db, settings, email, password)
        if user is None:
            return None
        ratelimit.reset(db, account_ip)  # this account from this address: the owner is back
        for lim in (per_ip, account):  # only failures count against these
            ratelimit.refund(db, lim, now=counted_at)
        if old_session:
            sessions.delete_one(db, old_session)
        sessions.purge_expired(db, settings, user_id=user.id)  # sessions this user abandoned long ago
        return LoggedIn(user, sessions.create(db, user))


def log_out(factory: Factory, session_id: str | None) -> None:
    """End a session (the row goes, so a copied cookie stops working too)."""
    if session_id:
        with factory() as db, db.begin():
            sessions.delete_one(db, session_id)


def check_reset(factory: Factory, settings: Settings, token: str) -> User:
    """The account a reset link is for (AccountError when the link is dead)."""
    with factory() as db:
        return users.user_for_reset(db, settings, token)


def reset_password(factory: Factory, settings: Settings, token: str, password: str) -> User:
    """Set the new password from a reset link; every session and API token of the account ends."""
    with factory() as db, db.begin():
        return users.reset_password(db, settings, token, password)


def change_password(
    factory: Factory,
    settings: Settings,
    user: User,
    *,
    ip: str,
    current: str,
    password: str,
    keep_session: str | None,
    revoke_tokens: bool,
) -> None:
    """Change the password after a rate-limited check of the current one."""
    limits = ratelimit.recheck_limits(settings, ip, user.id)
    counted_at = ratelimit.spend_now(factory, limits)  # a wrong current password counts like a failed login
    with factory() as db, db.begin():
        users.change_password(
            db, settings, user, current, password, keep_session=keep_session, revoke_tokens=revoke_tokens
        )
    _refund(factory, limits, counted_at)


def delete_account(factory: Factory, settings: Settings, user: User, *, ip: str, password: str) -> None:
    """Delete the account after a rate-limited password check."""
    limits = ratelimit.recheck_limits(settings, ip, user.id)
    counted_at = ratelimit.spend_now(factory, limits)
    with factory() as db, db.begin():
        users.delete_account(db, settings, user, password)
    _refund(factory, limits, counted_at)


def create_token(factory: Factory, user: User, name: str, *, scope: str) -> tokens.NewToken:
    """Create a named API token; its secret is in the answer only."""
    with factory() as db, db.begin():
        return tokens.create(db, user, name, scope=scope)


def revoke_token(factory: Factory, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when the user has no such token."""
    with factory() as db, db.begin():
        return tokens.revoke(db, user_id, token_id)


def token_list(factory: Factory, user_id: int) -> list[ApiToken]:
    """The user's API tokens (never their secrets)."""
    with factory() as db:
        return tokens.list_for(db, user_id)


# --- operator commands ---


def create_account(
    factory: Factory,
    settings: Settings,
    *,
    email: str,
    username: str,
    password: str,
    role: str,
    verified: bool,
) -> User:
    """Create an account directly (the CLI's create-moderator): no mail, no rate limit."""
    with factory() as db, db.begin():
        return users.create_user(
            db, settings, email=email, username=username, password=password, role=role, verified=verified
        )


def set_role(factory: Factory, email: str, role: str) -> User:
    """Give the account with this address the role `role` (AccountError when there is none)."""
    address = email.strip().lower()
    with factory() as db, db.begin():
        user = users.by_email(db, address)
        if user is None:
            raise AccountError(f"no account with the email {address}")
        user.role = role
        return user


def purge_expired(factory: Factory, settings: Settings) -> tuple[int, int]:
    """Delete expired login sessions and finished rate-limit windows: (sessions, windows)."""
    with factory() as db, db.begin():
        gone = sessions.purge_expired(db, settings)
        windows = ratelimit.purge(db, older_than_s=2 * settings.rate_limit_window_s)
        return gone, windows
