# The two commands of README.md: `make demo` and `make test`.
MVN ?= mvn -B -ntp -Dstyle.color=never -f java/pom.xml
CARGO ?= cargo

.PHONY: build demo test test-rust test-java test-e2e test-conformance clean

# Release profile everywhere, so the cdylib the jars carry, the binary the tests start and
# the Rust tests share one build.
build:
	$(CARGO) build --release --workspace
	$(MVN) -q -DskipTests install

demo: build
	bash examples/demo.sh

test-rust:
	$(CARGO) build --release --workspace
	$(CARGO) test --release --workspace

test-java: build
	$(MVN) verify

# The web pages in headless Chromium (Debian's chromium package, playwright-core from npm).
test-e2e:
	$(CARGO) build --release -p jitgate-service
	JITGATE_BIN=$(CURDIR)/target/release/jitgate service/e2e/run.sh

# The HTTP API against its OpenAPI document (schemathesis from PyPI): no 5xx, no undocumented status.
test-conformance:
	$(CARGO) build --release -p jitgate-service
	JITGATE_BIN=$(CURDIR)/target/release/jitgate service/conformance/run.sh

test: test-rust test-java test-e2e test-conformance

clean:
	$(CARGO) clean
	$(MVN) clean
