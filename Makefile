# ghee: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format clean

install: $(STAMP)

# Pinned: every dependency's version comes from requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# `make run PORT=8123` serves on another port, `make run GHEE_BIND=0.0.0.0:8123` on another
# address; GHEE_PUBLIC_URL follows the address unless it is set (ghee/settings.py).
PORT ?= 8000
GHEE_BIND ?= 127.0.0.1:$(PORT)

run: install
	GHEE_BIND=$(GHEE_BIND) $(BIN)/ghee migrate --noinput
	GHEE_BIND=$(GHEE_BIND) $(BIN)/ghee demo
	@echo ""
	@echo "Serving on $(GHEE_BIND) (start page and dashboard: the URLs above). Ctrl-C stops."
	@echo "Commands: $(BIN)/ghee --help (in another terminal, in this directory)."
	GHEE_BIND=$(GHEE_BIND) $(BIN)/ghee serve --bind $(GHEE_BIND)

test: install
	bash scripts/test.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
