// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lz4compressionextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/lz4compressionextension"

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/pierrec/lz4/v4"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
)

// compressor is the extension: an extensionmiddleware.HTTPClient.
type compressor struct {
	component.StartFunc
	component.ShutdownFunc
	writers sync.Pool
}

var _ extensionmiddleware.HTTPClient = (*compressor)(nil)

// frameWriter is what one compression holds, pooled: the writer and
// the buffer its frame is written to.
type frameWriter struct {
	w   *lz4.Writer
	out bytes.Buffer
}

func newCompressor(size lz4.BlockSize) *compressor {
	c := &compressor{}
	c.writers.New = func() any {
		fw := &frameWriter{w: lz4.NewWriter(nil)}
		// Both options are valid for every BlockSize, so Apply cannot fail.
		_ = fw.w.Apply(lz4.BlockSizeOption(size), lz4.ConcurrencyOption(1))
		return fw
	}
	return c
}

func (c *compressor) GetHTTPRoundTripper(context.Context) (extensionmiddleware.WrapHTTPRoundTripperFunc, error) {
	return func(_ context.Context, next http.RoundTripper) (http.RoundTripper, error) {
		return &roundTripper{c: c, next: next}, nil
	}, nil
}

// compress returns body as one LZ4 frame.
func (c *compressor) compress(body io.Reader) ([]byte, error) {
	fw := c.writers.Get().(*frameWriter)
	defer func() {
		fw.w.Reset(nil)
		fw.out.Reset()
		c.writers.Put(fw)
	}()
	fw.w.Reset(&fw.out)
	// Hidden from io.Copy: the Writer's ReadFrom takes a read error of
	// io.ErrUnexpectedEOF for the end of the body and sends it cut short.
	if _, err := io.Copy(struct{ io.Writer }{fw.w}, body); err != nil {
		return nil, err
	}
	if err := fw.w.Close(); err != nil {
		return nil, err
	}
	// Copied out at its size: the pooled buffer, grown once to the
	// largest frame, is not handed on with the request, and a buffer
	// grown by doubling per body would allocate about twice the frame.
	return bytes.Clone(fw.out.Bytes()), nil
}

type roundTripper struct {
	c    *compressor
	next http.RoundTripper
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	// Already encoded (the client's own `compression` is set), or nothing to send.
	if req.Body == nil || req.Body == http.NoBody || req.Header.Get("Content-Encoding") != "" {
		return rt.next.RoundTrip(req)
	}
	packed, err := rt.c.compress(req.Body)
	if closeErr := req.Body.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, err
	}
	// A RoundTripper must not modify the request it was given.
	out := req.Clone(req.Context())
	out.Header.Set("Content-Encoding", "lz4")
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(packed)), nil }
	out.Body, _ = out.GetBody()
	out.ContentLength = int64(len(packed))
	return rt.next.RoundTrip(out)
}
