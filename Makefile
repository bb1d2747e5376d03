# The two commands of the README: `make demo` and `make test`. Everything else is a helper of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 is the Lambda runtime (python3.13); take it from pyenv or PATH, else fail loudly.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_TOOLS := ffmpeg ffprobe mkvmerge sox

.PHONY: help setup system-tools demo test lint typecheck infra-lint pytest bench load build clean

help:
	@echo "make demo   - simulate a 2-minute SIPREC call through the local stack and show the recordings"
	@echo "make test   - lint, type-check, template checks and all tests"
	@echo "make bench  - benchmarks (decoder, pipeline, cold start); prints a table"
	@echo "make load   - 200-call load test through the local stack"
	@echo "make build  - sam build (arm64 layers; needs Python 3.13, found as for the venv)"

# Test oracles (ffmpeg/ffprobe, mkvmerge) and sox come from Debian; install them when missing.
system-tools:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg mkvtoolnix sox >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found (pyenv install 3.13 or set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/siprec-recorder demo --out demo-output

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check layers functions tests bench

typecheck: setup
	$(BIN)/mypy

infra-lint: setup
	$(BIN)/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/sam validate --lint --template template.yaml

pytest: setup system-tools
	$(BIN)/pytest

test: lint typecheck infra-lint pytest

bench: setup system-tools
	$(BIN)/python -m bench

load: setup
	$(BIN)/python -m bench.load

# sam's runtime check wants a real python3.13 first on PATH (a pyenv shim is refused).
build: setup
	PATH="$(dir $(PYTHON)):$$PATH" $(BIN)/sam build --template template.yaml

clean:
	rm -rf $(VENV) .aws-sam demo-output bench/out .pytest_cache .mypy_cache .ruff_cache
