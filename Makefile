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
PROMTOOL        := $(TOOLS)/promtool
ALERTMANAGER    := $(TOOLS)/alertmanager
AMTOOL          := $(TOOLS)/amtool
ALERTMANAGER_VERSION := v0.35.0
# Grafana's own LogQL and TraceQL grammars (npm), for tests/grafana.
NODE_MODULES    := $(CURDIR)/.tools/node/node_modules
LEZER           := $(NODE_MODULES)/@grafana/lezer-logql/package.json
LEZER_PACKAGES  := @grafana/lezer-logql@0.4.2 @grafana/lezer-traceql@1.0.0
DASHBOARDS_DIR  := grafana/provisioning/dashboards
BIN             := bin/otelcol-gatewayz
CONFIG          ?= collector-configs/gateway.yaml
# The Prometheus receiver's cloud service discovery (AWS, Azure, GCE, k8s)
# is dead weight for static scrape targets; the test Prometheus is built
# with the same tag for the same reason.
BUILD_TAGS      := remove_all_sd
# What the binary is built from: a change to any of these rebuilds it
# before validate, e2e or bench use it.
BIN_SOURCES     := builder-config.yaml go.mod go.sum go.work \
	$(shell find components cmd/otelcol-gatewayz -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name metadata.yaml \))
FUZZTIME        ?= 15s
BENCHTIME       ?= 2s
# make e2e E2E_RUN=TestName runs the end-to-end tests matching it.
E2E_RUN         ?= .

# Our components, one Go package each (mdatagen runs in each).
COMPONENTS      := $(wildcard components/*/*/metadata.yaml)



.PHONY: all build run test unit e2e fuzz validate generate check-generated bench tools clean lint dashboards grafana-tools

all: build

## tools: ocb, mdatagen (pinned in internal/tools/go.mod), Prometheus, promtool, Alertmanager and amtool.
tools: $(OCB) $(MDATAGEN) $(PROMETHEUS) $(PROMTOOL) $(ALERTMANAGER) $(AMTOOL) $(LEZER)

$(OCB) $(MDATAGEN): internal/tools/go.mod internal/tools/go.sum
	cd internal/tools && GOWORK=off $(GO) build -o $(TOOLS)/ go.opentelemetry.io/collector/cmd/builder go.opentelemetry.io/collector/cmd/mdatagen
	@touch $(OCB) $(MDATAGEN)

$(PROMETHEUS):
	GOBIN=$(TOOLS) $(GO) install -tags $(BUILD_TAGS) \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION)

# promtool and the Alertmanager check and exercise backends/mimir's alert
# rules and routing (tests/alerts).
$(PROMTOOL):
	GOBIN=$(TOOLS) $(GO) install -tags $(BUILD_TAGS) \
		github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)

# The module's zip lacks the web UI's build output (ui/app/dist, made with
# npm upstream) that its go:embed needs, so `go install` fails: build a copy
# of the module with an empty UI. The API, which Prometheus and the tests
# use, is unaffected.
$(ALERTMANAGER):
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	src=$$(cd $$tmp && GOWORK=off $(GO) mod download -json \
		github.com/prometheus/alertmanager@$(ALERTMANAGER_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$src"; cp -r $$src/. $$tmp/; chmod -R u+w $$tmp; \
	for ui in elm mantine; do mkdir -p $$tmp/ui/app/dist/$$ui; \
		echo '<p>UI not built (see Makefile)</p>' > $$tmp/ui/app/dist/$$ui/index.html; done; \
	cd $$tmp && GOWORK=off $(GO) build -o $@ ./cmd/alertmanager

## grafana-tools: Grafana's LogQL and TraceQL grammars into .tools/node.
grafana-tools: $(LEZER)

$(LEZER):
	npm install --prefix $(CURDIR)/.tools/node --no-audit --no-fund --no-save $(LEZER_PACKAGES)
	@touch $@

## dashboards: regenerate the Grafana dashboards (grafana/dashboards, Go) into grafana/provisioning/dashboards.
dashboards:
	@rm -f $(DASHBOARDS_DIR)/*/*.json
	$(GO) run ./grafana/dashboards -out $(DASHBOARDS_DIR)

$(AMTOOL):
	GOBIN=$(TOOLS) $(GO) install github.com/prometheus/alertmanager/cmd/amtool@$(ALERTMANAGER_VERSION)

## generate: regenerate the distribution (ocb) and our components' metadata (mdatagen).
generate: $(OCB) $(MDATAGEN)
	@for m in $(COMPONENTS); do (cd $$(dirname $$m) && $(MDATAGEN) metadata.yaml); done
	GOWORK=off $(OCB) --config builder-config.yaml --skip-compilation

## check-generated: fail when the generated code in the tree differs from a fresh generation.
check-generated: $(OCB) $(MDATAGEN)
	@snap=$$(mktemp -d); cp -r cmd components $$snap/; cp -r $(DASHBOARDS_DIR) $$snap/dashboards; \
	$(MAKE) --no-print-directory generate dashboards >/dev/null; \
	if ! diff -r $$snap/cmd cmd >/dev/null || ! diff -r $$snap/components components >/dev/null || ! diff -r $$snap/dashboards $(DASHBOARDS_DIR) >/dev/null; then \
		echo "generated code was out of date; 'make generate dashboards' changed:"; \
		diff -r $$snap/cmd cmd | head -40 || true; diff -r $$snap/components components | head -40 || true; \
		diff -r $$snap/dashboards $(DASHBOARDS_DIR) | head -40 || true; \
		rm -rf $$snap; exit 1; \
	fi; rm -rf $$snap; echo "generated code is up to date"

## build: generate, then build bin/otelcol-gatewayz (only when a source changed).
build: $(BIN)

$(BIN): $(BIN_SOURCES) | $(OCB) $(MDATAGEN)
	$(MAKE) --no-print-directory generate
	# Static: the image's runtime stage has no C library to link against.
	CGO_ENABLED=0 $(GO) build -tags $(BUILD_TAGS) -trimpath -ldflags='-s -w' -o $(BIN) ./cmd/otelcol-gatewayz

## run: build and start the collector with the gateway config (Ctrl-C stops it).
# Memory settings as in the image: from COLLECTOR_MEMORY_LIMIT_MIB (default 2000).
run: $(BIN)
	@mkdir -p data
	sh collector-configs/with-memory-limit.sh ./$(BIN) --config=$(CONFIG)

LOADGEN             := bin/gatewayz-loadgen
DEV_DATA_DIR        ?= data
DEV_PROMETHEUS_ADDR ?= 127.0.0.1:9090
DEV_METRICS_ADDR    ?= 127.0.0.1:8000
DEV_LOADGEN_KINDS   ?= traces,logs,loki-json,loki-proto,pyroscope,otlp-profiles
# Items per second per kind: a few dozen gateway requests a second, a
# profile every five seconds.
DEV_LOADGEN_RATE    ?= traces=200,logs=50,loki-json=20,loki-proto=20,pyroscope=0.2,otlp-profiles=0.2

$(LOADGEN): go.mod go.sum $(shell find internal/loadgen cmd/gatewayz-loadgen -name '*.go' ! -name '*_test.go') internal/loadgen/cpu_30k.pb.gz
	$(GO) build -o $@ ./cmd/gatewayz-loadgen

.PHONY: dev
## dev: the whole pipeline without Docker: Prometheus as the metrics store, the collector (gateway.yaml + dev.yaml: spans, logs, profiles to files under DEV_DATA_DIR), the load generator, and a live PromQL summary. Ctrl-C stops all of them.
# Background jobs of a non-interactive shell ignore Ctrl-C: the trap stops
# them (SIGTERM) and waits, so nothing is left running. DEV_LOADGEN_KINDS=none
# sends nothing (feed it from your own app); the generator still serves
# /metrics on DEV_METRICS_ADDR, scraped unless FASTAPI_TARGET is set.
dev: $(BIN) $(PROMETHEUS) $(LOADGEN)
	@mkdir -p $(DEV_DATA_DIR)/prometheus
	@pids=(); \
	stop() { trap - EXIT INT TERM; kill "$${pids[@]}" 2>/dev/null || true; wait "$${pids[@]}" 2>/dev/null || true; }; \
	trap stop EXIT INT TERM; \
	$(PROMETHEUS) --config.file=tests/harness/prometheus.yaml --storage.tsdb.path=$(DEV_DATA_DIR)/prometheus \
		--web.listen-address=$(DEV_PROMETHEUS_ADDR) --web.enable-otlp-receiver \
		--enable-feature=exemplar-storage >$(DEV_DATA_DIR)/prometheus.log 2>&1 & pids+=($$!); \
	DEV_DATA_DIR=$(DEV_DATA_DIR) \
	MIMIR_OTLP_URL="$${MIMIR_OTLP_URL:-http://$(DEV_PROMETHEUS_ADDR)/api/v1/otlp}" \
	FASTAPI_TARGET="$${FASTAPI_TARGET:-$(DEV_METRICS_ADDR)}" \
	SPANMETRICS_FLUSH_INTERVAL="$${SPANMETRICS_FLUSH_INTERVAL:-5s}" \
	SERVICE_GRAPH_FLUSH_INTERVAL="$${SERVICE_GRAPH_FLUSH_INTERVAL:-5s}" \
		sh collector-configs/with-memory-limit.sh ./$(BIN) --config=collector-configs/gateway.yaml \
		--config=collector-configs/dev.yaml >$(DEV_DATA_DIR)/collector.log 2>&1 & collector=$$!; pids+=($$collector); \
	health="$${HEALTH_ENDPOINT:-0.0.0.0:13133}"; health="127.0.0.1:$${health##*:}"; \
	for i in $$(seq 300); do \
		if ! kill -0 $$collector 2>/dev/null; then echo "the collector exited; $(DEV_DATA_DIR)/collector.log:"; tail -20 $(DEV_DATA_DIR)/collector.log; exit 1; fi; \
		if (exec 3<>/dev/tcp/$${health%:*}/$${health##*:} && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && \
			read -r status <&3 && [[ $$status == *" 200 "* ]]) 2>/dev/null; then break; fi; sleep 0.2; \
	done; \
	./$(LOADGEN) -kinds $(DEV_LOADGEN_KINDS) -rate '$(DEV_LOADGEN_RATE)' -metrics-addr $(DEV_METRICS_ADDR) \
		>$(DEV_DATA_DIR)/loadgen.log 2>&1 & pids+=($$!); \
	echo "make dev: collector up (OTLP 4317/4318, Loki push 3100, Pyroscope 4040); Prometheus http://$(DEV_PROMETHEUS_ADDR)"; \
	echo "  spans, logs, profiles: $(DEV_DATA_DIR)/{traces,logs,profiles}.jsonl; logs of each process: $(DEV_DATA_DIR)/*.log; Ctrl-C stops all"; \
	./$(LOADGEN) watch -prometheus http://$(DEV_PROMETHEUS_ADDR)

.PHONY: up down
## up: build and start the whole stack (collector, backends, Grafana) with docker compose.
up:
	docker compose -f compose/docker-compose.yaml up -d --build

## down: stop the stack; its data stays in the named volumes.
# compose interpolates the whole file for `down` too, and refuses without the
# Grafana password (it has no default); stopping does not use it.
down:
	GF_SECURITY_ADMIN_PASSWORD="$${GF_SECURITY_ADMIN_PASSWORD:-unused-by-down}" \
		docker compose -f compose/docker-compose.yaml down

## validate: check every collector config loads.
# dev.yaml is an overlay: it is only ever loaded over gateway.yaml.
validate: $(BIN)
	@for f in collector-configs/*.yaml; do \
		if [ "$$f" = collector-configs/dev.yaml ]; then continue; fi; \
		echo "validate $$f"; ./$(BIN) validate --config=$$f; \
	done
	@echo "validate collector-configs/gateway.yaml + dev.yaml"; \
	./$(BIN) validate --config=collector-configs/gateway.yaml --config=collector-configs/dev.yaml

## lint: gofmt and go vet on every Go package of ours.
lint:
	@out=$$(gofmt -l components internal/pprofcompare internal/loadgen cmd/gatewayz-loadgen grafana tests); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./components/... ./internal/pprofcompare/... ./internal/loadgen/... ./cmd/gatewayz-loadgen/... ./grafana/... ./tests/...

## unit: component unit tests (race detector on).
unit:
	$(GO) test -race -count=1 ./components/... ./internal/pprofcompare/... ./internal/loadgen/... ./cmd/gatewayz-loadgen/...

## e2e: end-to-end tests against the one built binary and a real Prometheus.
e2e: $(BIN) $(PROMETHEUS) $(PROMTOOL) $(ALERTMANAGER) $(AMTOOL) $(LEZER)
	OTELCOL_BIN=$(CURDIR)/$(BIN) PROMETHEUS_BIN=$(PROMETHEUS) \
		PROMTOOL_BIN=$(PROMTOOL) ALERTMANAGER_BIN=$(ALERTMANAGER) AMTOOL_BIN=$(AMTOOL) \
		GRAFANA_LEZER_DIR=$(NODE_MODULES) \
		$(GO) test -count=1 -timeout 20m -run '$(E2E_RUN)' ./tests/...

## fuzz: each fuzz target for a bounded time (FUZZTIME).
fuzz:
	@for pkg in $$($(GO) list ./components/...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			GO=$(GO) tests/fuzz.sh $$pkg $$f $(FUZZTIME); \
		done; \
	done

## test: everything CI runs.
test: tools check-generated build lint validate unit e2e fuzz

## bench: Go benchmarks of our components, then tests/bench: per signal the
## highest rate one core sustains, its cost and the side-by-side ratios,
## written to docs/benchmarks.md and docs/benchmarks.png (how long: README, Performance).
# `make bench BENCH_DURATION=5s` etc. reach the test (README, Environment variables).
export BENCH_DURATION BENCH_STEP BENCH_ROUNDS BENCH_REFINE BENCH_SIGNALS BENCH_WORKERS BENCH_COLLECTOR_CPU BENCH_LOAD_CPUS
bench: $(BIN)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -cpu 1 ./components/...
	OTELCOL_BIN=$(CURDIR)/$(BIN) BENCH_OUT=$(CURDIR)/docs/benchmarks.md \
		$(GO) test -count=1 -timeout 60m -run '^TestBench$$' -v ./tests/bench/

clean:
	rm -rf bin data .tools
