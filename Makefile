# Local development: `make run` starts the app, `make test` runs the whole test suite.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TORCH_VERSION ?= 2.13.0
# Extra pip arguments for torch only, e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu".
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=

# Stamps record that the environment was installed from the current pyproject.toml,
# so a second `make run` skips pip entirely unless the dependencies changed.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install install-test browser-deps clean-venv help messages

help:
	@echo "make run    install into $(VENV), migrate, load the demo project, start web + 2 workers (default, gpu queues) + beat on $(HOST):$(PORT)"
	@echo "make test   install test dependencies (and Chromium when missing) and run the whole test suite"
	@echo "make messages  extract translatable strings into locale/*/django.po, then compile the .mo files"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# PyTorch goes in first and pinned: left to the resolver it would pull the multi-GB CUDA build.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@if [ -f $(TEST_STAMP) ] && [ $(TEST_STAMP) -nt pyproject.toml ]; then \
		echo "$(VENV) already holds the project and its test dependencies."; \
	else \
		set -ex; \
		$(BIN)/pip install $(TORCH_PIP_ARGS) "torch==$(TORCH_VERSION)"; \
		$(BIN)/pip install -e .; \
	fi
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(TORCH_PIP_ARGS) "torch==$(TORCH_VERSION)"
	$(BIN)/pip install -e ".[test]"
	touch $@

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

run: $(RUN_STAMP)
	$(BIN)/python scripts/run.py --host $(HOST) --port $(PORT)

# The browser tests drive Debian's Chromium at /usr/bin/chromium.
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
	else \
		echo "Chromium is missing: install the Debian packages 'chromium chromium-driver' (needs root)." >&2; exit 1; \
	fi

# pytest exits 5 when it collected nothing; that fails the target like any other non-zero code.
test: $(TEST_STAMP) browser-deps
	@echo "$(BIN)/python -m pytest $(PYTEST_ARGS)"; status=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests; treating that as a failure." >&2; fi; \
	exit $$status

clean-venv:
	rm -rf $(VENV)

# Translations (README, "Languages"). Needs GNU gettext: Debian's package `gettext`.
# makemessages adds new strings to each .po with an empty msgstr (or a fuzzy guess) and drops
# strings no longer in the code; translate those, then run `make messages` again to compile.
# tests/config/test_i18n.py runs the same extraction on a copy and names any string missing.
MESSAGE_LOCALES ?= zh_Hans
# Directory names never scanned: the virtual environment, data, tests, benchmarks and builds.
MESSAGE_IGNORE := $(notdir $(VENV)) var bench tests node_modules test-artifacts build dist docker
MESSAGE_IGNORE_ARGS := $(addprefix --ignore=,$(MESSAGE_IGNORE))

messages:
	$(BIN)/python manage.py makemessages $(addprefix --locale=,$(MESSAGE_LOCALES)) \
		--add-location=file --no-obsolete $(MESSAGE_IGNORE_ARGS)
	$(BIN)/python manage.py compilemessages $(addprefix --locale=,$(MESSAGE_LOCALES)) $(MESSAGE_IGNORE_ARGS)
