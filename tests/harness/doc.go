// Package harness starts the real processes an end-to-end test needs: the
// built otelcol-gatewayz binary, a Prometheus server standing in for Mimir,
// and recording sinks that speak the exact wire protocols of Loki, Tempo and
// Pyroscope (none of which can be installed here).
//
// Every process and listener is bound to 127.0.0.1 and torn down with the
// test, so tests can run in parallel.
package harness
