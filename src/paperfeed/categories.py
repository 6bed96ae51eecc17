"""Category scoping: parse `category=` (a category like cs.CL or an archive like cs), filter by it, count.

A paper is in a category when any of its categories is that one (cross-lists included, as on arXiv's own
listings); it is in an archive when any of its categories is in that archive (`cs` matches every `cs.*`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from paperfeed.db.models import PaperCategory
from paperfeed.errors import UserError
from paperfeed.taxonomy import ARCHIVES, archive_of, category_name, taxonomy
from paperfeed.text.arxiv_ids import is_arxiv_category

__all__ = [
    "CategoryError",
    "CategoryRow",
    "CategoryScope",
    "category_counts",
    "parse_category",
]


class CategoryError(UserError):
    """A `category=` value that is not an arXiv category or archive."""


@dataclass(frozen=True, slots=True)
class CategoryScope:
    """A checked category or archive code, spelled as arXiv spells it."""

    code: str
    is_archive: bool

    @property
    def name(self) -> str | None:
        """arXiv's name for it (None for a code arXiv's table does not list)."""
        return category_name(self.code)

    @property
    def label(self) -> str:
        """'cs.CL (Computation and Language)', or the bare code."""
        return f"{self.code} ({self.name})" if self.name else self.code

    def condition(self, column: Any) -> ColumnElement[bool]:
        """SQL: `column` (a category code) is in this scope; a range, so the category index serves it."""
        if not self.is_archive:
            return column == self.code  # type: ignore[no-any-return]
        # Every "cs.*": codes from "cs." up to "cs/" ('/' sorts right after '.'), without LIKE's escaping.
        return or_(column == self.code, and_(column >= self.code + ".", column < self.code + "/"))

    def paper_ids(self) -> Select[Any]:
        """The ids of the papers in this scope (a subquery for IN)."""
        return select(PaperCategory.paper_id).where(self.condition(PaperCategory.category))


def _canonical() -> dict[str, str]:
    codes = {c.lower(): c for c in taxonomy()}
    codes.update({a.lower(): a for a in ARCHIVES})
    return codes


def parse_category(session: Session, value: str | None) -> CategoryScope | None:
    """The scope `value` names (None when it is empty); CategoryError (400) when it names none.

    Codes are matched case-insensitively against arXiv's table; a code the table lacks is accepted only
    when stored papers carry it (retired codes such as cmp-lg), so a typo is a 400, not an empty list.
    """
    if value is None or not value.strip():
        return None
    raw = value.strip()
    shown = raw if raw.isprintable() and len(raw) <= 64 else raw[:64].encode("unicode_escape").decode()
    code = _canonical().get(raw.lower())
    if code is None:
        if not is_arxiv_category(raw):
            raise CategoryError(
                f"invalid category {shown!r}: give a category like cs.CL or an archive like cs "
                "(see /categories)"
            )
        if session.scalar(select(PaperCategory.paper_id).where(PaperCategory.category == raw).limit(1)):
            return CategoryScope(raw, is_archive=False)
        raise CategoryError(f"unknown category {shown!r}: not in arXiv's list (see /categories)")
    return CategoryScope(code, is_archive=code in ARCHIVES and code not in taxonomy())


@dataclass(frozen=True, slots=True)
class CategoryRow:
    """One line of the categories page: a code, arXiv's name for it and how many papers carry it."""

    code: str
    name: str | None
    papers: int


@dataclass(frozen=True, slots=True)
class ArchiveRow:
    """An archive, its paper count (each paper once) and its categories."""

    code: str
    name: str
    papers: int
    categories: list[CategoryRow]


def category_counts(session: Session) -> list[ArchiveRow]:
    """Every archive of arXiv's table with its categories and paper counts (codes papers carry that the
    table does not list are added to their archive, or to an 'other' archive)."""
    per_code: dict[str, int] = {
        code: n
        for code, n in session.execute(
            select(PaperCategory.category, func.count(func.distinct(PaperCategory.paper_id))).group_by(
                PaperCategory.category
            )
        )
    }
    table = taxonomy()
    rows: list[ArchiveRow] = []
    extra = sorted(c for c in per_code if c not in table and c not in ARCHIVES)
    for archive, name in ARCHIVES.items():
        codes = [c for c in table if archive_of(c) == archive and c != archive]
        codes += [c for c in extra if archive_of(c) == archive]
        total = per_code.get(archive, 0)
        if codes or archive in per_code:
            scope = CategoryScope(archive, is_archive=True)
            total = (
                session.scalar(
                    select(func.count(func.distinct(PaperCategory.paper_id))).where(
                        scope.condition(PaperCategory.category)
                    )
                )
                or 0
            )
        cats = [CategoryRow(c, table.get(c), per_code.get(c, 0)) for c in codes]
        rows.append(ArchiveRow(archive, name, total, cats))
    others = [c for c in extra if archive_of(c) not in ARCHIVES]
    if others:
        rows.append(ArchiveRow("", "Other codes", 0, [CategoryRow(c, None, per_code[c]) for c in others]))
    return rows
