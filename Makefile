# Every target installs what it needs on a fresh machine: a Python venv and the pinned CDK CLI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= config/dev.json

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export AWS_DEFAULT_REGION ?= us-east-1
export SAGEMAKER_VALIDATE_ROLE := false
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: install demo summary test synth lint bench-drift bench-cold-start bench-loop bench-authorize bench-arrival-gzip bench-ingest local-up clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,local]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The main job: the whole loop locally (synthesizes first when the stack changed).
demo: install
	$(VENV)/bin/mlops demo --config $(CONFIG)

# What a real deploy would create, read from the synthesized templates.
summary: synth
	$(PY) -m infra.summary cdk.out

# pytest exits 5 when it collected nothing: a run that tested nothing must not look green.
test: install
	$(PY) -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

# Synthesize with the real CDK CLI, then lint the templates; cdk-nag findings fail the synth.
synth: install
	rm -rf cdk.out
	npx --no-install cdk synth --quiet --context config=$(CONFIG) > /dev/null
	$(VENV)/bin/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

lint: install
	$(VENV)/bin/ruff check .

bench-drift: install
	bash benchmarks/drift/run.sh

bench-cold-start: install
	$(PY) -m benchmarks.cold_start

bench-loop: install
	$(PY) -m benchmarks.loop --config $(CONFIG)

bench-authorize: install
	$(PY) -m benchmarks.authorize --config $(CONFIG)

bench-arrival-gzip: install
	$(PY) -m benchmarks.arrival_gzip

bench-ingest: install
	$(PY) -m benchmarks.ingest

local-up: install
	$(VENV)/bin/mlops local up --config $(CONFIG)

clean:
	rm -rf cdk.out build .pytest_cache .mlops
