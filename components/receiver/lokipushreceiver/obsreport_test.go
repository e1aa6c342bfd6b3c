// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver/internal/metadata"
)

func sumMetric(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is %T", name, m.Data)
	var total int64
	for _, dp := range sum.DataPoints {
		total += dp.Value
	}
	return total
}

func TestObsReportMetrics(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })

	newHandler := func(next consumer.Logs) http.Handler {
		cfg := createDefaultConfig().(*Config)
		set := receivertest.NewNopSettings(metadata.Type)
		set.TelemetrySettings = tel.NewTelemetrySettings()
		r, err := newReceiver(cfg, set, next)
		require.NoError(t, err)
		srv, err := r.newServer(context.Background(), componenttest.NewNopHost())
		require.NoError(t, err)
		return srv.Handler
	}

	h := newHandler(new(consumertest.LogsSink))
	require.Equal(t, http.StatusNoContent, do(h, http.MethodPost, pushPath, []byte(pythonBody), jsonHeaders).Code)
	assert.Equal(t, int64(2), sumMetric(t, tel, "otelcol_receiver_accepted_log_records"))

	// A rejected (malformed) request is not counted as received data.
	require.Equal(t, http.StatusBadRequest, do(h, http.MethodPost, pushPath, []byte(`{`), jsonHeaders).Code)
	assert.Equal(t, int64(2), sumMetric(t, tel, "otelcol_receiver_accepted_log_records"))

	h = newHandler(consumertest.NewErr(errors.New("refused")))
	require.Equal(t, http.StatusServiceUnavailable, do(h, http.MethodPost, pushPath, []byte(pythonBody), jsonHeaders).Code)
	assert.Equal(t, int64(2), sumMetric(t, tel, "otelcol_receiver_accepted_log_records"))
	assert.Equal(t, int64(2), sumMetric(t, tel, "otelcol_receiver_refused_log_records"))
}
