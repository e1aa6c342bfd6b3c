package bench

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// rawSink is a backend for the bench: it accepts OTLP traces, logs and
// profiles over gRPC (any compression the collector's own server takes:
// the harness registers gzip, snappy and zstd) and logs over OTLP/HTTP
// (what Loki's OTLP push takes: harness.ReadBody), and only walks the
// protobuf wire format to count items and read their timestamps.
// harness.OTLPSink decodes every export into pdata, which at hundreds of
// thousands of spans a second costs the load generator's core more than
// the collector's work costs its own.
type rawSink struct {
	GRPCAddr string
	HTTPURL  string
	items    atomic.Int64
	lat      *harness.Latency
	errs     atomic.Int64
	lastErr  atomic.Value
}

// Count is how many items (spans, log records, profiles) arrived.
func (s *rawSink) Count() int { return int(s.items.Load()) }

func startRawSink(t testing.TB) *rawSink {
	t.Helper()
	s := &rawSink{lat: harness.NewLatency()}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.ForceServerCodec(rawCodec{}),
		grpc.UnknownServiceHandler(s.serveGRPC))
	go func() { _ = gs.Serve(gl) }()
	s.GRPCAddr = gl.Addr().String()
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(s.serveHTTP)}
	go func() { _ = hs.Serve(hl) }()
	s.HTTPURL = "http://" + hl.Addr().String()
	t.Cleanup(func() {
		gs.Stop()
		_ = hs.Close()
		if n := s.errs.Load(); n > 0 {
			t.Errorf("raw sink refused %d exports; last: %v", n, s.lastErr.Load())
		}
	})
	return s
}

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func (s *rawSink) serveGRPC(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	var body []byte
	if err := stream.RecvMsg(&body); err != nil {
		return err
	}
	if err := s.consume(method, body); err != nil {
		s.fail(err)
		return status.Error(codes.InvalidArgument, err.Error())
	}
	empty := []byte{}
	return stream.SendMsg(&empty)
}

func (s *rawSink) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := harness.ReadBody(r)
	if err != nil {
		s.fail(err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.consume(r.URL.Path, body); err != nil {
		s.fail(err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (s *rawSink) fail(err error) {
	s.errs.Add(1)
	s.lastErr.Store(err.Error())
}

// consume counts an export's items by its path (gRPC method or HTTP path).
func (s *rawSink) consume(path string, body []byte) error {
	now := time.Now()
	var n int64
	var err error
	switch {
	case strings.Contains(path, "TraceService"), strings.HasSuffix(path, "/v1/traces"):
		n, err = s.spans(body, now)
	case strings.Contains(path, "LogsService"), strings.HasSuffix(path, "/v1/logs"):
		n, err = s.leaves(body, 1, protowire.Number(1), now) // LogRecord.time_unix_nano
	case strings.Contains(path, "ProfilesService"), strings.HasSuffix(path, "/v1development/profiles"):
		n, err = s.leaves(body, 1, protowire.Number(3), now) // Profile.time_unix_nano
	default:
		return fmt.Errorf("unexpected export %s", path)
	}
	s.items.Add(n)
	return err
}

// Every OTLP export request nests the same way: request field 1 holds
// Resource*, whose field 2 holds Scope*, whose field 2 holds the items.
func eachItem(body []byte, topField protowire.Number, f func(item []byte) error) error {
	return eachField(body, topField, func(res []byte) error {
		return eachField(res, 2, func(scope []byte) error {
			return eachField(scope, 2, f)
		})
	})
}

// eachField calls f with the bytes of every length-delimited field num.
func eachField(b []byte, num protowire.Number, f func([]byte) error) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return protowire.ParseError(l)
			}
			if err := f(v); err != nil {
				return err
			}
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
	}
	return nil
}

// fixed64Field is the value of fixed64 field num of a message, 0 if absent.
func fixed64Field(b []byte, num protowire.Number) (uint64, error) {
	var out uint64
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		b = b[l:]
		if n == num && typ == protowire.Fixed64Type {
			v, l := protowire.ConsumeFixed64(b)
			if l < 0 {
				return 0, protowire.ParseError(l)
			}
			out = v
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		b = b[l:]
	}
	return out, nil
}

func (s *rawSink) leaves(body []byte, top, timeField protowire.Number, now time.Time) (int64, error) {
	var n int64
	err := eachItem(body, top, func(item []byte) error {
		ts, err := fixed64Field(item, timeField)
		if err != nil {
			return err
		}
		s.lat.Add(pcommon.Timestamp(ts), 1, now)
		n++
		return nil
	})
	return n, err
}

// spans times every span by its trace's latest end (Span.trace_id = 1,
// end_time_unix_nano = 8): the load generator stamps a trace's root with
// the send time and ends its children earlier.
func (s *rawSink) spans(body []byte, now time.Time) (int64, error) {
	type trace struct {
		end   uint64
		spans int64
	}
	traces := map[string]*trace{}
	var n int64
	err := eachItem(body, 1, func(span []byte) error {
		var id []byte
		var end uint64
		for b := span; len(b) > 0; {
			num, typ, l := protowire.ConsumeTag(b)
			if l < 0 {
				return protowire.ParseError(l)
			}
			b = b[l:]
			switch {
			case num == 1 && typ == protowire.BytesType:
				id, _ = protowire.ConsumeBytes(b)
			case num == 8 && typ == protowire.Fixed64Type:
				end, _ = protowire.ConsumeFixed64(b)
			}
			l = protowire.ConsumeFieldValue(num, typ, b)
			if l < 0 {
				return protowire.ParseError(l)
			}
			b = b[l:]
		}
		tr := traces[string(id)]
		if tr == nil {
			tr = &trace{}
			traces[string(id)] = tr
		}
		tr.end = max(tr.end, end)
		tr.spans++
		n++
		return nil
	})
	for _, tr := range traces {
		s.lat.Add(pcommon.Timestamp(tr.end), tr.spans, now)
	}
	return n, err
}
