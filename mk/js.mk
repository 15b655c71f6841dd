# JavaScript guests, built with componentize-js (StarlingMonkey) and
# esbuild, both pinned by guests/js/package-lock.json and installed with
# `npm ci` into guests/js/node_modules (never globally):
#
#   make polyglot      every non-Rust connector, among them
#   make polyglot-js   build/polyglot/slack-webhook-js/{connector.wasm,connector.toml}
#   make js-test       the unit tests of the JavaScript SDK (under Node)
#
# The build is the SDK's own `sluice-js-build` (guests/js/sdk/bin/build.js):
# esbuild bundles the connector with the SDK (StarlingMonkey resolves only
# relative imports), then componentize-js's API makes the component. Not
# `jco componentize`: jco 1.35 fails out of the box there ("failed to get
# path metadata"), its preview2-shim 0.26 giving its file system no preopens.

NPM           ?= npm
JS_GUESTS     := guests/js
# npm's own record of what `npm ci` installed.
JS_INSTALLED  := $(JS_GUESTS)/node_modules/.package-lock.json
JS_BUILD      := $(JS_GUESTS)/node_modules/.bin/sluice-js-build
JS_SDK_FILES  := $(shell find $(JS_GUESTS)/sdk/src $(JS_GUESTS)/sdk/bin -name '*.js')
JS_PACKAGES   := $(JS_GUESTS)/package.json $(JS_GUESTS)/sdk/package.json $(JS_GUESTS)/slack-webhook/package.json
JS_SLACK      := $(JS_GUESTS)/slack-webhook
JS_SLACK_OUT  := build/polyglot/slack-webhook-js
JS_CONTRACT   := $(shell find wit -name '*.wit')

.PHONY: polyglot polyglot-js js-toolchain js-test

polyglot: polyglot-js

polyglot-js: $(JS_SLACK_OUT)/connector.wasm $(JS_SLACK_OUT)/connector.toml

js-toolchain: $(JS_INSTALLED)

# `npm ci` installs exactly the lock file, and fails when it disagrees with
# a package.json.
$(JS_INSTALLED): $(JS_GUESTS)/package-lock.json $(JS_PACKAGES)
	cd $(JS_GUESTS) && $(NPM) ci --no-audit --no-fund
	@touch $@

# World `delivery` of the contract in wit/.
$(JS_SLACK_OUT)/connector.wasm: $(JS_INSTALLED) $(JS_CONTRACT) $(JS_SDK_FILES) $(JS_SLACK)/connector.js
	@mkdir -p $(@D)
	$(JS_BUILD) $(JS_SLACK)/connector.js --wit wit --world delivery -o $@.tmp
	@mv $@.tmp $@

$(JS_SLACK_OUT)/connector.toml: $(JS_SLACK)/connector.toml
	@mkdir -p $(@D)
	cp $< $@

js-test: $(JS_INSTALLED)
	cd $(JS_GUESTS) && $(NPM) test
