// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func newResponder() (Responder, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return NewResponder(zap.New(core), "test upload", "widgets"), logs
}

func TestResponder(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(Responder, http.ResponseWriter, *http.Request)
		status     int
		body       string
		retryAfter string
		allow      string
	}{
		{
			name: "ingress error keeps its status",
			answer: func(r Responder, w http.ResponseWriter, _ *http.Request) {
				r.Reject(w, TooLarge("body over %d bytes", 10))
			},
			status: 413, body: "body over 10 bytes",
		},
		{
			name: "wrapped ingress error keeps its status",
			answer: func(r Responder, w http.ResponseWriter, _ *http.Request) {
				r.Reject(w, fmt.Errorf("decoding: %w", UnsupportedMediaType("no %s", "jfr")))
			},
			status: 415, body: "decoding: no jfr",
		},
		{
			name:   "any other error is the client's",
			answer: func(r Responder, w http.ResponseWriter, _ *http.Request) { r.Reject(w, errors.New("bad line")) },
			status: 400, body: "bad line",
		},
		{
			name: "method not allowed",
			answer: func(r Responder, w http.ResponseWriter, req *http.Request) {
				r.MethodNotAllowed(w, req, http.MethodGet, http.MethodHead)
			},
			status: 405, body: "method PUT is not allowed on /x: use GET", allow: "GET, HEAD",
		},
		{
			name: "permanent consumer error",
			answer: func(r Responder, w http.ResponseWriter, _ *http.Request) {
				r.ConsumerError(w, consumererror.NewPermanent(errors.New("bad data")))
			},
			status: 400, body: "the pipeline rejected the widgets permanently: Permanent error: bad data",
		},
		{
			name: "retryable consumer error",
			answer: func(r Responder, w http.ResponseWriter, _ *http.Request) {
				r.ConsumerError(w, errors.New("data refused due to high memory usage"))
			},
			status: 503, body: "the pipeline refused the widgets, retry later: data refused due to high memory usage", retryAfter: "5",
		},
		{
			// The backpressure processor's refusal names its retry_after.
			name: "retryable consumer error with RetryInfo",
			answer: func(r Responder, w http.ResponseWriter, _ *http.Request) {
				st, err := status.New(codes.Unavailable, "refused").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(12 * time.Second)})
				require.NoError(t, err)
				r.ConsumerError(w, st.Err())
			},
			status: 503, body: "the pipeline refused the widgets, retry later: rpc error: code = Unavailable desc = refused", retryAfter: "12",
		},
		{
			// Retry-After is whole seconds: 0 would mean "at once".
			name: "RetryInfo under a second",
			answer: func(r Responder, w http.ResponseWriter, _ *http.Request) {
				st, err := status.New(codes.Unavailable, "refused").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(200 * time.Millisecond)})
				require.NoError(t, err)
				r.ConsumerError(w, st.Err())
			},
			status: 503, body: "the pipeline refused the widgets, retry later: rpc error: code = Unavailable desc = refused", retryAfter: "1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs := newResponder()
			rec := httptest.NewRecorder()
			tt.answer(r, rec, httptest.NewRequest(http.MethodPut, "/x", nil))
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.body+"\n", rec.Body.String())
			assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Equal(t, tt.retryAfter, rec.Header().Get("Retry-After"))
			assert.Equal(t, tt.allow, rec.Header().Get("Allow"))
			require.Equal(t, 1, logs.Len(), "every rejection is logged once")
			entry := logs.All()[0]
			assert.Equal(t, zapcore.DebugLevel, entry.Level)
			assert.Equal(t, "Rejected test upload", entry.Message)
			assert.Equal(t, map[string]any{"status": int64(tt.status), "reason": tt.body}, entry.ContextMap())
		})
	}
}

func TestCheckTenant(t *testing.T) {
	withTenant := func(values ...string) context.Context {
		return client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"X-Scope-OrgID": values})})
	}
	_, err := CheckTenant(withTenant("a|b"))
	e, ok := errors.AsType[*Error](err)
	require.True(t, ok, "%T is not an *Error", err)
	assert.Equal(t, http.StatusBadRequest, e.Status)
	assert.Contains(t, e.Msg, `invalid X-Scope-OrgID "a|b"`)

	ctx, err := CheckTenant(withTenant("team-a"))
	require.NoError(t, err)
	assert.Equal(t, []string{"team-a"}, client.FromContext(ctx).Metadata.Get("X-Scope-OrgID"))
}
