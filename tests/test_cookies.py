"""scope_cookie: one cookie from a raw ASGI scope, within bounds, never from a header that fails to parse."""

from __future__ import annotations

from paperfeed.cookies import scope_cookie


def _scope(header: bytes) -> dict[str, object]:
    return {"type": "http", "headers": [(b"host", b"x"), (b"cookie", header)]}


def test_the_named_cookie_within_bounds() -> None:
    scope = _scope(b"other=1; pf_x=" + b"a" * 20)
    assert scope_cookie(scope, "pf_x", min_len=20) == "a" * 20
    assert scope_cookie(scope, "pf_x", min_len=21) is None  # too short
    assert scope_cookie(_scope(b"pf_x=" + b"a" * 129), "pf_x", min_len=1) is None  # too long


def test_absent_or_unparsable_gives_none() -> None:
    assert scope_cookie({"type": "http", "headers": []}, "pf_x", min_len=1) is None
    assert scope_cookie(_scope(b"other=1"), "pf_x", min_len=1) is None
    assert scope_cookie(_scope(b'pf_x="unterminated; \x7f'), "pf_x", min_len=1) is None
