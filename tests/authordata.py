"""Papers for the author tests: a name variant ('A. Lovelace') and a name with every awkward character."""

from __future__ import annotations

from datetime import UTC, datetime

from communitydata import Site
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records

ODD = "Zoë O'Brien/Smith & <Co>"  # a slash, an apostrophe, markup and a non-ASCII letter


def _rec(arxiv_id: str, title: str, authors: list[str], published: datetime, cats: list[str]) -> PaperRecord:
    return PaperRecord(
        title=title,
        abstract=f"Abstract of {title}.",
        source="arxiv_api",
        arxiv_id=arxiv_id,
        version=1,
        authors=authors,
        categories=cats,
        published=published,
        listing_date=published.date(),
    )


def more_papers(site: Site) -> None:
    """Papers by 'A. Lovelace' (a variant of 'Ada Lovelace') and by the odd name."""
    store_records(
        site.factory,
        [
            _rec(
                "2401.00001",
                "Variant Paper",
                ["A. Lovelace", "Charles Babbage"],
                datetime(2024, 1, 5, tzinfo=UTC),
                ["math.HO"],
            ),
            _rec(
                "2603.00001",
                "Odd Name Paper",
                [ODD, "Ada Lovelace"],
                datetime(2026, 3, 2, tzinfo=UTC),
                ["cs.CL"],
            ),
        ],
    )
