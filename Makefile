# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(or $(CSDL_DATA_DIR),data)
PORT ?= 8501

.PHONY: run test bench demo chromium loadtest

$(VENV)/.run-deps: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.run-deps requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

DEMO ?= yes

# Makes the demo school when the data folder holds no snapshot yet (DEMO=no for a real
# installation), says how to create the first account when there is none, starts the app.
run: $(VENV)/.run-deps
	@if [ "$(DEMO)" = yes ] && ! ls $(DATA)/snapshots/*.duckdb >/dev/null 2>&1; then \
		echo "Chưa có dữ liệu: tạo trường mẫu trong $(DATA)/ …"; \
		$(BIN)/python -m csdl demo --data $(DATA); \
	fi
	@$(BIN)/python -m csdl check --data $(DATA)
	CSDL_DATA_DIR=$(DATA) $(BIN)/streamlit run app.py --server.port $(PORT) --browser.gatherUsageStats false --server.fileWatcherType none

demo: $(VENV)/.run-deps
	$(BIN)/python -m csdl demo --data $(DATA)

test: $(VENV)/.dev-deps chromium
	$(BIN)/python -m pytest -q

# The browser tests drive Debian's Chromium (no browser download); install it when missing.
chromium:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser tests…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

# Speed and memory at three scales: school (1), district (60), province (500 schools); writes
# bench/RESULTS.md and bench/out/results.json, exits 1 when a target is missed. Demo data is
# generated once into bench/out/data-<N>/. A quicker run: `make bench SCALES=school,district`;
# REPLICATE=1 builds the province from copies of the district's schools (minutes, not hours).
SCALES ?= school,district,province
bench: $(VENV)/.dev-deps
	$(BIN)/python bench/bench.py --scales $(SCALES) $(if $(filter 1,$(REPLICATE)),--replicate)

# 20 browser sessions on the demo school for 2 minutes: p50 / p95 page times, errors
# (loadtest/out/results.json). Slow and machine-dependent, so not part of `make test`.
loadtest: $(VENV)/.dev-deps chromium
	$(BIN)/python loadtest/loadtest.py
