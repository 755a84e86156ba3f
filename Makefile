# bw's tasks. GNU make; only Go is needed for `make build` and `make test`.
#
#   make demo       record the sample API through bw capture and inspect it
#   make test       go mod tidy -diff, go vet, staticcheck, go test -race
#   make bench      Go benchmarks (store, har, infer), the proxy and the serve benchmarks
#   make bench-rss  a million requests through bw capture, RSS sampled (minutes)
#   make eval       score bw infer with shared/eval: Prism upstream, bw capture, drive, infer, score
#   make build      bin/bw

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory

GO ?= go
# Where `go install` puts binaries: GOBIN, else GOPATH/bin.
GOBIN_DIR := $(shell $(GO) env GOBIN)
ifeq ($(GOBIN_DIR),)
GOBIN_DIR := $(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin
endif
BW_INSTALLED := $(GOBIN_DIR)/bw

# Extra go vet flags, e.g. VETFLAGS=-composites=false.
VETFLAGS ?=
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(GOBIN_DIR)/staticcheck

# go test -race needs cgo (a C compiler); without one, test without it.
RACE ?= $(if $(filter 1,$(shell $(GO) env CGO_ENABLED)),-race,)
TEST_TIMEOUT ?= 8m

# Benchmarks: go test -benchtime, wrk's duration per proxy run.
BENCHTIME ?= 1s
DURATION ?= 10s
export DURATION

# Helper programs the demo and benchmarks run, built into bin/.
TOOLS := ./fixtures/sampleapi ./scripts/freeport ./bench/upstream ./bench/load ./bench/serveload

.PHONY: build install tools demo test tidy vet staticcheck redocly bench bench-go bench-proxy bench-serve bench-rss bench-deps eval eval-paired clean

# bw version reports the commit (from git, when building in a checkout)
# and when the binary was built.
BUILDFLAGS := -buildvcs=auto -ldflags "-X main.buildDate=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)"

build:
	$(GO) build $(BUILDFLAGS) -o bin/bw ./cmd/bw

install:
	$(GO) install $(BUILDFLAGS) ./cmd/bw
	@echo "installed bw at $(BW_INSTALLED)"

tools:
	@mkdir -p bin
	$(GO) build -o bin/ $(TOOLS)

demo: install tools
	BW=$(BW_INSTALLED) BIN=bin scripts/demo.sh

vet:
	$(GO) vet $(VETFLAGS) ./...

# Installs staticcheck when it is missing or was built by another Go release
# (an older build cannot load this module's packages); falls back to the
# newest release if STATICCHECK_VERSION does not install.
staticcheck:
	@want="$$($(GO) env GOVERSION)"; \
	have="$$($(GO) version $(STATICCHECK) 2>/dev/null | awk '{print $$2}')" || true; \
	if [[ "$$have" != "$$want" ]] || ! $(STATICCHECK) -version >/dev/null 2>&1; then \
		echo "$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)"; \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) || \
			$(GO) install honnef.co/go/tools/cmd/staticcheck@latest; \
	fi
	$(STATICCHECK) -version
	$(STATICCHECK) ./...

# The OpenAPI bw infer writes must pass Redocly's linter; infer's tests run it.
REDOCLY_VERSION ?= 2.77.0
redocly:
	@command -v redocly >/dev/null 2>&1 || npm install -g --no-fund --no-audit @redocly/cli@$(REDOCLY_VERSION)

# go.mod and go.sum list exactly what the code imports.
tidy:
	$(GO) mod tidy -diff

test: tidy vet staticcheck redocly
ifeq ($(RACE),)
	@echo "note: cgo is off (no C compiler?), so go test runs without -race"
endif
	BW_REQUIRE_REDOCLY=1 $(GO) test $(RACE) -count=1 -timeout $(TEST_TIMEOUT) ./...

bench: bench-go bench-proxy bench-serve

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./store ./har ./infer ./serve

bench-proxy: build tools bench-deps
	BW=bin/bw BIN=bin bench/proxy.sh

# bw serve replaying a recorded GET vs a bare Go handler; petstore vs Prism 5;
# startup for 500 operations; memory over 1,000,000 requests.
bench-serve: build tools bench-deps
	BW=bin/bw BIN=bin bench/serve.sh

bench-rss: build tools
	BW=bin/bw BIN=bin bench/rss.sh

# Scores `bw infer` on shared/eval's specs; installs prism / PyYAML when missing.
# EVAL_ARGS e.g. --baselines (run the peer tools live too), --gate (fail on a missed target), SPEC paths.
EVAL_ARGS ?=
eval: build
	BW=bin/bw bash bench/eval/run.sh $(EVAL_ARGS)

# bw infer and har-to-openapi scored on the same recorded traffic (after
# make eval EVAL_ARGS=--baselines has installed the baseline tools).
eval-paired: build
	BW=bin/bw bash bench/eval/paired.sh bench/out/eval

# bw infer, har-to-openapi and Optic scored on traffic from real servers (Alertmanager and
# PowerDNS from Debian, the LoopBack 4 todo example from npm, Ory Hydra built from the Go
# module proxy), each driven by a scripted stateful scenario through bw capture. Installs
# what is missing (the first Hydra build takes about 5 minutes); then about 2 minutes.
# EVAL_REAL_ARGS e.g. --no-baselines, or server names (alertmanager powerdns loopback-todo hydra).
.PHONY: eval-real
EVAL_REAL_ARGS ?=
eval-real: build
	BW=bin/bw bash bench/eval-real/run.sh $(EVAL_REAL_ARGS)

# Installs nginx and wrk with apt-get when they are missing.
bench-deps:
	@bench/deps.sh

clean:
	rm -rf bin bench/out demo.db demo-api.yaml demo-openapi.yaml demo-junit.xml

# Records fixtures/har/chromium-h2.har and mitmproxy-h2.har: Debian's
# Chromium driven by playwright-core from npm, on the fixtures/harsite page
# over HTTPS and HTTP/2, directly and through mitmdump (chromium and
# mitmproxy are installed with apt-get when missing).
.PHONY: fixtures-har
fixtures-har:
	GO=$(GO) fixtures/harsite/record.sh
