"""Reading one cookie from a raw ASGI scope, for middleware that runs before a Request exists."""

from __future__ import annotations

import re

from starlette.requests import cookie_parser
from starlette.types import Scope

# Every cookie paperfeed sets is URL-safe base64 (secrets.token_urlsafe): anything else is not ours.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def scope_cookie(scope: Scope, name: str, *, min_len: int, max_len: int = 128) -> str | None:
    """The value of cookie `name` when it looks like one of our tokens of [min_len, max_len] characters.

    The header is parsed the way browsers write it and Starlette reads it (split on ';', no strict
    RFC 2109 grammar), so a neighbour's cookie holding JSON or a space cannot hide ours, as it did with
    SimpleCookie, which drops the whole header. A value we could not have set gives None.
    """
    # HTTP/2 may split the Cookie header in several fields; they are one list (RFC 9113, 8.2.3).
    header = "; ".join(v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"cookie")
    value = cookie_parser(header).get(name) if header else None
    if value is not None and min_len <= len(value) <= max_len and _TOKEN.fullmatch(value):
        return value
    return None
