# The two commands a newcomer needs:  make demo   and   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: demo test lint typecheck unit screenshots system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,service,browser,spark]'
	touch $(STAMP)

## make demo: create .venv, install ShopGuide, run the main job on the bundled Online Retail data
demo: $(STAMP)
	$(BIN)/shopguide demo --out demo-output

## system-deps: Debian packages the tests drive (headless chromium for the HTML report tests)
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "the browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) system-deps
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q

## make test: create/update .venv, then lint, type-check and run the whole test suite
test: lint typecheck unit

## make screenshots: run the browser tests and keep their pictures in docs/screenshots
screenshots: $(STAMP) system-deps
	SHOPGUIDE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/dashboard

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
