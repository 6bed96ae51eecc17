"""Parse and format arXiv identifiers (new-style 2503.11731 and old-style astro-ph/0601001); pure strings."""

from __future__ import annotations

import re

__all__ = ["InvalidArxivId", "format_arxiv_id", "is_arxiv_category", "parse_arxiv_id"]

# arXiv category codes ("cs.AI", "astro-ph.GA", "hep-th", "math.OC"); anything else (ACM/MSC class text
# some dumps mix in, or a hostile value with quotes and braces) is not a category.
_CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")


def is_arxiv_category(value: str) -> bool:
    """True when `value` is shaped like an arXiv category code."""
    return len(value) <= 64 and _CATEGORY.fullmatch(value) is not None


class InvalidArxivId(ValueError):
    """The text is not an arXiv identifier."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"invalid arXiv id {raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


# Prefixes people paste in front of an id; matched case-insensitively and removed in order.
_PREFIX = re.compile(
    r"^(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/|oai:arxiv\.org:|arxiv:)",
    re.IGNORECASE,
)
_NEW = re.compile(r"(\d{2})(\d{2})\.(\d{4,5})(?:v(\d+))?")
# Old-style archives are lower-case words with hyphens, optionally with a subject class (math.GT).
_OLD = re.compile(r"([a-z]+(?:-[a-z]+)*)(\.[A-Z]{2})?/(\d{2})(\d{2})(\d{3})(?:v(\d+))?")


def _check_month(raw: str, month: int) -> None:
    if not 1 <= month <= 12:
        raise InvalidArxivId(raw, f"month {month:02d} is not 01-12")


def _version(raw: str, text: str | None) -> int | None:
    if text is None:
        return None
    version = int(text)
    if version < 1:
        raise InvalidArxivId(raw, "version must be 1 or more")
    return version


def parse_arxiv_id(raw: str) -> tuple[str, int | None]:
    """Return (canonical id without version, version or None) for any common spelling of an arXiv id."""
    if not isinstance(raw, str):
        raise InvalidArxivId(str(raw), "not a string")
    text = raw.strip()
    if not text:
        raise InvalidArxivId(raw, "empty")
    m = _NEW.fullmatch(text)  # the common case, checked before the costlier clean-up below
    if m is None:
        text = _PREFIX.sub("", text, count=1)
        # URLs may carry a .pdf suffix, a trailing slash, a query or a fragment: none are part of the id.
        for sep in ("?", "#"):
            text = text.split(sep, 1)[0]
        text = text.rstrip("/")
        if text.lower().endswith(".pdf"):
            text = text[:-4]
        m = _NEW.fullmatch(text)
    if m:
        yy, mm, number = int(m.group(1)), int(m.group(2)), m.group(3)
        _check_month(raw, mm)
        yymm = yy * 100 + mm
        if yymm < 704:
            raise InvalidArxivId(raw, "new-style ids start in April 2007 (0704)")
        # Four-digit sequence numbers ran until 1412, five-digit ones from 1501.
        if len(number) == 4 and yymm >= 1501:
            raise InvalidArxivId(raw, "ids from 2015 on have a five-digit number")
        if len(number) == 5 and yymm < 1501:
            raise InvalidArxivId(raw, "ids before 2015 have a four-digit number")
        if int(number) == 0:
            raise InvalidArxivId(raw, "sequence number 0 does not exist")
        return f"{m.group(1)}{m.group(2)}.{number}", _version(raw, m.group(4))

    m = _OLD.fullmatch(text)
    if m:
        yy, mm = int(m.group(3)), int(m.group(4))
        _check_month(raw, mm)
        # Old-style ids were issued from 1991 to March 2007.
        if not (yy >= 91 or yy * 100 + mm <= 703):
            raise InvalidArxivId(raw, "old-style ids run from 1991 to 2007-03")
        # The subject class (math.GT) is not part of the identifier: arXiv files it as math/0309136.
        canonical = f"{m.group(1)}/{m.group(3)}{m.group(4)}{m.group(5)}"
        return canonical, _version(raw, m.group(6))

    raise InvalidArxivId(raw, "expected YYMM.NNNNN or archive/YYMMNNN, optionally with vN")


def format_arxiv_id(arxiv_id: str, version: int | None) -> str:
    """Join a canonical id and an optional version: ("2503.11731", 2) -> "2503.11731v2"."""
    return f"{arxiv_id}v{version}" if version is not None else arxiv_id
