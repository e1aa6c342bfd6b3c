// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

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
		{
			// An all-zero id is no trace: the record gets none, and the
			// value is not dropped.
			name:      "all-zero metadata ids kept as attributes",
			line:      "plain line",
			metadata:  map[string]string{"trace_id": "00000000000000000000000000000000", "span_id": "0000000000000000"},
			wantAttrs: map[string]any{"trace_id": "00000000000000000000000000000000", "span_id": "0000000000000000"},
		},
	}
	for _, tt := range tests {
		// Lifted by the mapping, by the JSON decoder (the line quoted as
		// Go quotes it, so its quotes are escapes, and as encoding/json
		// does), and with the decoder's hint that there is nothing to lift
		// where that is true.
		ways := []string{"mapping", "JSON decoder", "JSON decoder, encoding/json quoting"}
		if !strings.Contains(tt.line, `"trace`) && !strings.Contains(tt.line, `"span`) {
			ways = append(ways, "nothing to lift")
		}
		for _, way := range ways {
			t.Run(tt.name+"/"+way, func(t *testing.T) {
				e := entry{ts: 1, line: tt.line}
				var lift *traceLift
				for k, v := range tt.metadata {
					e.metadata = append(e.metadata, label{k, v})
				}
				sortLabels(e.metadata)
				switch way {
				case "nothing to lift":
					lift = &traceLift{traceKeys: traceKeysAbsent}
				case "JSON decoder", "JSON decoder, encoding/json quoting":
					q := strconv.Quote(tt.line)
					if way != "JSON decoder" {
						b, err := json.Marshal(tt.line)
						require.NoError(t, err)
						q = string(b)
					}
					if tt.metadata != nil {
						md, err := json.Marshal(tt.metadata)
						require.NoError(t, err)
						q += "," + string(md)
					}
					body := []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1",` + q + `]]}]}`)
					require.True(t, requireSameAsStd(t, body))
					streams, _ := decodeJSONFast(body)
					e, lift = streams[0].entries[0], &streams[0].lifts[0]
				}
				lr := plog.NewLogRecord()
				putRecord(lr, &e, lift, 0, "", plog.SeverityNumberUnspecified)
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
}

func TestDecodeHexMatchesEncodingHex(t *testing.T) {
	// Every byte in either place of a digit pair, then whole ids.
	for c := 0; c < 256; c++ {
		for _, s := range []string{string([]byte{byte(c), 'a'}), string([]byte{'7', byte(c)})} {
			want := make([]byte, 1)
			_, err := hex.Decode(want, []byte(s))
			got := make([]byte, 1)
			ok := decodeHex(got, s)
			require.Equal(t, err == nil, ok, "%q", s)
			if ok {
				require.Equal(t, want, got, "%q", s)
			}
		}
	}
	for _, s := range []string{"4bf92f3577b34da6a3ce929d0e0e4736", "4BF92F3577B34DA6A3CE929D0E0E4736", "00000000000000000000000000000000", "4bf92f3577b34da6a3ce929d0e0e473g", "4bf92f3577b34da6a3ce929d0e0e47 6"} {
		want, err := hex.DecodeString(s)
		got := make([]byte, 16)
		ok := decodeHex(got, s)
		require.Equal(t, err == nil, ok, s)
		if ok {
			require.Equal(t, want, got, s)
		}
	}
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
	body := `{"streams":[` +
		`{"stream":{"job":"a","detected_level":"debug","severity":"warning","level":"ERROR"},"values":[["1","x"]]},` +
		`{"stream":{"job":"b","detected_level":"info"},"values":[["1","x"],["2","y",{"severity":"critical"}]]},` +
		`{"stream":{"job":"c"},"values":[["1","x",{"level":"custom"}]]}]}`
	recs := pushRecords(t, pushPath, []byte(body), jsonHeaders)
	require.Len(t, recs, 4)
	got := make([]string, 0, len(recs))
	for _, r := range recs {
		got = append(got, r.record.SeverityText()+"/"+r.record.SeverityNumber().String())
	}
	assert.Equal(t, []string{"ERROR/Error", "info/Info", "critical/Fatal", "custom/Unspecified"}, got)
}
