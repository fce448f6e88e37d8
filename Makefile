# `make repro` runs the whole default pipeline; `make test` runs the tests; `make pull`/`make push` use the remote.
# Both create .venv from requirements.lock first when it is missing or stale.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install repro test bench contact-sheet lock pull push

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

repro: $(VENV)/.installed
	dvc repro

# dvc pull/push, after a check of the remote that names a refused credential (DVC only says "Forbidden").
pull: $(VENV)/.installed
	python -m zhtw_subtitles.remote.remote_check
	dvc pull

push: $(VENV)/.installed
	python -m zhtw_subtitles.remote.remote_check
	dvc push

test: $(VENV)/.installed
	pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	python bench/render.py
	python bench/dvc_status.py
	python bench/inference.py
	python bench/pipeline.py
	python bench/corpus_extract.py
	python bench/dvc_remote.py

contact-sheet: $(VENV)/.installed
	python -m zhtw_subtitles.synth.contact_sheet data/synth/train docs/contact_sheet.jpg
	python -m zhtw_subtitles.synth.contact_sheet --styles docs/img

# Re-pin requirements.lock after changing pyproject.toml's dependencies.
lock: $(VENV)/.installed
	$(VENV)/bin/pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.lock
