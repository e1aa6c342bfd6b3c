// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestPythonLoggingLokiFixture posts what python-logging-loki 0.3.1's
// LokiHandler(version="1", tags={"application": ..., "environment": ...})
// sends for logger "app.routes" at ERROR with a traceback: json.dumps of
// the payload (ASCII-escaped), Content-Type application/json.
func TestPythonLoggingLokiFixture(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "clients", "python_logging_loki.json"))
	require.NoError(t, err)
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, func(c *Config) { c.IncludeMetadata = true })
	rec := do(h, http.MethodPost, pushPath, body, map[string]string{
		"Content-Type":  "application/json",
		"User-Agent":    "python-requests/2.32.3",
		"X-Scope-OrgID": "tenant-a",
	})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	recs := flatten(sink.AllLogs())
	require.Len(t, recs, 1)
	assert.Equal(t, map[string]any{
		"service.name": "gatewayz-api",
		"application":  "gatewayz-api",
		"environment":  "production",
		"severity":     "error",
		"logger":       "app.routes",
	}, recs[0].resource)
	lr := recs[0].record
	assert.Equal(t, pcommon.Timestamp(1764213941123456768), lr.Timestamp())
	assert.Equal(t, "payment declined for user \"zoë\" — card expired\n"+
		"Traceback (most recent call last):\n"+
		"  File \"/app/gatewayz/routes.py\", line 42, in pay\n"+
		"    charge(card)\n"+
		"gatewayz.billing.CardExpired: card 4242 expired", lr.Body().Str())
	assert.Equal(t, "error", lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
	assert.Equal(t, 0, lr.Attributes().Len())
}

// TestPromtailFixture posts the body testdata/clients/promtail.go writes.
func TestPromtailFixture(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "clients", "promtail_push.pb.snappy"))
	require.NoError(t, err)
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(t, sink, nil)
	rec := do(h, http.MethodPost, pushPath, body, map[string]string{
		"Content-Type": "application/x-protobuf",
		"User-Agent":   "promtail/3.5.1",
	})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	recs := flatten(sink.AllLogs())
	require.Len(t, recs, 3)

	api := map[string]any{
		"service.name": "gatewayz-api", "job": "gatewayz-api", "filename": "/var/log/gatewayz/api.log",
		"k8s.namespace.name": "gatewayz", "level": "info",
	}
	assert.Equal(t, api, recs[0].resource)
	assert.Equal(t, api, recs[1].resource)
	assert.Equal(t, map[string]any{
		"service.name": "gatewayz-worker", "job": "gatewayz-worker", "filename": "/var/log/gatewayz/worker.log",
		"k8s.namespace.name": "gatewayz",
	}, recs[2].resource)

	assert.Equal(t, pcommon.Timestamp(1764213941000000000), recs[0].record.Timestamp())
	assert.Equal(t, pcommon.Timestamp(1764213941001000000), recs[1].record.Timestamp())
	assert.Equal(t, pcommon.Timestamp(1764213941002000000), recs[2].record.Timestamp())

	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", recs[0].record.TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", recs[0].record.SpanID().String())
	assert.Equal(t, "5b8aa5a2d2c872e8321cf37308d69df2", recs[1].record.TraceID().String())
	assert.Equal(t, "info", recs[1].record.SeverityText())

	w := recs[2].record
	assert.Equal(t, `level=error msg="settlement failed" order=8812 err="upstream timeout"`, w.Body().Str())
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", w.TraceID().String())
	assert.True(t, w.SpanID().IsEmpty())
	assert.Equal(t, "error", w.SeverityText())
	assert.Equal(t, plog.SeverityNumberError, w.SeverityNumber())
	assert.Equal(t, map[string]any{"level": "error", "pod": "gatewayz-worker-6f7c9d-x2v4q"}, w.Attributes().AsRaw())
}
