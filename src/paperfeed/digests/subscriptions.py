"""Subscribing (double opt-in), confirming, preferences and unsubscribing: the services the web pages call.

Links carry signed tokens (paperfeed.signing) with payload {"s": subscription id, "v": token_version}:
- confirm ("subscribe-confirm"): expires after settings.digest_confirm_max_age_s; only the current
  token_version is accepted.
- preferences ("preferences"): no expiry; revoked by bumping token_version (done on re-subscribing).
- unsubscribe ("unsubscribe"): never expires and is never revoked, so every mail ever sent can stop the
  mail; a tampered token fails the signature check and changes nothing.
Subscribing answers the same whatever the address's state (no enumeration); the mail it triggers
(confirmation, or a preferences link for an active address) is rate-limited per address.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from paperfeed import signing
from paperfeed.config import Settings
from paperfeed.digests.models import FREQUENCIES, Subscription
from paperfeed.errors import UserError
from paperfeed.mail import send_message
from paperfeed.timeutil import as_utc

__all__ = [
    "Mailing",
    "Preferences",
    "SubscriptionError",
    "TokenError",
    "confirm",
    "confirm_token",
    "normalise_email",
    "parse_preferences",
    "preferences_token",
    "send_mailing",
    "subscribe",
    "subscription_for",
    "unsubscribe",
    "unsubscribe_token",
    "update_preferences",
]

log = logging.getLogger(__name__)

CONFIRM, PREFERENCES, UNSUBSCRIBE = "subscribe-confirm", "preferences", "unsubscribe"
# Deliberately simple: one @, a dotted domain, no spaces or controls; the confirmation mail is the real test.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_CATEGORY = re.compile(r"[a-z][a-z-]{0,20}(?:\.[A-Za-z][A-Za-z-]{0,20})?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")
MAX_CATEGORIES, MAX_SEARCHES, MAX_AUTHORS = 20, 10, 20
MAX_SEARCH_LEN, MAX_AUTHOR_LEN = 120, 100


class SubscriptionError(UserError):
    """Input the reader must correct (bad address, bad preferences); the message says what."""


class TokenError(UserError):
    """A link whose token is tampered with, expired, revoked, or names no subscription."""


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def normalise_email(text: str) -> str:
    """The address trimmed and lower-cased; SubscriptionError when it is not a plausible address."""
    email = (text or "").strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise SubscriptionError("Please enter a valid email address, like name@example.org.")
    return email


def _token(settings: Settings, purpose: str, sub: Subscription) -> str:
    return signing.sign(settings, purpose, {"s": sub.id, "v": sub.token_version})


def confirm_token(settings: Settings, sub: Subscription) -> str:
    """The expiring token of a confirmation link."""
    return _token(settings, CONFIRM, sub)


def preferences_token(settings: Settings, sub: Subscription) -> str:
    """The token of a preferences link."""
    return _token(settings, PREFERENCES, sub)


def unsubscribe_token(settings: Settings, sub: Subscription) -> str:
    """The token of an unsubscribe link."""
    return _token(settings, UNSUBSCRIBE, sub)


def _link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}{path}?token={token}"


def subscription_for(session: Session, settings: Settings, token: str, purpose: str) -> Subscription:
    """The subscription a token names, checked for its purpose; TokenError otherwise."""
    max_age = settings.digest_confirm_max_age_s if purpose == CONFIRM else None
    try:
        payload = signing.load(settings, purpose, token or "", max_age_s=max_age)
    except signing.SignatureExpired:
        raise TokenError("This link has expired. Subscribe again to get a new one.") from None
    except signing.BadSignature:
        raise TokenError("This link is not valid. Check that it was copied whole.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise TokenError("This link is not valid.")
    sub = session.get(Subscription, payload["s"])
    if sub is None:
        raise TokenError("This link is not valid any more.")
    # Unsubscribe links are never revoked; the others die when token_version moves on.
    if purpose != UNSUBSCRIBE and payload.get("v") != sub.token_version:
        raise TokenError("This link has been replaced by a newer one. Use the most recent mail.")
    return sub


@dataclass(frozen=True, slots=True)
class Mailing:
    """A mail to send once the transaction that decided it has committed."""

    subscription_id: int
    email: str
    kind: str  # "confirm" or "manage"
    url: str
    claimed_at: datetime
    previous: datetime | None


def subscribe(
    factory: sessionmaker[Session], settings: Settings, email: str, *, now: datetime | None = None
) -> Mailing | None:
    """Record a subscription request; the mail to send, or None when one went out too recently.

    Unknown address: a pending subscription. Pending: the confirmation again. Unsubscribed or bounced:
    pending again, old links revoked. Active: a mail with the preferences link. Raises SubscriptionError
    for an invalid address only, so callers answer every valid address the same way.
    """
    address = normalise_email(email)
    now = now or utcnow()
    for attempt in range(2):
        try:
            with factory() as session, session.begin():
                return _subscribe(session, settings, address, now)
        except IntegrityError:
            # Two requests for a new address raced; the loser finds the winner's row on the retry.
            if attempt:
                raise
    return None


def _subscribe(session: Session, settings: Settings, address: str, now: datetime) -> Mailing | None:
    sub = session.scalar(select(Subscription).where(Subscription.email == address))
    if sub is None:
        sub = Subscription(
            email=address,
            status="pending",
            frequency="daily",
            categories=[],
            saved_searches=[],
            authors=[],
            max_papers=10,
            only_code=False,
            bounce_count=0,
            token_version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(sub)
        session.flush()
    elif sub.status in ("unsubscribed", "bounced"):
        sub.status = "pending"
        sub.token_version += 1
        sub.notice_sent_at = None
        sub.updated_at = now
        session.flush()
    previous = None if sub.notice_sent_at is None else as_utc(sub.notice_sent_at)
    cutoff = now - timedelta(seconds=settings.digest_resend_interval_s)
    # Claim the right to mail atomically: of two concurrent requests only one sees rowcount 1.
    claimed = session.execute(
        update(Subscription)
        .where(
            Subscription.id == sub.id,
            or_(Subscription.notice_sent_at.is_(None), Subscription.notice_sent_at <= cutoff),
        )
        .values(notice_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    if sub.status == "active":
        return Mailing(
            sub.id,
            address,
            "manage",
            _link(settings, "/preferences", preferences_token(settings, sub)),
            now,
            previous,
        )
    return Mailing(
        sub.id,
        address,
        "confirm",
        _link(settings, "/subscribe/confirm", confirm_token(settings, sub)),
        now,
        previous,
    )


def send_mailing(factory: sessionmaker[Session], settings: Settings, mailing: Mailing) -> bool:
    """Send a confirmation/preferences mail; on SMTP failure log it, free the rate limit, return False."""
    from paperfeed.digests.render import render_confirmation

    message = render_confirmation(settings, email=mailing.email, kind=mailing.kind, url=mailing.url)
    try:
        send_message(settings, message)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning(
            "could not send the %s mail to subscription %s: %s", mailing.kind, mailing.subscription_id, exc
        )
        with factory() as session, session.begin():
            session.execute(
                update(Subscription)
                .where(
                    Subscription.id == mailing.subscription_id,
                    Subscription.notice_sent_at == mailing.claimed_at,
                )
                .values(notice_sent_at=mailing.previous)
            )
        return False
    return True


def confirm(
    factory: sessionmaker[Session], settings: Settings, token: str, *, now: datetime | None = None
) -> Subscription:
    """Activate the subscription a confirmation token names (idempotent); TokenError when invalid."""
    now = now or utcnow()
    with factory() as session, session.begin():
        sub = subscription_for(session, settings, token, CONFIRM)
        if sub.status == "pending":
            sub.status = "active"
            sub.confirmed_at = now
            sub.bounce_count = 0
            sub.updated_at = now
        elif sub.status != "active":
            raise TokenError("This subscription was stopped. Subscribe again to restart it.")
        session.flush()
        session.expunge(sub)
    return sub


def unsubscribe(
    factory: sessionmaker[Session], settings: Settings, token: str, *, now: datetime | None = None
) -> Subscription:
    """Stop the digests of the subscription an unsubscribe token names (idempotent)."""
    now = now or utcnow()
    with factory() as session, session.begin():
        sub = subscription_for(session, settings, token, UNSUBSCRIBE)
        if sub.status != "unsubscribed":
            sub.status = "unsubscribed"
            sub.unsubscribed_at = now
            sub.updated_at = now
        session.flush()
        session.expunge(sub)
    return sub


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a reader can choose, validated."""

    frequency: str
    categories: list[str]
    saved_searches: list[str]
    authors: list[str]
    max_papers: int
    only_code: bool


def _lines(text: str, *, limit: int, longest: int, what: str) -> list[str]:
    seen: dict[str, None] = {}
    for raw in (text or "").splitlines():
        line = " ".join(_CONTROLS.sub(" ", raw).split())
        if not line:
            continue
        if len(line) > longest:
            raise SubscriptionError(f"{what} can be at most {longest} characters: {line[:40]!r}…")
        if line.casefold() not in {k.casefold() for k in seen}:
            seen[line] = None
    if len(seen) > limit:
        raise SubscriptionError(f"At most {limit} {what.lower()}, one per line.")
    return list(seen)


def parse_preferences(form: Mapping[str, Any]) -> Preferences:
    """Validated preferences from form fields; SubscriptionError naming the first problem."""
    frequency = str(form.get("frequency", "daily"))
    if frequency not in FREQUENCIES:
        raise SubscriptionError("Choose daily or weekly.")
    cats: list[str] = []
    for raw in re.split(r"[\s,;]+", str(form.get("categories", ""))):
        if not raw:
            continue
        if not _CATEGORY.fullmatch(raw):
            raise SubscriptionError(
                f"{raw[:40]!r} is not an arXiv category (like cs.CL, astro-ph or math.PR)."
            )
        cat = raw.split(".", 1)[0].lower() + ("." + raw.split(".", 1)[1] if "." in raw else "")
        if cat not in cats:
            cats.append(cat)
    if len(cats) > MAX_CATEGORIES:
        raise SubscriptionError(f"At most {MAX_CATEGORIES} categories.")
    searches = _lines(
        str(form.get("saved_searches", "")), limit=MAX_SEARCHES, longest=MAX_SEARCH_LEN, what="Saved searches"
    )
    if any(not re.search(r"\w", s) for s in searches):
        raise SubscriptionError("A saved search needs at least one word.")
    authors = _lines(str(form.get("authors", "")), limit=MAX_AUTHORS, longest=MAX_AUTHOR_LEN, what="Authors")
    try:
        max_papers = int(str(form.get("max_papers", "10")).strip())
    except ValueError:
        raise SubscriptionError("The number of papers must be a whole number from 1 to 50.") from None
    if not 1 <= max_papers <= 50:
        raise SubscriptionError("The number of papers must be from 1 to 50.")
    only_code = str(form.get("only_code", "")).lower() in ("1", "on", "true", "yes")
    return Preferences(frequency, cats, searches, authors, max_papers, only_code)


def update_preferences(
    factory: sessionmaker[Session],
    settings: Settings,
    token: str,
    prefs: Preferences,
    *,
    now: datetime | None = None,
) -> Subscription:
    """Save preferences for the subscription a preferences token names; TokenError when invalid."""
    now = now or utcnow()
    with factory() as session, session.begin():
        sub = subscription_for(session, settings, token, PREFERENCES)
        sub.frequency = prefs.frequency
        sub.categories = list(prefs.categories)
        sub.saved_searches = list(prefs.saved_searches)
        sub.authors = list(prefs.authors)
        sub.max_papers = prefs.max_papers
        sub.only_code = prefs.only_code
        sub.updated_at = now
        session.flush()
        session.expunge(sub)
    return sub
