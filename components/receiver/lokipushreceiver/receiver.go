// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
)

const (
	pushPath       = "/loki/api/v1/push"
	legacyPushPath = "/api/prom/push"
	readyPath      = "/ready"

	formatJSON     = "loki_json"
	formatProtobuf = "loki_protobuf"
)

// confighttpDefaultCompressionAlgorithms mirrors confighttp's defaults, used
// when compression_algorithms is not set.
var confighttpDefaultCompressionAlgorithms = []string{"", "gzip", "zstd", "zlib", "snappy", "deflate", "lz4", "x-snappy-framed"}

type lokiPushReceiver struct {
	cfg         *Config
	settings    receiver.Settings
	next        consumer.Logs
	obsrecv     *receiverhelper.ObsReport
	respond     ingress.Responder
	mapper      mapper
	maxBodySize int64
	now         func() time.Time

	server     *http.Server
	shutdownWG sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*lokiPushReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	maxBody := cfg.MaxRequestBodySize
	if maxBody <= 0 {
		maxBody = defaultMaxRequestBodySize
	}
	return &lokiPushReceiver{
		cfg:         cfg,
		settings:    set,
		next:        next,
		obsrecv:     obsrecv,
		respond:     ingress.NewResponder(set.Logger, "Loki push request", "logs"),
		mapper:      mapper{serviceNameLabels: slices.Clone(cfg.ServiceNameLabels)},
		maxBodySize: maxBody,
		now:         time.Now,
	}, nil
}

// newServer builds the HTTP server (confighttp's handler chain: client
// info with include_metadata, auth, decompression, body size limit, around
// our routes) without binding a listener.
func (r *lokiPushReceiver) newServer(ctx context.Context, host component.Host) (*http.Server, error) {
	sc := r.cfg.ServerConfig
	sc.MaxRequestBodySize = r.maxBodySize
	if sc.CompressionAlgorithms == nil {
		sc.CompressionAlgorithms = confighttpDefaultCompressionAlgorithms
	}
	opts := []confighttp.ToServerOption{confighttp.WithErrorHandler(errorHandler)}
	if slices.Contains(sc.CompressionAlgorithms, "deflate") {
		// confighttp treats "deflate" as zlib only; Loki uses raw DEFLATE.
		opts = append(opts, confighttp.WithDecoder("deflate", newDeflateReader))
	}
	if slices.Contains(sc.CompressionAlgorithms, "snappy") {
		// Loki's protobuf body is always snappy (block format) and Loki
		// treats Content-Encoding: snappy as saying just that: leave the
		// body alone here and decode it once in the handler.
		opts = append(opts, confighttp.WithDecoder("snappy", func(io.ReadCloser) (io.ReadCloser, error) { return nil, nil }))
	}
	var ext map[component.ID]component.Component
	if host != nil {
		ext = host.GetExtensions()
	}
	mux := http.NewServeMux()
	mux.HandleFunc(pushPath, r.handlePush)
	mux.HandleFunc(legacyPushPath, r.handlePush)
	mux.HandleFunc(readyPath, r.handleReady)
	return sc.ToServer(ctx, ext, r.settings.TelemetrySettings, mux, opts...)
}

// Start binds the listener and serves the Loki push API.
func (r *lokiPushReceiver) Start(ctx context.Context, host component.Host) error {
	srv, err := r.newServer(ctx, host)
	if err != nil {
		return err
	}
	ln, err := r.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("failed to bind to address %s: %w", r.cfg.NetAddr.Endpoint, err)
	}
	r.server = srv
	r.settings.Logger.Info("Starting Loki push receiver", zap.String("endpoint", ln.Addr().String()))
	r.shutdownWG.Go(func() {
		if errHTTP := srv.Serve(ln); errHTTP != nil && !errors.Is(errHTTP, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(errHTTP))
		}
	})
	return nil
}

// Shutdown stops the server gracefully, letting in-flight requests finish.
func (r *lokiPushReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	return err
}

func (r *lokiPushReceiver) handleReady(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		r.respond.MethodNotAllowed(w, req, http.MethodGet, http.MethodHead)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ready")
}

type bodyFormat int

const (
	bodyJSON bodyFormat = iota
	bodyProtobuf
	bodySniff // no Content-Type: JSON if it looks like JSON, else protobuf
)

func (r *lokiPushReceiver) handlePush(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		r.respond.MethodNotAllowed(w, req, http.MethodPost)
		return
	}
	ctx, err := ingress.CheckTenant(req.Context())
	if err != nil {
		r.respond.Reject(w, err)
		return
	}
	streams, format, err := r.decodeRequest(req)
	if err != nil {
		r.respond.Reject(w, err)
		return
	}

	ld := r.mapper.toLogs(streams, pcommon.NewTimestampFromTime(r.now()))
	n := ld.LogRecordCount()
	if n == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx = r.obsrecv.StartLogsOp(ctx)
	err = r.next.ConsumeLogs(ctx, ld)
	r.obsrecv.EndLogsOp(ctx, format, n, err)
	if err != nil {
		r.respond.ConsumerError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeRequest reads and decodes the body. It returns the obsreport format
// name. Errors are *ingress.Error.
func (r *lokiPushReceiver) decodeRequest(req *http.Request) ([]stream, string, error) {
	format := bodySniff
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, "", ingress.UnsupportedMediaType("unsupported Content-Type %q: use application/json or application/x-protobuf", ct)
		}
		switch mt {
		case "application/json":
			format = bodyJSON
		case "application/x-protobuf", "application/protobuf":
			format = bodyProtobuf
		default:
			return nil, "", ingress.UnsupportedMediaType("unsupported Content-Type %q: use application/json or application/x-protobuf", ct)
		}
	}
	// confighttp has already decoded gzip/deflate/zstd/... and removed the
	// header; only the snappy pass-through (or nothing) is left here.
	snappyEncoded := false
	switch ce := req.Header.Get("Content-Encoding"); ce {
	case "":
	case "snappy":
		snappyEncoded = true
	default:
		return nil, "", ingress.UnsupportedMediaType("unsupported Content-Encoding %q", ce)
	}

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if cl := req.ContentLength; cl > 0 && cl <= r.maxBodySize {
		buf.Grow(int(cl) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(req.Body); err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, "", ingress.TooLarge("request body exceeds max_request_body_size of %d bytes", mbe.Limit)
		}
		return nil, "", ingress.BadRequest("failed to read request body: %v", err)
	}
	body := buf.Bytes()

	if format == bodySniff {
		if snappyEncoded || !looksLikeJSON(body) {
			format = bodyProtobuf
		} else {
			streams, err := decodeJSON(body)
			if err == nil {
				return streams, formatJSON, nil
			}
			// A snappy block may start with '{' too: try protobuf before
			// reporting the JSON error.
			if streams, perr := r.withSnappyDecoded(body, decodeProtobuf); perr == nil {
				return streams, formatProtobuf, nil
			}
			return nil, "", err
		}
	}
	if format == bodyProtobuf {
		streams, err := r.withSnappyDecoded(body, decodeProtobuf)
		return streams, formatProtobuf, err
	}
	if snappyEncoded {
		streams, err := r.withSnappyDecoded(body, decodeJSON)
		return streams, formatJSON, err
	}
	streams, err := decodeJSON(body)
	return streams, formatJSON, err
}

// withSnappyDecoded snappy-decodes body into a pooled buffer (bounded by
// max_request_body_size) and runs decode on it. decode must not retain the
// buffer: both decoders copy every string they keep.
func (r *lokiPushReceiver) withSnappyDecoded(body []byte, decode func([]byte) ([]stream, error)) ([]stream, error) {
	dbuf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(dbuf)
	decoded, err := snappyDecode(dbuf.Bytes()[:0], body, r.maxBodySize)
	if err != nil {
		return nil, err
	}
	streams, err := decode(decoded)
	// Keep the (possibly grown) backing array for the next request.
	*dbuf = *bytes.NewBuffer(decoded[:0])
	return streams, err
}

func looksLikeJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// errorHandler answers confighttp's decompression errors; an unknown
// Content-Encoding is 415 rather than confighttp's 400.
func errorHandler(w http.ResponseWriter, _ *http.Request, msg string, status int) {
	if status == http.StatusBadRequest && strings.HasPrefix(msg, "unsupported Content-Encoding") {
		status = http.StatusUnsupportedMediaType
	}
	http.Error(w, msg, status)
}

// newDeflateReader decodes Content-Encoding: deflate, whether the client
// sent zlib-wrapped data (RFC 9110) or raw DEFLATE (RFC 1951, what Loki's
// own handler expects).
func newDeflateReader(body io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReader(body)
	hdr, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(hdr) == 2 && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
		zr, zerr := zlib.NewReader(br)
		if zerr != nil {
			return nil, zerr
		}
		return readCloser{Reader: zr, closers: []io.Closer{zr, body}}, nil
	}
	fr := flate.NewReader(br)
	return readCloser{Reader: fr, closers: []io.Closer{fr, body}}, nil
}

type readCloser struct {
	io.Reader
	closers []io.Closer
}

func (rc readCloser) Close() error {
	var errs []error
	for _, c := range rc.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
