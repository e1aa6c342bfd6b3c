// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../../.tools/bin/mdatagen metadata.yaml

// Package rejectionsextension makes refused requests visible. Configured as
// a server middleware on a receiver (HTTP or gRPC), it reads the final
// status of every request, counts the refusals by reason as
// otelcol_ingress_requests_rejected and logs one info line per reason
// at most once per interval. The receivers only log refusals at debug level
// and the OTLP receiver counts refused data only after decoding it, so
// without this an operator cannot see a misconfigured Promtail or SDK.
package rejectionsextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/rejectionsextension"
