// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package shutdownlimitextension

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// pipelineWatcher is extensioncapabilities.PipelineWatcher, the interface
// the service looks for to call NotReady at the start of a shutdown.
type pipelineWatcher interface {
	Ready() error
	NotReady() error
}

var (
	_ pipelineWatcher                             = (*limiter)(nil)
	_ extensioncapabilities.ConfigSnapshotWatcher = (*limiter)(nil)
)

const metricsText = `# HELP otelcol_exporter_queue_size Current size of the retry queue.
# TYPE otelcol_exporter_queue_size gauge
otelcol_exporter_queue_size{data_type="traces",exporter="otlp_grpc/tempo",service_instance_id="gateway-0"} 7
otelcol_exporter_queue_size{data_type="logs",exporter="otlp_http/loki",service_instance_id="gateway-0"} 0
otelcol_exporter_queue_size{data_type="metrics",exporter="otlp_http/mimir",service_instance_id="gateway-0"} 12
otelcol_exporter_queue_size{data_type="metrics",exporter="prometheus_remote_write/other",service_instance_id="gateway-0"} 3
otelcol_exporter_queue_size{data_type="profiles",exporter="otlp_grpc/pyroscope",service_instance_id="gateway-0"} 2
otelcol_exporter_queue_capacity{data_type="traces",exporter="otlp_grpc/tempo"} 5000
`

// exporters is a config with these exporter configs.
func exporters(m map[string]any) *confmap.Conf {
	return confmap.NewFromStringMap(map[string]any{"exporters": m})
}

// gatewaySnapshot is the gateway's shape as the service hands it over: the
// OTLP exporters of spans, logs and metrics queue items, Pyroscope's sizer
// comes from a variable, and an exporter with a queue of its own (remote
// write) counts requests; the effective config, as at v0.158.0, has lost
// every sizer (marshalled as an empty struct).
var gatewaySnapshot = extensioncapabilities.NewConfigSnapshot(
	exporters(map[string]any{
		"otlp_grpc/tempo":               map[string]any{"sending_queue": map[string]any{"sizer": map[string]any{}, "queue_size": 1000000}},
		"otlp_http/loki":                map[string]any{"sending_queue": map[string]any{"sizer": map[string]any{}}},
		"otlp_http/mimir":               map[string]any{"sending_queue": map[string]any{"sizer": map[string]any{}}},
		"otlp_grpc/pyroscope":           map[string]any{"sending_queue": map[string]any{"sizer": map[string]any{}}},
		"prometheus_remote_write/other": map[string]any{"remote_write_queue": map[string]any{"queue_size": 10000}},
	}),
	exporters(map[string]any{
		"otlp_grpc/tempo":               map[string]any{"sending_queue": map[string]any{"sizer": "items", "queue_size": "${env:EXPORT_QUEUE_SIZE:-1000000}"}},
		"otlp_http/loki":                map[string]any{"sending_queue": map[string]any{"sizer": "items"}},
		"otlp_http/mimir":               map[string]any{"sending_queue": map[string]any{"sizer": "items", "storage": "${env:EXPORT_QUEUE_STORAGE:-null}"}},
		"otlp_grpc/pyroscope":           map[string]any{"sending_queue": map[string]any{"sizer": "${env:PROFILES_SIZER}"}},
		"prometheus_remote_write/other": map[string]any{"remote_write_queue": map[string]any{"queue_size": 10000}},
	}),
)

// giveUp runs a limiter against metricsText until it exits and returns,
// by exporter, each queue line's fields other than "exporter".
func giveUp(t *testing.T, snap extensioncapabilities.ConfigSnapshot) (map[string]map[string]any, *observer.ObservedLogs) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, metricsText)
	}))
	defer srv.Close()
	core, logs := observer.New(zap.InfoLevel)
	exited := make(chan time.Time, 1)
	l := newLimiter(&Config{Timeout: 100 * time.Millisecond, MetricsURL: srv.URL}, zap.New(core), func() { exited <- time.Now() })
	if snap != nil {
		require.NoError(t, l.NotifyConfigSnapshot(context.Background(), snap))
	}

	start := time.Now()
	require.NoError(t, l.NotReady())
	select {
	case at := <-exited:
		assert.GreaterOrEqual(t, at.Sub(start), 100*time.Millisecond)
	case <-time.After(5 * time.Second):
		t.Fatal("the limiter never exited")
	}
	got := map[string]map[string]any{}
	for _, e := range logs.FilterMessageSnippet("exporter still holds queued data").All() {
		fields := e.ContextMap()
		name := fields["exporter"].(string)
		delete(fields, "exporter")
		got[name] = fields
	}
	return got, logs
}

func TestGivesUpAfterTimeoutWithQueueSizes(t *testing.T) {
	got, logs := giveUp(t, gatewaySnapshot)
	// Each in its queue's unit; an empty queue (loki) is not logged; a
	// sizer that cannot be read is logged without a unit, not a wrong one.
	assert.Equal(t, map[string]map[string]any{
		"otlp_grpc/tempo":               {"queued_items": int64(7)},
		"otlp_http/mimir":               {"queued_items": int64(12)},
		"otlp_grpc/pyroscope":           {"queued": int64(2)},
		"prometheus_remote_write/other": {"queued_requests": int64(3)},
	}, got)
	assert.Equal(t, 1, logs.FilterMessage("Shutdown did not finish in time: exiting").Len())
}

func TestUnitDefaultsToRequests(t *testing.T) {
	// Without a config (or a sizer), exporterhelper counts requests.
	got, _ := giveUp(t, nil)
	assert.Equal(t, map[string]map[string]any{
		"otlp_grpc/tempo":               {"queued_requests": int64(7)},
		"otlp_http/mimir":               {"queued_requests": int64(12)},
		"otlp_grpc/pyroscope":           {"queued_requests": int64(2)},
		"prometheus_remote_write/other": {"queued_requests": int64(3)},
	}, got)
}

func TestShutdownInTimeDoesNotExit(t *testing.T) {
	exited := make(chan struct{}, 1)
	l := newLimiter(&Config{Timeout: 50 * time.Millisecond}, zap.NewNop(), func() { exited <- struct{}{} })
	require.NoError(t, l.Start(context.Background(), nil))
	require.NoError(t, l.Ready())
	require.NoError(t, l.NotReady())
	require.NoError(t, l.Shutdown(context.Background()))
	select {
	case <-exited:
		t.Fatal("exited although the shutdown finished in time")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestUnreadableMetricsStillExits(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	exited := make(chan struct{}, 1)
	l := newLimiter(&Config{Timeout: time.Millisecond, MetricsURL: "http://127.0.0.1:1/metrics"}, zap.New(core), func() { exited <- struct{}{} })
	require.NoError(t, l.NotReady())
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the limiter never exited")
	}
	assert.Equal(t, 1, logs.FilterMessage("Cannot read the exporters' queue sizes").Len())
}

func TestParseQueueSizesIgnoresOtherMetrics(t *testing.T) {
	got, err := parseQueueSizes(strings.NewReader(metricsText + "otelcol_exporter_queue_size_other{exporter=\"x\"} 3\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"otlp_grpc/tempo": 7, "otlp_http/loki": 0, "otlp_http/mimir": 12, "prometheus_remote_write/other": 3, "otlp_grpc/pyroscope": 2}, got)
}

func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg     Config
		wantErr string
	}{
		"default":      {cfg: *createDefaultConfig().(*Config)},
		"with url":     {cfg: Config{Timeout: time.Second, MetricsURL: "http://localhost:8888/metrics"}},
		"zero timeout": {cfg: Config{}, wantErr: "timeout must be positive"},
		"not http":     {cfg: Config{Timeout: time.Second, MetricsURL: "localhost:8888"}, wantErr: "metrics_url must be an http(s) URL"},
		"negative":     {cfg: Config{Timeout: -time.Second}, wantErr: "timeout must be positive"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}
