// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../../.tools/bin/mdatagen metadata.yaml

// Package pyroscopereceiver accepts profiles pushed with the Pyroscope
// ingestion protocol (POST /ingest, as sent by the Pyroscope SDKs) and emits
// them as OTLP profiles.
package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"
