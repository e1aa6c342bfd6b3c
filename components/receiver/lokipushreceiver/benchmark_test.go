// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
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

func runPushBenchmark(b *testing.B, body []byte, contentType string, lines int) {
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(b, sink, nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, pushPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		sink.Reset()
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkPushJSON(b *testing.B) {
	for _, lines := range []int{100, 1000} {
		body := benchJSON(b, benchRequest(lines))
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
			runPushBenchmark(b, body, "application/json", lines)
		})
	}
}

func BenchmarkPushProtobuf(b *testing.B) {
	for _, lines := range []int{100, 1000} {
		body := snappyProto(b, benchRequest(lines))
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
			runPushBenchmark(b, body, "application/x-protobuf", lines)
		})
	}
}
