# What people type. `make run` is the main job, `make test` the test suite (what CI runs).
PY          := .venv/bin/python
MANAGE      := $(PY) manage.py
TEST_DIR    := $(CURDIR)/.services/test
# The tests use their own Neo4j and Redis (own ports, own data) because they wipe the graph.
TEST_ENV    := CAP01_SERVICES_DIR=$(TEST_DIR) NEO4J_BOLT_PORT=17687 REDIS_PORT=16379 \
               CAP01_BLOB_STORE_URL=file://$(TEST_DIR)/blobs CAP01_ALLOW_GRAPH_WIPE=1 \
               DATABASE_URL=sqlite:///$(TEST_DIR)/db.sqlite3
BENCH_RUNS  ?= 200
THROUGHPUT_RUNS ?= 200
RETRIEVAL_SIZES ?= 1000,10000
# The scale benchmark's own Neo4j and Redis (own ports and data: filling 100,000 runs takes a
# while and must not hold the test services), and the sizes it fills to and measures at.
SCALE_DIR   := $(CURDIR)/.services/scale
# Sized as README's "Sizing Neo4j" advises for the largest size: the page cache holds the store
# (about 2.8 GB at 100,000 runs), the heap the analytics windows.
SCALE_HEAP_MB ?= 2048
SCALE_PAGECACHE_MB ?= 3072
SCALE_ENV   := CAP01_SERVICES_DIR=$(SCALE_DIR) NEO4J_BOLT_PORT=27687 REDIS_PORT=26379 \
               CAP01_BLOB_STORE_URL=file://$(SCALE_DIR)/blobs \
               DATABASE_URL=sqlite:///$(SCALE_DIR)/db.sqlite3 \
               NEO4J_HEAP_MB=$(SCALE_HEAP_MB) NEO4J_PAGECACHE_MB=$(SCALE_PAGECACHE_MB)
SCALE_SIZES ?= 1000 10000 100000

.PHONY: bootstrap bootstrap-test services-up services-down services-status run stop examples test \
        test-only bench lint typecheck schemas loadtest-smoke test-postgres throughput \
        throughput-smoke driver-compare retrieval-eval retrieval-eval-smoke scale scale-smoke \
        scale-out

# What running needs (requirements/base.txt); `make run` does the same through ops/main.sh.
bootstrap:
	@ops/bootstrap.sh base

# What the tests need as well: requirements/test.txt (base + dev tooling + test runners), chromium,
# PostgreSQL, prometheus.
bootstrap-test:
	@ops/bootstrap.sh test

services-up: bootstrap
	@ops/services.sh up all

services-down:
	@ops/services.sh down all
	@$(TEST_ENV) ops/services.sh down all

services-status:
	@ops/services.sh status

# The main job: Neo4j, Redis, a Celery worker and the web app up, one demo run shown.
run:
	@ops/main.sh

stop:
	@ops/app.sh down
	@ops/services.sh down all

# Bring up the services and ingest the bundled example runs (no worker, no web app).
examples: services-up
	@$(MANAGE) migrate --noinput -v 0
	@$(MANAGE) install_graph_schema -v 0 >/dev/null
	@$(MANAGE) ingest_run examples/runs.jsonl
	@$(MANAGE) show_run run-example-lemon-vinaigrette

# The tests: bootstrap, the linter and the type checker, the test services, every test, then the
# benchmark and the load test as smoke runs.
test: bootstrap-test
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory typecheck
	@$(TEST_ENV) ops/services.sh up all
	@$(TEST_ENV) $(PY) -m pytest
	@$(MAKE) --no-print-directory test-postgres
	@$(TEST_ENV) $(MANAGE) bench_persist --runs 200 --naive-runs 50 --ladder-runs 20
	@$(MAKE) --no-print-directory loadtest-smoke
	@$(MAKE) --no-print-directory throughput-smoke
	@$(MAKE) --no-print-directory retrieval-eval-smoke
	@$(MAKE) --no-print-directory scale-smoke

# The Django-database-heavy tests again on PostgreSQL (Debian's), through DATABASE_URL.
test-postgres:
	@ops/postgres.sh up
	@$(TEST_ENV) DATABASE_URL=$$(ops/postgres.sh url) $(PY) -m pytest -q \
	  tests/integration/test_api.py tests/integration/test_pipeline.py \
	  tests/integration/test_backpressure.py tests/integration/test_web.py \
	  tests/integration/test_admin.py tests/integration/test_replay.py

# The load test against a real worker, as CI runs it: fails when a stage breaks its budget.
loadtest-smoke:
	@redis-cli -p 16379 flushall >/dev/null  # the test Redis: no slot or queue left by the tests
	@$(TEST_ENV) $(MANAGE) migrate --noinput -v 0
	@$(TEST_ENV) CAP01_WORKER_METRICS_PORT=0 ops/app.sh worker-up
	@$(TEST_ENV) ROOT=$(CURDIR) bash -c '. ops/local_env.sh && local_env && \
	  exec $(MANAGE) loadtest --runs 100'; status=$$?; \
	  $(TEST_ENV) ops/app.sh worker-down; exit $$status

# Sustained runs per second with 1, 2 and 4 worker processes and two instances side by side
# (reports/throughput.md). The smoke run in `make test` is small; `make throughput` is the real one.
throughput-smoke:
	@redis-cli -p 16379 flushall >/dev/null
	@$(TEST_ENV) $(MANAGE) throughput --configs 1,2x1 --runs 20 --warmup 3

throughput: bootstrap-test
	@$(TEST_ENV) ops/services.sh up all
	@redis-cli -p 16379 flushall >/dev/null
	@$(TEST_ENV) $(MANAGE) throughput --configs 1,2,4,2x2 --runs $(THROUGHPUT_RUNS)

# The scale benchmark (issue 13): fill the scale services' graph to each size of SCALE_SIZES
# (resumable: run it again to go on) and measure there; reports/scale.{md,json,svg}.
scale: bootstrap-test
	@$(SCALE_ENV) ops/services.sh up all
	@$(SCALE_ENV) $(MANAGE) migrate --noinput -v 0
	@$(SCALE_ENV) $(MANAGE) install_graph_schema -v 0 >/dev/null
	@for n in $(SCALE_SIZES); do \
	  $(SCALE_ENV) $(MANAGE) scale_fill --runs $$n --state $(SCALE_DIR)/scale_fill.json || exit 1; \
	  $(SCALE_ENV) $(MANAGE) scale_bench --state $(SCALE_DIR)/scale_fill.json \
	    --store $(SCALE_DIR)/neo4j/data || exit 1; \
	done

# The same at 200 runs on the test services (the graph wiped first), reports in a scratch folder.
scale-smoke:
	@$(TEST_ENV) $(MANAGE) migrate --noinput -v 0
	@$(TEST_ENV) $(MANAGE) scale_fill --runs 200 --batch 100 --wipe \
	  --state $(TEST_DIR)/scale_fill.json >/dev/null
	@$(TEST_ENV) $(MANAGE) scale_bench --samples 3 --writes 5 \
	  --state $(TEST_DIR)/scale_fill.json --out $(TEST_DIR)/scale-smoke

# Past one machine (issue 13): PostgreSQL as the ledger, two web instances behind HAProxy, two
# worker instances, the load test through the proxy (SCALE_OUT_RUNS, default 200), then the audit:
# nothing lost or duplicated, every instance took its share (reports/scale-out/). Its own services
# (.services/scaleout, ports 37687/36379/35432/3808x); tests/integration/test_scale_out_demo.py
# runs the same at 20 runs on the test services.
scale-out: bootstrap-test
	@ops/scale_out.sh

# The writer's statement with the pinned driver, the same with its Rust extension, and the newest
# 5.x (each in its own cached virtualenv under .services/driver-venvs).
driver-compare: bootstrap-test
	@$(TEST_ENV) ops/services.sh up all
	@$(TEST_ENV) tools/driver_compare.sh 200 3

# Retrieval quality (recall@5, recall@10, MRR) and latency of full text, composition, vectors and
# their combination on a labelled set written to the test Neo4j (reports/retrieval.md). The smoke
# run in `make test` is small.
retrieval-eval-smoke:
	@$(TEST_ENV) $(MANAGE) retrieval_eval --sizes 168 --queries 20

retrieval-eval: bootstrap-test
	@$(TEST_ENV) ops/services.sh up all
	@$(TEST_ENV) $(MANAGE) retrieval_eval --sizes $(RETRIEVAL_SIZES) --queries 150 \
	  --report reports/retrieval.md

test-only:
	@$(TEST_ENV) $(PY) -m pytest $(ARGS)

bench: bootstrap
	@$(TEST_ENV) ops/services.sh up all
	@$(TEST_ENV) $(MANAGE) bench_persist --runs $(BENCH_RUNS) --ladder-runs 100

lint:
	@.venv/bin/ruff check .

# mypy with django-stubs and the pydantic plugin; configuration and the strict modules:
# pyproject.toml [tool.mypy]. The cache (.mypy_cache) keeps a re-run to seconds; it is dropped when
# cap01/settings.py changes, because django-stubs' `settings.X` types do not invalidate it.
typecheck:
	@key="$$(sha256sum cap01/settings.py | cut -c1-16)"; \
	  [ "$$(cat .mypy_cache/cap01-settings.key 2>/dev/null)" = "$$key" ] || rm -rf .mypy_cache; \
	  .venv/bin/mypy; status=$$?; \
	  mkdir -p .mypy_cache && echo "$$key" > .mypy_cache/cap01-settings.key; exit $$status

schemas:
	@$(MANAGE) export_schemas
