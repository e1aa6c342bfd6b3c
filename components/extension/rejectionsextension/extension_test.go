// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package rejectionsextension

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/rejectionsextension/internal/metadatatest"
)

// newTestRejections returns an extension named rejections/<name> whose
// telemetry and info-level logs the test reads.
func newTestRejections(t *testing.T, name string, interval time.Duration) (*rejections, *componenttest.Telemetry, *observer.ObservedLogs) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tt)
	set.ID = component.MustNewIDWithName("rejections", name)
	core, logs := observer.New(zapcore.InfoLevel)
	set.Logger = zap.New(core)
	r, err := newRejections(set, &Config{LogInterval: interval})
	require.NoError(t, err)
	return r, tt, logs
}

func point(receiver, reason string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{
		Attributes: attribute.NewSet(attribute.String("receiver", receiver), attribute.String("reason", reason)),
		Value:      n,
	}
}

func TestHTTPReasons(t *testing.T) {
	r, tt, _ := newTestRejections(t, "otlp_http", time.Hour)
	wrap, err := r.GetHTTPHandler(context.Background())
	require.NoError(t, err)
	// The inner handler answers what the request asks for, as a receiver
	// would: status and body.
	h, err := wrap(context.Background(), http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		code, _ := strconv.Atoi(req.URL.Query().Get("code"))
		if code == 0 {
			_, _ = w.Write([]byte("ok")) // implicit 200
			return
		}
		http.Error(w, req.URL.Query().Get("msg"), code)
	}))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	cases := []struct {
		code   int
		msg    string
		reason string
	}{
		{0, "", ""},
		{200, "", ""},
		{204, "", ""},
		{400, "proto: cannot parse invalid wire-format data", reasonBadRequest},
		{400, "http: request body too large", reasonTooLarge},
		{413, "too big", reasonTooLarge},
		{415, "unsupported content type", reasonUnsupported},
		{404, "", reasonUnsupported},
		{405, "", reasonUnsupported},
		{401, "missing token", reasonUnauthenticated},
		{403, "", reasonUnauthenticated},
		{429, "", reasonRefusedDownstream},
		{503, "memory limit", reasonRefusedDownstream},
		{500, "", reasonRefusedDownstream},
		{422, "", reasonBadRequest},
	}
	want := map[string]int64{}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d %s", c.code, c.msg), func(t *testing.T) {
			assert.Equal(t, c.reason, httpReason(max(c.code, 200), c.msg+"\n"))
		})
		if c.code == 200 || c.code == 204 {
			continue // http.Error with a 2xx is not how a handler answers
		}
		resp, err := http.Get(srv.URL + "/?code=" + strconv.Itoa(c.code) + "&msg=" + strings.ReplaceAll(c.msg, " ", "+"))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		if c.reason != "" {
			want[c.reason]++
		}
	}
	var dps []metricdata.DataPoint[int64]
	for reason, n := range want {
		dps = append(dps, point("otlp_http", reason, n))
	}
	metadatatest.AssertEqualIngressRequestsRejected(t, tt, dps, metricdatatest.IgnoreTimestamp())
}

func TestGRPCReasons(t *testing.T) {
	for _, c := range []struct {
		code   codes.Code
		msg    string
		reason string
	}{
		{codes.OK, "", ""},
		{codes.Canceled, "", ""},
		{codes.DeadlineExceeded, "", ""},
		{codes.InvalidArgument, "bad", reasonBadRequest},
		{codes.ResourceExhausted, "grpc: received message larger than max (5000 vs. 1024)", reasonTooLarge},
		{codes.ResourceExhausted, "queue is full", reasonRefusedDownstream},
		{codes.Unavailable, "", reasonRefusedDownstream},
		{codes.Unimplemented, "", reasonUnsupported},
		{codes.Unauthenticated, "", reasonUnauthenticated},
		{codes.PermissionDenied, "", reasonUnauthenticated},
		{codes.Internal, "", reasonRefusedDownstream},
	} {
		assert.Equal(t, c.reason, grpcReason(status.New(c.code, c.msg)), "%v %q", c.code, c.msg)
	}
}

// TestGRPCStatsHandler runs a real gRPC server with the extension's options
// and checks that what the server answers (the handler's own status and
// grpc-go's message size limit, which no interceptor sees) is counted.
func TestGRPCStatsHandler(t *testing.T) {
	r, tt, logs := newTestRejections(t, "otlp_grpc", time.Hour)
	opts, err := r.GetGRPCServerOptions(context.Background())
	require.NoError(t, err)
	opts = append(opts, grpc.MaxRecvMsgSize(1024), grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		var msg wrapperspb.BytesValue
		if err := stream.RecvMsg(&msg); err != nil {
			return err
		}
		md, _ := metadata.FromIncomingContext(stream.Context())
		code, _ := strconv.Atoi(md.Get("code")[0])
		if code == 0 {
			return stream.SendMsg(&msg)
		}
		return status.Error(codes.Code(code), "refused on purpose")
	}))
	srv := grpc.NewServer(opts...)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	call := func(code codes.Code, size int) error {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "code", strconv.Itoa(int(code)))
		return conn.Invoke(ctx, "/test.Svc/Call", wrapperspb.Bytes(make([]byte, size)), &wrapperspb.BytesValue{})
	}
	require.NoError(t, call(codes.OK, 10))
	assert.Equal(t, codes.InvalidArgument, status.Code(call(codes.InvalidArgument, 10)))
	assert.Equal(t, codes.Unauthenticated, status.Code(call(codes.Unauthenticated, 10)))
	assert.Equal(t, codes.Unauthenticated, status.Code(call(codes.Unauthenticated, 10)))
	assert.Equal(t, codes.ResourceExhausted, status.Code(call(codes.OK, 5000)))

	// The server-side End event may land just after the client returns,
	// and a call is counted before it is logged.
	require.Eventually(t, func() bool {
		if logs.FilterField(zap.String("reason", reasonTooLarge)).Len() == 0 {
			return false
		}
		m, err := tt.GetMetric("otelcol_ingress_requests_rejected")
		if err != nil {
			return false
		}
		var total int64
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			total += dp.Value
		}
		return total == 4
	}, 5*time.Second, 10*time.Millisecond)
	metadatatest.AssertEqualIngressRequestsRejected(t, tt, []metricdata.DataPoint[int64]{
		point("otlp_grpc", reasonBadRequest, 1),
		point("otlp_grpc", reasonUnauthenticated, 2),
		point("otlp_grpc", reasonTooLarge, 1),
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
	m, err := tt.GetMetric("otelcol_ingress_requests_rejected")
	require.NoError(t, err)
	got := map[string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		reason, _ := dp.Attributes.Value("reason")
		got[reason.AsString()] = dp.Value
	}
	assert.Equal(t, map[string]int64{reasonBadRequest: 1, reasonUnauthenticated: 2, reasonTooLarge: 1}, got)

	line := logs.FilterField(zap.String("reason", reasonTooLarge)).All()
	require.Len(t, line, 1)
	assert.Equal(t, "127.0.0.1", line[0].ContextMap()["last_peer"])
	assert.Contains(t, line[0].ContextMap()["last_message"], "larger than max")
}

// TestRateLimitedLog checks one line per reason per interval, with the
// count since the previous line, and the remainder logged at shutdown.
func TestRateLimitedLog(t *testing.T) {
	r, _, logs := newTestRejections(t, "", time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	ctx := context.Background()

	r.record(ctx, reasonBadRequest, "first", "10.0.0.1")
	for i := range 5 {
		now = now.Add(time.Second)
		r.record(ctx, reasonBadRequest, fmt.Sprintf("m%d", i), "10.0.0.2")
	}
	r.record(ctx, reasonTooLarge, "big", "10.0.0.3") // another reason: its own line at once
	require.Equal(t, 2, logs.Len(), "one line per reason until the interval passes")

	now = now.Add(time.Minute)
	r.record(ctx, reasonBadRequest, "late", "10.0.0.4")
	r.record(ctx, reasonBadRequest, "later", "10.0.0.5")
	require.NoError(t, r.Shutdown(ctx))

	type line struct {
		reason, msg, peer string
		count             int64
	}
	var got []line
	for _, e := range logs.All() {
		assert.Equal(t, zapcore.InfoLevel, e.Level)
		f := e.ContextMap()
		assert.Equal(t, "Refused requests on rejections: "+f["reason"].(string), e.Message)
		assert.Equal(t, "rejections", f["receiver"], "the instance has no name: its type is the receiver")
		got = append(got, line{f["reason"].(string), f["last_message"].(string), f["last_peer"].(string), f["count"].(int64)})
	}
	assert.Equal(t, []line{
		{reasonBadRequest, "first", "10.0.0.1", 1},
		{reasonTooLarge, "big", "10.0.0.3", 1},
		{reasonBadRequest, "late", "10.0.0.4", 6},  // the 5 held back and this one
		{reasonBadRequest, "later", "10.0.0.5", 1}, // at shutdown
	}, got)
}

func TestReceiverName(t *testing.T) {
	r, _, _ := newTestRejections(t, "lokipush", time.Minute)
	assert.Equal(t, "lokipush", r.receiver)
}

// TestGRPCUnknownMethod checks that a call to a method no service serves,
// which grpc-go answers without stats events, is counted as unsupported.
func TestGRPCUnknownMethod(t *testing.T) {
	r, tt, _ := newTestRejections(t, "otlp_grpc", time.Hour)
	opts, err := r.GetGRPCServerOptions(context.Background())
	require.NoError(t, err)
	srv := grpc.NewServer(opts...)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	err = conn.Invoke(context.Background(), "/no.Such/Method", &wrapperspb.BytesValue{}, &wrapperspb.BytesValue{})
	assert.Equal(t, codes.Unimplemented, status.Code(err))
	require.Eventually(t, func() bool {
		_, err := tt.GetMetric("otelcol_ingress_requests_rejected")
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	metadatatest.AssertEqualIngressRequestsRejected(t, tt, []metricdata.DataPoint[int64]{
		point("otlp_grpc", reasonUnsupported, 1),
	}, metricdatatest.IgnoreTimestamp())
}

func TestPrintable(t *testing.T) {
	// What the OTLP receiver writes for a protobuf request: a Status
	// message (code 3, message "unexpected EOF").
	assert.Equal(t, "unexpected EOF", printable("\x08\x03\x12\x0eunexpected EOF"))
	assert.Equal(t, `{"code":3}`, printable("{\"code\":3}\n"))
}

// fakeHost offers the extensions an authenticator wrapper may look up.
type fakeHost struct {
	exts map[component.ID]component.Component
}

func (h fakeHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// tokenAuth accepts one header value and marks the context it returns.
type tokenAuth struct{ component.StartFunc }

type authedKey struct{}

func (tokenAuth) Shutdown(context.Context) error { return nil }

func (tokenAuth) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	if len(sources["authorization"]) == 1 && sources["authorization"][0] == "Bearer right" {
		return context.WithValue(ctx, authedKey{}, true), nil
	}
	return ctx, errors.New("missing or wrong bearer token")
}

// TestAuthenticatorCountsRefusals: as an HTTP receiver's auth, the
// extension passes the inner authenticator's verdict and context through
// and counts each refusal as unauthenticated, with the inner's message.
func TestAuthenticatorCountsRefusals(t *testing.T) {
	r, tt, logs := newTestRejections(t, "lokipush", time.Hour)
	innerID := component.MustNewID("ingestauth")
	r.authID = innerID
	require.NoError(t, r.Start(context.Background(), fakeHost{exts: map[component.ID]component.Component{innerID: tokenAuth{}}}))

	ctx, err := r.Authenticate(context.Background(), map[string][]string{"authorization": {"Bearer right"}})
	require.NoError(t, err)
	assert.Equal(t, true, ctx.Value(authedKey{}), "the inner authenticator's context is kept")
	for _, h := range []map[string][]string{{}, {"authorization": {"Bearer wrong"}}, {"authorization": {"Basic x"}}} {
		_, err := r.Authenticate(context.Background(), h)
		require.Error(t, err)
	}
	metadatatest.AssertEqualIngressRequestsRejected(t, tt, []metricdata.DataPoint[int64]{
		point("lokipush", reasonUnauthenticated, 3),
	}, metricdatatest.IgnoreTimestamp())
	line := logs.FilterField(zap.String("reason", reasonUnauthenticated)).All()
	require.Len(t, line, 1)
	assert.Equal(t, "missing or wrong bearer token", line[0].ContextMap()["last_message"])
}

func TestAuthenticatorMisconfigured(t *testing.T) {
	r, _, _ := newTestRejections(t, "otlp_http", time.Hour)
	_, err := r.Authenticate(context.Background(), map[string][]string{"authorization": {"Bearer right"}})
	require.Error(t, err, "with no authenticator to ask, everything is refused")

	r.authID = component.MustNewID("ingestauth")
	require.ErrorContains(t, r.Start(context.Background(), fakeHost{}), `"ingestauth" is not a configured extension`)
	require.ErrorContains(t, r.Start(context.Background(), fakeHost{exts: map[component.ID]component.Component{
		r.authID: struct{ component.Component }{},
	}}), "is not a server authenticator")
}
