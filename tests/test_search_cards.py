"""Result cards (search.cards.load_papers): the lean card path loads what the full path loads (names cut to
`max_authors`), keeps the order asked for, and touching a card's links or names runs no further query."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

import searchkit as sk
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.models import CodeLinkRow, Paper, PaperAuthor
from paperfeed.search.cards import load_papers


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, Any]]:
    with sk.database(request.param, Path(tmp_path_factory.mktemp("cards"))) as settings:
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        sk.fill(factory)
        yield engine, factory
        engine.dispose()


def _sample(factory: sessionmaker[Session]) -> list[int]:
    """Papers with code links, papers with many authors, and plain ones, in a shuffled order."""
    with factory() as s:
        linked = list(
            s.scalars(select(CodeLinkRow.paper_id).distinct().order_by(CodeLinkRow.paper_id).limit(4))
        )
        crowded = list(
            s.scalars(
                select(PaperAuthor.paper_id)
                .group_by(PaperAuthor.paper_id)
                .having(func.count() > 3)
                .order_by(PaperAuthor.paper_id)
                .limit(3)
            )
        )
        plain = list(s.scalars(select(Paper.id).order_by(Paper.id.desc()).limit(3)))
    assert linked and crowded, "the sample papers must have code links and long author lists"
    ids = list(dict.fromkeys(linked + crowded + plain))
    return ids[::2] + ids[1::2]


def test_cards_hold_what_the_full_load_holds(db: tuple[Engine, Any]) -> None:
    _, factory = db
    ids = _sample(factory)
    with factory() as s:
        full = {p.id: p for p in load_papers(s, ids)}
        expected = {
            pid: ([(c.url, c.kind, c.stars) for c in p.code_links], p.category_names, p.author_names)
            for pid, p in full.items()
        }
    with factory() as s:
        cards = load_papers(s, [*ids, 10**9], max_authors=3)  # an unknown id is skipped
        assert [p.id for p in cards] == ids
        for p in cards:
            links, cats, authors = expected[p.id]
            assert [(c.url, c.kind, c.stars) for c in p.code_links] == links
            assert p.category_names == cats
            assert p.author_names == authors[:3]
    assert any(links for links, _, _ in expected.values())


def test_reading_a_card_runs_no_query(db: tuple[Engine, Any]) -> None:
    engine, factory = db
    ids = _sample(factory)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    with factory() as s:
        cards = load_papers(s, ids, max_authors=5)
        event.listen(engine, "before_cursor_execute", count)
        try:
            for p in cards:
                _ = [c.url for c in p.code_links], p.author_names, p.category_names, p.title
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert statements == []


def test_no_ids_no_query() -> None:
    assert load_papers(None, []) == []  # type: ignore[arg-type]
