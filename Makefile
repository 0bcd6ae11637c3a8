# The README's quick start: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup browser postgresql clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# PORT=8766 make run chooses the port; make run FRESH=1 starts the sandbox again with an empty database.
run: $(STAMP)
	$(BIN)/escalation-bot run $(if $(FRESH),--fresh)

# The sandbox's browser test drives Debian's Chromium (Playwright downloads no browser of its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium >/dev/null; \
	  else echo "Chromium is not installed, so the browser test is skipped (sudo apt-get install chromium)."; fi; }

# The tests run a second time on a throwaway PostgreSQL they start themselves (tests/databases.py) from
# Debian's postgresql package; as root, installed here when missing.
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q postgresql >/dev/null; \
	  else echo "PostgreSQL is not installed, so the tests run on SQLite only (sudo apt-get install postgresql)."; fi; }

test: $(STAMP) browser postgresql
	$(BIN)/python -m pytest
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  echo "The same tests on PostgreSQL:"; $(BIN)/python -m pytest --database=postgresql; fi

# The lint CI runs: ruff's checks and its formatting, settings in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) *.egg-info
