# One-command dev loop. `make run` and `make test` do all set-up on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: install run test test-fast lint fmt ingest eval eval-test report baseline bench browser-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: on these machines 2.13.0 is a local CPU build; unpinned pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/streamlit run app.py --browser.gatherUsageStats false

test: install browser-deps
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not browser"

lint: install
	$(VENV)/bin/ruff check .

fmt: install
	$(VENV)/bin/ruff format .

ingest: install
	$(VENV)/bin/guro-jobs ingest

eval: install
	$(PY) -m eval run eval/qa/dev.jsonl --out eval/out/dev-results.jsonl
	$(PY) -m eval report eval/out/dev-results.jsonl --qa eval/qa/dev.jsonl

eval-test: install
	$(PY) -m eval run eval/qa/test.jsonl --out eval/out/test-results.jsonl

baseline: install
	$(PY) -m eval baseline eval/qa/dev.jsonl

bench: install
	$(PY) scripts/benchmark.py

# Debian's Chromium (and a Hangul font) for the real-browser test; skipped quietly where apt is not ours.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else echo "chromium not installed and apt not available: the browser test will skip"; fi

clean:
	rm -rf var eval/out test-artifacts .pytest_cache
