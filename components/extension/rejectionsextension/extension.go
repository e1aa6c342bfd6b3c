// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package rejectionsextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/rejectionsextension"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/rejectionsextension/internal/metadata"
)

// Reasons, the values of the `reason` attribute.
const (
	reasonBadRequest        = "bad_request"
	reasonTooLarge          = "too_large"
	reasonUnsupported       = "unsupported"
	reasonUnauthenticated   = "unauthenticated"
	reasonRefusedDownstream = "refused_downstream"
)

// maxMessage bounds what is kept of an error body for the log line.
const maxMessage = 200

type rejections struct {
	receiver string
	authID   component.ID
	auth     extensionauth.Server
	interval time.Duration
	logger   *zap.Logger
	tb       *metadata.TelemetryBuilder
	now      func() time.Time

	mu      sync.Mutex
	pending map[string]*pending
}

// pending is what one reason has accumulated since its last log line.
type pending struct {
	count    int64
	lastLine time.Time
	message  string
	peer     string
}

var (
	_ extension.Extension            = (*rejections)(nil)
	_ extensionmiddleware.HTTPServer = (*rejections)(nil)
	_ extensionmiddleware.GRPCServer = (*rejections)(nil)
	_ extensionauth.Server           = (*rejections)(nil)
)

func newRejections(set extension.Settings, cfg *Config) (*rejections, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	receiver := cfg.Receiver
	if receiver == "" {
		receiver = set.ID.Name()
	}
	if receiver == "" {
		receiver = set.ID.String()
	}
	return &rejections{
		receiver: receiver,
		authID:   cfg.Authenticator,
		interval: cfg.LogInterval,
		logger:   set.Logger,
		tb:       tb,
		now:      time.Now,
		pending:  map[string]*pending{},
	}, nil
}

// Start finds the authenticator this one asks, when configured.
func (r *rejections) Start(_ context.Context, host component.Host) error {
	if r.authID == (component.ID{}) {
		return nil
	}
	ext, ok := host.GetExtensions()[r.authID]
	if !ok {
		return fmt.Errorf("authenticator %q is not a configured extension", r.authID)
	}
	if r.auth, ok = ext.(extensionauth.Server); !ok {
		return fmt.Errorf("extension %q is not a server authenticator", r.authID)
	}
	return nil
}

// Authenticate asks the configured authenticator and counts its refusal.
// With none configured it refuses everything: naming this extension as a
// receiver's auth by mistake must not open the receiver.
func (r *rejections) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	if r.auth == nil {
		return ctx, errors.New("rejections: no authenticator configured to ask")
	}
	out, err := r.auth.Authenticate(ctx, sources)
	if err != nil {
		r.record(ctx, reasonUnauthenticated, err.Error(), hostOf(addrOf(ctx)))
	}
	return out, err
}

func addrOf(ctx context.Context) string {
	if addr := client.FromContext(ctx).Addr; addr != nil {
		return addr.String()
	}
	return ""
}

// Shutdown logs what was refused since each reason's last line, so the
// last refusals before a stop are not lost.
func (r *rejections) Shutdown(context.Context) error {
	r.mu.Lock()
	for reason, p := range r.pending {
		if p.count > 0 {
			r.logLine(reason, p)
		}
	}
	r.mu.Unlock()
	r.tb.Shutdown()
	return nil
}

// record counts one refusal and logs it when the reason's interval has
// passed since its previous line.
func (r *rejections) record(ctx context.Context, reason, message, from string) {
	r.tb.IngressRequestsRejected.Add(ctx, 1, metric.WithAttributes(
		attribute.String("receiver", r.receiver),
		attribute.String("reason", reason),
	))
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pending[reason]
	if p == nil {
		p = &pending{}
		r.pending[reason] = p
	}
	p.count++
	p.message = message
	p.peer = from
	if now := r.now(); p.lastLine.IsZero() || now.Sub(p.lastLine) >= r.interval {
		p.lastLine = now
		r.logLine(reason, p)
	}
}

// logLine names the receiver and reason in the message, not only in
// fields: the collector's logger samples by message (10 a second, then 1 in
// 100), and one shared message would lose lines when several reasons and
// receivers log in the same second.
func (r *rejections) logLine(reason string, p *pending) {
	r.logger.Info("Refused requests on "+r.receiver+": "+reason,
		zap.String("receiver", r.receiver),
		zap.String("reason", reason),
		zap.Int64("count", p.count),
		zap.Duration("interval", r.interval),
		zap.String("last_message", p.message),
		zap.String("last_peer", p.peer),
	)
	p.count = 0
}

// GetHTTPHandler wraps the receiver's handler. confighttp runs middlewares
// inside its authentication and decompression handlers, so a 401 from the
// authenticator or a 400 for a broken gzip stream never reaches this one.
func (r *rejections) GetHTTPHandler(context.Context) (extensionmiddleware.WrapHTTPHandlerFunc, error) {
	return func(_ context.Context, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			rw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(rw, req)
			if reason := httpReason(rw.status, rw.body.String()); reason != "" {
				r.record(req.Context(), reason, printable(rw.body.String()), hostOf(req.RemoteAddr))
			}
		}), nil
	}, nil
}

// GetGRPCServerOptions adds a stats handler rather than an interceptor:
// configgrpc chains middleware interceptors after its authentication
// interceptor, and the message size check runs before any interceptor, so
// only a stats handler sees every call's final status. grpc-go answers a
// method no service registered without any stats event; an unknown-service
// handler giving the same answer (Unimplemented) makes those calls visible.
func (r *rejections) GetGRPCServerOptions(context.Context) ([]grpc.ServerOption, error) {
	return []grpc.ServerOption{
		grpc.StatsHandler(&grpcStats{r: r}),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			method, _ := grpc.MethodFromServerStream(stream)
			return status.Errorf(codes.Unimplemented, "unknown method %s", method)
		}),
	}, nil
}

// httpReason maps a final HTTP status (and, for 400, the body the OTLP
// receiver writes for an oversized request) to a reason; "" = not refused.
func httpReason(code int, body string) string {
	switch {
	case code < 400:
		return ""
	case code == http.StatusRequestEntityTooLarge:
		return reasonTooLarge
	case code == http.StatusBadRequest && strings.Contains(strings.ToLower(body), "too large"):
		return reasonTooLarge
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return reasonUnauthenticated
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed || code == http.StatusUnsupportedMediaType:
		return reasonUnsupported
	case code == http.StatusTooManyRequests || code >= 500:
		return reasonRefusedDownstream
	default:
		return reasonBadRequest
	}
}

// grpcReason maps a call's final status to a reason; "" = not refused.
// Canceled and DeadlineExceeded are the client giving up, not a refusal.
func grpcReason(st *status.Status) string {
	switch st.Code() {
	case codes.OK, codes.Canceled, codes.DeadlineExceeded:
		return ""
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange, codes.DataLoss:
		return reasonBadRequest
	case codes.ResourceExhausted:
		// grpc-go's own limit: "grpc: received message larger than max".
		if strings.Contains(st.Message(), "larger than max") {
			return reasonTooLarge
		}
		return reasonRefusedDownstream
	case codes.Unimplemented:
		return reasonUnsupported
	case codes.Unauthenticated, codes.PermissionDenied:
		return reasonUnauthenticated
	default:
		return reasonRefusedDownstream
	}
}

// statusWriter remembers the status and the start of an error body.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status >= 400 && w.body.Len() < maxMessage {
		w.body.Write(b[:min(len(b), maxMessage-w.body.Len())])
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type grpcStats struct{ r *rejections }

func (*grpcStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (*grpcStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (*grpcStats) HandleConn(context.Context, stats.ConnStats) {}

func (g *grpcStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	end, ok := s.(*stats.End)
	if !ok || end.Error == nil || end.IsClient() {
		return
	}
	st := status.Convert(end.Error)
	reason := grpcReason(st)
	if reason == "" {
		return
	}
	from := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		from = hostOf(p.Addr.String())
	}
	msg := st.Message()
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	g.r.record(ctx, reason, msg, from)
}

// printable keeps the text of an error body: the OTLP receiver answers a
// protobuf request with a binary Status whose message is plain text.
func printable(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, s))
}

// hostOf drops the client's ephemeral port, which would differ per line.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
