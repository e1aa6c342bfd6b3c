# otelcol-gatewayz: build, run and test the distribution.
# Everything the tests need is built here from the Go module proxy, so a
# fresh machine with Go needs nothing else.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO              ?= go
TOOLS           := $(CURDIR)/.tools/bin
OCB             := $(TOOLS)/builder
MDATAGEN        := $(TOOLS)/mdatagen
PROMETHEUS      := $(TOOLS)/prometheus
PROMETHEUS_VERSION := v0.316.0
BIN             := bin/otelcol-gatewayz
CONFIG          ?= collector-configs/gateway.yaml
FEATURE_GATES   := service.profilesSupport
# The Prometheus receiver's cloud service discovery (AWS, Azure, GCE, k8s)
# is dead weight for static scrape targets.
BUILD_TAGS      := remove_all_sd
FUZZTIME        ?= 15s
BENCHTIME       ?= 2s

# Our components, one Go package each (mdatagen runs in each).
COMPONENTS      := $(wildcard components/*/*/metadata.yaml)



.PHONY: all build run test unit e2e fuzz validate generate check-generated bench tools clean lint

all: build

## tools: ocb, mdatagen (pinned in internal/tools/go.mod) and Prometheus.
tools: $(OCB) $(MDATAGEN) $(PROMETHEUS)

$(OCB) $(MDATAGEN): internal/tools/go.mod internal/tools/go.sum
	cd internal/tools && GOWORK=off $(GO) build -o $(TOOLS)/ go.opentelemetry.io/collector/cmd/builder go.opentelemetry.io/collector/cmd/mdatagen
	@touch $(OCB) $(MDATAGEN)

$(PROMETHEUS):
	GOBIN=$(TOOLS) $(GO) install -tags remove_all_sd \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION)

## generate: regenerate the distribution (ocb) and our components' metadata (mdatagen).
generate: $(OCB) $(MDATAGEN)
	@for m in $(COMPONENTS); do (cd $$(dirname $$m) && $(MDATAGEN) metadata.yaml); done
	GOWORK=off $(OCB) --config builder-config.yaml --skip-compilation

## check-generated: fail when the generated code in the tree differs from a fresh generation.
check-generated: $(OCB) $(MDATAGEN)
	@snap=$$(mktemp -d); cp -r cmd components $$snap/; \
	$(MAKE) --no-print-directory generate >/dev/null; \
	if ! diff -r $$snap/cmd cmd >/dev/null || ! diff -r $$snap/components components >/dev/null; then \
		echo "generated code was out of date; 'make generate' changed:"; \
		diff -r $$snap/cmd cmd | head -40 || true; diff -r $$snap/components components | head -40 || true; \
		rm -rf $$snap; exit 1; \
	fi; rm -rf $$snap; echo "generated code is up to date"

## build: generate, then build bin/otelcol-gatewayz.
build: generate
	# Static: the image's runtime stage has no C library to link against.
	CGO_ENABLED=0 $(GO) build -tags $(BUILD_TAGS) -trimpath -ldflags='-s -w' -o $(BIN) ./cmd/otelcol-gatewayz

## run: build and start the collector with the gateway config (Ctrl-C stops it).
run: build
	@mkdir -p data
	./$(BIN) --config=$(CONFIG) --feature-gates=$(FEATURE_GATES)

## validate: check every collector config loads.
validate: $(BIN)
	@for f in collector-configs/*.yaml; do \
		echo "validate $$f"; ./$(BIN) validate --config=$$f --feature-gates=$(FEATURE_GATES); \
	done

$(BIN):
	$(MAKE) build

lint:
	@out=$$(gofmt -l components tests); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./components/... ./tests/...

## unit: component unit tests (race detector on).
unit:
	$(GO) test -race -count=1 ./components/...

## e2e: end-to-end tests against the one built binary and a real Prometheus.
e2e: $(PROMETHEUS)
	OTELCOL_BIN=$(CURDIR)/$(BIN) PROMETHEUS_BIN=$(PROMETHEUS) \
		$(GO) test -count=1 -timeout 20m ./tests/...

## fuzz: each fuzz target for a bounded time (FUZZTIME).
fuzz:
	@for pkg in $$($(GO) list ./components/...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s -parallel 2 $$pkg; \
		done; \
	done

## test: everything CI runs.
test: tools check-generated build lint validate unit e2e fuzz

## bench: Go benchmarks of our components and of the gateway pipeline.
bench: $(BIN)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -cpu 1 ./components/...
	OTELCOL_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 3x ./tests/bench/...

clean:
	rm -rf bin data .tools
