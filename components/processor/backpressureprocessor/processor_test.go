// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package backpressureprocessor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/processor/xprocessor"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatewayz/otelcol-gatewayz/components/processor/backpressureprocessor/internal/metadata"
)

// next is a consumer of every signal that answers with whatever err holds.
type next struct{ err atomic.Pointer[error] }

func (n *next) set(err error) { n.err.Store(&err) }
func (n *next) answer() error {
	if p := n.err.Load(); p != nil {
		return *p
	}
	return nil
}
func (n *next) Capabilities() consumer.Capabilities                      { return consumer.Capabilities{} }
func (n *next) ConsumeTraces(context.Context, ptrace.Traces) error       { return n.answer() }
func (n *next) ConsumeMetrics(context.Context, pmetric.Metrics) error    { return n.answer() }
func (n *next) ConsumeLogs(context.Context, plog.Logs) error             { return n.answer() }
func (n *next) ConsumeProfiles(context.Context, pprofile.Profiles) error { return n.answer() }

// reportingHost records the status events a component reports.
type reportingHost struct {
	component.Host
	events chan *componentstatus.Event
}

func (h *reportingHost) Report(ev *componentstatus.Event) { h.events <- ev }

func newHost() *reportingHost {
	return &reportingHost{Host: componenttest.NewNopHost(), events: make(chan *componentstatus.Event, 100)}
}

// signals creates the processor for each signal over n and returns, by
// signal, the processor and a function sending one item through it.
func signals(t *testing.T, cfg *Config, n *next) map[string]struct {
	c    component.Component
	send func() error
} {
	t.Helper()
	f := NewFactory()
	set := processortest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	tr, err := f.CreateTraces(ctx, set, cfg, n)
	require.NoError(t, err)
	me, err := f.CreateMetrics(ctx, set, cfg, n)
	require.NoError(t, err)
	lo, err := f.CreateLogs(ctx, set, cfg, n)
	require.NoError(t, err)
	pr, err := f.(xprocessor.Factory).CreateProfiles(ctx, set, cfg, n)
	require.NoError(t, err)
	return map[string]struct {
		c    component.Component
		send func() error
	}{
		"traces":   {tr, func() error { return tr.ConsumeTraces(ctx, ptrace.NewTraces()) }},
		"metrics":  {me, func() error { return me.ConsumeMetrics(ctx, pmetric.NewMetrics()) }},
		"logs":     {lo, func() error { return lo.ConsumeLogs(ctx, plog.NewLogs()) }},
		"profiles": {pr, func() error { return pr.ConsumeProfiles(ctx, pprofile.NewProfiles()) }},
	}
}

func retryDelay(t *testing.T, st *status.Status) time.Duration {
	t.Helper()
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	t.Fatalf("status %v carries no RetryInfo", st)
	return 0
}

func TestErrors(t *testing.T) {
	cfg := &Config{RetryAfter: 7 * time.Second, HealthyAfter: time.Second}
	memoryRefusal := errors.New("data refused due to high memory usage")
	permanent := consumererror.NewPermanent(errors.New("bad data"))
	invalid := status.Error(codes.InvalidArgument, "malformed")
	exhausted := status.Error(codes.ResourceExhausted, "queue full")
	withInfo, err := status.New(codes.Unavailable, "slow down").WithDetails(&errdetails.RetryInfo{})
	require.NoError(t, err)

	for _, tt := range []struct {
		name      string
		err       error
		unchanged bool
		code      codes.Code
		delay     time.Duration
	}{
		{name: "accepted", err: nil, unchanged: true},
		{name: "permanent passes unchanged", err: permanent, unchanged: true},
		{name: "client cancelled", err: context.Canceled, unchanged: true},
		{name: "explicit non-retryable status", err: invalid, unchanged: true},
		{name: "retryable gets UNAVAILABLE with RetryInfo", err: memoryRefusal, code: codes.Unavailable, delay: 7 * time.Second},
		{name: "wrapped retryable", err: errors.Join(memoryRefusal, errors.New("second pipeline")), code: codes.Unavailable, delay: 7 * time.Second},
		{name: "RESOURCE_EXHAUSTED kept, RetryInfo added", err: exhausted, code: codes.ResourceExhausted, delay: 7 * time.Second},
		// Already what the client needs: passed on as it is.
		{name: "own RetryInfo kept", err: withInfo.Err(), unchanged: true},
	} {
		for _, name := range []string{"traces", "metrics", "logs", "profiles"} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				n := &next{}
				n.set(tt.err)
				got := signals(t, cfg, n)[name].send()
				if tt.unchanged {
					assert.Equal(t, tt.err, got)
					return
				}
				require.Error(t, got)
				assert.False(t, consumererror.IsPermanent(got), "a refusal must stay retryable")
				assert.ErrorIs(t, got, tt.err, "the original error stays in the chain")
				st, ok := status.FromError(got)
				require.True(t, ok, "not a gRPC status: %v", got)
				assert.Equal(t, tt.code, st.Code())
				assert.Equal(t, tt.delay, retryDelay(t, st))
				assert.Contains(t, st.Message(), tt.err.Error())
			})
		}
	}
}

// waitEvent returns the next reported event, failing after timeout.
func waitEvent(t *testing.T, h *reportingHost, timeout time.Duration) *componentstatus.Event {
	t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(timeout):
		t.Fatalf("no status event within %v", timeout)
		return nil
	}
}

func noEvent(t *testing.T, h *reportingHost, d time.Duration) {
	t.Helper()
	select {
	case ev := <-h.events:
		t.Fatalf("unexpected status event %v (%v)", ev.Status(), ev.Err())
	case <-time.After(d):
	}
}

// TestStatusTransitions: nothing is reported while data passes; the first
// refusal reports RecoverableError once, however many follow; StatusOK
// comes only after HealthyAfter without any refusal, even if data passes
// in between; a new refusal starts over.
func TestStatusTransitions(t *testing.T) {
	const hold = 300 * time.Millisecond
	cfg := &Config{RetryAfter: 5 * time.Second, HealthyAfter: hold}
	n := &next{}
	p := signals(t, cfg, n)["traces"]
	h := newHost()
	require.NoError(t, p.c.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, p.c.Shutdown(context.Background())) })

	for range 100 {
		require.NoError(t, p.send())
	}
	noEvent(t, h, 2*hold)

	refused := errors.New("data refused due to high memory usage")
	for round := range 2 {
		n.set(refused)
		require.Error(t, p.send())
		ev := waitEvent(t, h, time.Second)
		require.Equal(t, componentstatus.StatusRecoverableError, ev.Status(), "round %d", round)
		assert.ErrorIs(t, ev.Err(), refused)

		// Refusals every 50 ms, with data passing in between, for 4 holds:
		// still refusing.
		var last time.Time
		for range 4 * int(hold/(50*time.Millisecond)) {
			n.set(refused)
			require.Error(t, p.send())
			last = time.Now()
			n.set(nil)
			require.NoError(t, p.send())
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case ev := <-h.events:
			t.Fatalf("round %d: %v reported while the pipeline still refused", round, ev.Status())
		default:
		}
		ev = waitEvent(t, h, 3*hold)
		require.Equal(t, componentstatus.StatusOK, ev.Status(), "round %d", round)
		assert.GreaterOrEqual(t, time.Since(last), hold, "round %d: OK before a whole hold without refusals", round)
		noEvent(t, h, 2*hold)
	}
}

// TestOKWithoutTraffic: once the refusals stop, StatusOK is reported even
// if no data arrives at all (a pod the readiness probe took out of a
// Service gets no new traffic, so waiting for some would keep it out).
func TestOKWithoutTraffic(t *testing.T) {
	cfg := &Config{RetryAfter: 5 * time.Second, HealthyAfter: 100 * time.Millisecond}
	n := &next{}
	n.set(errors.New("queue is full"))
	p := signals(t, cfg, n)["logs"]
	h := newHost()
	require.NoError(t, p.c.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, p.c.Shutdown(context.Background())) })
	require.Error(t, p.send())
	assert.Equal(t, componentstatus.StatusRecoverableError, waitEvent(t, h, time.Second).Status())
	assert.Equal(t, componentstatus.StatusOK, waitEvent(t, h, time.Second).Status())
}

// TestNoStatusForUnchangedErrors: permanent errors and explicit statuses
// are the sender's problem, not a refusal: they leave the status alone.
func TestNoStatusForUnchangedErrors(t *testing.T) {
	cfg := &Config{RetryAfter: 5 * time.Second, HealthyAfter: 100 * time.Millisecond}
	n := &next{}
	p := signals(t, cfg, n)["metrics"]
	h := newHost()
	require.NoError(t, p.c.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, p.c.Shutdown(context.Background())) })
	for _, err := range []error{consumererror.NewPermanent(errors.New("bad")), status.Error(codes.InvalidArgument, "bad"), context.Canceled} {
		n.set(err)
		require.Error(t, p.send())
	}
	noEvent(t, h, 300*time.Millisecond)
}

func TestShutdownWithoutStart(t *testing.T) {
	p := signals(t, createDefaultConfig().(*Config), &next{})["profiles"]
	require.NoError(t, p.c.Shutdown(context.Background()))
}

var _ processor.Traces = (*tracesProcessor)(nil)
