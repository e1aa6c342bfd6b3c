package harness

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// latencyBuckets is the resolution and range of Latency: one bucket per
// millisecond up to two minutes, then one overflow bucket. Exact to the
// millisecond is all a P99 of an export path with a 1 s batch timeout
// needs, and a fixed array keeps observing free of allocation at
// hundreds of thousands of items per second.
const latencyBuckets = 120_000

// maxPlausibleAge is how old an item's timestamp may be and still count
// as "when it was sent": older ones (a fixture's fixed time) are skipped.
const maxPlausibleAge = 10 * time.Minute

// Latency is the distribution of arrival-to-export times a sink observed:
// its receive time minus each item's own timestamp (its trace's latest
// span end, log record time, profile time), which a load generator sets
// to the time it sent the item.
type Latency struct {
	mu      sync.Mutex
	counts  []int64
	n       int64
	skipped int64
}

// TrackLatency makes the sink record the latency of every span, log record
// and profile it receives from now on, and returns the recorder.
func (s *OTLPSink) TrackLatency() *Latency {
	l := NewLatency()
	s.mu.Lock()
	s.latency = l
	s.mu.Unlock()
	return l
}

// NewLatency is an empty recorder, for a sink of a test's own.
func NewLatency() *Latency {
	return &Latency{counts: make([]int64, latencyBuckets+1)}
}

// Add records items that were sent at sent (an item's own timestamp) and
// arrived at now.
func (l *Latency) Add(sent pcommon.Timestamp, items int64, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.add(sent, items, now.UnixNano())
}

func (l *Latency) add(ts pcommon.Timestamp, items, nowNs int64) {
	age := nowNs - int64(ts) //nolint:gosec // timestamps of this century fit
	// A clock step or a 1 s-resolution timestamp can put an item
	// slightly in the future: that is an arrival within the second.
	if age < -int64(time.Second) || ts == 0 || age > int64(maxPlausibleAge) {
		l.skipped += items
		return
	}
	ms := max(age, 0) / int64(time.Millisecond)
	l.counts[min(ms, latencyBuckets)] += items
	l.n += items
}

// Reset forgets everything observed so far: a measurement window starts.
func (l *Latency) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.counts)
	l.n, l.skipped = 0, 0
}

// Count is how many items were observed, and how many were skipped
// because their timestamp was unset, in the future or implausibly old.
func (l *Latency) Count() (observed, skipped int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.skipped
}

// Quantile is the q-quantile (0 < q <= 1) of the observed latencies, to
// the millisecond; ok is false when nothing was observed.
func (l *Latency) Quantile(q float64) (d time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return 0, false
	}
	rank := int64(q*float64(l.n) + 0.5)
	rank = min(max(rank, 1), l.n)
	var seen int64
	for ms, c := range l.counts {
		seen += c
		if seen >= rank {
			return time.Duration(ms) * time.Millisecond, true
		}
	}
	return time.Duration(latencyBuckets) * time.Millisecond, true
}

func (l *Latency) observe(r Request, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	nowNs := now.UnixNano()
	add := func(ts pcommon.Timestamp, items int64) { l.add(ts, items, nowNs) }
	switch {
	case r.Traces != (ptrace.Traces{}):
		// A trace is sent at once, stamped with its latest end (the root's;
		// its children end earlier): that is the send time of all its spans.
		type trace struct {
			end   pcommon.Timestamp
			spans int64
		}
		traces := map[pcommon.TraceID]*trace{}
		for _, rs := range r.Traces.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					tr := traces[sp.TraceID()]
					if tr == nil {
						tr = &trace{}
						traces[sp.TraceID()] = tr
					}
					tr.end = max(tr.end, sp.EndTimestamp())
					tr.spans++
				}
			}
		}
		for _, tr := range traces {
			add(tr.end, tr.spans)
		}
	case r.Logs != (plog.Logs{}):
		for _, rl := range r.Logs.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					add(lr.Timestamp(), 1)
				}
			}
		}
	case r.Profiles != (pprofile.Profiles{}):
		for _, rp := range r.Profiles.ResourceProfiles().All() {
			for _, sp := range rp.ScopeProfiles().All() {
				for _, p := range sp.Profiles().All() {
					add(p.Time(), 1)
				}
			}
		}
	}
}
