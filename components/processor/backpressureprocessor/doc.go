// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../../.tools/bin/mdatagen metadata.yaml

// Package backpressureprocessor turns a pipeline's retryable refusal into
// the answer a client needs and makes the health check tell the truth about
// it. Placed first in a pipeline a receiver feeds, it returns every
// non-permanent error of the next consumer (memory_limiter's refusal, a
// full sending queue) as a gRPC status (UNAVAILABLE, or RESOURCE_EXHAUSTED
// if that is what it was) carrying RetryInfo, so the OTLP receiver sends
// `Retry-After` on its HTTP 503/429 and gRPC clients get the delay as well;
// and it reports the component status RecoverableError while the pipeline
// refuses data and StatusOK once it has refused nothing for a while, which
// health_check in component-status mode turns into a failing answer.
package backpressureprocessor // import "github.com/gatewayz/otelcol-gatewayz/components/processor/backpressureprocessor"
