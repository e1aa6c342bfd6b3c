// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver/internal/metadata"
)

// observedTime is the receive time the test receivers see.
var observedTime = time.Unix(1764300000, 424242424).UTC()

// newTestHandler returns the receiver and its full confighttp handler chain
// (client info, decompression, size limits, routes), without a listener.
func newTestHandler(tb testing.TB, next consumer.Logs, mutate func(*Config)) (*lokiPushReceiver, http.Handler) {
	tb.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = "localhost:0"
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(tb, cfg.Validate())
	r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), next)
	require.NoError(tb, err)
	r.now = func() time.Time { return observedTime }
	srv, err := r.newServer(context.Background(), componenttest.NewNopHost())
	require.NoError(tb, err)
	return r, srv.Handler
}

// pushRecords sends body to path of a receiver with the default config,
// requires 204 and returns what reached the consumer.
func pushRecords(tb testing.TB, path string, body []byte, headers map[string]string) []flatRecord {
	tb.Helper()
	sink := new(consumertest.LogsSink)
	_, h := newTestHandler(tb, sink, nil)
	rec := do(h, http.MethodPost, path, body, headers)
	require.Equal(tb, http.StatusNoContent, rec.Code, rec.Body.String())
	return flatten(sink.AllLogs())
}

// do sends one request through h.
func do(h http.Handler, method, path string, body []byte, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var jsonHeaders = map[string]string{"Content-Type": "application/json"}

var protoHeaders = map[string]string{"Content-Type": "application/x-protobuf"}

func gzipBytes(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(tb, err)
	require.NoError(tb, w.Close())
	return buf.Bytes()
}

func zlibBytes(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(tb, err)
	require.NoError(tb, w.Close())
	return buf.Bytes()
}

func flateBytes(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	require.NoError(tb, err)
	_, err = w.Write(b)
	require.NoError(tb, err)
	require.NoError(tb, w.Close())
	return buf.Bytes()
}

func zstdBytes(tb testing.TB, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	require.NoError(tb, err)
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// snappyProto marshals req and snappy-compresses it (block format), as
// Promtail does.
func snappyProto(tb testing.TB, req *push.PushRequest) []byte {
	b, err := req.Marshal()
	require.NoError(tb, err)
	return snappy.Encode(nil, b)
}

// flatRecord is one log record with its resource attributes, as flatten
// returns the sink's logs.
type flatRecord struct {
	resource map[string]any
	record   plog.LogRecord
}

func flatten(lds []plog.Logs) []flatRecord {
	var out []flatRecord
	for _, ld := range lds {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, flatRecord{resource: rl.Resource().Attributes().AsRaw(), record: lrs.At(k)})
				}
			}
		}
	}
	return out
}
