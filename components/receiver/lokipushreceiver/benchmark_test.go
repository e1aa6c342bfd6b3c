// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

// benchRequest spreads lines over 4 streams with Promtail-like labels;
// every other line is a JSON line carrying a trace id.
func benchRequest(lines int) *push.PushRequest {
	const streams = 4
	req := &push.PushRequest{}
	base := time.Unix(1764213941, 0)
	for s := 0; s < streams; s++ {
		st := push.Stream{Labels: fmt.Sprintf(`{filename="/var/log/gatewayz/api-%d.log", job="gatewayz-api", k8s_namespace_name="gatewayz", k8s_pod_name="gatewayz-api-6f7c9d-%d", level="info"}`, s, s)}
		for i := s; i < lines; i += streams {
			var line string
			if i%2 == 0 {
				line = fmt.Sprintf(`{"level":"info","msg":"request served","method":"GET","path":"/v1/quote/%d","status":200,"duration_ms":12.5,"trace_id":"4bf92f3577b34da6a3ce929d0e0e%04x","span_id":"00f067aa0ba9%04x"}`, i, i, i)
			} else {
				line = fmt.Sprintf(`2025-11-27T03:25:41.%06dZ INFO app.routes served GET /v1/quote/%d in 12.5ms for user "zoë"`, i, i)
			}
			st.Entries = append(st.Entries, push.Entry{Timestamp: base.Add(time.Duration(i) * time.Microsecond), Line: line})
		}
		req.Streams = append(req.Streams, st)
	}
	return req
}

// benchJSON renders the same request in the Loki JSON push format.
func benchJSON(b testing.TB, req *push.PushRequest) []byte {
	type js struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	var out struct {
		Streams []js `json:"streams"`
	}
	for _, s := range req.Streams {
		ls, err := parseLabels(s.Labels)
		require.NoError(b, err)
		m := map[string]string{}
		for _, l := range ls {
			m[l.name] = l.value
		}
		st := js{Stream: m}
		for _, e := range s.Entries {
			st.Values = append(st.Values, [2]string{strconv.FormatInt(e.Timestamp.UnixNano(), 10), e.Line})
		}
		out.Streams = append(out.Streams, st)
	}
	body, err := json.Marshal(out)
	require.NoError(b, err)
	return body
}

// perLine reports ns/line and allocs/line: the figures to hold against an
// OTLP export of the same lines (BenchmarkOTLPLogsCounterpart). It also
// reports cpu-ns/line, the process's CPU time (GC included): unlike the
// wall-clock ns/line, it leaves out the time other work had the CPU.
func perLine(b *testing.B, lines int, run func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := processCPU(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
	cpu := processCPU(b) - cpu0
	runtime.ReadMemStats(&after)
	n := float64(lines * b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/line")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/line")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/line")
}

// processCPU is the user and system time the process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runPushBenchmark(b *testing.B, body []byte, contentType string, lines int) {
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(b, sink, nil)
	b.SetBytes(int64(len(body)))
	perLine(b, lines, func() {
		req := httptest.NewRequest(http.MethodPost, pushPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		sink.Reset()
	})
}

func BenchmarkPushJSON(b *testing.B) {
	for _, lines := range []int{100, 1000} {
		body := benchJSON(b, benchRequest(lines))
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
			runPushBenchmark(b, body, "application/json", lines)
		})
	}
}

// BenchmarkPushLoadgen pushes the bodies `make bench` sends
// (internal/loadgen: python-logging-loki's JSON, Promtail's snappy
// protobuf), 1000 lines a request as there.
func BenchmarkPushLoadgen(b *testing.B) {
	const lines = 1000
	for _, kind := range []loadgen.Kind{loadgen.LokiJSON, loadgen.LokiProto} {
		body, contentType := loadgenBody(b, kind, lines)
		b.Run(string(kind), func(b *testing.B) {
			runPushBenchmark(b, body, contentType, lines)
		})
	}
}

// loadgenBody is the first request internal/loadgen sends for kind.
func loadgenBody(tb testing.TB, kind loadgen.Kind, lines int) ([]byte, string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	var body []byte
	var contentType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err == nil {
			once.Do(func() { body, contentType = b, r.Header.Get("Content-Type"); cancel() })
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	_, err := loadgen.Run(ctx, loadgen.Options{Kind: kind, Target: srv.URL, Workers: 1, BatchSize: lines, Duration: time.Minute}, nil)
	require.NoError(tb, err)
	require.NotEmpty(tb, body, "loadgen sent no %s request", kind)
	return body, contentType
}

func BenchmarkPushProtobuf(b *testing.B) {
	for _, lines := range []int{100, 1000} {
		body := snappyProto(b, benchRequest(lines))
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
			runPushBenchmark(b, body, "application/x-protobuf", lines)
		})
	}
}

// BenchmarkOTLPLogsCounterpart is what the OTLP receiver does with the
// same lines (the records this receiver makes of benchRequest, as an OTLP
// export request): unmarshal into plog and hand it on. Compare its ns/line
// and allocs/line with BenchmarkPushProtobuf's and BenchmarkPushJSON's.
func BenchmarkOTLPLogsCounterpart(b *testing.B) {
	for _, lines := range []int{100, 1000} {
		streams, err := decodeProtobuf(mustMarshal(b, benchRequest(lines)))
		require.NoError(b, err)
		m := mapper{serviceNameLabels: defaultServiceNameLabels}
		body, err := plogotlp.NewExportRequestFromLogs(m.toLogs(streams, 1)).MarshalProto()
		require.NoError(b, err)
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
			sink := new(consumertest.LogsSink)
			b.SetBytes(int64(len(body)))
			perLine(b, lines, func() {
				req := plogotlp.NewExportRequest()
				if err := req.UnmarshalProto(body); err != nil {
					b.Fatal(err)
				}
				if err := sink.ConsumeLogs(context.Background(), req.Logs()); err != nil {
					b.Fatal(err)
				}
				sink.Reset()
			})
		})
	}
}

// BenchmarkDecodeProtobuf compares the protobuf decoder with the one on the
// generated push types it replaced (snappy excluded).
func BenchmarkDecodeProtobuf(b *testing.B) {
	const lines = 1000
	raw := mustMarshal(b, benchRequest(lines))
	for name, decode := range map[string]func([]byte) ([]stream, error){"wire": decodeProtobuf, "generated": refDecodeProtobuf} {
		b.Run(name, func(b *testing.B) {
			perLine(b, lines, func() {
				if _, err := decode(raw); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkDecodeJSON compares the JSON decoder with encoding/json's path
// on the load generator's python-logging-loki body.
func BenchmarkDecodeJSON(b *testing.B) {
	const lines = 1000
	body, _ := loadgenBody(b, loadgen.LokiJSON, lines)
	for name, decode := range map[string]func([]byte) ([]stream, error){"fast": decodeJSON, "encoding/json": decodeJSONStd} {
		b.Run(name, func(b *testing.B) {
			perLine(b, lines, func() {
				if _, err := decode(body); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkTraceContextFromLine compares the one-pass scan of a JSON line
// with json.Valid followed by a second scan, which it replaced.
func BenchmarkTraceContextFromLine(b *testing.B) {
	lines := map[string]string{
		"short": `{"level":"info","msg":"chat completion served","provider":"openai","model":"gpt-4o","route":"/v1/chat/completions","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
		// A message of a few hundred bytes (a query, a URL, an error
		// chain), as many application lines carry.
		"longmsg": `{"level":"error","logger":"app.db","msg":"query failed after 3 retries: SELECT id, tenant_id, model, prompt_tokens, completion_tokens, created_at FROM usage_events WHERE tenant_id = $1 AND created_at > now() - interval '1 hour' ORDER BY created_at DESC LIMIT 500: pq: canceling statement due to statement timeout","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
	}
	for name, lift := range map[string]func(string, bool, bool) (pcommon.TraceID, pcommon.SpanID, bool, bool){"onepass": traceContextFromLine, "jsonvalid": refTraceContextFromLine} {
		for shape, line := range lines {
			b.Run(name+"/"+shape, func(b *testing.B) {
				perLine(b, 1, func() {
					if _, _, tok, sok := lift(line, true, true); !tok || !sok {
						b.Fatal("not lifted")
					}
				})
			})
		}
	}
}

func mustMarshal(tb testing.TB, req *push.PushRequest) []byte {
	b, err := req.Marshal()
	require.NoError(tb, err)
	return b
}
