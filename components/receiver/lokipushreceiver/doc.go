// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../../.tools/bin/mdatagen metadata.yaml

// Package lokipushreceiver accepts the Grafana Loki push API (JSON and
// snappy-compressed protobuf) and turns each pushed stream into OpenTelemetry
// logs, so Promtail and python-logging-loki clients can send through the
// collector.
package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"
