"""A keyword index split in shards: each paper lives in one shard, searches merge the shards' hits, and the
build, the sync, deletions and a busy writer behave as with one index. (Every read-only keyword search test
also runs on a two-shard index: see the `service` fixture of test_search_keyword.py.)"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import tantivy
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

import searchkit as sk
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.models import CodeLinkRow, Paper
from paperfeed.search.keyword import F_TEXT, keyword_dir
from paperfeed.search.keyword_index import KeywordIndex
from paperfeed.search.keyword_store import (
    SyncState,
    build_keyword_index,
    current_generation,
    shard_count,
    shard_dirs,
    sync_keyword_index,
)
from paperfeed.search.query import build_text_query, parse_query
from paperfeed.search.service import SearchService

QUERIES = [
    "language models",
    "galaxy cluster",
    "deep learning for images",
    "quantum",
    '"neural network"',
    '"deep learning" galaxy -quantum',  # two papers tie on score here
]


@given(papers=st.integers(0, 10**7), per=st.integers(1000, 10**6), cores=st.integers(1, 64))
def test_shard_count_properties(papers: int, per: int, cores: int) -> None:
    n = shard_count(papers, per, cores)
    assert 1 <= n <= cores
    assert n == 1 or papers > (n - 1) * per  # a shard more only when the papers fill the ones before


def test_shard_count_examples() -> None:
    assert shard_count(94_000, 250_000, 2) == 1
    assert shard_count(1_000_000, 250_000, 2) == 2
    assert shard_count(1_000_000, 250_000, 8) == 4


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KeywordIndex, KeywordIndex, list[int]]]:
    """(one-shard index, two-shard index, paper ids) over the same real papers."""
    folder = Path(tmp_path_factory.mktemp("shards"))
    with sk.database("sqlite", folder) as settings:
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        sk.fill(factory)
        build_keyword_index(factory, folder / "one", shards=1)
        build_keyword_index(factory, folder / "two", shards=2)
        with factory() as s:
            ids = list(s.scalars(select(Paper.id)))
        yield KeywordIndex(folder / "one"), KeywordIndex(folder / "two"), ids
        engine.dispose()


def test_each_paper_lives_in_the_shard_of_its_id(pair: tuple[KeywordIndex, KeywordIndex, list[int]]) -> None:
    one, two, ids = pair
    assert (one.shards, two.shards) == (1, 2)
    assert two.num_docs == one.num_docs == len(ids)
    gen = current_generation(two.root)
    assert gen is not None and [d.name for d in shard_dirs(gen, 2)] == [gen.name, "shard-1"]
    for shard, searcher in enumerate(two._searchers):
        hits = searcher.search(tantivy.Query.all_query(), limit=len(ids), count=False).hits
        held = searcher.fast_field_values("id", [a for _, a in hits])
        assert sorted(int(v or 0) for v in held) == sorted(i for i in ids if i % 2 == shard)


@pytest.mark.parametrize("q", QUERIES)
def test_shards_find_the_same_papers_and_merge_them_by_score(
    pair: tuple[KeywordIndex, KeywordIndex, list[int]], q: str
) -> None:
    one, two, _ = pair
    query = build_text_query(parse_query(q), one.schema, F_TEXT)
    every_one, n_one = one.search(query, limit=10_000, count=True)
    every_two, n_two = two.search(query, limit=10_000, count=True)
    assert n_one == n_two == len(every_one) > 0
    assert {pid for pid, _ in every_two} == {pid for pid, _ in every_one}
    # One order for every index layout: by score, equal scores by paper id (not by segment address).
    for every in (every_one, every_two):
        assert every == sorted(every, key=lambda hit: (-hit[1], hit[0]))
    assert len({pid for pid, _ in every_two}) == len(every_two)
    # A page further down is the same slice of one merged ranking.
    assert two.search(query, limit=5, offset=5)[0] == two.search(query, limit=10)[0][5:10]
    assert two.doc_freq("model") == one.doc_freq("model") > 0


def test_two_phase_search_on_shards_keeps_each_shards_scores(
    pair: tuple[KeywordIndex, KeywordIndex, list[int]],
) -> None:
    _, two, _ = pair
    parsed = parse_query("deep learning models for galaxy clusters")
    full = build_text_query(parsed, two.schema, F_TEXT)
    exact = dict(two.search(full, limit=10_000)[0])
    rare = build_text_query(parsed, two.schema, F_TEXT, terms=["galaxi", "cluster"])
    extra = [two.term_query(F_TEXT, t) for t in ("deep", "learn", "model")]
    hits = two.search_rescored(rare, extra, pool=50, limit=10)
    assert len(hits) == 10
    for pid, score in hits:
        assert score == pytest.approx(exact[pid], rel=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_completions_add_up_across_shards(pair: tuple[KeywordIndex, KeywordIndex, list[int]]) -> None:
    one, two, _ = pair
    assert two.terms_with_prefix("transf", 5) == one.terms_with_prefix("transf", 5)


@pytest.mark.parametrize("shards", [1, 2])
def test_sync_routes_new_changed_and_deleted_papers_to_their_shard(
    db_settings: Settings, session_factory: sessionmaker[Session], shards: int
) -> None:
    # One sync adds a paper and loses another: the index count then matches the database's, and the
    # deleted paper must still be found and dropped.
    demo = sk.demo_objects()
    sk.fill(session_factory, demo[:30])
    root = keyword_dir(db_settings)
    build_keyword_index(session_factory, root, shards=shards)
    service = SearchService(settings=db_settings, session_factory=session_factory)
    assert service.keyword.shards == shards
    assert sync_keyword_index(session_factory, root) == 0

    sk.fill(session_factory, (demo[30],))
    old = demo[0]
    renamed = dict(old, id=f"{old['id']}v2", title="Zanzibar Quokka Toolkit", summary="For zanzibar quokkas.")
    sk.fill(session_factory, (renamed,))
    with session_factory() as session, session.begin():
        gone = session.scalar(select(Paper.id).where(Paper.arxiv_id == str(demo[5]["id"]).split("v")[0]))
        session.execute(delete(CodeLinkRow).where(CodeLinkRow.paper_id == gone))
        session.execute(delete(Paper).where(Paper.id == gone))
    assert sync_keyword_index(session_factory, root) == 3
    service.keyword.refresh(force=True)
    assert service.keyword.shards == shards and service.keyword.num_docs == 30
    assert sk.ids(sk.search(service, str(demo[30]["title"]), limit=1)) == [str(demo[30]["id"]).split("v")[0]]
    assert sk.ids(sk.search(service, "zanzibar quokka", limit=5)) == [old["id"]]  # once, new words
    assert str(demo[5]["id"]).split("v")[0] not in sk.ids(sk.search(service, str(demo[5]["title"]), limit=10))


def test_a_busy_shard_skips_the_sync_and_leaves_no_lock_behind(
    db_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    sk.fill(session_factory, sk.demo_objects()[:10])
    root = keyword_dir(db_settings)
    build_keyword_index(session_factory, root, shards=2)
    sk.fill(session_factory, sk.demo_objects()[10:12])
    gen = current_generation(root)
    assert gen is not None
    other = tantivy.Index.open(str(gen / "shard-1")).writer(15_000_000, 1)  # shard 0 is free, shard 1 not
    assert sync_keyword_index(session_factory, root) == 0
    del other
    gc.collect()
    assert sync_keyword_index(session_factory, root) == 2  # shard 0's writer was released too


def test_a_generation_from_before_shards_reads_as_one_shard(
    db_settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    sk.fill(session_factory, sk.demo_objects()[:10])
    root = keyword_dir(db_settings)
    build_keyword_index(session_factory, root)
    gen = current_generation(root)
    assert gen is not None
    raw = json.loads((gen / "state.json").read_text())
    del raw["shards"]  # the state.json an older paperfeed wrote
    (gen / "state.json").write_text(json.dumps(raw))
    state = SyncState.load(gen)
    assert state is not None and state.shards == 1
    assert KeywordIndex(root).num_docs == 10
    sk.fill(session_factory, sk.demo_objects()[10:11])
    assert sync_keyword_index(session_factory, root) == 1
