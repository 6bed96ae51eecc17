"""Which URLs from a source may be stored: absolute http(s) with a host, nothing else (pure)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["MAX_URL_CHARS", "http_url"]

MAX_URL_CHARS = 2048
# Whitespace or control characters inside a URL hide a scheme from naive checks ("java\tscript:").
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f]")


def http_url(value: str | None) -> str | None:
    """`value` without surrounding spaces when it is an absolute http(s) URL with a host, else None.

    `javascript:`, `data:`, `vbscript:`, relative paths and scheme-relative `//host` links are refused, so
    whatever a source sends, a stored URL is one a browser can only navigate to.
    """
    if not value:
        return None
    url = value.strip()
    if not url or len(url) > MAX_URL_CHARS or _BAD_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[::1" and other unparseable netlocs
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return url
