# Two user-facing targets (see README): `make run` and `make test`.
# Both create .venv with python3 -m venv when it is missing and install the pinned requirements
# only when a requirements file changed (stamp files inside .venv).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.stamp-requirements
DEV_STAMP := $(VENV)/.stamp-requirements-dev
CHROMIUM := /usr/bin/chromium

.PHONY: run test

## run: start the dashboard on the bundled data and the shipped checkpoint (http://localhost:8501)
run: $(RUN_STAMP)
	$(PY) -m streamlit run app.py

## test: install the dev extras (and Debian chromium when possible), run the whole suite
test: $(DEV_STAMP)
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "note: $(CHROMIUM) is missing and cannot be installed here (needs root and apt-get);"; \
	    echo "      browser tests will be skipped (and fail when CI=true)."; \
	  fi; \
	fi
	$(PY) -m pytest tests

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install -r requirements-dev.txt
	touch $@ $(RUN_STAMP)
