# Two commands on a fresh machine: `make run` serves the product, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run test lint bench browser proxy promtool netns faketime clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-lint: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[lint]'
	touch $@

# The web server and one background worker (and the simulator, without credentials); Ctrl-C stops them all.
run: $(VENV)/.installed
	$(BIN)/flask --app webapp db upgrade
	$(BIN)/python -m webapp.jobs.supervisor --port $(PORT)

# Headless Chromium for the browser tests comes from Debian's packages; axe-core (their
# accessibility rules) from the npm registry, into tests/browser/vendor/ (not committed).
browser:
	@scripts/ensure-chromium
	@scripts/fetch-axe

# nginx for the tests of deploy/nginx.conf, from Debian's packages too.
proxy:
	@scripts/ensure-nginx

# promtool for the tests of deploy/prometheus/ (the alerting rules), from Debian's prometheus package.
promtool:
	@scripts/ensure-promtool

# ip and nftables for the several-hosts deployment test (tests/deployment/), as root, from Debian's packages.
netns:
	@scripts/ensure-netns

# libfaketime for the test of a worker whose clock is off (tests/jobs/test_clock_skew.py), from Debian's packages.
faketime:
	@scripts/ensure-command faketime faketime

# The suite in TEST_WORKERS processes (README, "Running the tests"); loadgroup keeps an xdist_group on one.
TEST_WORKERS ?= 3
test: $(VENV)/.installed-test browser proxy promtool netns faketime
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25

# Style and types: ruff (pyflakes, pycodestyle, import order, bugbear, pyupgrade) and mypy.
lint: $(VENV)/.installed-lint
	$(BIN)/ruff check .
	$(BIN)/mypy

# The webhook benchmark's load generator is Debian's wrk.
bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@scripts/ensure-command wrk wrk
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
