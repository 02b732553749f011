# Two verbs do everything on a fresh machine: `make run` and `make test`.
# Set-up (a uv bootstrap, the locked virtualenv, the devchain's npm packages) is idempotent.
PY ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv

.PHONY: run test lint format devchain setup

run: setup
	$(VENV)/bin/pricefeed run

test: setup devchain-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

devchain: setup devchain-deps
	$(VENV)/bin/pricefeed devchain --market

setup: $(VENV)/.synced

$(UV):
	$(PY) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked
	touch $@

.PHONY: devchain-deps
devchain-deps: setup
	$(VENV)/bin/python -c "from pricefeed.devchain.build import ensure_contracts; ensure_contracts()"
