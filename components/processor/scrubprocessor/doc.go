// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate mdatagen metadata.yaml

// Package scrubprocessor masks credentials and removes GenAI message
// content from spans and logs in one pass. It does what the stock
// redaction processor (allow_all_keys, blocked_key_patterns,
// blocked_values, summary silent) followed by the gateway's
// transform/genai_content statements did, with the same result, but runs a
// pattern only on strings that contain its literal prefix.
package scrubprocessor // import "github.com/gatewayz/otelcol-gatewayz/components/processor/scrubprocessor"
