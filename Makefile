# Every target creates what it needs: `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.8
# The Dagster instance's PostgreSQL test starts its own server (Debian 12's PostgreSQL 15).
POSTGRES_SERVER := /usr/lib/postgresql/15/bin/postgres
export CHICAGO_RISK_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CHICAGO_RISK_DATA_DIR)/dagster_home

.PHONY: install bytecode lint test demo lock clean

install: $(STAMP)

# Re-installs only when the lock or the project metadata changed.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "chicago-risk needs Python 3.11, got " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes --compile-bytecode requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Compiled once here (and the libraries at install), because every run, step and test spawns
# Python processes that import them: where PYTHONDONTWRITEBYTECODE is set (as on the development machines) each would
# otherwise compile Dagster and the code location from source again, seconds apiece.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q chicago_risk api chicago_risk_tests

# Seconds, before the suite's minutes: ruff (pyproject's [tool.ruff]), then mypy ([tool.mypy];
# .mypy_cache makes a re-run check only what changed).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint bytecode /usr/bin/chromium /usr/bin/redis-server $(POSTGRES_SERVER)
	$(BIN)/python -m pytest

# $(call apt_install,PACKAGES,WHY): Debian packages a test needs, on a fresh machine (CI, as root).
define apt_install
	@echo "Installing Debian's $(1) for $(2)..."
	@log=$$(mktemp); if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1)) >$$log 2>&1; \
	then rm -f $$log; else tail -n 20 $$log; rm -f $$log; \
	echo "make test: could not install $(1) (root and Debian's package lists are needed); install them with: apt-get install -y $(1)" >&2; exit 1; fi
	@test -x $@ || { echo "make test: apt-get installed $(1) but $@ is missing" >&2; exit 1; }
endef

# The map page's browser test drives Debian's Chromium.
/usr/bin/chromium:
	$(call apt_install,chromium chromium-driver,the map page's browser test)

# The rate limit's shared-store test starts its own redis-server on a free port.
/usr/bin/redis-server:
	$(call apt_install,redis-server,the rate limit's shared-store test)

$(POSTGRES_SERVER):
	$(call apt_install,postgresql,the Dagster instance's PostgreSQL test)

demo: $(STAMP) bytecode
	$(BIN)/python -m chicago_risk.demo

# Regenerates the lock after a dependency change in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra deploy --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV)
