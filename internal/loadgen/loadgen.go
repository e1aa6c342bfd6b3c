// Package loadgen sends what the GatewayZ backend sends (gateway-shaped
// OTLP traces, OTLP logs, Loki pushes, Pyroscope uploads, OTLP profiles) at
// a set rate or as fast as the receiver accepts, and counts what was
// accepted and refused. Request bodies are built once per worker and only
// their timestamps and trace ids are re-stamped before each send, so a
// benchmark measures the collector, not the generator.
//
// Every item carries the time it was sent as its timestamp: a trace's
// latest timestamp (its SERVER span's end; its children end earlier), a log
// record's time, a Loki line's time (ns), a Pyroscope upload's until (s)
// and its pprof's time_nanos, an OTLP profile's time.
package loadgen

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is one kind of telemetry the generator sends.
type Kind string

const (
	Traces    Kind = "traces"        // OTLP gRPC, gateway-shaped traces (SERVER span + CLIENT children to providers, GenAI attrs, token counts, some errors); items = spans
	Logs      Kind = "logs"          // OTLP/HTTP protobuf logs with trace ids; items = log records
	LokiJSON  Kind = "loki-json"     // Loki push JSON, python-logging-loki shape; items = lines
	LokiProto Kind = "loki-proto"    // Loki push snappy protobuf, Promtail shape; items = lines
	Pyroscope Kind = "pyroscope"     // POST /ingest?name=...&from=&until= of the 30 KB gzipped CPU pprof; items = uploads
	Profiles  Kind = "otlp-profiles" // OTLP gRPC profiles carrying the same pprof as Pyroscope does; items = profiles
)

// Kinds is every kind, in the order the command line lists them.
var Kinds = []Kind{Traces, Logs, LokiJSON, LokiProto, Pyroscope, Profiles}

// ParseKind turns a name into a Kind, or says which names exist.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown kind %q (want one of %s)", s, strings.Join(names, ", "))
}

// Options say what to send, where, and how fast.
type Options struct {
	Kind      Kind
	Target    string        // host:port (gRPC) or base URL http://host:port (HTTP kinds)
	Rate      float64       // items per second; 0 = as fast as the collector accepts
	Duration  time.Duration // 0 = until ctx is done
	Workers   int           // concurrent senders (default 4)
	BatchSize int           // items per request (default: traces 400 spans, logs/loki 100 lines, profiles 1)
	Tenant    string        // X-Scope-OrgID ("" = none)
	Token     string        // Authorization: Bearer ("" = none)
	// OnError, if set, is called with the error of every refused or failed
	// request (from the workers' goroutines), so a caller can say why.
	OnError func(error)
}

// Counts are in items. Refused = a retryable refusal (HTTP 429/503, gRPC
// UNAVAILABLE/RESOURCE_EXHAUSTED); Failed = any other error. Refused items
// are not sent again. Once Run has returned, Sent = Accepted + Refused +
// Failed; while it runs, Sent also holds the requests still in flight.
type Counts struct{ Sent, Accepted, Refused, Failed int64 }

// Sub is c minus d, field by field: the counts of an interval.
func (c Counts) Sub(d Counts) Counts {
	return Counts{c.Sent - d.Sent, c.Accepted - d.Accepted, c.Refused - d.Refused, c.Failed - d.Failed}
}

const (
	defaultWorkers = 4
	// requestTimeout bounds one request. A request in flight when Run's
	// time is up is allowed to finish, so that Accepted is what the
	// receiver really accepted.
	requestTimeout = 10 * time.Second
	// maxBackoff caps the pause after a refusal, Retry-After included: a
	// load generator that slept for minutes would measure nothing.
	maxBackoff   = time.Second
	firstBackoff = 50 * time.Millisecond
)

func defaultBatch(k Kind) int {
	switch k {
	case Traces:
		return 400
	case Logs, LokiJSON, LokiProto:
		return 100
	}
	return 1
}

// outcome is what one request's answer says.
type outcome struct {
	// rejected items of an accepted request (OTLP partial success).
	rejected int64
	// refused: a retryable refusal; retryAfter is the server's hint (0 = none).
	refused    bool
	retryAfter time.Duration
	err        error
}

// sender sends prepared requests of one kind. newWorker gives each worker
// its own copy of the request bodies, so re-stamping needs no locks.
type sender interface {
	newWorker() (worker, error)
	close()
}

type worker interface {
	// send re-stamps the worker's request with now and sends it.
	send(ctx context.Context, now time.Time) outcome
}

// Run sends until Duration passes or ctx ends; progress (may be nil) is
// called about once a second with the running totals.
func Run(ctx context.Context, o Options, progress func(Counts)) (Counts, error) {
	if err := o.validate(); err != nil {
		return Counts{}, err
	}
	s, err := newSender(o)
	if err != nil {
		return Counts{}, err
	}
	defer s.close()
	workers := make([]worker, o.Workers)
	for i := range workers {
		if workers[i], err = s.newWorker(); err != nil {
			return Counts{}, err
		}
	}

	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var c counters
	p := newPacer(o.Rate, o.BatchSize)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runWorker(ctx, w, p, int64(o.BatchSize), &c, o.OnError)
		}()
	}
	done := make(chan struct{})
	if progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					progress(c.load())
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	return c.load(), nil
}

func (o *Options) validate() error {
	if _, err := ParseKind(string(o.Kind)); err != nil {
		return err
	}
	if o.Target == "" {
		return fmt.Errorf("%s: no target", o.Kind)
	}
	if o.Rate < 0 {
		return fmt.Errorf("%s: rate %v: must be at least 0 (0 = as fast as accepted)", o.Kind, o.Rate)
	}
	if o.Duration < 0 {
		return fmt.Errorf("%s: duration %s: must be at least 0 (0 = until stopped)", o.Kind, o.Duration)
	}
	if o.Workers < 0 || o.BatchSize < 0 {
		return fmt.Errorf("%s: workers %d, batch size %d: must be at least 0 (0 = default)", o.Kind, o.Workers, o.BatchSize)
	}
	if o.Workers == 0 {
		o.Workers = defaultWorkers
	}
	if o.BatchSize == 0 {
		o.BatchSize = defaultBatch(o.Kind)
	}
	if o.BatchSize > maxBatch {
		return fmt.Errorf("%s: batch size %d: at most %d", o.Kind, o.BatchSize, maxBatch)
	}
	return nil
}

// maxBatch keeps one request under every receiver's default body limit.
const maxBatch = 10000

func newSender(o Options) (sender, error) {
	switch o.Kind {
	case Traces:
		return newTraceSender(o)
	case Logs:
		return newLogSender(o)
	case LokiJSON:
		return newLokiJSONSender(o)
	case LokiProto:
		return newLokiProtoSender(o)
	case Pyroscope:
		return newPyroscopeSender(o)
	case Profiles:
		return newProfileSender(o)
	}
	return nil, fmt.Errorf("unknown kind %q", o.Kind)
}

func runWorker(ctx context.Context, w worker, p *pacer, batch int64, c *counters, onError func(error)) {
	backoff := time.Duration(0)
	// Requests are not cancelled with ctx: one in flight when the time is
	// up finishes, so its items are counted as what the receiver said.
	reqCtx := context.WithoutCancel(ctx)
	for {
		if !p.wait(ctx) {
			return
		}
		c.sent.Add(batch)
		rctx, cancel := context.WithTimeout(reqCtx, requestTimeout)
		out := w.send(rctx, time.Now())
		cancel()
		if out.err != nil && onError != nil {
			onError(out.err)
		}
		switch {
		case out.refused:
			c.refused.Add(batch)
			backoff = nextBackoff(backoff, out.retryAfter)
			if !sleep(ctx, backoff) {
				return
			}
		case out.err != nil:
			c.failed.Add(batch)
			// A dead target must not turn into a busy loop.
			if !sleep(ctx, firstBackoff) {
				return
			}
		default:
			backoff = 0
			c.accepted.Add(batch - out.rejected)
			c.failed.Add(out.rejected)
		}
	}
}

// nextBackoff doubles the pause on consecutive refusals, or takes the
// server's Retry-After, never more than maxBackoff.
func nextBackoff(prev, retryAfter time.Duration) time.Duration {
	d := retryAfter
	if d <= 0 {
		d = max(firstBackoff, 2*prev)
	}
	return min(d, maxBackoff)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type counters struct{ sent, accepted, refused, failed atomic.Int64 }

func (c *counters) load() Counts {
	// Outcomes first: Sent read last is never below their sum.
	a, r, f := c.accepted.Load(), c.refused.Load(), c.failed.Load()
	return Counts{Sent: c.sent.Load(), Accepted: a, Refused: r, Failed: f}
}

// pacer is a token bucket shared by a kind's workers, holding at most one
// request's worth of tokens: a worker reserves the next send slot and
// waits for it. Time lost while the receiver was slow is not made up with
// a burst. With rate 0 every wait returns at once (closed loop: a worker
// sends as soon as its previous request is answered).
type pacer struct {
	mu       sync.Mutex
	interval time.Duration // per request
	next     time.Time
}

func newPacer(rate float64, batch int) *pacer {
	p := &pacer{}
	if rate > 0 {
		p.interval = time.Duration(float64(batch) / rate * float64(time.Second))
	}
	return p
}

// wait blocks until the caller may send, and reports false when ctx ended
// first.
func (p *pacer) wait(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	if p.interval == 0 {
		return true
	}
	p.mu.Lock()
	now := time.Now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()
	if d := time.Until(slot); d > 0 {
		if dl, ok := ctx.Deadline(); ok && slot.After(dl) {
			<-ctx.Done()
			return false
		}
		return sleep(ctx, d)
	}
	return true
}
