// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
	"github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver/internal/metadata"
)

const pythonBody = `{"streams": [{"stream": {"application": "gatewayz-api", "environment": "production", "severity": "error", "logger": "app.routes"}, "values": [["1764213941123456768", "payment declined for order 8812"], ["1764213941123456769", "retrying \u00e9t\u00e9 \"quoted\"\ttab"]]}]}`

func TestPushJSON(t *testing.T) {
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)

	rec := do(h, http.MethodPost, pushPath, []byte(pythonBody), jsonHeaders)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.Empty(t, rec.Body.String())

	require.Len(t, sink.AllLogs(), 1)
	ld := sink.AllLogs()[0]
	require.Equal(t, 1, ld.ResourceLogs().Len())
	rl := ld.ResourceLogs().At(0)
	assert.Equal(t, map[string]any{
		"service.name": "gatewayz-api",
		"application":  "gatewayz-api",
		"environment":  "production",
		"severity":     "error",
		"logger":       "app.routes",
	}, rl.Resource().Attributes().AsRaw())
	require.Equal(t, 1, rl.ScopeLogs().Len())
	lrs := rl.ScopeLogs().At(0).LogRecords()
	require.Equal(t, 2, lrs.Len())

	lr := lrs.At(0)
	assert.Equal(t, pcommon.Timestamp(1764213941123456768), lr.Timestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(observedTime), lr.ObservedTimestamp())
	assert.Equal(t, pcommon.ValueTypeStr, lr.Body().Type())
	assert.Equal(t, "payment declined for order 8812", lr.Body().Str())
	assert.Equal(t, "error", lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
	assert.Equal(t, 0, lr.Attributes().Len())
	assert.True(t, lr.TraceID().IsEmpty())

	lr = lrs.At(1)
	assert.Equal(t, pcommon.Timestamp(1764213941123456769), lr.Timestamp())
	assert.Equal(t, "retrying été \"quoted\"\ttab", lr.Body().Str())
}

func TestPushJSONCompressed(t *testing.T) {
	body := []byte(pythonBody)
	tests := []struct {
		name     string
		encoding string
		body     []byte
	}{
		{name: "gzip", encoding: "gzip", body: gzipBytes(t, body)},
		{name: "deflate zlib-wrapped", encoding: "deflate", body: zlibBytes(t, body)},
		{name: "deflate raw (Loki style)", encoding: "deflate", body: flateBytes(t, body)},
		{name: "snappy block", encoding: "snappy", body: snappy.Encode(nil, body)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			_, h := newTestHandler(t, sink, nil)
			rec := do(h, http.MethodPost, pushPath, tt.body, map[string]string{
				"Content-Type":     "application/json",
				"Content-Encoding": tt.encoding,
			})
			require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
			recs := flatten(sink.AllLogs())
			require.Len(t, recs, 2)
			assert.Equal(t, "payment declined for order 8812", recs[0].record.Body().Str())
			assert.Equal(t, pcommon.Timestamp(1764213941123456768), recs[0].record.Timestamp())
			assert.Equal(t, "gatewayz-api", recs[0].resource["service.name"])
		})
	}
}

// promtailRequest is shaped like what Promtail sends: a label string per
// stream and entries with stdtime timestamps.
func promtailRequest() *push.PushRequest {
	return &push.PushRequest{Streams: []push.Stream{
		{
			Labels: `{filename="/var/log/gatewayz/api.log", job="gatewayz-api", k8s_namespace_name="prod", level="info"}`,
			Entries: []push.Entry{
				{Timestamp: time.Unix(1764213941, 1), Line: `{"msg":"listening","port":8080}`},
				{
					Timestamp: time.Unix(1764213942, 999999999),
					Line:      "GET /healthz 200 – 0.4ms ✓",
					StructuredMetadata: push.LabelsAdapter{
						{Name: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"},
						{Name: "span_id", Value: "00f067aa0ba902b7"},
						{Name: "level", Value: "warn"},
						{Name: "user_agent", Value: "kube-probe/1.31"},
					},
				},
			},
		},
		{
			Labels:  `{job="worker"}`,
			Entries: []push.Entry{{Timestamp: time.Unix(0, 1764213943000000000), Line: "job done"}},
		},
	}}
}

func TestPushProtobuf(t *testing.T) {
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)

	rec := do(h, http.MethodPost, pushPath, snappyProto(t, promtailRequest()), protoHeaders)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())

	require.Len(t, sink.AllLogs(), 1)
	ld := sink.AllLogs()[0]
	require.Equal(t, 2, ld.ResourceLogs().Len())

	rl := ld.ResourceLogs().At(0)
	assert.Equal(t, map[string]any{
		"service.name":       "gatewayz-api",
		"job":                "gatewayz-api",
		"filename":           "/var/log/gatewayz/api.log",
		"k8s.namespace.name": "prod",
		"level":              "info",
	}, rl.Resource().Attributes().AsRaw())
	lrs := rl.ScopeLogs().At(0).LogRecords()
	require.Equal(t, 2, lrs.Len())

	lr := lrs.At(0)
	assert.Equal(t, pcommon.Timestamp(1764213941000000001), lr.Timestamp())
	assert.Equal(t, `{"msg":"listening","port":8080}`, lr.Body().Str())
	assert.Equal(t, "info", lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber())
	assert.Equal(t, 0, lr.Attributes().Len())

	lr = lrs.At(1)
	assert.Equal(t, pcommon.Timestamp(1764213942999999999), lr.Timestamp())
	assert.Equal(t, "GET /healthz 200 – 0.4ms ✓", lr.Body().Str())
	// structured metadata level beats the stream label
	assert.Equal(t, "warn", lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lr.TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", lr.SpanID().String())
	// trace_id/span_id were lifted, the rest stay as attributes
	assert.Equal(t, map[string]any{"level": "warn", "user_agent": "kube-probe/1.31"}, lr.Attributes().AsRaw())

	rl = ld.ResourceLogs().At(1)
	assert.Equal(t, map[string]any{"service.name": "worker", "job": "worker"}, rl.Resource().Attributes().AsRaw())
	lr = rl.ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, pcommon.Timestamp(1764213943000000000), lr.Timestamp())
	assert.Equal(t, "job done", lr.Body().Str())
	assert.Empty(t, lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberUnspecified, lr.SeverityNumber())
}

func TestPushProtobufContentEncodingSnappy(t *testing.T) {
	// Some clients also say Content-Encoding: snappy; Loki treats it as a
	// no-op for protobuf, so must we (no double decoding).
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)
	rec := do(h, http.MethodPost, pushPath, snappyProto(t, promtailRequest()), map[string]string{
		"Content-Type":     "application/x-protobuf",
		"Content-Encoding": "snappy",
	})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.Equal(t, 3, sink.LogRecordCount())
}

func TestPushNoContentTypeSniffs(t *testing.T) {
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)

	rec := do(h, http.MethodPost, pushPath, []byte(pythonBody), nil)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.Equal(t, 2, sink.LogRecordCount())

	rec = do(h, http.MethodPost, pushPath, snappyProto(t, promtailRequest()), nil)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.Equal(t, 5, sink.LogRecordCount())

	// Neither JSON nor snappy: the JSON error is reported.
	rec = do(h, http.MethodPost, pushPath, []byte(`{"streams": [`), nil)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "invalid JSON push request")
	assert.Equal(t, 5, sink.LogRecordCount())
}

func TestLegacyPath(t *testing.T) {
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)

	rec := do(h, http.MethodPost, legacyPushPath, []byte(pythonBody), jsonHeaders)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	rec = do(h, http.MethodPost, legacyPushPath, snappyProto(t, promtailRequest()), protoHeaders)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.Equal(t, 5, sink.LogRecordCount())
}

func TestTenantMetadataReachesConsumer(t *testing.T) {
	for _, include := range []bool{true, false} {
		t.Run(fmt.Sprintf("include_metadata=%v", include), func(t *testing.T) {
			var infos []client.Info
			next, err := consumer.NewLogs(func(ctx context.Context, _ plog.Logs) error {
				infos = append(infos, client.FromContext(ctx))
				return nil
			})
			require.NoError(t, err)
			_, h := newTestHandler(t, next, func(c *Config) { c.IncludeMetadata = include })
			rec := do(h, http.MethodPost, pushPath, []byte(pythonBody), map[string]string{
				"Content-Type":  "application/json",
				"X-Scope-OrgID": "tenant-a",
			})
			require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
			require.Len(t, infos, 1)
			if include {
				assert.Equal(t, []string{"tenant-a"}, infos[0].Metadata.Get("X-Scope-OrgID"))
				assert.Equal(t, []string{"tenant-a"}, infos[0].Metadata.Get("x-scope-orgid"))
			} else {
				assert.Nil(t, infos[0].Metadata.Get("X-Scope-OrgID"))
			}
			require.NotNil(t, infos[0].Addr)
			assert.Equal(t, "192.0.2.1", infos[0].Addr.String()) // httptest's RemoteAddr
		})
	}
}

func TestErrors(t *testing.T) {
	big := `{"streams":[{"stream":{"job":"x"},"values":[["1","` + strings.Repeat("a", 2048) + `"]]}]}`
	tests := []struct {
		name     string
		method   string
		path     string
		body     []byte
		headers  map[string]string
		status   int
		wantBody string // exact response body, without the trailing newline
	}{
		{
			name: "bad JSON", body: []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1","a"]]}`), headers: jsonHeaders,
			status: 400, wantBody: "invalid JSON push request: unexpected end of JSON input",
		},
		{
			name: "wrong JSON type", body: []byte(`{"streams":{"stream":1}}`), headers: jsonHeaders,
			status: 400, wantBody: "invalid JSON push request: json: cannot unmarshal object into Go struct field jsonPushRequest.streams of type []lokipushreceiver.jsonStream",
		},
		{
			name: "bad timestamp names stream and entry", headers: jsonHeaders,
			body:   []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1","ok"]]},{"stream":{"job":"y"},"values":[["1","ok"],["12:00","bad"]]}]}`),
			status: 400, wantBody: `stream 1, entry 1: invalid timestamp "12:00": must be a string of Unix epoch nanoseconds`,
		},
		{
			name: "negative timestamp", headers: jsonHeaders,
			body:   []byte(`{"streams":[{"stream":{"job":"x"},"values":[["-5","bad"]]}]}`),
			status: 400, wantBody: `stream 0, entry 0: invalid timestamp "-5": must be a string of Unix epoch nanoseconds`,
		},
		{
			name: "missing timestamp", headers: jsonHeaders,
			body:   []byte(`{"streams":[{"stream":{"job":"x"},"values":[["","bad"]]}]}`),
			status: 400, wantBody: `stream 0, entry 0: missing timestamp`,
		},
		{
			name: "too few elements", headers: jsonHeaders,
			body:   []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1"]]}]}`),
			status: 400, wantBody: `stream 0, entry 0: expected [timestamp, line] or [timestamp, line, {structured metadata}], got 1 elements`,
		},
		{
			name: "line not a string", headers: jsonHeaders,
			body:   []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1",{"a":1}]]}]}`),
			status: 400, wantBody: `stream 0, entry 0: log line must be a JSON string, got {"a":1}`,
		},
		{
			name: "non-string structured metadata", headers: jsonHeaders,
			body:   []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1","a",{"n":1}]]}]}`),
			status: 400, wantBody: `stream 0, entry 0: structured metadata must be a JSON object of string values: json: cannot unmarshal number into Go value of type string`,
		},
		{
			name: "empty stream labels", headers: jsonHeaders,
			body:   []byte(`{"streams":[{"stream":{},"values":[["1","a"]]}]}`),
			status: 400, wantBody: `stream 0: at least one label pair is required per stream`,
		},
		{
			name: "bad legacy label string", headers: jsonHeaders,
			body:   []byte(`{"streams":[{"labels":"{job=x}","entries":[{"ts":"1","line":"a"}]}]}`),
			status: 400, wantBody: `stream 0: invalid labels "{job=x}": expected a quoted value for label "job"`,
		},
		{
			name: "bad snappy", body: []byte("this is not snappy"), headers: protoHeaders,
			status: 400, wantBody: "invalid snappy-compressed body: snappy: corrupt input",
		},
		{
			name: "bad protobuf", body: snappy.Encode(nil, []byte{0x0a, 0xff, 0x01, 0x00}), headers: protoHeaders,
			status: 400, wantBody: "invalid protobuf push request: unexpected EOF",
		},
		{
			name: "bad protobuf label string", headers: protoHeaders,
			body: snappyProto(t, &push.PushRequest{Streams: []push.Stream{
				{Labels: `{job="ok"}`, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "a"}}},
				{Labels: `job="nobraces"`, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "a"}}},
			}}),
			status: 400, wantBody: `stream 1: invalid labels "job=\"nobraces\"": label set must be enclosed in braces, like {job="app"}`,
		},
		{
			name: "duplicate protobuf label", headers: protoHeaders,
			body: snappyProto(t, &push.PushRequest{Streams: []push.Stream{
				{Labels: `{job="a", job="b"}`, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "a"}}},
			}}),
			status: 400, wantBody: `stream 0: invalid labels "{job=\"a\", job=\"b\"}": duplicate label name "job"`,
		},
		{
			name: "protobuf missing timestamp", headers: protoHeaders,
			body: snappyProto(t, &push.PushRequest{Streams: []push.Stream{
				{Labels: `{job="a"}`, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "a"}, {Line: "no ts"}}},
			}}),
			status: 400, wantBody: `stream 0, entry 1: missing timestamp`,
		},
		{
			name: "protobuf timestamp before 1970", headers: protoHeaders,
			body: snappyProto(t, &push.PushRequest{Streams: []push.Stream{
				{Labels: `{job="a"}`, Entries: []push.Entry{{Timestamp: time.Unix(-10, 0), Line: "a"}}},
			}}),
			status: 400, wantBody: `stream 0, entry 0: timestamp 1969-12-31T23:59:50Z is out of range`,
		},
		{
			name: "unsupported Content-Type", body: []byte(pythonBody), headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			status: 415, wantBody: `unsupported Content-Type "application/x-www-form-urlencoded": use application/json or application/x-protobuf`,
		},
		{
			name: "malformed Content-Type", body: []byte(pythonBody), headers: map[string]string{"Content-Type": "application/json; ="},
			status: 415, wantBody: `unsupported Content-Type "application/json; =": use application/json or application/x-protobuf`,
		},
		{
			name: "unsupported Content-Encoding", body: []byte(pythonBody), headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "br"},
			status: 415, wantBody: `unsupported Content-Encoding: br`,
		},
		{
			name: "corrupt gzip", body: []byte("not gzip at all"), headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"},
			status: 400, wantBody: `gzip: invalid header`,
		},
		{
			name: "body over limit", body: []byte(big), headers: jsonHeaders,
			status: 413, wantBody: `request body exceeds max_request_body_size of 1024 bytes`,
		},
		{
			name: "gzip bomb over limit once decompressed", body: gzipBytes(t, []byte(big)),
			headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"},
			status:  413, wantBody: `request body exceeds max_request_body_size of 1024 bytes`,
		},
		{
			name: "raw deflate bomb over limit once decompressed", body: flateBytes(t, []byte(big)),
			headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "deflate"},
			status:  413, wantBody: `request body exceeds max_request_body_size of 1024 bytes`,
		},
		{
			name: "zstd bomb over limit once decompressed", body: zstdBytes(t, []byte(big)),
			headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "zstd"},
			status:  413, wantBody: `request body exceeds max_request_body_size of 1024 bytes`,
		},
		{
			name: "snappy bomb refused before decoding", body: snappy.Encode(nil, []byte(big)), headers: protoHeaders,
			status: 413, wantBody: `decompressed body of 2104 bytes exceeds max_request_body_size of 1024 bytes`,
		},
		{
			name: "snappy-encoded JSON bomb", body: snappy.Encode(nil, []byte(big)),
			headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "snappy"},
			status:  413, wantBody: `decompressed body of 2104 bytes exceeds max_request_body_size of 1024 bytes`,
		},
		{
			name: "GET on push", method: http.MethodGet, status: 405,
			wantBody: `method GET is not allowed on /loki/api/v1/push: use POST`,
		},
		{
			name: "PUT on legacy push", method: http.MethodPut, path: legacyPushPath, body: []byte(pythonBody), headers: jsonHeaders, status: 405,
			wantBody: `method PUT is not allowed on /api/prom/push: use POST`,
		},
		{
			name: "POST on ready", method: http.MethodPost, path: readyPath, status: 405,
			wantBody: `method POST is not allowed on /ready: use GET`,
		},
		{
			name: "unknown path", path: "/loki/api/v1/query", body: []byte(pythonBody), headers: jsonHeaders, status: 404,
			wantBody: `404 page not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			_, h := newTestHandler(t, sink, func(c *Config) { c.MaxRequestBodySize = 1024 })
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = pushPath
			}
			rec := do(h, method, path, tt.body, tt.headers)
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.wantBody, strings.TrimSuffix(rec.Body.String(), "\n"))
			assert.Equal(t, 0, sink.LogRecordCount(), "nothing may be consumed from a rejected request")
			assert.Empty(t, sink.AllLogs())
			if tt.status == http.StatusMethodNotAllowed {
				assert.NotEmpty(t, rec.Header().Get("Allow"))
			}
		})
	}
}

// The status policy is the ingress core's (see its tests): this is the
// wiring, a refusal by the pipeline is answered with it.
func TestConsumerErrorAnswered(t *testing.T) {
	_, h := newTestHandler(t, consumertest.NewErr(errors.New("data refused due to high memory usage")), nil)
	rec := do(h, http.MethodPost, pushPath, []byte(pythonBody), jsonHeaders)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, ingress.RetryAfterSeconds, rec.Header().Get("Retry-After"))
	assert.Equal(t, "the pipeline refused the logs, retry later: data refused due to high memory usage\n", rec.Body.String())
}

func TestReady(t *testing.T) {
	_, h := newTestHandler(t, consumertest.NewNop(), nil)
	rec := do(h, http.MethodGet, readyPath, nil, nil)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "ready", rec.Body.String())
}

func TestEmptyPushIsAccepted(t *testing.T) {
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)
	for _, body := range []string{`{"streams":[]}`, `{}`, `{"streams":[{"stream":{"job":"x"},"values":[]}]}`} {
		rec := do(h, http.MethodPost, pushPath, []byte(body), jsonHeaders)
		assert.Equal(t, http.StatusNoContent, rec.Code, body)
	}
	assert.Empty(t, sink.AllLogs())
}

func TestStartShutdownOverNetwork(t *testing.T) {
	sink := new(consumertest.LogsSink)
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.IncludeMetadata = true
	set := receivertest.NewNopSettings(metadata.Type)

	// Find a free port, then use it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg.NetAddr.Endpoint = addr

	r, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))

	// A second receiver on the same port must fail to start.
	r2, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	err = r2.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "failed to bind to address "+addr)
	require.NoError(t, r2.Shutdown(context.Background()))

	req, err := http.NewRequest(http.MethodPost, "http://"+addr+pushPath, strings.NewReader(pythonBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scope-OrgID", "tenant-net")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, 2, sink.LogRecordCount())
	assert.Equal(t, []string{"tenant-net"}, client.FromContext(sink.Contexts()[0]).Metadata.Get("X-Scope-OrgID"))

	resp, err = http.Get("http://" + addr + readyPath)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "ready", string(b))

	http.DefaultClient.CloseIdleConnections()
	require.NoError(t, r.Shutdown(context.Background()))
	// Shutdown twice and without Start are fine.
	require.NoError(t, r.Shutdown(context.Background()))
}
