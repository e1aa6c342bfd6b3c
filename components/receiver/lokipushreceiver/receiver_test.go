// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"bytes"
	"context"
	"encoding/json"
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
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

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

func TestLegacyJSONShape(t *testing.T) {
	// python-logging-loki's version "0" emitter / Loki < 0.4.
	body := `{"streams": [{"labels": "{application=\"gatewayz-api\", severity=\"warning\", logger=\"app\"}", "entries": [{"ts": "2025-11-27T03:25:41.123456+00:00", "line": "disk almost full"}, {"ts": "1764213941123456789", "line": "second"}]}]}`
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)
	rec := do(h, http.MethodPost, legacyPushPath, []byte(body), jsonHeaders)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	recs := flatten(sink.AllLogs())
	require.Len(t, recs, 2)
	assert.Equal(t, map[string]any{
		"service.name": "gatewayz-api",
		"application":  "gatewayz-api",
		"severity":     "warning",
		"logger":       "app",
	}, recs[0].resource)
	assert.Equal(t, pcommon.Timestamp(time.Date(2025, 11, 27, 3, 25, 41, 123456000, time.UTC).UnixNano()), recs[0].record.Timestamp())
	assert.Equal(t, "disk almost full", recs[0].record.Body().Str())
	assert.Equal(t, plog.SeverityNumberWarn, recs[0].record.SeverityNumber())
	assert.Equal(t, pcommon.Timestamp(1764213941123456789), recs[1].record.Timestamp())
}

func TestStructuredMetadataJSON(t *testing.T) {
	body := `{"streams":[{"stream":{"service_name":"checkout"},"values":[` +
		`["1700000000000000001","with metadata",{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","pod":"checkout-7d9f","detected_level":"debug"}],` +
		`["1700000000000000002","null metadata",null],` +
		`["1700000000000000003","no metadata"]]}]}`
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)
	rec := do(h, http.MethodPost, pushPath, []byte(body), jsonHeaders)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	recs := flatten(sink.AllLogs())
	require.Len(t, recs, 3)
	assert.Equal(t, map[string]any{"service.name": "checkout"}, recs[0].resource)

	lr := recs[0].record
	assert.Equal(t, map[string]any{"pod": "checkout-7d9f", "detected_level": "debug"}, lr.Attributes().AsRaw())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lr.TraceID().String())
	assert.Equal(t, "debug", lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberDebug, lr.SeverityNumber())

	for _, r := range recs[1:] {
		assert.Equal(t, 0, r.record.Attributes().Len())
		assert.Empty(t, r.record.SeverityText())
	}
}

func TestLabelMapping(t *testing.T) {
	m := mapper{serviceNameLabels: defaultServiceNameLabels}
	tests := []struct {
		name   string
		labels string
		want   map[string]any
	}{
		{
			name:   "service_name becomes service.name only",
			labels: `{service_name="gatewayz-api", environment="production", level="error", logger="app.routes"}`,
			want: map[string]any{
				"service.name": "gatewayz-api", "environment": "production", "level": "error", "logger": "app.routes",
			},
		},
		{
			name:   "other service label is also kept under its own name",
			labels: `{app="web", team="core"}`,
			want:   map[string]any{"service.name": "web", "app": "web", "team": "core"},
		},
		{
			name:   "no service label: no service.name",
			labels: `{team="core"}`,
			want:   map[string]any{"team": "core"},
		},
		{
			name: "default Loki OTLP index labels get dotted names",
			labels: `{service_name="api", service_namespace="shop", service_instance_id="api-0", deployment_environment="prod",` +
				` deployment_environment_name="prod-eu", cloud_region="eu-west-1", cloud_availability_zone="eu-west-1a",` +
				` container_name="api", k8s_cluster_name="c1", k8s_namespace_name="ns", k8s_pod_name="api-0",` +
				` k8s_container_name="api", k8s_deployment_name="api", k8s_replicaset_name="api-5f", k8s_statefulset_name="db",` +
				` k8s_daemonset_name="agent", k8s_cronjob_name="nightly", k8s_job_name="nightly-1"}`,
			want: map[string]any{
				"service.name": "api", "service.namespace": "shop", "service.instance.id": "api-0",
				"deployment.environment": "prod", "deployment.environment.name": "prod-eu",
				"cloud.region": "eu-west-1", "cloud.availability_zone": "eu-west-1a", "container.name": "api",
				"k8s.cluster.name": "c1", "k8s.namespace.name": "ns", "k8s.pod.name": "api-0",
				"k8s.container.name": "api", "k8s.deployment.name": "api", "k8s.replicaset.name": "api-5f",
				"k8s.statefulset.name": "db", "k8s.daemonset.name": "agent", "k8s.cronjob.name": "nightly",
				"k8s.job.name": "nightly-1",
			},
		},
		{
			name:   "k8s labels outside the default set stay as they are",
			labels: `{job="x", k8s_node_name="n1", namespace="ns"}`,
			want:   map[string]any{"service.name": "x", "job": "x", "k8s_node_name": "n1", "namespace": "ns"},
		},
		{
			name:   "UTF-8 quoted names and escaped values",
			labels: `{"service.version"="1.2.3", app="a", path="C:\\logs\\\"x\""}`,
			want:   map[string]any{"service.name": "a", "app": "a", "service.version": "1.2.3", "path": `C:\logs\"x"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, err := parseLabels(tt.labels)
			require.NoError(t, err)
			attrs := pcommon.NewMap()
			m.putResource(attrs, ls)
			assert.Equal(t, tt.want, attrs.AsRaw())
		})
	}
}

func TestServiceNameLabelsPrecedence(t *testing.T) {
	labels := `{job="varlogs", app="frontend", service="svc", application="appl"}`
	tests := []struct {
		name      string
		cfgLabels []string
		want      any // nil: no service.name
	}{
		{name: "default order: service before app", cfgLabels: defaultServiceNameLabels, want: "svc"},
		{name: "custom order", cfgLabels: []string{"job", "app"}, want: "varlogs"},
		{name: "first listed absent, next present", cfgLabels: []string{"service_name", "application"}, want: "appl"},
		{name: "none present", cfgLabels: []string{"component"}, want: nil},
		{name: "empty list disables", cfgLabels: []string{}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			_, h := newTestHandler(t, sink, func(c *Config) { c.ServiceNameLabels = tt.cfgLabels })
			req := &push.PushRequest{Streams: []push.Stream{{Labels: labels, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "x"}}}}}
			rec := do(h, http.MethodPost, pushPath, snappyProto(t, req), protoHeaders)
			require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
			res := flatten(sink.AllLogs())[0].resource
			got, ok := res["service.name"]
			if tt.want == nil {
				assert.False(t, ok, "service.name = %v", got)
			} else {
				assert.Equal(t, tt.want, got)
			}
			// the original labels are all still there
			for _, k := range []string{"job", "app", "service", "application"} {
				assert.Contains(t, res, k)
			}
		})
	}
}

func TestTraceContextLifting(t *testing.T) {
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"
	const sid = "00f067aa0ba902b7"
	tests := []struct {
		name      string
		line      string
		metadata  map[string]string
		wantTrace string // "" means empty
		wantSpan  string
		wantAttrs map[string]any
	}{
		{name: "snake_case in JSON line", line: `{"msg":"hi","trace_id":"` + tid + `","span_id":"` + sid + `"}`, wantTrace: tid, wantSpan: sid},
		{name: "camelCase in JSON line", line: `{"traceId":"` + tid + `","spanId":"` + sid + `"}`, wantTrace: tid, wantSpan: sid},
		{name: "traceID spelling", line: `  {"traceID":"` + tid + `","spanID":"` + sid + `"}`, wantTrace: tid, wantSpan: sid},
		{name: "uppercase hex accepted", line: `{"trace_id":"4BF92F3577B34DA6A3CE929D0E0E4736"}`, wantTrace: tid},
		{name: "invalid hex left alone", line: `{"trace_id":"zzf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902"}`},
		{name: "all-zero ids are invalid", line: `{"trace_id":"00000000000000000000000000000000","span_id":"0000000000000000"}`},
		{name: "wrong type ignored, other field kept", line: `{"trace_id":12,"span_id":"` + sid + `"}`, wantSpan: sid},
		{name: "nested fields are not lifted", line: `{"ctx":{"trace_id":"` + tid + `"}}`},
		{name: "not JSON", line: `trace_id=` + tid + ` span_id=` + sid},
		{name: "broken JSON", line: `{"trace_id":"` + tid + `"`},
		{
			name:      "structured metadata wins over line",
			line:      `{"trace_id":"11111111111111111111111111111111"}`,
			metadata:  map[string]string{"trace_id": tid, "span_id": sid},
			wantTrace: tid, wantSpan: sid, wantAttrs: map[string]any{},
		},
		{
			name:      "invalid metadata id kept as attribute, line used",
			line:      `{"trace_id":"` + tid + `"}`,
			metadata:  map[string]string{"trace_id": "nope"},
			wantTrace: tid, wantAttrs: map[string]any{"trace_id": "nope"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := entry{ts: 1, line: tt.line}
			for k, v := range tt.metadata {
				e.metadata = append(e.metadata, label{k, v})
			}
			sortLabels(e.metadata)
			lr := plog.NewLogRecord()
			putRecord(lr, &e, 0, "", plog.SeverityNumberUnspecified)
			if tt.wantTrace == "" {
				assert.True(t, lr.TraceID().IsEmpty(), lr.TraceID().String())
			} else {
				assert.Equal(t, tt.wantTrace, lr.TraceID().String())
			}
			if tt.wantSpan == "" {
				assert.True(t, lr.SpanID().IsEmpty(), lr.SpanID().String())
			} else {
				assert.Equal(t, tt.wantSpan, lr.SpanID().String())
			}
			if tt.wantAttrs != nil {
				assert.Equal(t, tt.wantAttrs, lr.Attributes().AsRaw())
			}
			assert.Equal(t, tt.line, lr.Body().Str())
		})
	}
}

func TestExactTimestampsAndLines(t *testing.T) {
	lines := []string{
		"ünïcödé — 日本語のログ 🚀",
		"  leading and trailing spaces  ",
		"tab\there, CR\r, NUL\x00 and a backslash \\",
		"",
		`{"already":"json","n":1.50}`,
	}
	timestamps := []int64{0, 1, 1764213941123456789, 9223372036854775807, 1000000000000000000}

	t.Run("json", func(t *testing.T) {
		var vals []string
		for i, l := range lines {
			q, err := jsonMarshalString(l)
			require.NoError(t, err)
			vals = append(vals, fmt.Sprintf(`["%d",%s]`, timestamps[i], q))
		}
		body := `{"streams":[{"stream":{"job":"t"},"values":[` + strings.Join(vals, ",") + `]}]}`
		sink := new(consumertest.LogsSink)
		_, h := newTestHandler(t, sink, nil)
		rec := do(h, http.MethodPost, pushPath, []byte(body), jsonHeaders)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		recs := flatten(sink.AllLogs())
		require.Len(t, recs, len(lines))
		for i := range lines {
			assert.Equal(t, lines[i], recs[i].record.Body().Str())
			assert.Equal(t, uint64(timestamps[i]), uint64(recs[i].record.Timestamp()))
		}
	})
	t.Run("protobuf", func(t *testing.T) {
		// protobuf strings may even hold invalid UTF-8: kept as is.
		pl := append(append([]string{}, lines...), "bad utf8 \xff\xfe")
		pts := append(append([]int64{}, timestamps...), 42)
		pts[0] = 1 // a zero protobuf timestamp means "missing"
		s := push.Stream{Labels: `{job="t"}`}
		for i := range pl {
			s.Entries = append(s.Entries, push.Entry{Timestamp: time.Unix(0, pts[i]), Line: pl[i]})
		}
		sink := new(consumertest.LogsSink)
		_, h := newTestHandler(t, sink, nil)
		rec := do(h, http.MethodPost, pushPath, snappyProto(t, &push.PushRequest{Streams: []push.Stream{s}}), protoHeaders)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		recs := flatten(sink.AllLogs())
		require.Len(t, recs, len(pl))
		for i := range pl {
			assert.Equal(t, []byte(pl[i]), []byte(recs[i].record.Body().Str()))
			assert.Equal(t, uint64(pts[i]), uint64(recs[i].record.Timestamp()))
		}
	})
}

func TestSeverity(t *testing.T) {
	tests := map[string]plog.SeverityNumber{
		"trace": plog.SeverityNumberTrace, "DEBUG": plog.SeverityNumberDebug, "dbg": plog.SeverityNumberDebug,
		"info": plog.SeverityNumberInfo, "Information": plog.SeverityNumberInfo, "notice": plog.SeverityNumberInfo2,
		"warn": plog.SeverityNumberWarn, "WARNING": plog.SeverityNumberWarn, "error": plog.SeverityNumberError,
		"err": plog.SeverityNumberError, "critical": plog.SeverityNumberFatal, "CRITICAL": plog.SeverityNumberFatal,
		"fatal": plog.SeverityNumberFatal, "panic": plog.SeverityNumberFatal, "emerg": plog.SeverityNumberFatal,
		"unknown": plog.SeverityNumberUnspecified, "": plog.SeverityNumberUnspecified,
	}
	for in, want := range tests {
		assert.Equal(t, want, severityNumber(in), in)
	}

	// precedence: level > severity > detected_level; metadata beats labels.
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)
	body := `{"streams":[` +
		`{"stream":{"job":"a","detected_level":"debug","severity":"warning","level":"ERROR"},"values":[["1","x"]]},` +
		`{"stream":{"job":"b","detected_level":"info"},"values":[["1","x"],["2","y",{"severity":"critical"}]]},` +
		`{"stream":{"job":"c"},"values":[["1","x",{"level":"custom"}]]}]}`
	rec := do(h, http.MethodPost, pushPath, []byte(body), jsonHeaders)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	recs := flatten(sink.AllLogs())
	require.Len(t, recs, 4)
	got := make([]string, 0, len(recs))
	for _, r := range recs {
		got = append(got, r.record.SeverityText()+"/"+r.record.SeverityNumber().String())
	}
	assert.Equal(t, []string{"ERROR/Error", "info/Info", "critical/Fatal", "custom/Unspecified"}, got)
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

// jsonMarshalString quotes s as a JSON string.
func jsonMarshalString(s string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
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
			wantBody: `method GET not allowed on /loki/api/v1/push, use POST`,
		},
		{
			name: "PUT on legacy push", method: http.MethodPut, path: legacyPushPath, body: []byte(pythonBody), headers: jsonHeaders, status: 405,
			wantBody: `method PUT not allowed on /api/prom/push, use POST`,
		},
		{
			name: "POST on ready", method: http.MethodPost, path: readyPath, status: 405,
			wantBody: `method POST not allowed on /ready, use GET`,
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

func TestConsumerErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter string
		wantBody   string
	}{
		{
			name: "retryable (memory_limiter)", err: errors.New("data refused due to high memory usage"),
			status: 503, retryAfter: "1", wantBody: "pipeline refused the logs, retry later: data refused due to high memory usage",
		},
		{
			name: "permanent", err: consumererror.NewPermanent(errors.New("bad data")),
			status: 400, wantBody: "pipeline rejected the logs permanently: Permanent error: bad data",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h := newTestHandler(t, consumertest.NewErr(tt.err), nil)
			rec := do(h, http.MethodPost, pushPath, []byte(pythonBody), jsonHeaders)
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.retryAfter, rec.Header().Get("Retry-After"))
			assert.Equal(t, tt.wantBody, strings.TrimSuffix(rec.Body.String(), "\n"))
		})
	}
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

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in      string
		want    []label
		wantErr string
	}{
		{in: `{}`, want: nil},
		{in: ` { a = "1" , b="2", } `, want: []label{{"a", "1"}, {"b", "2"}}},
		{in: "{b=`raw\\n`, a=\"\"}", want: []label{{"b", `raw\n`}}},
		{in: `{a="\u00e9\n"}`, want: []label{{"a", "é\n"}}},
		{in: `{"a.b"="1"}`, want: []label{{"a.b", "1"}}},
		{in: ``, wantErr: "label set must be enclosed in braces"},
		{in: `{a="1"`, wantErr: "label set must be enclosed in braces"},
		{in: `{1a="1"}`, wantErr: `expected a label name at "1a=\"1\""`},
		{in: `{a}`, wantErr: `expected '=' after label name "a"`},
		{in: `{a!="1"}`, wantErr: `expected '=' after label name "a"`},
		{in: `{a="1" b="2"}`, wantErr: `expected ',' or '}' after label "a"`},
		{in: `{a="unterminated}`, wantErr: `bad quoted value for label "a"`},
		{in: `{""="x"}`, wantErr: "empty label name"},
		{in: `{a="1",a="1"}`, wantErr: `duplicate label name "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLabels(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
