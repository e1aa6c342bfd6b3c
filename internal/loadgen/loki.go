package loadgen

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

const lokiPushPath = "/loki/api/v1/push"

// lokiLine is request i's line as the backend's JSON log formatter writes
// it: the receiver takes a JSON line's trace_id as the record's trace id.
func lokiLine(i int) string {
	sc := Scenario{FailEvery: TraceFailEvery}
	system, model := sc.Provider(i)
	id := sentinelTraceID(i)
	level, msg := "info", "chat completion served"
	if sc.Failed(i) {
		level, msg = "error", "chat completion failed: upstream 502"
	}
	return fmt.Sprintf(`{"level":%q,"msg":%q,"provider":%q,"model":%q,"route":%q,"trace_id":"%s","span_id":"%016x"}`,
		level, msg, system, model, ChatRoute, hex.EncodeToString(id[:]), uint64(i+1)<<8|1)
}

func lokiFailed(i int) bool { return Scenario{FailEvery: TraceFailEvery}.Failed(i) }

// lokiJSONTemplate is n lines in python-logging-loki's shape: its tags plus
// severity and logger as the stream, one stream per severity, each value
// [ns, line]. The times and trace ids are template sentinels; the
// returned template knows where they are.
func lokiJSONTemplate(n int) (*template, error) {
	t := &template{slots: n}
	var b bytes.Buffer
	b.WriteString(`{"streams": [`)
	first := true
	for _, sev := range []string{"info", "error"} {
		var lines []int
		for i := range n {
			if lokiFailed(i) == (sev == "error") {
				lines = append(lines, i)
			}
		}
		if len(lines) == 0 {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		fmt.Fprintf(&b, `{"stream": {"application": %q, "environment": "production", "severity": %q, "logger": "app.routes"}, "values": [`, GatewayService, sev)
		for j, i := range lines {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(`["`)
			t.times = append(t.times, timeSite{at: b.Len(), enc: encDecimal})
			b.WriteString("0000000000000000000")
			b.WriteString(`", `)
			line := strconv.Quote(lokiLine(i))
			at := b.Len()
			b.WriteString(line)
			id := sentinelTraceID(i)
			k := bytes.Index([]byte(line), []byte(hex.EncodeToString(id[:])))
			t.traces = append(t.traces, traceSite{at: at + k, slot: i, enc: encHexID})
			b.WriteString("]")
		}
		b.WriteString("]}")
	}
	b.WriteString("]}")
	t.body = b.Bytes()
	if len(t.times) != n || len(t.traces) != n {
		return nil, fmt.Errorf("loki-json template: %d times, %d trace ids for %d lines", len(t.times), len(t.traces), n)
	}
	return t, nil
}

type lokiJSONSender struct {
	h    *httpTarget
	tmpl *template
	ids  *idSource
}

func newLokiJSONSender(o Options) (sender, error) {
	tmpl, err := lokiJSONTemplate(o.BatchSize)
	if err != nil {
		return nil, err
	}
	h, err := newHTTPTarget(o, "application/json")
	if err != nil {
		return nil, err
	}
	return &lokiJSONSender{h: h, tmpl: tmpl, ids: newIDSource()}, nil
}

func (s *lokiJSONSender) close() { s.h.close() }

func (s *lokiJSONSender) newWorker() (worker, error) {
	return &lokiJSONWorker{s: s, tmpl: s.tmpl.clone()}, nil
}

type lokiJSONWorker struct {
	s    *lokiJSONSender
	tmpl *template
	resp []byte
}

func (w *lokiJSONWorker) send(ctx context.Context, now time.Time) outcome {
	w.tmpl.stamp(now, w.s.ids)
	return w.s.h.post(ctx, lokiPushPath, w.tmpl.body, nil, &w.resp)
}

// LokiProtoBatch is n lines as Promtail pushes them: streams labelled as
// Prometheus labels.String() writes them, the gateway's JSON lines with
// their trace ids, and every third line from a worker as logfmt with
// structured metadata. Trace ids are template sentinels.
func LokiProtoBatch(n int) push.PushRequest {
	api := push.Stream{Labels: `{filename="/var/log/gatewayz/api.log", job="gatewayz-api", k8s_namespace_name="gatewayz"}`}
	wrk := push.Stream{Labels: `{filename="/var/log/gatewayz/worker.log", job="gatewayz-worker", k8s_namespace_name="gatewayz"}`}
	for i := range n {
		if i%3 != 2 {
			api.Entries = append(api.Entries, push.Entry{Line: lokiLine(i)})
			continue
		}
		id := sentinelTraceID(i)
		wrk.Entries = append(wrk.Entries, push.Entry{
			Line: fmt.Sprintf(`level=info msg="settled usage" request=%d tokens=%d`, i, 150+2*i),
			StructuredMetadata: push.LabelsAdapter{
				{Name: "pod", Value: "gatewayz-worker-6f7c9d-x2v4q"},
				{Name: "trace_id", Value: hex.EncodeToString(id[:])},
			},
		})
	}
	req := push.PushRequest{}
	for _, s := range []push.Stream{api, wrk} {
		if len(s.Entries) > 0 {
			req.Streams = append(req.Streams, s)
		}
	}
	return req
}

type lokiProtoSender struct {
	h   *httpTarget
	req push.PushRequest
	ids *idSource
	n   int
}

func newLokiProtoSender(o Options) (sender, error) {
	h, err := newHTTPTarget(o, "application/x-protobuf")
	if err != nil {
		return nil, err
	}
	return &lokiProtoSender{h: h, req: LokiProtoBatch(o.BatchSize), ids: newIDSource(), n: o.BatchSize}, nil
}

func (s *lokiProtoSender) close() { s.h.close() }

func (s *lokiProtoSender) newWorker() (worker, error) {
	// Each worker stamps its own copy of the entries.
	req := push.PushRequest{}
	for _, st := range s.req.Streams {
		st.Entries = append([]push.Entry(nil), st.Entries...)
		req.Streams = append(req.Streams, st)
	}
	return &lokiProtoWorker{s: s, req: req}, nil
}

type lokiProtoWorker struct {
	s         *lokiProtoSender
	req       push.PushRequest
	raw, body []byte
	resp      []byte
}

var hexMark = []byte(fmt.Sprintf("%016x", markTraceID))

func (w *lokiProtoWorker) send(ctx context.Context, now time.Time) outcome {
	for _, st := range w.req.Streams {
		for i := range st.Entries {
			st.Entries[i].Timestamp = now
		}
	}
	// Timestamps are varints here, so the body is marshalled again; the
	// trace ids sit wherever that put them.
	size := w.req.Size()
	if cap(w.raw) < size {
		w.raw = make([]byte, size)
	}
	w.raw = w.raw[:size]
	if _, err := w.req.MarshalToSizedBuffer(w.raw); err != nil {
		return outcome{err: err}
	}
	first := w.s.ids.next(w.s.n)
	found := 0
	for off := 0; ; {
		k := bytes.Index(w.raw[off:], hexMark)
		if k < 0 {
			break
		}
		at := off + k
		slot, err := strconv.ParseUint(string(w.raw[at+16:at+32]), 16, 64)
		if err != nil {
			return outcome{err: fmt.Errorf("loki-proto template: %w", err)}
		}
		id := w.s.ids.id(first + slot)
		hex.Encode(w.raw[at:at+32], id[:])
		found++
		off = at + 32
	}
	if found != w.s.n {
		return outcome{err: fmt.Errorf("loki-proto template: %d trace ids for %d lines", found, w.s.n)}
	}
	w.body = snappy.Encode(w.body[:cap(w.body)], w.raw)
	// The entries keep their sentinels: only the marshalled copy changed.
	return w.s.h.post(ctx, lokiPushPath, w.body, nil, &w.resp)
}
