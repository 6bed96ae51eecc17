"""Security headers on every response: `nosniff` everywhere, and a Content-Security-Policy for /docs.

Pages rendered from templates set their own CSP (web/templating.render). JSON, feeds, static files and the
API docs did not say `nosniff`, so a browser could sniff a JSON body holding ingested text as HTML. The API
docs (Swagger UI, served from the package by fastapi-offline) get a policy that admits exactly their own
files and their one inline start-up script, by its hash, computed from the page as it is sent.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeadersMiddleware", "docs_csp"]

# An inline <script> (no src attribute) and its body.
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def docs_csp(page: bytes) -> str:
    """The policy for the Swagger UI page: its own files, and its inline scripts by their sha256 only."""
    scripts = ["'self'"] + [
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _INLINE_SCRIPT.finditer(page)
    ]
    return (
        f"default-src 'none'; script-src {' '.join(scripts)}; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    """Pure ASGI middleware: adds `X-Content-Type-Options: nosniff` to every HTTP response, and the
    /docs policy to the docs page; headers a route already set are kept."""

    def __init__(self, app: ASGIApp, *, docs_path: str | None = "/docs") -> None:
        """`docs_path`: where the API docs page is served (None: no docs page)."""
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; decorate the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.docs_path:
            await self._docs(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_nosniff)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The docs page is about 1 KB: hold it until complete, hash its inline script, then send it.
        start: Message | None = None
        body: list[bytes] = []

        async def send_docs(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = b"".join(body)
            headers = MutableHeaders(scope=start)
            headers.setdefault("X-Content-Type-Options", "nosniff")
            headers.setdefault("Content-Security-Policy", docs_csp(page))
            await send(start)
            await send({"type": "http.response.body", "body": page, "more_body": False})

        await self.app(scope, receive, send_docs)
