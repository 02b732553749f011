# Two verbs do everything on a fresh machine: `make run` and `make test`.
# Set-up (a uv bootstrap, the locked virtualenv, the devchain's npm packages) is idempotent.
PY ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv

.PHONY: run test lint format devchain demo setup browser bench

run: setup
	$(VENV)/bin/pricefeed run

test: setup devchain-deps browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

bench: setup devchain-deps bench-tools
	$(VENV)/bin/pricefeed bench --compare
	$(VENV)/bin/pricefeed bench cached --nginx

# wrk drives the cached-GET throughput run; nginx serves the same bytes beside it
.PHONY: bench-tools
bench-tools:
	@command -v wrk >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light; }

devchain: setup devchain-deps
	$(VENV)/bin/pricefeed devchain --market

# the devchain, its market and the service on it, in one command (files in var/demo/)
demo: setup devchain-deps
	$(VENV)/bin/pricefeed demo $(DEMO_ARGS)

setup: $(VENV)/.synced static/node_modules/.package-lock.json

$(UV):
	$(PY) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# after npm: the package (an editable install here) carries the browser files it serves
$(VENV)/.synced: $(UV) pyproject.toml uv.lock static/node_modules/.package-lock.json
	$(UV) sync --locked
	touch $@

# htmx and Swagger UI, served by the app itself (plotly.js comes with the plotly Python package);
# no install scripts: swagger-ui-dist's dependency @scarf/scarf would report the install
static/node_modules/.package-lock.json: static/package.json static/package-lock.json
	npm ci --prefix static --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the dashboard's browser tests (driven by the playwright package)
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# after a change to pricefeed/devchain/contracts/PoolReader.sol: rebuild what the service ships
.PHONY: pool-reader
pool-reader: devchain-deps
	$(VENV)/bin/python -c "from pricefeed.devchain.build import ship_pool_reader; ship_pool_reader()"

.PHONY: devchain-deps
devchain-deps: setup
	$(VENV)/bin/python -c "from pricefeed.devchain.build import ensure_contracts; ensure_contracts()"
