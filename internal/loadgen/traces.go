package loadgen

import (
	"context"
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// TraceFailEvery: every tenth gateway request fails at its provider.
const TraceFailEvery = 10

// TraceBatch builds n spans of gateway traffic (Scenario's
// requests, 5 spans each; a last partial request keeps its first spans,
// SERVER span first) with the sentinel timestamps and trace ids a
// template needs. Every request starts at once, so that each trace's
// SERVER span ends at the send time.
func TraceBatch(n int) ptrace.Traces {
	reqs := (n + SpansPerRequest - 1) / SpansPerRequest
	start := time.Unix(0, 0)
	sc := Scenario{Requests: reqs, FailEvery: TraceFailEvery, Start: start}
	td := sc.Traces()
	keepLast := n - (reqs-1)*SpansPerRequest
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sss.At(j).Spans().RemoveIf(func(sp ptrace.Span) bool {
				req := requestOf(sp.TraceID())
				if req == reqs-1 && spanNumber(sp.SpanID()) > keepLast {
					return true
				}
				// scenario spaces requests 10 ms apart; the end of the
				// request's SERVER span is the send time.
				anchor := start.Add(time.Duration(req)*10*time.Millisecond + ServerLatency)
				sp.SetStartTimestamp(pcommon.Timestamp(sentinelTime(sp.StartTimestamp().AsTime().Sub(anchor))))
				sp.SetEndTimestamp(pcommon.Timestamp(sentinelTime(sp.EndTimestamp().AsTime().Sub(anchor))))
				sp.SetTraceID(sentinelTraceID(req))
				return false
			})
		}
	}
	return td
}

// requestOf is the request index TraceID encodes.
func requestOf(id pcommon.TraceID) int { return int(binary.BigEndian.Uint64(id[8:])) - 1 }

// spanNumber is the n of SpanID(i, n): 1 SERVER, 2 provider, 3
// router call, 4 router SERVER, 5 Redis.
func spanNumber(id pcommon.SpanID) int { return int(id[7]) }

type traceSender struct {
	g    *grpcTarget
	tmpl *template
	ids  *idSource
	n    int64
}

func newTraceSender(o Options) (sender, error) {
	body, err := ptraceotlp.NewExportRequestFromTraces(TraceBatch(o.BatchSize)).MarshalProto()
	if err != nil {
		return nil, err
	}
	tmpl, err := scanProto(body, 2*o.BatchSize, o.BatchSize)
	if err != nil {
		return nil, err
	}
	g, err := dialGRPC(o, "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
	if err != nil {
		return nil, err
	}
	return &traceSender{g: g, tmpl: tmpl, ids: newIDSource(), n: int64(o.BatchSize)}, nil
}

func (s *traceSender) close() { s.g.close() }

func (s *traceSender) newWorker() (worker, error) {
	return &traceWorker{s: s, tmpl: s.tmpl.clone()}, nil
}

type traceWorker struct {
	s    *traceSender
	tmpl *template
	resp []byte
}

func (w *traceWorker) send(ctx context.Context, now time.Time) outcome {
	w.tmpl.stamp(now, w.s.ids)
	out := w.s.g.call(ctx, w.tmpl.body, &w.resp)
	if out.err == nil && len(w.resp) > 0 {
		r := ptraceotlp.NewExportResponse()
		if err := r.UnmarshalProto(w.resp); err == nil {
			out.rejected = min(r.PartialSuccess().RejectedSpans(), w.s.n)
		}
	}
	return out
}
