"""Signed, expiring tokens for links sent by mail and for forms (itsdangerous), keyed by the site secret."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from paperfeed.config import Settings

__all__ = ["BadSignature", "SignatureExpired", "load", "secret_key", "serializer", "sign"]


def secret_key(settings: Settings) -> str:
    """The configured secret, or one created once (mode 0600) in data_dir/secret.key and reused after."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when two processes race to create it, one wins and the other reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    """A serializer whose tokens are valid for one purpose only (the salt), e.g. 'unsubscribe'."""
    return URLSafeTimedSerializer(secret_key(settings), salt=f"paperfeed:{purpose}")


def sign(settings: Settings, purpose: str, payload: Any) -> str:
    """A URL-safe signed token carrying payload (JSON-serialisable) for one purpose."""
    return str(serializer(settings, purpose).dumps(payload))


def load(settings: Settings, purpose: str, token: str, *, max_age_s: int | None = None) -> Any:
    """The payload of a token; raises BadSignature (or its subclass SignatureExpired) when invalid."""
    return serializer(settings, purpose).loads(token, max_age=max_age_s)
