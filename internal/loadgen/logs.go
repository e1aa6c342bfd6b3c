package loadgen

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// LogBatch builds n of the FastAPI backend's OTLP log records (one per
// scenario request, with its trace and span ids) with the sentinel
// timestamps and trace ids a template needs. Each body is the line the
// Loki senders push for the same request (lokiLine), so that OTLP logs and
// Loki push carry the same lines: the processors and the exporter's
// compression cost in proportion to the body's bytes.
func LogBatch(n int) plog.Logs {
	ld := Scenario{Requests: n, FailEvery: TraceFailEvery, Start: time.Unix(0, 0)}.Logs()
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		lr := recs.At(i)
		slot := requestOf(lr.TraceID())
		lr.SetTimestamp(pcommon.Timestamp(sentinelTime(0)))
		lr.SetTraceID(sentinelTraceID(slot))
		lr.Body().SetStr(lokiLine(slot))
	}
	return ld
}

type logSender struct {
	h    *httpTarget
	tmpl *template
	ids  *idSource
	n    int64
}

func newLogSender(o Options) (sender, error) {
	body, err := plogotlp.NewExportRequestFromLogs(LogBatch(o.BatchSize)).MarshalProto()
	if err != nil {
		return nil, err
	}
	tmpl, err := scanProto(body, o.BatchSize, o.BatchSize)
	if err != nil {
		return nil, err
	}
	h, err := newHTTPTarget(o, "application/x-protobuf")
	if err != nil {
		return nil, err
	}
	return &logSender{h: h, tmpl: tmpl, ids: newIDSource(), n: int64(o.BatchSize)}, nil
}

func (s *logSender) close() { s.h.close() }

func (s *logSender) newWorker() (worker, error) {
	return &logWorker{s: s, tmpl: s.tmpl.clone()}, nil
}

type logWorker struct {
	s    *logSender
	tmpl *template
	resp []byte
}

func (w *logWorker) send(ctx context.Context, now time.Time) outcome {
	w.tmpl.stamp(now, w.s.ids)
	out := w.s.h.post(ctx, "/v1/logs", w.tmpl.body, nil, &w.resp)
	if out.err == nil && len(w.resp) > 0 {
		r := plogotlp.NewExportResponse()
		if err := r.UnmarshalProto(w.resp); err == nil {
			out.rejected = min(r.PartialSuccess().RejectedLogRecords(), w.s.n)
		}
	}
	return out
}
