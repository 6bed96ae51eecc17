"""Onboarding: seeds matched by id / DOI / title, missing ids fetched from (replayed) arXiv, recorded once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import webdata
from paperfeed.accounts.users import create_user
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.recommend import onboarding
from paperfeed.recommend.models import ReaderProfile, ReaderSignal
from paperfeed.recommend.seeds import SeedRef, parse_text
from replay import FakeClock, ReplayServer, Reply, clocked_client, fast_client, recorded_body_bytes

NOW = datetime(2026, 12, 6, 8, tzinfo=UTC)
API = Path(__file__).parent / "data" / "arxiv_api"


def recording(prefix: str) -> Path:
    return next(API.glob(f"{prefix}_s0_m100_*.json"))


def _setup(factory: sessionmaker[Session], settings: Settings) -> int:
    webdata.fill(factory)
    store_records(
        factory,
        [
            PaperRecord(
                title='Über die M{\\"o}bius-Funktion: Bounds',
                abstract="A title-only paper.",
                source="jsonl",
                doi="10.1234/ABC.5",
            )
        ],
    )
    with factory() as session, session.begin():
        return create_user(
            session, settings, email="r@example.org", username="reader", password="a-long-password"
        ).id


def _signals(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with factory() as session:
        rows = session.execute(
            select(Paper.key, ReaderSignal.kind)
            .join(ReaderSignal, ReaderSignal.paper_id == Paper.id)
            .order_by(Paper.key)
        )
        return [(str(k), str(kind)) for k, kind in rows]


def test_matches_by_id_doi_and_title_and_is_idempotent(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    user = _setup(session_factory, db_settings)
    refs = [
        SeedRef(arxiv_id="2605.00101"),
        SeedRef(arxiv_id=webdata.OLD_ID),
        SeedRef(doi="10.1234/abc.5"),
        SeedRef(title="{Wednesday} paper"),  # braces, case
        SeedRef(title="Über die Möbius Funktion -- bounds"),  # accents and punctuation differ
        SeedRef(title="Wednesday Papers"),  # close is not equal: not matched
    ]
    report = onboarding.import_seeds(session_factory, refs, user_id=user, settings=db_settings, now=NOW)
    assert [(m.ref, m.how) for m in report.matched] == [
        ("arXiv:2605.00101", "arXiv id"),
        (f"arXiv:{webdata.OLD_ID}", "arXiv id"),
        ("doi:10.1234/abc.5", "DOI"),
        ("“{Wednesday} paper”", "title"),
        ("“Über die Möbius Funktion -- bounds”", "title"),
    ]
    assert report.not_found == ["“Wednesday Papers”"]
    assert report.fetched == [] and report.recorded == 4  # the DOI and one title name the same paper
    before = _signals(session_factory)
    again = onboarding.import_seeds(session_factory, refs, user_id=user, settings=db_settings, now=NOW)
    assert again.recorded == 0 and again.already == 4
    assert _signals(session_factory) == before


def test_an_existing_signal_is_not_overturned_by_a_seed(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    from paperfeed.recommend.signals import record_signal

    user = _setup(session_factory, db_settings)
    with session_factory() as session:
        pid = session.scalars(select(Paper.id).where(Paper.key == "2605.00101")).one()
    record_signal(session_factory, user_id=user, paper_id=pid, kind="less", now=NOW)
    report = onboarding.import_seeds(
        session_factory, [SeedRef(arxiv_id="2605.00101")], user_id=user, settings=db_settings, now=NOW
    )
    assert report.recorded == 0 and report.already == 1
    assert _signals(session_factory) == [("2605.00101", "less")]


def _batch_body() -> bytes:
    """DERIVED: the real 1707.08567 response with the real 1605.08386 entry added (no recording batches
    two valid ids), totalResults 2."""
    one = recorded_body_bytes(json.loads(recording("recorded_id_1707.08567").read_text())["body"])
    other = recorded_body_bytes(json.loads(recording("recorded_id_1605.08386").read_text())["body"])
    entry = other[other.index(b"<entry>") : other.index(b"</feed>")]
    body = one.replace(b"</feed>", entry + b"</feed>")
    return body.replace(b"<opensearch:totalResults>1<", b"<opensearch:totalResults>2<")


def _empty_body() -> bytes:
    """The real answer for an id arXiv does not have (0000.0000): an empty feed."""
    return recorded_body_bytes(json.loads(recording("recorded_id_0000.0000").read_text())["body"])


def _query(ids: str) -> dict[str, str]:
    return {
        "id_list": ids,
        "sortBy": "relevance",
        "sortOrder": "descending",
        "start": "0",
        "max_results": "100",
    }


def test_missing_ids_are_fetched_in_batches_stored_and_seeded(
    session_factory: sessionmaker[Session], db_settings: Settings, replay_server: ReplayServer
) -> None:
    user = _setup(session_factory, db_settings)
    replay_server.add("/api/query", Reply(200, body=_batch_body()), query=_query("1605.08386,1707.08567"))
    replay_server.add("/api/query", Reply(200, body=_empty_body()), query=_query("2401.99999"))
    settings = db_settings.model_copy(
        update={"arxiv_api_url": f"{replay_server.url}/api/query", "seed_fetch_batch": 2}
    )
    text = "https://arxiv.org/abs/1707.08567v1\narXiv:1605.08386\n2605.00101\n2401.99999\n"
    refs = parse_text(text, max_refs=10, max_bytes=10_000).refs
    clock = FakeClock()
    client = clocked_client(clock, min_interval_s=3.0)
    try:
        report = onboarding.import_seeds(
            session_factory, refs, user_id=user, settings=settings, now=NOW, client=client
        )
        assert sorted(report.fetched) == ["1605.08386", "1707.08567"]
        assert report.not_found == ["arXiv:2401.99999"]
        assert {m.key: m.how for m in report.matched} == {
            "1707.08567": "fetched from arXiv",
            "1605.08386": "fetched from arXiv",
            "2605.00101": "arXiv id",
        }
        assert report.recorded == 3 and report.problems == []
        # Two requests (a batch of two, then the third id), spaced by the polite interval.
        assert [r.param("id_list") for r in replay_server.requests] == ["1605.08386,1707.08567", "2401.99999"]
        assert clock.gaps() == [3.0]
        assert replay_server.unmatched == []
        with session_factory() as session:
            paper = session.scalars(select(Paper).where(Paper.key == "1707.08567")).one()
            assert paper.title.startswith("Proceedings of Workshop AEW10")
        # A second import finds them in the database: only the id arXiv did not have is asked again.
        again = onboarding.import_seeds(
            session_factory, refs, user_id=user, settings=settings, now=NOW, client=client
        )
    finally:
        client.close()
    assert again.fetched == [] and again.recorded == 0
    assert [r.param("id_list") for r in replay_server.requests][2:] == ["2401.99999"]


def test_arxiv_failure_is_reported_and_the_rest_recorded(
    session_factory: sessionmaker[Session], db_settings: Settings, replay_server: ReplayServer
) -> None:
    user = _setup(session_factory, db_settings)
    replay_server.add("/api/query", Reply(503, {"Retry-After": "0"}))
    settings = db_settings.model_copy(update={"arxiv_api_url": f"{replay_server.url}/api/query"})
    refs = [SeedRef(arxiv_id="1605.08386"), SeedRef(arxiv_id="2605.00101")]
    with fast_client(max_retries=1, min_interval_s=0.0) as client:
        report = onboarding.import_seeds(
            session_factory, refs, user_id=user, settings=settings, now=NOW, client=client
        )
    assert report.recorded == 1 and report.not_found == ["arXiv:1605.08386"]
    assert len(report.problems) == 1 and "arXiv did not answer" in report.problems[0]
    assert len(replay_server.requests) == 2  # one retry after Retry-After, then it gives up


def test_categories_are_stored_in_the_profile_and_grouped_with_counts(
    session_factory: sessionmaker[Session], db_settings: Settings
) -> None:
    user = _setup(session_factory, db_settings)
    assert onboarding.set_categories(
        session_factory, user_id=user, categories=["cs.LG", "cs.AI", " "], now=NOW
    ) == [
        "cs.AI",
        "cs.LG",
    ]
    with session_factory() as session:
        profile = session.get(ReaderProfile, user)
        assert profile is not None and profile.categories == "cs.AI cs.LG"
        assert onboarding.profile_categories(session, user) == ["cs.AI", "cs.LG"]
        groups = dict(onboarding.category_groups(session))
    assert groups == {"astro-ph": [("astro-ph", 1)], "cs": [("cs.AI", 9), ("cs.LG", 9)]}

    with pytest.raises(onboarding.CategoryError):
        onboarding.set_categories(session_factory, user_id=user, categories=["<script>"], now=NOW)
