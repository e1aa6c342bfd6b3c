// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package backpressureprocessor // import "github.com/gatewayz/otelcol-gatewayz/components/processor/backpressureprocessor"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// backpressure is the part every signal's processor shares: it turns
// refusals into gRPC statuses with RetryInfo and reports the component
// status. One is created per pipeline, as the service creates processors.
type backpressure struct {
	cfg       *Config
	logger    *zap.Logger
	retryInfo *errdetails.RetryInfo

	// lastRefusal is when the pipeline last refused data (UnixNano), the one
	// thing a refused request writes; a request that passes costs nothing.
	lastRefusal atomic.Int64
	// refusing is true from the first refusal the reporter has heard of
	// until it reports StatusOK again.
	refusing  atomic.Bool
	firstErr  atomic.Pointer[error]
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	started   atomic.Bool
	stopOnce  sync.Once
	report    func(*componentstatus.Event)
}

func newBackpressure(cfg *Config, set processor.Settings) *backpressure {
	return &backpressure{
		cfg:       cfg,
		logger:    set.Logger,
		retryInfo: &errdetails.RetryInfo{RetryDelay: durationpb.New(cfg.RetryAfter)},
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		report:    func(*componentstatus.Event) {},
	}
}

func (b *backpressure) Start(_ context.Context, host component.Host) error {
	b.startOnce.Do(func() {
		b.report = func(ev *componentstatus.Event) { componentstatus.ReportStatus(host, ev) }
		b.started.Store(true)
		go b.reporter()
	})
	return nil
}

func (b *backpressure) Shutdown(context.Context) error {
	b.stopOnce.Do(func() { close(b.stop) })
	if b.started.Load() {
		<-b.done
	}
	return nil
}

func (b *backpressure) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// refuse passes err on as the client should see it. Nil, permanent errors,
// a client's own cancellation and explicit gRPC statuses other than
// UNAVAILABLE and RESOURCE_EXHAUSTED are returned unchanged; any other
// error is a retryable refusal, returned as a gRPC status with RetryInfo
// (code UNAVAILABLE unless it already was RESOURCE_EXHAUSTED) and noted for
// the component status.
func (b *backpressure) refuse(err error) error {
	if err == nil || consumererror.IsPermanent(err) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	code := codes.Unavailable
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unavailable, codes.ResourceExhausted:
			code = st.Code()
			if hasRetryInfo(st) {
				b.noteRefusal(err)
				return err
			}
		default:
			// Whoever chose that code meant it: a client must not be
			// told to retry what will fail again.
			return err
		}
	}
	b.noteRefusal(err)
	st := status.New(code, err.Error())
	if withInfo, e := st.WithDetails(b.retryInfo); e == nil {
		st = withInfo
	}
	return &refusal{err: err, st: st}
}

func hasRetryInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

// noteRefusal records the refusal's time and, if the reporter does not
// know of one yet, wakes it. The stores come before the load, so a refusal
// racing the reporter's switch back to OK is never lost (see reporter).
func (b *backpressure) noteRefusal(err error) {
	b.lastRefusal.Store(time.Now().UnixNano())
	if b.refusing.Load() {
		return
	}
	b.firstErr.CompareAndSwap(nil, &err)
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// reporter owns the reported status: RecoverableError from the first
// refusal until the pipeline has refused nothing for HealthyAfter, then
// StatusOK. It reports nothing before the first refusal (the service
// reports StatusOK once the processor has started). Reports happen here,
// never on a request: health_check receives them on an unbuffered channel.
func (b *backpressure) reporter() {
	defer close(b.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.wake:
		}
		b.refusing.Store(true)
		first := b.firstErr.Load()
		cause := errors.New("a refusal")
		if first != nil {
			cause = *first
		}
		b.logger.Warn("Refusing data: clients are told to retry", zap.Duration("retry_after", b.cfg.RetryAfter), zap.Error(cause))
		b.report(componentstatus.NewRecoverableErrorEvent(fmt.Errorf("refusing data, clients are told to retry after %s: %w", b.cfg.RetryAfter, cause)))
		for {
			last := b.lastRefusal.Load()
			wait := time.Unix(0, last).Add(b.cfg.HealthyAfter).Sub(time.Now())
			if wait > 0 {
				timer.Reset(wait)
				select {
				case <-b.stop:
					timer.Stop()
					return
				case <-timer.C:
				}
				continue
			}
			// Cleared first, so the next refusal's cause is the one kept.
			b.firstErr.Store(nil)
			b.refusing.Store(false)
			// A refusal stored between the load above and the store just
			// now saw refusing still true and did not wake us: look again.
			if b.lastRefusal.Load() != last {
				b.refusing.Store(true)
				continue
			}
			break
		}
		// Drain a wake from a refusal that came while we were refusing.
		select {
		case <-b.wake:
			if time.Now().Sub(time.Unix(0, b.lastRefusal.Load())) < b.cfg.HealthyAfter {
				b.wake <- struct{}{}
			}
		default:
		}
		b.logger.Info("Taking data again", zap.Duration("no_refusal_for", b.cfg.HealthyAfter))
		b.report(componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// refusal is a retryable refusal as a gRPC status. It keeps the original
// error in its chain (errors.Is still finds memory_limiter's).
type refusal struct {
	err error
	st  *status.Status
}

func (r *refusal) Error() string              { return r.err.Error() }
func (r *refusal) Unwrap() error              { return r.err }
func (r *refusal) GRPCStatus() *status.Status { return r.st }

type tracesProcessor struct {
	*backpressure
	next consumer.Traces
}

func (p *tracesProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return p.refuse(p.next.ConsumeTraces(ctx, td))
}

type metricsProcessor struct {
	*backpressure
	next consumer.Metrics
}

func (p *metricsProcessor) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return p.refuse(p.next.ConsumeMetrics(ctx, md))
}

type logsProcessor struct {
	*backpressure
	next consumer.Logs
}

func (p *logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return p.refuse(p.next.ConsumeLogs(ctx, ld))
}

type profilesProcessor struct {
	*backpressure
	next xconsumer.Profiles
}

func (p *profilesProcessor) ConsumeProfiles(ctx context.Context, pd pprofile.Profiles) error {
	return p.refuse(p.next.ConsumeProfiles(ctx, pd))
}
