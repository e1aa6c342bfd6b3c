package harness

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestSinkLatency: a span is timed by its trace's latest end, log records
// by their own time, and implausible timestamps are skipped, not counted.
func TestSinkLatency(t *testing.T) {
	s := StartOTLPSink(t)
	lat := s.TrackLatency()
	if _, ok := lat.Quantile(0.99); ok {
		t.Fatal("a quantile of nothing")
	}
	now := time.Now()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	// 99 traces sent 50 ms ago, each a root and a child that ended 3 s
	// before it; one trace sent 2 s ago; one span of a fixture's old time.
	for i := range 101 {
		sent := now.Add(-50 * time.Millisecond)
		if i == 99 {
			sent = now.Add(-2 * time.Second)
		}
		id := pcommon.TraceID{byte(i + 1)}
		if i == 100 {
			sent = now.Add(-24 * time.Hour)
		}
		for _, end := range []time.Time{sent, sent.Add(-3 * time.Second)} {
			sp := spans.AppendEmpty()
			sp.SetTraceID(id)
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		}
	}
	s.record(Request{Transport: "grpc", Traces: td})
	obs, skipped := lat.Count()
	if obs != 200 || skipped != 2 {
		t.Fatalf("observed %d, skipped %d; want 200 and 2", obs, skipped)
	}
	p50, _ := lat.Quantile(0.5)
	p99, _ := lat.Quantile(0.99)
	p100, _ := lat.Quantile(1)
	if p50 < 50*time.Millisecond || p50 > 500*time.Millisecond {
		t.Errorf("P50 %s, want about 50ms: children must take their root's end", p50)
	}
	if p99 > 500*time.Millisecond {
		t.Errorf("P99 %s, want about 50ms (198 of 200 spans)", p99)
	}
	if p100 < 2*time.Second || p100 > 3*time.Second {
		t.Errorf("max %s, want about 2s", p100)
	}

	lat.Reset()
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-700 * time.Millisecond)))
	s.record(Request{Transport: "http", Logs: ld})
	if got, ok := lat.Quantile(0.99); !ok || got < 700*time.Millisecond || got > 1500*time.Millisecond {
		t.Errorf("log record P99 %s %v, want about 700ms", got, ok)
	}
}
