// Package harness starts the real processes an end-to-end test needs: the
// built otelcol-gatewayz binary, a Prometheus server standing in for Mimir,
// recording sinks that speak the exact wire protocols of Loki, Tempo and
// Pyroscope (none of which can be installed here), and a fake GatewayZ
// backend to scrape. It also holds what every such test does with them:
// the one OTLP client (SendTraces, SendLogs, SendMetrics), tables of PromQL
// checks (PromQL, Expect), and faults that make a backend refuse or delay
// requests (SetFault) so outage tests need no dead ports.
//
// Every process and listener is bound to 127.0.0.1 and torn down with the
// test, so tests can run in parallel.
package harness
