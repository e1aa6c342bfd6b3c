// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../../.tools/bin/mdatagen metadata.yaml

// Package lz4compressionextension is an HTTP client middleware that sends
// request bodies as LZ4 frames with a block size of its config. At v0.158.0
// confighttp's `compression: lz4` always uses the LZ4 library's 4 MiB
// blocks: every request compressed at once holds about 12 MiB of block
// buffers, whatever its size, so ten Loki consumers sending 2.3 MB batches
// held up to 100 MiB of them (heap profile of the gateway at 400k OTLP
// lines/s). Any LZ4 frame reader (Loki's among them) reads any block size.
package lz4compressionextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/lz4compressionextension"
