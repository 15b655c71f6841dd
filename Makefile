# The two commands of the README: `make run` and `make test`.
# Everything they need is installed here; nothing is assumed on the machine
# beyond rustup/cargo.

CARGO        ?= cargo
GUEST_TARGET := wasm32-wasip2
HOST_TARGET  := $(shell rustc -vV | sed -n 's/^host: //p')
GUEST_OUT    := guests/target/$(GUEST_TARGET)/release
BUNDLE       := build/connectors
CONNECTORS   := $(notdir $(wildcard guests/connectors/*))

.PHONY: run test test-deps bench guests connectors toolchain lint clean

## Start the service on embedded SQLite in ./data with the bundled connectors.
run: connectors
	$(CARGO) build --release -p sluice
	SLUICE_CONNECTORS_DIR=$(BUNDLE) ./target/release/sluice serve

## Build the guests and run every test: the guests' own unit tests
## (natively; Python and JavaScript under their own runtimes), then the host
## workspace against the built components, Python and JavaScript included.
test: connectors polyglot python-test js-test test-deps
	cd guests && $(CARGO) test --workspace --target $(HOST_TARGET)
	$(CARGO) build -p sluice
	$(CARGO) test --workspace

## Benchmarks (figures, not assertions).
## One build of both binaries, so their shared crates are compiled once.
bench: connectors polyglot
	$(CARGO) build --release -p sluice -p sluice-tests --bin sluice --bin sluice-bench
	$${CARGO_TARGET_DIR:-target}/release/sluice-bench

## Lints as CI runs them.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd guests && $(CARGO) fmt --all --check && $(CARGO) clippy --release -- -D warnings

## Debian packages the tests run for real (never mocks): an OCI registry
## for publishing tests, headless Chromium and ChromeDriver for the console.
TEST_PACKAGES := docker-registry chromium chromium-driver
test-deps:
	@missing=""; for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

toolchain:
	@rustup target list --installed | grep -qx '$(GUEST_TARGET)' || rustup target add $(GUEST_TARGET)

## Every guest component (connectors and test guests), always under
## guests/target where the bundle and the tests look for them.
guests: toolchain
	cd guests && CARGO_TARGET_DIR=target $(CARGO) build --release

## The bundled connectors, each as <id>/connector.toml + connector.wasm.
connectors: guests
	@for dir in $(CONNECTORS); do \
		crate=$$(echo $$dir | tr - _); \
		mkdir -p $(BUNDLE)/$$dir; \
		cp guests/connectors/$$dir/connector.toml $(BUNDLE)/$$dir/connector.toml; \
		cp $(GUEST_OUT)/$$crate.wasm $(BUNDLE)/$$dir/connector.wasm; \
	done
	@echo "bundled connectors: $(CONNECTORS)"

clean:
	rm -rf build target guests/target

# Non-Rust guests (Python, JavaScript): one file per language.
include mk/*.mk
