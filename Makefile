# The one install path: `make install` creates .venv (see install.sh); every target below uses it.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out/demo
# Re-run install.sh only when what it installs changed (a second `make test` starts at once).
STAMP := $(VENV)/.fdpose-installed

.PHONY: install test run wheel-check clean

$(STAMP): install.sh requirements/constraints.txt requirements/base.txt requirements/dev.txt setup.cfg
	bash install.sh
	touch $(STAMP)

install: $(STAMP)

# The main job on the embedded default (no downloads): the whole mission on the synthetic world,
# quick size (synth -> validate -> fine-tune HRNet -> track-and-estimate -> export -> AQA train + eval).
run: $(STAMP)
	$(VENV)/bin/fdpose demo -o $(OUT) --quick --overwrite

# Lint and type-check first (seconds), then the suite: rules in ruff.toml and mypy.ini.
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q

wheel-check: $(STAMP)
	bash .ci/check_wheel.sh

clean:
	rm -rf build dist *.egg-info out
