// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package scrubprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

var benchStart = time.Unix(1_700_000_000, 0)

// BenchmarkProcessTraces: the gateway's patterns on the load generator's
// 400-span batch (gateway, provider with GenAI attributes, router and
// Redis spans; every tenth request failed), decoded from protobuf as the
// receiver does. Nothing in it is a credential, as in most production
// traffic: this is the cost of finding nothing.
func BenchmarkProcessTraces(b *testing.B) {
	s := newTestScrubber(b, gatewayConfig)
	buf, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(loadgen.Scenario{Requests: 80, FailEvery: loadgen.TraceFailEvery, Start: benchStart}.Traces())
	require.NoError(b, err)
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(buf)
	require.NoError(b, err)
	spans := td.SpanCount()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.traces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// BenchmarkProcessLogs: the same on the load generator's 1000-line OTLP
// log batch.
func BenchmarkProcessLogs(b *testing.B) {
	s := newTestScrubber(b, gatewayConfig)
	buf, err := (&plog.ProtoMarshaler{}).MarshalLogs(loadgen.Scenario{Requests: 1000, FailEvery: loadgen.TraceFailEvery, Start: benchStart}.Logs())
	require.NoError(b, err)
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(buf)
	require.NoError(b, err)
	lines := ld.LogRecordCount()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.logs(ctx, ld); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}
