// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../../.tools/bin/mdatagen metadata.yaml

// Package promscrapereceiver scrapes Prometheus /metrics endpoints listed
// statically and emits what it scrapes as OTLP metrics, the same metrics
// contrib's prometheus receiver emits for those targets, at a fraction of
// its CPU and memory per series.
package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"
