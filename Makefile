# The two commands of README.md: `make demo` and `make test`.
MVN ?= mvn -B -ntp -Dstyle.color=never -f java/pom.xml
CARGO ?= cargo

.PHONY: prereqs build demo test test-rust test-java test-e2e test-conformance dist clean
# `make` alone builds; the prerequisite check below is not the default goal.
.DEFAULT_GOAL := build

# What each target needs on the machine besides the toolchains (tools/prereqs.sh). Every target
# that builds waits for the check of everything the goals named on the command line need, so
# `make test` installs (as root, with apt-get) or names what is missing before building anything.
NEEDS_test-rust = sqlite3 postgres python3
NEEDS_test-e2e = chromium node
NEEDS_test-conformance = python3
NEEDS_test = $(NEEDS_test-rust) $(NEEDS_test-e2e) $(NEEDS_test-conformance)
# zig's C toolchain for the library's glibc floor comes from PyPI into a venv
NEEDS_dist = python3

prereqs:
	@sh tools/prereqs.sh $(sort $(foreach goal,$(MAKECMDGOALS),$(NEEDS_$(goal))))

build test-rust test-e2e test-conformance dist: prereqs

# Release profile everywhere, so the cdylib the jars carry, the binary the tests start and
# the Rust tests share one build.
build:
	$(CARGO) build --release --workspace
	$(MVN) -q -DskipTests install

demo: build
	bash examples/demo.sh

# The store's tests run twice: on SQLite, then on a private PostgreSQL (tools/postgres.sh).
test-rust:
	$(CARGO) build --release --workspace
	$(CARGO) test --release --workspace
	sh tools/postgres.sh run $(CARGO) test --release -p jitgate-service --bin jitgate store::

test-java: build
	$(MVN) verify

# The web pages in headless Chromium (Debian's chromium package, playwright-core from npm), and
# web sign-in at a real OIDC provider started on loopback (oidc-provider from npm).
test-e2e:
	$(CARGO) build --release -p jitgate-service
	JITGATE_BIN=$(CURDIR)/target/release/jitgate service/e2e/run.sh

# The HTTP API against its OpenAPI document (schemathesis from PyPI): no 5xx, no undocumented status.
test-conformance:
	$(CARGO) build --release -p jitgate-service
	JITGATE_BIN=$(CURDIR)/target/release/jitgate service/conformance/run.sh

test: test-rust test-java test-e2e test-conformance

# What an admin installs, under dist/: the plugin jars (stripped library inside, each tested as
# packaged by its module's whole suite), the stripped `jitgate`, their debug symbols, SHA256SUMS.
dist:
	MVN="$(MVN)" CARGO="$(CARGO)" tools/dist.sh

clean:
	rm -rf dist
	$(CARGO) clean
	$(MVN) clean
