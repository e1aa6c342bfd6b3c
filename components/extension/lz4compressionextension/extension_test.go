// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lz4compressionextension

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configmiddleware"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/lz4compressionextension/internal/metadata"
	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

// logsBatch is one of the gateway's full Loki batches: 8192 OTLP log
// records, about 2.3 MB of protobuf.
func logsBatch(t testing.TB) []byte {
	body, err := (&plog.ProtoMarshaler{}).MarshalLogs(loadgen.LogBatch(8192))
	require.NoError(t, err)
	return body
}

// received is what a server got: the Content-Encoding and the raw body.
type received struct {
	encoding string
	body     []byte
}

func recordingServer(t *testing.T) (*httptest.Server, chan received) {
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		got <- received{encoding: r.Header.Get("Content-Encoding"), body: body}
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// none is `compression: none`, unexported in configcompression.
const none = configcompression.Type("none")

// client is an HTTP client built by confighttp, as the otlp_http exporter
// builds its own, with this extension as its middleware.
func client(t *testing.T, cfg *Config, compression configcompression.Type) *http.Client {
	id := component.NewID(metadata.Type)
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	cc := confighttp.NewDefaultClientConfig()
	cc.Compression = compression
	cc.Middlewares = []configmiddleware.Config{{ID: id}}
	c, err := cc.ToClient(context.Background(), map[component.ID]component.Component{id: ext}, componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	return c
}

// frameBlockSize reads the block size a frame declares (its BD byte).
func frameBlockSize(t *testing.T, frame []byte) int {
	require.GreaterOrEqual(t, len(frame), 6)
	require.Equal(t, []byte{0x04, 0x22, 0x4d, 0x18}, frame[:4], "LZ4 frame magic")
	return 1 << (8 + 2*int(frame[5]>>4&7))
}

func TestSendsAnLZ4FrameOfTheConfiguredBlockSize(t *testing.T) {
	body := logsBatch(t)
	for name, size := range map[string]int{"64KiB": 64 << 10, "4MiB": 4 << 20} {
		t.Run(name, func(t *testing.T) {
			srv, got := recordingServer(t)
			resp, err := client(t, &Config{BlockSize: name}, none).Post(srv.URL, "application/x-protobuf", bytes.NewReader(body))
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			r := <-got
			assert.Equal(t, "lz4", r.encoding)
			assert.Equal(t, size, frameBlockSize(t, r.body))
			assert.Less(t, len(r.body), len(body)/5, "compressed")
			plain, err := io.ReadAll(lz4.NewReader(bytes.NewReader(r.body)))
			require.NoError(t, err)
			assert.Equal(t, body, plain)
		})
	}
}

func TestLeavesAnEncodedBodyAlone(t *testing.T) {
	srv, got := recordingServer(t)
	body := logsBatch(t)
	// The client's own compression runs before any middleware.
	resp, err := client(t, createDefaultConfig().(*Config), configcompression.TypeZstd).Post(srv.URL, "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "zstd", (<-got).encoding)
}

func TestLeavesARequestWithoutBodyAlone(t *testing.T) {
	srv, got := recordingServer(t)
	resp, err := client(t, createDefaultConfig().(*Config), none).Get(srv.URL)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	r := <-got
	assert.Empty(t, r.encoding)
	assert.Empty(t, r.body)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The request it sends can be replayed (a redirect, an HTTP/2 retry) and
// has the compressed length; the caller's request is not changed.
func TestRequestIsReplayableAndTheOriginalUntouched(t *testing.T) {
	var sent *http.Request
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = r
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})
	wrap, err := newCompressor(lz4.Block64Kb).GetHTTPRoundTripper(context.Background())
	require.NoError(t, err)
	rt, err := wrap(context.Background(), next)
	require.NoError(t, err)

	body := logsBatch(t)
	req, err := http.NewRequest(http.MethodPost, "http://loki/otlp/v1/logs", bytes.NewReader(body))
	require.NoError(t, err)
	_, err = rt.RoundTrip(req)
	require.NoError(t, err)

	assert.Empty(t, req.Header.Get("Content-Encoding"))
	first, err := io.ReadAll(sent.Body)
	require.NoError(t, err)
	assert.Equal(t, int64(len(first)), sent.ContentLength)
	again, err := sent.GetBody()
	require.NoError(t, err)
	replayed, err := io.ReadAll(again)
	require.NoError(t, err)
	assert.Equal(t, first, replayed)
}

// io.ErrUnexpectedEOF in particular: lz4.Writer's ReadFrom takes it for the end.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestABodyThatFailsToReadFailsTheRequest(t *testing.T) {
	called := false
	wrap, err := newCompressor(lz4.Block64Kb).GetHTTPRoundTripper(context.Background())
	require.NoError(t, err)
	rt, err := wrap(context.Background(), roundTripFunc(func(*http.Request) (*http.Response, error) {
		called = true
		return nil, nil
	}))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, "http://loki/otlp/v1/logs", io.NopCloser(failingReader{}))
	require.NoError(t, err)
	_, err = rt.RoundTrip(req)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.False(t, called, "nothing sent")
}

// Speed and ratio by block size on a full Loki batch. What the block size
// saves is not per operation (the library pools its blocks) but per
// compression in flight: each holds about three blocks while it runs.
func BenchmarkCompress(b *testing.B) {
	body := logsBatch(b)
	for _, name := range []string{"64KiB", "4MiB"} {
		b.Run(name, func(b *testing.B) {
			c := newCompressor(blockSizes[name])
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var packed []byte
			for b.Loop() {
				var err error
				if packed, err = c.compress(bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(body))/float64(len(packed)), "ratio")
		})
	}
}
