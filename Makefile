# `make run` and `make test` work on a fresh machine: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# BROWSER=0 leaves out the browser tests (marker `browser`) and the Chromium install they need, which takes root.
BROWSER ?= 1

ifeq ($(BROWSER),0)
BROWSER_DEPS :=
BROWSER_ARGS := -m "not browser"
else
BROWSER_DEPS := chromium
BROWSER_ARGS :=
endif

.PHONY: run test fuzz lint format bench clean chromium

# uvicorn 0.55 and websockets 17 (the server) need Python 3.11; say so here rather than in a pip resolver error
# half-way through the install.
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; name one with PYTHON=, e.g. make run PYTHON=python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Two stamps, so serving installs only requirements.txt and the test, lint and bench tools (and the SDK) come
# in only when a target needs them; each is redone only when the files it installs from change. The dev file
# includes requirements.txt, so its install also satisfies the serving stamp.
$(VENV)/.installed-run: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt sdk/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seeddev
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev $(BROWSER_DEPS)
	$(PY) -m pytest $(BROWSER_ARGS) $(PYTEST_ARGS)

# Schemathesis over /openapi.json against a live server on the test database (tests/fuzz, left out of `make test`):
# every operation a few dozen times; it fails on a server error or an answer the document does not describe.
fuzz: $(VENV)/.installed-dev
	$(PY) -m pytest -m schemathesis tests/fuzz $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium; install it when it is missing (needs root, as on CI).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict --python-version 3.10 sdk/openintent
	$(VENV)/bin/lint-imports --no-cache
	$(PY) tools/check_import_cycles.py

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.installed-dev
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
