# FluxoLab: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint check services-shell lock clean bench bench-webhooks bench-dashboard bench-chaos fuzz

$(STAMP): constraints.txt setup.cfg pyproject.toml
	test -x $(BIN)/python || { PYTHON=$(PYTHON) scripts/ensure-tools.sh venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install FluxoLab with pinned dependencies

run: ## Run the whole system locally (SQLite + filesystem broker under ./var)
	@PYTHON=$(PYTHON) VENV=$(VENV) scripts/ensure-tools.sh run
	@$(MAKE) --no-print-directory install
	$(BIN)/fluxolab standalone

lint: install ## ruff, mypy and the import-linter layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: ## Lint, then run the test suite against throw-away PostgreSQL and Redis
	@PYTHON=$(PYTHON) VENV=$(VENV) scripts/ensure-tools.sh test
	@$(MAKE) --no-print-directory install
	scripts/with-services.sh sh -c '$(MAKE) --no-print-directory lint && $(BIN)/pytest $(PYTEST_ARGS)'

fuzz: install ## The schemathesis run of the test suite alone, with more cases per operation
	scripts/with-services.sh env SCHEMATHESIS_MAX_EXAMPLES=$${SCHEMATHESIS_MAX_EXAMPLES:-200} \
		$(BIN)/pytest -q -n 2 tests/api/test_schemathesis.py

.PHONY: tools
tools: ## Install what `make test` needs when missing (apt-get as root; see scripts/ensure-tools.sh)
	@PYTHON=$(PYTHON) VENV=$(VENV) scripts/ensure-tools.sh test

services-shell: install ## A shell with throw-away PostgreSQL and Redis (DATABASE_URL, REDIS_URL set)
	scripts/with-services.sh $${SHELL:-bash}

bench: install ## Run the benchmarks in bench/ (see bench/README.md)
	scripts/with-services.sh $(BIN)/python bench/executions.py

bench-webhooks: install ## The public webhook intake benchmark, with its baseline and the manual-run figure
	scripts/with-services.sh $(BIN)/python bench/webhook_intake.py

bench-chaos: install ## The chaos soak: webhooks at 100/s for 5 minutes while workers, the API, Redis and PostgreSQL fail (BENCH_ARGS for options)
	scripts/with-services.sh $(BIN)/python bench/chaos.py $(BENCH_ARGS)

bench-dashboard: install ## The dashboard reads over 10 M executions and the stats rollup (15-20 minutes; BENCH_ARGS for options)
	scripts/with-services.sh $(BIN)/python bench/dashboard.py $(BENCH_ARGS)

lock: ## Re-resolve constraints.txt from setup.cfg (review the diff)
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet -e '.[dev]'
	( echo '# The one place where dependency versions are pinned (runtime and dev). Regenerate with `make lock`.'; \
	  .lockvenv/bin/pip freeze --exclude-editable | sort -f ) > constraints.txt
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache *.egg-info
