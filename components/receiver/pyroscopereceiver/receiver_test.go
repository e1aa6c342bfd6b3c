// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
)

func TestIngestErrors(t *testing.T) {
	cpu := realCPUProfile(t)
	goodMultipart, goodCT := pyroscopeGoBody(t, cpu, nil, nil)
	noProfile, noProfileCT := func() (*bytes.Buffer, string) {
		var b bytes.Buffer
		b.WriteString("--B\r\nContent-Disposition: form-data; name=\"prev_profile\"; filename=\"p\"\r\n\r\nxx\r\n--B--\r\n")
		return &b, "multipart/form-data; boundary=B"
	}()
	prevBad, prevBadCT := pyroscopeGoBody(t, cpu, []byte("garbage"), nil)
	heapPrev, heapPrevCT := pyroscopeGoBody(t, cpu, realHeapProfile(t), nil)
	badSTC, badSTCCT := func() (*bytes.Buffer, string) {
		var b bytes.Buffer
		b.WriteString("--B\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"p\"\r\n\r\n")
		b.Write(cpu)
		b.WriteString("\r\n--B\r\nContent-Disposition: form-data; name=\"prev_profile\"; filename=\"p\"\r\n\r\n")
		b.Write(cpu)
		b.WriteString("\r\n--B\r\nContent-Disposition: form-data; name=\"sample_type_config\"; filename=\"c\"\r\n\r\n{not json\r\n--B--\r\n")
		return &b, "multipart/form-data; boundary=B"
	}()

	tests := []struct {
		name        string
		method      string
		query       string
		contentType string
		body        io.Reader
		status      int
		msg         string
	}{
		{"GET", http.MethodGet, "name=a", "", nil, 405, "method GET is not allowed on /ingest: use POST"},
		{"PUT", http.MethodPut, "name=a", "", strings.NewReader("a 1"), 405, "method PUT is not allowed on /ingest: use POST"},
		{"missing name", http.MethodPost, "format=folded", "", strings.NewReader("a 1"), 400, `missing required query parameter "name" (e.g. name=myapp.cpu{env=prod})`},
		{"bad query", http.MethodPost, "name=%zz", "", strings.NewReader("a 1"), 400, `invalid query string: invalid URL escape "%zz"`},
		{"unbalanced braces", http.MethodPost, "name=app%7Ba%3Db", "", strings.NewReader("a 1"), 400, `invalid name: unbalanced braces in name "app{a=b": missing '}'`},
		{"empty app name", http.MethodPost, "name=%7Ba%3Db%7D", "", strings.NewReader("a 1"), 400, "invalid name: application name is empty"},
		{"bad label", http.MethodPost, "name=app%7Ba-b%3D1%7D", "", strings.NewReader("a 1"), 400, `invalid name: invalid label key "a-b" in name: character '-' is not allowed`},
		{"label without value", http.MethodPost, "name=app%7Bab%7D", "", strings.NewReader("a 1"), 400, `invalid name: invalid label "ab" in name: missing '='`},
		{"bad from", http.MethodPost, "name=a&from=yesterday", "", strings.NewReader("a 1"), 400, `invalid "from": "yesterday" is not a non-negative integer unix timestamp`},
		{"bad until", http.MethodPost, "name=a&until=-5", "", strings.NewReader("a 1"), 400, `invalid "until": "-5" is not a non-negative integer unix timestamp`},
		{"from after until", http.MethodPost, "name=a&from=1700000061&until=1700000000", "", strings.NewReader("a 1"), 400, `"from" (1700000061) is after "until" (1700000000)`},
		{"bad sampleRate", http.MethodPost, "name=a&sampleRate=fast", "", strings.NewReader("a 1"), 400, `invalid "sampleRate" "fast": want an integer between 0 and 1000000000`},
		{"negative sampleRate", http.MethodPost, "name=a&sampleRate=-1", "", strings.NewReader("a 1"), 400, `invalid "sampleRate" "-1": want an integer between 0 and 1000000000`},
		{"jfr", http.MethodPost, "name=a&format=jfr", "", strings.NewReader("x"), 415, `format "jfr" is not supported by this receiver: send pprof (format=pprof) or collapsed stacks (format=folded)`},
		{"trie", http.MethodPost, "name=a&format=trie", "", strings.NewReader("x"), 415, `format "trie" is not supported by this receiver: send pprof (format=pprof) or collapsed stacks (format=folded)`},
		{"trie content type", http.MethodPost, "name=a", "binary/octet-stream+trie", strings.NewReader("x"), 415, `format "trie" is not supported by this receiver: send pprof (format=pprof) or collapsed stacks (format=folded)`},
		{"pprof content type, bad body", http.MethodPost, "name=a", "binary/octet-stream+pprof", strings.NewReader("a;b 1"), 400, "profile: cannot parse pprof: "},
		{"empty folded", http.MethodPost, "name=a", "", strings.NewReader(""), 400, "folded profile is empty: no stack lines"},
		{"blank folded", http.MethodPost, "name=a&format=folded", "", strings.NewReader("\n \n"), 400, "folded profile is empty: no stack lines"},
		{"bad folded line", http.MethodPost, "name=a", "", strings.NewReader("a;b 1\nnovalue\n"), 400, `folded line 2: missing value (expected "frame;frame value")`},
		{"bad folded value", http.MethodPost, "name=a", "", strings.NewReader("a;b one"), 400, `folded line 1: invalid value "one" (expected a non-negative integer)`},
		{"bad gzip folded", http.MethodPost, "name=a", "", bytes.NewReader([]byte{0x1f, 0x8b, 1, 2, 3}), 400, "folded profile: invalid gzip data: unexpected EOF"},
		{"unparsable pprof", http.MethodPost, "name=a&format=pprof", "", strings.NewReader("this is not a profile"), 400, "profile: cannot parse pprof: "},
		{"empty pprof", http.MethodPost, "name=a&format=pprof", "", nil, 400, "profile is empty"},
		{"no profile part", http.MethodPost, "name=a", noProfileCT, noProfile, 400, `invalid multipart body: no "profile" part`},
		{"no boundary", http.MethodPost, "name=a", "multipart/form-data", goodMultipart, 400, "multipart/form-data Content-Type without boundary"},
		{"wrong boundary", http.MethodPost, "name=a", "multipart/form-data; boundary=nope", bytes.NewReader(goodMultipart.Bytes()), 400, "invalid multipart body: "},
		{"truncated multipart", http.MethodPost, "name=a", goodCT, bytes.NewReader(goodMultipart.Bytes()[:goodMultipart.Len()/2]), 400, "invalid multipart body: "},
		{"bad prev_profile", http.MethodPost, "name=a", prevBadCT, prevBad, 400, "prev_profile: cannot parse pprof: "},
		{"prev_profile type mismatch", http.MethodPost, "name=a", heapPrevCT, heapPrev, 400, "prev_profile sample types do not match profile sample types"},
		{"bad sample_type_config", http.MethodPost, "name=a", badSTCCT, badSTC, 400, "invalid sample_type_config: invalid character 'n' looking for beginning of object key string"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.ProfilesSink)
			tr := newTestReceiver(t, sink)
			rec := tr.do(t, tt.method, tt.query, tt.contentType, tt.body)
			assert.Equal(t, tt.status, rec.Code)
			assert.True(t, strings.HasPrefix(rec.Body.String(), tt.msg), "body %q does not start with %q", rec.Body.String(), tt.msg)
			assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
			if tt.status == 405 {
				assert.Equal(t, "POST", rec.Header().Get("Allow"))
			}
			assert.Empty(t, sink.AllProfiles(), "nothing consumed on rejection")
			assert.Zero(t, sink.SampleCount())
		})
	}
}

func TestIngestSizeLimits(t *testing.T) {
	const limit = 1024
	withLimit := func(c *Config) { c.MaxRequestBodySize = limit }

	t.Run("raw body over limit", func(t *testing.T) {
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink, withLimit)
		body := strings.Repeat("a;b 1\n", 200) // 1200 bytes
		rec := tr.do(t, http.MethodPost, "name=a", "", strings.NewReader(body))
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, "request body exceeds the limit of 1024 bytes\n", rec.Body.String())
		assert.Empty(t, sink.AllProfiles())
	})
	t.Run("gzip folded decompresses over limit", func(t *testing.T) {
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink, withLimit)
		body := gzipBytes(t, []byte(strings.Repeat("a;b 1\n", 1000)))
		require.Less(t, len(body), limit)
		rec := tr.do(t, http.MethodPost, "name=a", "", bytes.NewReader(body))
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, "folded profile (decompressed) exceeds the limit of 1024 bytes\n", rec.Body.String())
		assert.Empty(t, sink.AllProfiles())
	})
	t.Run("gzip pprof decompresses over limit", func(t *testing.T) {
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink, withLimit)
		raw := make([]byte, 4096) // zeros compress well; never parsed
		body, ct := pyroscopeGoBody(t, gzipBytes(t, raw), nil, nil)
		require.Less(t, body.Len(), limit)
		rec := tr.do(t, http.MethodPost, "name=a", ct, body)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, "profile (decompressed) exceeds the limit of 1024 bytes\n", rec.Body.String())
	})
	t.Run("nested gzip refused", func(t *testing.T) {
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink)
		rec := tr.do(t, http.MethodPost, "name=a&format=pprof", "", bytes.NewReader(gzipBytes(t, realCPUProfile(t))))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "profile: nested gzip compression is not supported\n", rec.Body.String())
	})
}

// The status policy is the ingress core's (see its tests): this is the
// wiring, a refusal by the pipeline is answered with it.
func TestConsumerErrorAnswered(t *testing.T) {
	tr := newTestReceiver(t, consumertest.NewErr(errors.New("queue full")))
	rec := tr.do(t, http.MethodPost, "name=a&format=pprof", "", bytes.NewReader(realCPUProfile(t)))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, ingress.RetryAfterSeconds, rec.Header().Get("Retry-After"))
	assert.Equal(t, "the pipeline refused the profiles, retry later: queue full\n", rec.Body.String())
}

func TestTenantMetadataInContext(t *testing.T) {
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(t, sink, func(c *Config) { c.IncludeMetadata = true })

	body, ct := pyroscopeGoBody(t, realCPUProfile(t), nil, nil)
	rec := tr.do(t, http.MethodPost, pyroscopeGoQuery("app{env=dev}", time.Unix(1_700_000_000, 0), time.Unix(1_700_000_015, 0), 100, "samples", "sum"), ct, body, "X-Scope-OrgID", "team-a")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Empty(t, rec.Body.String())

	// Without the header: no tenant in the metadata.
	rec = tr.do(t, http.MethodPost, "name=app", "text/plain", strings.NewReader("a;b 1\n"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	require.Len(t, sink.AllProfiles(), 2)
	assert.Equal(t, []string{"team-a"}, client.FromContext(sink.Contexts()[0]).Metadata.Get("X-Scope-OrgID"))
	assert.Nil(t, client.FromContext(sink.Contexts()[1]).Metadata.Get("X-Scope-OrgID"))
	assert.Equal(t, "app", resourceAttrs(sink.AllProfiles()[0])["service.name"])
}

func TestServerContentEncodingAndLimits(t *testing.T) {
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(t, sink, func(c *Config) { c.MaxRequestBodySize = 2048 })

	post := func(body []byte, encoding string) (int, string) {
		var headers []string
		if encoding != "" {
			headers = []string{"Content-Encoding", encoding}
		}
		rec := tr.do(t, http.MethodPost, "name=enc.cpu", "", bytes.NewReader(body), headers...)
		return rec.Code, rec.Body.String()
	}

	// Content-Encoding: gzip is decoded by confighttp.
	code, msg := post(gzipBytes(t, []byte("main;f 3\n")), "gzip")
	require.Equal(t, http.StatusOK, code, msg)
	require.Len(t, sink.AllProfiles(), 1)
	assert.Equal(t, pprofcompare.Flame{"samples/count": {"main;f": 3}}, pprofcompare.FromOTLP(sink.AllProfiles()[0]))

	// Over the limit as sent.
	code, msg = post([]byte(strings.Repeat("a;b 1\n", 400)), "")
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Equal(t, "request body exceeds the limit of 2048 bytes\n", msg)

	// Over the limit once decompressed (Content-Encoding).
	code, msg = post(gzipBytes(t, []byte(strings.Repeat("a;b 1\n", 4000))), "gzip")
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Equal(t, "request body exceeds the limit of 2048 bytes\n", msg)

	// Unknown path.
	req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/other", strings.NewReader("x"))
	rec := httptest.NewRecorder()
	tr.h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Len(t, sink.AllProfiles(), 1)
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestStartFailsWhenPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = ln.Addr().String()
	r, err := newReceiver(cfg, receivertest.NewNopSettings(typ), consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("failed to bind to address %s", ln.Addr()))
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestShutdownWaitsForInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	next, err := xconsumer.NewProfiles(func(context.Context, pprofile.Profiles) error {
		close(entered)
		<-release
		return nil
	})
	require.NoError(t, err)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = freeAddr(t)
	rcv, err := createProfiles(context.Background(), receivertest.NewNopSettings(typ), cfg, next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	base := "http://" + cfg.NetAddr.Endpoint

	done := make(chan int)
	go func() {
		resp, postErr := http.Post(base+"/ingest?name=a", "text/plain", strings.NewReader("a 1"))
		if postErr != nil {
			done <- -1
			return
		}
		_ = resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	shut := make(chan error)
	go func() { shut <- rcv.Shutdown(context.Background()) }()
	select {
	case <-shut:
		t.Fatal("Shutdown returned while a request was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	assert.Equal(t, http.StatusOK, <-done)
	require.NoError(t, <-shut)
}

// Start without a host (as some tests and tools call it) must not panic.
func TestStartWithoutHost(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = freeAddr(t)
	r, err := newReceiver(cfg, receivertest.NewNopSettings(typ), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), nil))
	require.NoError(t, r.Shutdown(context.Background()))
}

// TestDecodeSlotsBoundConcurrentDecodes checks that an upload arriving
// while every decode slot is taken waits (its body read, so a slow client
// holds no slot), is decoded once a slot frees, and is dropped when its
// client gives up.
func TestDecodeSlotsBoundConcurrentDecodes(t *testing.T) {
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(t, sink)
	for range cap(tr.r.decodeSlots) {
		tr.r.decodeSlots <- struct{}{}
	}
	body := serialize(t, synthProfile([]string{"samples"}, []synthSample{{stack: []string{"main"}, values: []int64{1}}}))
	const query = "/ingest?format=pprof&name=app.cpu"

	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, query, bytes.NewReader(body))
	cancel()
	rec := httptest.NewRecorder()
	tr.h.ServeHTTP(rec, req)
	assert.Empty(t, sink.AllProfiles())
	assert.Empty(t, rec.Body.String(), "a client that left was answered")

	waiting := &countingReader{r: bytes.NewReader(body)}
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		tr.h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodPost, query, waiting))
		done <- rec
	}()
	select {
	case <-done:
		t.Fatal("an upload was decoded while every slot was taken")
	case <-time.After(100 * time.Millisecond):
	}
	assert.Equal(t, int64(len(body)), waiting.n.Load(), "a waiting upload's body was not read before it waited")
	assert.Empty(t, sink.AllProfiles())
	<-tr.r.decodeSlots
	rec = <-done
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, sink.AllProfiles(), 1)
	assert.Len(t, tr.r.decodeSlots, cap(tr.r.decodeSlots)-1, "the upload did not give its slot back")
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
