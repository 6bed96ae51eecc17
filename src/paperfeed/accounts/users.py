"""Accounts: sign up, email verification, authentication, password changes and resets, deletion.

Passwords are hashed with argon2id at OWASP's recommended minimum (Password Storage Cheat Sheet:
m=19 MiB, t=2, p=1; about 40 ms on this project's machine), configurable in Settings. A hash made with other
parameters is replaced at the next successful login. Reset links are signed, expire, and carry a fingerprint
of the current password hash: once the password changes (new salt) the link stops working, so it is
single-use without a table of used tokens.
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperfeed import signing
from paperfeed.accounts import sessions, tokens
from paperfeed.accounts.models import User, UsernameHold
from paperfeed.community.models import Vote
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.errors import UserError
from paperfeed.mail import new_message, send_message

log = logging.getLogger(__name__)

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,31}")
# Loose (the verification mail is the real test), but no spaces, controls, second '@', nor characters that
# need quoting in RFC 5322: quoted local parts are refused (nobody signs up with one).
EMAIL = re.compile(
    r"[^@\s\x00-\x1f\x7f<>()\[\]\\,;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+"
)
MIN_PASSWORD = 8  # OWASP ASVS 2.1.1 / NIST 800-63B minimum
MAX_PASSWORD = 1024  # long passphrases are welcome; megabyte "passwords" are a denial of service
RESERVED = frozenset(
    {"admin", "administrator", "moderator", "root", "system", "paperfeed", "deleted", "anonymous"}
)


class AccountError(UserError):
    """A request about an account that cannot be done (the message is safe to show)."""


def hasher(settings: Settings) -> PasswordHasher:
    """argon2id with the configured (OWASP) parameters."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hash_password(settings: Settings, password: str) -> str:
    """An argon2id hash of password."""
    return hasher(settings).hash(password)


def check_password(settings: Settings, stored: str, password: str) -> bool:
    """True when password matches the stored hash (any argon2 parameters)."""
    try:
        return hasher(settings).verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def normalize_email(email: str) -> str:
    """The stored form of an address (trimmed, lower-cased); AccountError when it is not one."""
    email = email.strip().lower()
    if len(email) > 320 or not EMAIL.fullmatch(email):
        raise AccountError("enter a valid email address")
    return email


def validate_username(username: str) -> str:
    """3-32 letters, digits, '_' or '-', starting with a letter or digit."""
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise AccountError(
            "a username is 3 to 32 letters, digits, '_' or '-' (starting with a letter or digit)"
        )
    if username.lower() in RESERVED:
        raise AccountError("that username is reserved")
    return username


def validate_password(password: str) -> str:
    """At least 8 and at most 1024 characters."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    return password


@dataclass(frozen=True)
class SignUpForm:
    """A sign-up form that is well formed (what can be checked without the database)."""

    email: str
    username: str
    password: str


def check_sign_up(*, email: str, username: str, password: str) -> SignUpForm:
    """The normalised form; AccountError when a field is malformed."""
    return SignUpForm(normalize_email(email), validate_username(username), validate_password(password))


@dataclass(frozen=True)
class SignUp:
    """The outcome of a sign-up: a new account to verify, or a mail to the existing owner."""

    kind: Literal["created", "exists"]
    user: User


def by_email(db: Session, email: str) -> User | None:
    """The user with this (normalised) email, or None."""
    return db.scalars(select(User).where(User.email == email)).first()


def username_taken(db: Session, username: str) -> bool:
    """True when the username (case-insensitively) belongs to someone or is held by a sign-up."""
    name = username.lower()
    owned = select(User.id).where(func.lower(User.username) == name)
    held = select(UsernameHold.username).where(UsernameHold.username == name)
    return bool(db.scalar(select(exists(owned) | exists(held))))


def _hold_username(db: Session, username: str, now: datetime) -> None:
    """Hold a username for a sign-up that created no account (idempotent)."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    hold = insert(UsernameHold).values(username=username.lower(), created_at=now)
    db.execute(hold.on_conflict_do_nothing())


def sign_up(
    db: Session, settings: Settings, *, email: str, username: str, password: str, now: datetime | None = None
) -> SignUp:
    """Create an unverified account, or find the existing one for this email; caller commits and mails."""
    now = now or datetime.now(UTC)
    form = check_sign_up(email=email, username=username, password=password)
    email, username = form.email, form.username
    # Hashed before the lookup: a known email must cost the same time as an unknown one.
    password_hash = hash_password(settings, password)
    # Checked first, so this answer is the same for every email.
    if username_taken(db, username):
        raise AccountError("that username is taken; choose another")
    existing = by_email(db, email)
    if existing is not None:
        # No account is created, but the name is taken all the same, as a new account's would be: a
        # second sign-up with it cannot tell whether the first one's email was known.
        _hold_username(db, username, now)
        return SignUp("exists", existing)
    user = User(email=email, username=username, password_hash=password_hash, role="user", created_at=now)
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        # Two sign-ups raced: the other one won this email or username.
        existing = by_email(db, email)
        if existing is not None:
            _hold_username(db, username, now)
            return SignUp("exists", existing)
        raise AccountError("that username is taken; choose another") from None
    return SignUp("created", user)


def create_user(
    db: Session,
    settings: Settings,
    *,
    email: str,
    username: str,
    password: str,
    role: str = "user",
    verified: bool = False,
    now: datetime | None = None,
) -> User:
    """Create an account directly (CLI, tests); AccountError when the email or username is taken."""
    now = now or datetime.now(UTC)
    email = normalize_email(email)
    username = validate_username(username)
    validate_password(password)
    if by_email(db, email) is not None:
        raise AccountError(f"an account with {email} exists")
    if username_taken(db, username):
        raise AccountError(f"the username {username} is taken")
    user = User(
        email=email,
        username=username,
        password_hash=hash_password(settings, password),
        role=role,
        email_verified_at=now if verified else None,
        created_at=now,
    )
    db.add(user)
    db.flush()
    return user


# A real hash of a random password: verifying against it costs what a real check costs, so a login with an
# unknown email takes as long as one with a known email and a wrong password.
_DUMMY: dict[tuple[int, int, int], str] = {}


def _dummy_hash(settings: Settings) -> str:
    key = (settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)
    if key not in _DUMMY:
        _DUMMY[key] = hash_password(settings, "not a password of anyone: timing equaliser")
    return _DUMMY[key]


def authenticate(db: Session, settings: Settings, email: str, password: str) -> User | None:
    """The user when email and password match and the address is confirmed, else None; caller commits.

    An outdated hash is replaced (rehashed with the current parameters).
    """
    try:
        email = normalize_email(email)
    except AccountError:
        email = ""
    user = by_email(db, email) if email and len(password) <= MAX_PASSWORD else None
    if user is None:
        check_password(settings, _dummy_hash(settings), password[:MAX_PASSWORD])
        return None
    if not check_password(settings, user.password_hash, password):
        return None
    if user.email_verified_at is None:
        # Until the address is confirmed the account is not usable: else whoever signs up with someone
        # else's unknown address could log in with the password they chose and so learn it was unknown.
        return None
    if hasher(settings).check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(settings, password)
    return user


# --- links sent by mail ---


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def verify_token(settings: Settings, user: User) -> str:
    """A signed link token confirming user's current email address."""
    return signing.sign(settings, "verify-email", {"u": user.id, "e": user.email})


def verify_email(db: Session, settings: Settings, token: str, *, now: datetime | None = None) -> User:
    """Mark the address in a verification token as confirmed (idempotent); AccountError when invalid."""
    now = now or datetime.now(UTC)
    max_age = int(settings.verify_link_hours * 3600)
    try:
        data = signing.load(settings, "verify-email", token, max_age_s=max_age)
    except signing.SignatureExpired:
        raise AccountError("this link has expired; sign in and ask for a new one") from None
    except signing.BadSignature:
        raise AccountError("this link is not valid") from None
    user = db.get(User, int(data["u"])) if isinstance(data, dict) and "u" in data else None
    if user is None or user.email != data.get("e"):
        raise AccountError("this link is not valid")
    if user.email_verified_at is None:
        user.email_verified_at = now
    return user


def reset_token(settings: Settings, user: User) -> str:
    """A signed password-reset token, valid until the password changes or it expires."""
    return signing.sign(settings, "reset-password", {"u": user.id, "f": _fingerprint(user)})


def user_for_reset(db: Session, settings: Settings, token: str) -> User:
    """The user a live reset token is for; AccountError when expired, used or forged."""
    max_age = int(settings.reset_link_minutes * 60)
    try:
        data = signing.load(settings, "reset-password", token, max_age_s=max_age)
    except signing.SignatureExpired:
        raise AccountError("this reset link has expired; ask for a new one") from None
    except signing.BadSignature:
        raise AccountError("this reset link is not valid") from None
    user = db.get(User, int(data["u"])) if isinstance(data, dict) and "u" in data else None
    if user is None or data.get("f") != _fingerprint(user):
        raise AccountError("this reset link was already used or is no longer valid; ask for a new one")
    return user


def reset_password(
    db: Session, settings: Settings, token: str, new_password: str, *, now: datetime | None = None
) -> User:
    """Set a new password from a reset link, ending every session and revoking every API token.

    The link cannot be used again. Whoever needed a reset may have lost more than the password: anything
    that stood for the account (sessions, tokens) goes with it.
    """
    now = now or datetime.now(UTC)
    user = user_for_reset(db, settings, token)
    validate_password(new_password)
    user.password_hash = hash_password(settings, new_password)
    user.password_changed_at = now
    # The link arrived in the mailbox: that proves the address as well as a verification link does.
    if user.email_verified_at is None:
        user.email_verified_at = now
    sessions.delete_for_user(db, user.id)
    tokens.revoke_all(db, user.id)
    return user


def change_password(
    db: Session,
    settings: Settings,
    user: User,
    current: str,
    new_password: str,
    *,
    keep_session: str | None,
    revoke_tokens: bool = False,
    now: datetime | None = None,
) -> None:
    """Change a password after checking the current one; other sessions end, this one stays.

    With `revoke_tokens`, every API token of the account is revoked too.
    """
    now = now or datetime.now(UTC)
    row = db.get(User, user.id)
    if row is None or not check_password(settings, row.password_hash, current):
        raise AccountError("the current password is wrong")
    validate_password(new_password)
    row.password_hash = hash_password(settings, new_password)
    row.password_changed_at = now
    sessions.delete_for_user(db, row.id, keep_raw=keep_session)
    if revoke_tokens:
        tokens.revoke_all(db, row.id)


def delete_account(db: Session, settings: Settings, user: User, password: str) -> None:
    """Delete an account after checking its password; caller commits.

    Sessions, API tokens, votes and collections go with the row (ON DELETE CASCADE); comments stay, without
    an author (ON DELETE SET NULL). The papers' vote counters are lowered in the same transaction.
    """
    row = db.get(User, user.id)
    if row is None or not check_password(settings, row.password_hash, password):
        raise AccountError("the password is wrong; the account was not deleted")
    voted = select(Vote.paper_id).where(Vote.user_id == row.id)
    db.execute(
        update(Paper).where(Paper.id.in_(voted)).values(vote_count=Paper.vote_count - 1),
        execution_options={"synchronize_session": False},
    )
    db.execute(delete(User).where(User.id == row.id))
    db.expunge(row)


# --- mail ---


def _send(settings: Settings, to: str, subject: str, text: str) -> bool:
    """Send one mail; False (logged) when the SMTP server refused it or could not be reached."""
    try:
        send_message(settings, new_message(settings, to=to, subject=subject, text=text))
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("could not send %r to %s: %s", subject, to, exc)
        return False
    return True


def _link(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def send_verification(settings: Settings, user: User) -> bool:
    """Mail the verification link to user; False when the mail could not be sent."""
    link = _link(settings, "/verify?token=" + verify_token(settings, user))
    hours = int(settings.verify_link_hours)
    text = (
        f"Hello {user.username},\n\nplease confirm your email address for {settings.site_name} by opening "
        f"this link (valid for {hours} hours):\n\n{link}\n\nIf you did not sign up, ignore this mail.\n"
    )
    return _send(settings, user.email, f"Confirm your email address for {settings.site_name}", text)


def send_already_registered(settings: Settings, user: User) -> bool:
    """Tell the owner of an address that someone tried to sign up with it again."""
    text = (
        f"Hello {user.username},\n\nsomeone (maybe you) tried to sign up for {settings.site_name} with this "
        f"address, but you already have an account.\n\nLog in: {_link(settings, '/login')}\n"
        f"Forgot your password? {_link(settings, '/reset')}\n\nIf it was not you, ignore this mail.\n"
    )
    return _send(settings, user.email, f"You already have a {settings.site_name} account", text)


def send_reset(settings: Settings, user: User) -> bool:
    """Mail a password reset link to user."""
    link = _link(settings, "/reset/confirm?token=" + reset_token(settings, user))
    minutes = int(settings.reset_link_minutes)
    text = (
        f"Hello {user.username},\n\nto choose a new password for {settings.site_name}, open this link "
        f"(valid for {minutes} minutes, once):\n\n{link}\n\nIf you did not ask for it, ignore this mail: "
        "your password stays as it is.\n"
    )
    return _send(settings, user.email, f"Reset your {settings.site_name} password", text)
