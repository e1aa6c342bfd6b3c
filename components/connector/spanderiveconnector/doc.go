// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate mdatagen metadata.yaml

// Package spanderiveconnector derives span metrics, service-graph edges and
// GenAI token usage from spans in one pass over each batch. It emits the
// series the stock span_metrics and service_graph connectors (plus the
// gateway's rename transform) and signal_to_metrics with
// delta_to_cumulative produced, under the same names and labels, at a
// fraction of their cost per span.
package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"
