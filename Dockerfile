# otelcol-gatewayz image. Build: docker build -t otelcol-gatewayz .
# Stage 1 builds the distribution with ocb exactly as `make build` does.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Modules first, in their own layer: an edit anywhere else in the tree
# keeps the download cache.
COPY go.mod go.sum go.work go.work.sum ./
COPY cmd/otelcol-gatewayz/go.mod cmd/otelcol-gatewayz/go.sum cmd/otelcol-gatewayz/
COPY internal/tools/go.mod internal/tools/go.sum internal/tools/
RUN go mod download && cd internal/tools && GOWORK=off go mod download
COPY . .
RUN make build

# Stage 2: a minimal runtime, unprivileged.
FROM alpine:3.22.2
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 otelcol \
 && adduser -S -D -H -u 10001 -G otelcol otelcol \
 && mkdir -p /var/lib/otelcol /etc/otelcol-gatewayz \
 && chown otelcol:otelcol /var/lib/otelcol
COPY --from=build /src/bin/otelcol-gatewayz /usr/local/bin/otelcol-gatewayz
COPY collector-configs/ /etc/otelcol-gatewayz/
ENV COLLECTOR_STORAGE_DIR=/var/lib/otelcol
USER 10001:10001
# OTLP gRPC, OTLP HTTP, Loki push, Pyroscope ingest, health check.
EXPOSE 4317 4318 3100 4040 13133
# Readiness, not liveness: 200 while the collector takes data, 500 while it
# refuses data, 503 while it starts or stops (README "Memory and overload").
# Kubernetes: readinessProbe httpGet :13133 /, livenessProbe tcpSocket :13133.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1:13133/ || exit 1
# memory_limiter and GOMEMLIMIT from one number, the container's memory
# limit (COLLECTOR_MEMORY_LIMIT_MIB, else the cgroup's): see the script. Run
# through sh, so the script needs no executable bit.
ENTRYPOINT ["/bin/sh", "/etc/otelcol-gatewayz/with-memory-limit.sh", "/usr/local/bin/otelcol-gatewayz"]
CMD ["--config=/etc/otelcol-gatewayz/gateway.yaml"]
