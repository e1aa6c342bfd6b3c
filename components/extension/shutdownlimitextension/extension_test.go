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
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// pipelineWatcher is extensioncapabilities.PipelineWatcher, the interface
// the service looks for to call NotReady at the start of a shutdown.
type pipelineWatcher interface {
	Ready() error
	NotReady() error
}

var _ pipelineWatcher = (*limiter)(nil)

const metricsText = `# HELP otelcol_exporter_queue_size Current size of the retry queue (in batches).
# TYPE otelcol_exporter_queue_size gauge
otelcol_exporter_queue_size{data_type="traces",exporter="otlp_grpc/tempo",service_instance_id="gateway-0"} 7
otelcol_exporter_queue_size{data_type="logs",exporter="otlp_http/loki",service_instance_id="gateway-0"} 0
otelcol_exporter_queue_size{data_type="metrics",exporter="prometheus_remote_write/mimir",service_instance_id="gateway-0"} 12
otelcol_exporter_queue_capacity{data_type="traces",exporter="otlp_grpc/tempo"} 5000
`

func TestGivesUpAfterTimeoutWithQueueSizes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, metricsText)
	}))
	defer srv.Close()
	core, logs := observer.New(zap.InfoLevel)
	exited := make(chan time.Time, 1)
	l := newLimiter(&Config{Timeout: 100 * time.Millisecond, MetricsURL: srv.URL}, zap.New(core), func() { exited <- time.Now() })

	start := time.Now()
	require.NoError(t, l.NotReady())
	select {
	case at := <-exited:
		assert.GreaterOrEqual(t, at.Sub(start), 100*time.Millisecond)
	case <-time.After(5 * time.Second):
		t.Fatal("the limiter never exited")
	}

	got := map[string]int64{}
	for _, e := range logs.FilterMessageSnippet("still holds queued requests").All() {
		got[e.ContextMap()["exporter"].(string)] = e.ContextMap()["queued_requests"].(int64)
	}
	assert.Equal(t, map[string]int64{"otlp_grpc/tempo": 7, "prometheus_remote_write/mimir": 12}, got)
	assert.Equal(t, 1, logs.FilterMessage("Shutdown did not finish in time: exiting").Len())
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
	assert.Equal(t, map[string]int64{"otlp_grpc/tempo": 7, "otlp_http/loki": 0, "prometheus_remote_write/mimir": 12}, got)
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
