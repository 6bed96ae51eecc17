"""Reading one cookie from a raw ASGI scope, for middleware that runs before a Request exists."""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.types import Scope


def scope_cookie(scope: Scope, name: str, *, min_len: int, max_len: int = 128) -> str | None:
    """The value of cookie `name` when its length is within [min_len, max_len]; None when absent or odd.

    A Cookie header that does not parse yields None: a token we did not set is never trusted.
    """
    for header, value in scope.get("headers", []):
        if header == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return None
            morsel = jar.get(name)
            if morsel and min_len <= len(morsel.value) <= max_len:
                return morsel.value
    return None
