// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../../.tools/bin/mdatagen metadata.yaml

// Package shutdownlimitextension bounds how long the collector takes to
// stop. Collector v0.158.0 has no shutdown timeout: a stop drains every
// in-memory sending queue, and an exporter whose backend is down goes on
// retrying what it holds (for minutes: retry_on_failure's max_elapsed_time),
// so SIGTERM can take far longer than compose's 10 s or
// Kubernetes' 30 s grace period, after which the process is killed anyway.
// This extension starts a timer when the shutdown begins (the service tells
// extensions that the pipelines are no longer ready) and, when it runs out,
// logs what each exporter still holds in its queue and exits the process.
// On-disk queues keep what they hold for the next start; in-memory queues
// lose it, and the log line says how much.
package shutdownlimitextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/shutdownlimitextension"
