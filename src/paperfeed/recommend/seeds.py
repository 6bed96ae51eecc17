"""Seed papers from what a reader pastes or uploads: arXiv ids, BibTeX, CSL-JSON (pure parsers, no I/O).

Every parser returns a SeedParse: the references it understood (SeedRef: an arXiv id, a DOI, a title; at
least one of them) and the problems it met, one readable line each. A broken entry never sinks the rest of
the file; only input that is too big, or not the format at all, raises SeedError.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from paperfeed.errors import UserError
from paperfeed.text.arxiv_ids import InvalidArxivId, parse_arxiv_id

__all__ = [
    "MAX_PROBLEMS",
    "SeedError",
    "SeedParse",
    "SeedRef",
    "normalize_title",
    "parse_bibtex",
    "parse_csl_json",
    "parse_seed_file",
    "parse_text",
]

MAX_PROBLEMS = 50  # problems kept for the report; more are counted, not listed

# An id as people paste it: an arxiv.org link, "arXiv:" + id, a bare new-style id, an old-style id.
_CANDIDATE = re.compile(
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/[^\s<>\"'{}),;]+"
    r"|arxiv:\s?[^\s<>\"'{}),;]+"
    r"|(?<![\w./])\d{4}\.\d{4,5}(?:v\d+)?(?![\w.])"
    r"|(?<![\w/])[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?(?!\w)",
    re.IGNORECASE,
)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}]+)", re.IGNORECASE)
# arXiv's own DOIs (DataCite, since 2022): 10.48550/arXiv.2401.01234 names the arXiv paper.
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+\*?|\\.")
_NON_WORD = re.compile(r"[\W_]+")


class SeedError(UserError):
    """Input that cannot be read as seeds at all (too big, not the format, nothing in it)."""

    status = 400


@dataclass(frozen=True)
class SeedRef:
    """One paper the reader named: matched by arXiv id first, then DOI, then normalised title."""

    arxiv_id: str | None = None
    doi: str | None = None
    title: str | None = None

    def label(self) -> str:
        """How the report names this reference."""
        if self.arxiv_id:
            return f"arXiv:{self.arxiv_id}"
        if self.doi:
            return f"doi:{self.doi}"
        return f"“{self.title}”"


@dataclass
class SeedParse:
    """What a parser understood, and the problems it met (at most MAX_PROBLEMS listed)."""

    refs: list[SeedRef] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    truncated: bool = False  # more references than the cap: the rest were left out

    def problem(self, text: str) -> None:
        """Note one problem (listed while there is room, always counted)."""
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def add(self, ref: SeedRef, max_refs: int) -> bool:
        """Keep ref unless it repeats one already kept; False once the cap is reached."""
        if ref in self.refs:
            return True
        if len(self.refs) >= max_refs:
            self.truncated = True
            return False
        self.refs.append(ref)
        return True


def _arxiv(raw: str) -> str | None:
    """The canonical arXiv id (no version) in raw, or None."""
    text = raw.strip().rstrip(".")
    if text.lower().startswith("arxiv:"):
        text = text[6:].strip()
    try:
        return parse_arxiv_id(text)[0]
    except InvalidArxivId:
        return None


def _doi(raw: str | None) -> tuple[str | None, str | None]:
    """(DOI lower-cased, arXiv id when it is an arXiv DOI) from a DOI field or a doi.org link."""
    if not raw:
        return None, None
    m = _DOI.search(raw)
    if m is None:
        return None, None
    doi = m.group(1).rstrip(".").lower()
    arxiv = _ARXIV_DOI.match(doi)
    return doi, (_arxiv(arxiv.group(1)) if arxiv else None)


def _latex_to_text(text: str) -> str:
    """LaTeX accents and symbols as Unicode (M{\\"o}bius -> Möbius); the text itself when it cannot parse."""
    if "\\" not in text:
        return text
    from pylatexenc.latex2text import LatexNodes2Text  # bibtexparser's own dependency

    try:
        return str(LatexNodes2Text(math_mode="text").latex_to_text(text))
    except Exception:  # pylatexenc raises on some malformed input; then the commands are stripped below
        return text


def normalize_title(title: str) -> str:
    """A title for exact matching: LaTeX commands and braces gone, accents folded, punctuation as spaces."""
    text = _LATEX_COMMAND.sub(" ", _latex_to_text(title).replace("{", "").replace("}", "").replace("$", ""))
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text).split())


def _clean_title(raw: object) -> str | None:
    """A title as the report shows it: LaTeX braces gone, one line; None when empty or not text."""
    if not isinstance(raw, str):
        return None
    text = " ".join(raw.replace("{", "").replace("}", "").split())
    return text[:500] or None


def _check_size(text: str, max_bytes: int) -> None:
    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise SeedError(f"the input is larger than {max_bytes // 1024} KiB: split it into smaller files")


def parse_text(text: str, *, max_refs: int, max_bytes: int) -> SeedParse:
    """arXiv ids (any common spelling) and DOIs in pasted text; lines naming neither are reported."""
    _check_size(text, max_bytes)
    out = SeedParse()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        found = False
        for m in _CANDIDATE.finditer(line):
            arxiv = _arxiv(m.group(0))
            if arxiv is None:
                out.problem(f"line {number}: {m.group(0).strip()[:80]!r} is not a valid arXiv id")
                found = True
                continue
            found = True
            if not out.add(SeedRef(arxiv_id=arxiv), max_refs):
                return out
        if not found:
            doi, arxiv = _doi(line)
            if doi:
                found = True
                if not out.add(SeedRef(arxiv_id=arxiv, doi=None if arxiv else doi), max_refs):
                    return out
        if not found:
            out.problem(f"line {number}: no arXiv id or DOI in {line.strip()[:80]!r}")
    return out


def _bib_field(fields: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _ref_from_fields(fields: dict[str, str]) -> SeedRef | None:
    """A SeedRef from one entry's fields (lower-cased names), whatever tool wrote it."""
    arxiv: str | None = None
    eprint = _bib_field(fields, "eprint", "arxivid", "arxiv")
    prefix = (_bib_field(fields, "archiveprefix", "eprinttype") or "arxiv").lower()
    if eprint and prefix == "arxiv":
        arxiv = _arxiv(eprint)
    for name in ("url", "journal", "note", "howpublished", "number", "archive_location", "volume"):
        if arxiv:
            break
        value = fields.get(name)
        if isinstance(value, str):
            m = _CANDIDATE.search(value)
            # A bare number in a journal or volume field is no evidence of arXiv; a link or "arXiv:" is.
            if m and ("arxiv" in m.group(0).lower() or "arxiv" in value.lower()):
                arxiv = _arxiv(m.group(0))
    doi, doi_arxiv = _doi(_bib_field(fields, "doi"))
    arxiv = arxiv or doi_arxiv
    title = _clean_title(fields.get("title"))
    if not (arxiv or doi or title):
        return None
    return SeedRef(arxiv_id=arxiv, doi=None if arxiv else doi, title=title)


def parse_bibtex(text: str, *, max_refs: int, max_bytes: int) -> SeedParse:
    """Entries of a BibTeX file (Zotero, Google Scholar, arXiv's export...); broken blocks are reported."""
    _check_size(text, max_bytes)
    from bibtexparser.entrypoint import parse_string
    from bibtexparser.middlewares import LatexDecodingMiddleware

    # bibtexparser logs every broken block as a warning; the report lists them instead.
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    try:
        library = parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    except Exception as exc:  # the parser's own failures must become a message, not a 500
        raise SeedError(f"the BibTeX could not be read: {type(exc).__name__}") from None
    out = SeedParse()
    for block in library.failed_blocks:
        line = getattr(block, "start_line", None)
        where = f"line {line + 1}" if isinstance(line, int) else "a block"
        start = " ".join(str(getattr(block, "raw", "")).split())[:60]
        out.problem(f"{where}: could not parse {start!r}")
    for entry in library.entries:
        fields = {k.lower(): v for k, v in entry.fields_dict.items()}
        values = {k: f.value for k, f in fields.items() if isinstance(f.value, str)}
        ref = _ref_from_fields(values)
        if ref is None:
            out.problem(f"@{entry.entry_type}{{{entry.key}}}: no arXiv id, DOI or title")
            continue
        if not out.add(ref, max_refs):
            break
    return out


def parse_csl_json(text: str, *, max_refs: int, max_bytes: int) -> SeedParse:
    """Items of a CSL-JSON export (Zotero's "CSL JSON"): URL, DOI, title, number, note."""
    _check_size(text, max_bytes)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SeedError(f"the CSL-JSON is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise SeedError("CSL-JSON must be a list of items")
    out = SeedParse()
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict):
            out.problem(f"item {i}: not an object")
            continue
        fields = {
            "url": item.get("URL"),
            "doi": item.get("DOI"),
            "title": item.get("title"),
            "number": item.get("number"),
            "note": item.get("note"),
            "archive_location": item.get("archive_location"),
            "journal": item.get("container-title"),
        }
        values = {k: v for k, v in fields.items() if isinstance(v, str)}
        ref = _ref_from_fields(values)
        if ref is None:
            out.problem(f"item {i} ({str(item.get('id', ''))[:40]}): no arXiv id, DOI or title")
            continue
        if not out.add(ref, max_refs):
            break
    return out


def parse_seed_file(data: bytes, *, filename: str | None, max_refs: int, max_bytes: int) -> SeedParse:
    """An uploaded file: CSL-JSON when it is JSON, BibTeX when it has @entries, else pasted ids."""
    if len(data) > max_bytes:
        raise SeedError(f"the file is larger than {max_bytes // 1024} KiB: split it into smaller files")
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    name = (filename or "").lower()
    head = text.lstrip()[:1]
    if name.endswith(".json") or head in ("[", "{"):
        return parse_csl_json(text, max_refs=max_refs, max_bytes=max_bytes)
    if name.endswith((".bib", ".bibtex")) or re.search(r"^\s*@\w+\s*[{(]", text, re.MULTILINE):
        return parse_bibtex(text, max_refs=max_refs, max_bytes=max_bytes)
    return parse_text(text, max_refs=max_refs, max_bytes=max_bytes)
