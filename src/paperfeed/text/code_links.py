"""Find links to code and artefacts (GitHub, GitLab, Hugging Face, Zenodo, ...) in abstracts and comments."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from paperfeed.ingest.records import CodeLink

__all__ = ["extract_code_links", "link_kind", "normalise_url", "paper_code_links"]

# Substrings at least one of which every link we report contains; most abstracts have none.
_HINTS = ("http", "www.", "github", "gitlab", "huggingface", "hf.co", "zenodo", "bitbucket", "codeberg")

_URL_CHARS = r"[^\s<>\"'`{}|\\^\[\]]"
_KNOWN_HOSTS = (
    r"(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co|hf\.co|zenodo\.org|bitbucket\.org|"
    r"codeberg\.org|paperswithcode\.com)|[a-z0-9-]+\.github\.io"
)
_FIND = re.compile(
    rf"(?P<url>https?://{_URL_CHARS}+)"
    # Unschemed links are only taken for known hosts ("github.com/x/y"), not after a word, dot or '@'.
    rf"|(?<![\w./@-])(?P<bare>(?:{_KNOWN_HOSTS})(?:/{_URL_CHARS}*)?)"
    r"|(?<![\w/.])(?:10\.5281/)?zenodo\.(?P<zenodo>\d{5,9})\b",
    re.IGNORECASE,
)
# A generic URL counts as a project page only when the text just before it calls it one.
_PROJECT_CUE = re.compile(
    r"(project|demo|home|web)[ -]?(page|site|website|homepage)|homepage|webpage|website", re.IGNORECASE
)
_TRAILING = ".,;:!?'\"*>"
_CLOSERS = {")": "(", "]": "[", "}": "{"}

# First path segments that are site pages, not repositories / models.
_GITHUB_RESERVED = frozenset(
    {"features", "about", "topics", "sponsors", "marketplace", "login", "join", "pricing", "settings",
     "explore", "search", "collections", "trending", "enterprise", "site", "apps", "notifications"}
)  # fmt: skip
_HF_RESERVED = frozenset(
    {"docs", "blog", "papers", "learn", "join", "login", "pricing", "tasks", "api", "settings", "chat",
     "posts", "enterprise", "new", "search", "models", "organizations", "terms-of-service", "privacy"}
)  # fmt: skip
_HF_KINDS = frozenset({"datasets", "spaces"})


def _strip_trailing(url: str) -> str:
    """Drop sentence punctuation glued to a URL, keeping closing brackets that have an opener inside."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)):
            url = url[:-1]
        else:
            break
    return url


def _split(url: str) -> tuple[str, list[str]]:
    """Host (lower-case, no www.) and non-empty path segments of a URL with or without a scheme."""
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    return host, [seg for seg in parts.path.split("/") if seg]


def _strip_git(segments: list[str]) -> list[str]:
    if segments and segments[-1].lower().endswith(".git"):
        segments = [*segments[:-1], segments[-1][:-4]]
    return [s for s in segments if s]


def normalise_url(url: str) -> str:
    """Canonical https form: lower-case host, no www/query/fragment/.git/trailing slash, repo roots."""
    url = _strip_trailing(url.strip())
    try:
        host, segs = _split(url)
    except ValueError:
        return url
    if host == "hf.co":
        host = "huggingface.co"
    if host == "raw.githubusercontent.com" and len(segs) >= 2:
        host, segs = "github.com", segs[:2]
    if host == "github.com":
        if segs and segs[0].lower() == "orgs":
            segs = segs[1:2]
        segs = _strip_git(segs[:2])
    elif host == "gitlab.com" or host.startswith("gitlab."):
        # GitLab nests groups deeply; its own pages start at "/-/" (and older ones at /tree/ or /blob/).
        for i, seg in enumerate(segs):
            if seg in ("-", "tree", "blob", "raw", "issues", "merge_requests", "wikis") and i >= 2:
                segs = segs[:i]
                break
        segs = _strip_git(segs)
    elif host in ("bitbucket.org", "codeberg.org"):
        segs = _strip_git(segs[:2])
    elif host == "huggingface.co":
        n = 3 if segs and segs[0] in _HF_KINDS else 2
        if segs and segs[0] == "collections":
            n = 3
        segs = segs[:n]
    elif host == "zenodo.org":
        if len(segs) >= 2 and segs[0] in ("record", "records"):
            segs = ["records", segs[1]]
        elif segs and segs[0] == "doi" and segs[-1].startswith("zenodo."):
            segs = ["records", segs[-1].removeprefix("zenodo.")]
    path = "/".join(segs)
    return f"https://{host}/{path}" if path else f"https://{host}"


def link_kind(url: str) -> str | None:
    """The CodeLink kind of a normalised URL, or None when it is not a code / artefact link we track."""
    host, segs = _split(url)
    if host == "github.com":
        return "github" if segs and segs[0].lower() not in _GITHUB_RESERVED else None
    if host == "gitlab.com" or host.startswith("gitlab."):
        return "gitlab" if segs else None
    if host == "huggingface.co":
        if not segs or segs[0] in _HF_RESERVED or (segs[0] in _HF_KINDS and len(segs) < 2):
            return None
        return "huggingface"
    if host == "zenodo.org":
        return "zenodo" if len(segs) >= 2 and segs[0] == "records" else None
    if host == "bitbucket.org":
        return "bitbucket" if segs else None
    if host == "codeberg.org":
        return "codeberg" if segs else None
    if host == "paperswithcode.com":
        return "paperswithcode" if segs else None
    if host.endswith((".github.io", ".gitlab.io", ".github.com")):
        return "project"
    return None


def _lower_same_length(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters (e.g. "İ") lower-case to two; keep those as they are so offsets still line up.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _candidates(text: str, lowered: str) -> Iterator[re.Match[str]]:
    """Matches of _FIND, run only on the whitespace-delimited words that contain a hint.

    URLs never contain whitespace, and running the full pattern over a whole abstract costs ~200 µs
    (Python's re has no fast literal prefilter for this alternation); str.find for the hints and
    matching only their words takes ~15 µs.
    """
    positions = []
    for hint in _HINTS:
        i = lowered.find(hint)
        while i != -1:
            positions.append(i)
            i = lowered.find(hint, i + 1)
    done = -1
    for pos in sorted(positions):
        if pos < done:
            continue
        start = pos
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        end = pos + 1
        while end < len(text) and not text[end].isspace():
            end += 1
        done = end
        yield from _FIND.finditer(text, start, end)


def extract_code_links(text: str | None, origin: str) -> list[CodeLink]:
    """All code / artefact links in a text, normalised and de-duplicated in order of appearance."""
    if not text:
        return []
    lowered = _lower_same_length(text)
    # Unrolled on purpose: a generator over _HINTS costs more than the searches themselves.
    if not (
        "http" in lowered
        or "www." in lowered
        or "github" in lowered
        or "gitlab" in lowered
        or "huggingface" in lowered
        or "hf.co" in lowered
        or "zenodo" in lowered
        or "bitbucket" in lowered
        or "codeberg" in lowered
    ):
        return []
    links: list[CodeLink] = []
    seen: set[str] = set()
    for match in _candidates(text, lowered):
        zenodo = match.group("zenodo")
        if zenodo:
            url: str = f"https://zenodo.org/records/{zenodo}"
        else:
            raw = match.group("url") or match.group("bare")
            url = normalise_url(raw)
        kind = link_kind(url)
        if kind is None and match.group("url"):
            before = text[max(0, match.start() - 40) : match.start()]
            if _PROJECT_CUE.search(before) and "." in _split(url)[0]:
                kind = "project"
        if kind is None:
            continue
        key = url.lower()
        if key in seen:
            continue
        seen.add(key)
        links.append(CodeLink(url=url, kind=kind, origin=origin))
    return links


def paper_code_links(abstract: str | None, comment: str | None) -> list[CodeLink]:
    """Links from a paper's abstract, then its comment; a link in both keeps its abstract occurrence."""
    links = extract_code_links(abstract, "abstract")
    if comment:
        # GitHub/GitLab paths are case-insensitive, so "Org/Repo" and "org/repo" are one link.
        seen = {link.url.lower() for link in links}
        for link in extract_code_links(comment, "comment"):
            if link.url.lower() not in seen:
                seen.add(link.url.lower())
                links.append(link)
    return links
