# Python guests, built with componentize-py (pinned in
# guests/python/requirements.txt, installed into a local virtual
# environment, never into the system's Python):
#
#   make polyglot          every non-Rust connector, among them
#   make polyglot-python   build/polyglot/slack-webhook-python/{connector.wasm,connector.toml}
#   make python-test       the unit tests of the Python SDK and connector (natively)
#
# componentize-py imports the application at build time and snapshots the
# interpreter; modules imported inside functions do not exist at run time,
# so every Python guest imports all it uses at the top of its files.

PYTHON            ?= python3
PY_TOOLCHAIN      := build/toolchains/python
COMPONENTIZE_PY   := $(PY_TOOLCHAIN)/bin/componentize-py
PY_GUESTS         := guests/python
PY_SDK            := $(PY_GUESTS)/sdk
PY_SDK_FILES      := $(wildcard $(PY_SDK)/sluice_guest/*.py)
PY_BINDINGS       := build/polyglot/python-bindings
PY_SLACK          := $(PY_GUESTS)/slack-webhook
PY_SLACK_OUT      := build/polyglot/slack-webhook-python
PY_STAGE          := build/polyglot/python-src
CONTRACT_FILES    := $(shell find wit -name '*.wit')

# Bytecode caches would land in the source tree.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: polyglot polyglot-python python-toolchain python-test

polyglot: polyglot-python

polyglot-python: $(PY_SLACK_OUT)/connector.wasm $(PY_SLACK_OUT)/connector.toml

python-toolchain: $(COMPONENTIZE_PY)

$(COMPONENTIZE_PY): $(PY_GUESTS)/requirements.txt $(PY_GUESTS)/install-toolchain.sh
	PYTHON=$(PYTHON) $(PY_GUESTS)/install-toolchain.sh $(PY_TOOLCHAIN)
	@touch $@

# World `delivery` of the contract in wit/: no interface-name overrides are
# needed since the contract's data types live in interface `model`. The
# sources are staged under build/ because componentize-py writes bytecode
# caches beside what it imports.
$(PY_SLACK_OUT)/connector.wasm: $(COMPONENTIZE_PY) $(CONTRACT_FILES) $(PY_SDK_FILES) $(wildcard $(PY_SLACK)/*.py)
	rm -rf $(PY_STAGE)/slack-webhook-python
	mkdir -p $(PY_STAGE)/slack-webhook-python $(@D)
	cp -r $(PY_SDK)/sluice_guest $(PY_SLACK)/*.py $(PY_STAGE)/slack-webhook-python/
	$(COMPONENTIZE_PY) -d wit -w delivery componentize app -p $(PY_STAGE)/slack-webhook-python -o $@.tmp
	@mv $@.tmp $@

$(PY_SLACK_OUT)/connector.toml: $(PY_SLACK)/connector.toml
	@mkdir -p $(@D)
	cp $< $@

# The same bindings the component is built with, for running the SDK and the
# connector under the host's Python in unit tests (calls into the host raise
# NotImplementedError there; the tests stub them).
$(PY_BINDINGS)/.stamp: $(COMPONENTIZE_PY) $(CONTRACT_FILES)
	rm -rf $(PY_BINDINGS)
	$(COMPONENTIZE_PY) -d wit -w delivery bindings $(PY_BINDINGS)
	@touch $@

python-test: $(PY_BINDINGS)/.stamp
	PYTHONPATH=$(PY_BINDINGS):$(PY_SDK):$(PY_SLACK) $(PY_TOOLCHAIN)/bin/python -m unittest discover -s $(PY_GUESTS)/tests -v
