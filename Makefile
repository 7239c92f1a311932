# tether: `make demo` shows a session started, resumed in a new process and forked;
# `make test` runs the whole test suite; `make check` is what CI (.ci/run) runs. Each installs what it
# needs into .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := dev,postgres,redis,local

# llama-cpp-python compiles from source; the default native build crashes (SIGSEGV in the
# AMX matmul path) on some CPUs, so build for a portable AVX2/AVX-512 baseline instead.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON

.PHONY: install demo test coverage lint typecheck typecheck-tests check bench clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "tether needs Python 3.10 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing tether[$(EXTRAS)] (the first time, llama-cpp-python compiles: about 6 minutes)"
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
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

typecheck: $(STAMP) ## mypy --strict on src/
	$(BIN)/mypy

typecheck-tests: $(STAMP) ## mypy --strict on tests/ (the seed examples aside; not yet part of check)
	$(BIN)/mypy --strict --explicit-package-bases --exclude tests/seed_examples tests

check: lint typecheck coverage ## everything CI checks

bench: $(STAMP) ## tether beside claude-agent-sdk, OpenAI Agents and LangGraph: bench/results/latest.md
	$(BIN)/python -m bench.run

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) bench/.venv .pytest_cache .mypy_cache .ruff_cache .demo .coverage
