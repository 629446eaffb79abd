# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(or $(CSDL_DATA_DIR),data)
PORT ?= 8501

.PHONY: run test bench demo clean-demo

$(VENV)/.run-deps: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.run-deps requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Makes the demo school when the data folder holds no snapshot yet, then starts the app.
run: $(VENV)/.run-deps
	@if ! ls $(DATA)/snapshots/*.duckdb >/dev/null 2>&1; then \
		echo "Chưa có dữ liệu: tạo trường mẫu trong $(DATA)/ …"; \
		$(BIN)/python -m csdl demo --data $(DATA); \
	fi
	CSDL_DATA_DIR=$(DATA) $(BIN)/streamlit run app.py --server.port $(PORT) --browser.gatherUsageStats false

demo: $(VENV)/.run-deps
	$(BIN)/python -m csdl demo --data $(DATA)

test: $(VENV)/.dev-deps
	$(BIN)/python -m pytest -q

bench: $(VENV)/.dev-deps
	$(BIN)/python bench/bench.py
