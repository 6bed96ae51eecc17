# paperfeed: `make demo` runs the product, `make test` runs every check. Both install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
SHARED ?= ../shared

.PHONY: install demo serve test lint pytest fmt cluster bench-ingest bench-quality bench-search bench-trending clean bench-digest bench-code-links bench-reco bench-embed bench-memory bench-load

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Run the product: a SQLite database filled with the bundled real papers, on http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/paperfeed demo --db var/demo.db --port 8000

## Run every check: lint, types, then the tests on SQLite, PostgreSQL and chromium.
test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

pytest: $(STAMP)
	@bash .ci/system-deps.sh
	PAPERFEED_TEST_PG_URL=$${PAPERFEED_TEST_PG_URL:-$$(bash .ci/start-postgres.sh)} \
	PAPERFEED_TEST_REDIS_URL=$${PAPERFEED_TEST_REDIS_URL:-$$(bash .ci/start-redis.sh)} \
		$(BIN)/pytest -n 2 -p no:cacheprovider

## compose.yaml's topology from processes: PostgreSQL, Redis, two web nodes (8101, 8102), one worker.
cluster: $(STAMP)
	$(BIN)/python tools/cluster.py

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

## Ingest benchmark: the 94k JSONL into SQLite against raw sqlite3.executemany, then a re-run.
bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py --data $(SHARED)/data/arxiv-2025-94k.jsonl.gz

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

## Search quality: nDCG@10 and recall@100 on SciFact for keyword, semantic and hybrid (built once, cached in var/bench).
bench-quality: $(STAMP)
	$(BIN)/python bench/search_quality.py --scifact $(SHARED)/data/scifact

## Search speed: p50/p99 through the service against SQLite FTS5, on 94k real and 1M grown papers (cached builds).
bench-search: $(STAMP)
	$(BIN)/python bench/search_speed.py --data $(SHARED)/data/arxiv-2025-94k.jsonl.gz $(ARGS)

## Code-link extraction: µs per real abstract with the hint prefilter against the whole regex.
bench-code-links: $(STAMP)
	$(BIN)/python bench/code_links.py

## Trending benchmark: recompute the scores of the 94k papers (synthetic votes and stars) against a Python loop.
bench-trending: $(STAMP)
	$(BIN)/python bench/trending.py --data $(SHARED)/data/arxiv-2025-94k.jsonl.gz

## Digests: 10,000 subscribers over the 94k papers to a loopback SMTP sink; SIGKILL crash test, 451/550 faults, unsubscribe.
bench-digest: $(STAMP)
	$(BIN)/python bench/digest.py --data $(SHARED)/data/arxiv-2025-94k.jsonl.gz $(ARGS)

## Recommendations: paperfeed's per-reader model against arxiv-sanity-lite's SVM on 300 proxy readers (cutoff 2026-05-01).
bench-reco: $(STAMP)
	$(BIN)/python bench/reco.py --data $(SHARED)/data/arxiv-2025-94k.jsonl.gz $(ARGS)

## Embedding: papers/s of paperfeed's embedder for threads x batch sizes on 1,000 real abstracts (niced).
bench-embed: $(STAMP)
	nice -n 5 $(BIN)/python bench/embed_speed.py --sweep --n 1000 --rounds 1 $(ARGS)

## Memory: idle RSS of the demo (serve after its first embed round), before and after the memory settings.
bench-memory: $(STAMP)
	$(BIN)/python bench/memory.py $(ARGS)

## Load and faults: Locust against `make cluster`'s topology on the 94k papers (PostgreSQL of its own, cached in
## var/bench/load): highest rate with p99 <= 250 ms for one and two web nodes, then kill -9 and restart faults.
bench-load: $(STAMP)
	@$(BIN)/python -c 'import locust' 2>/dev/null || $(BIN)/pip install -q "$$(grep -o 'locust==[0-9.]*' pyproject.toml)"
	$(BIN)/python bench/load.py --data $(SHARED)/data/arxiv-2025-94k.jsonl.gz $(ARGS)
