package harness

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	// Tempo's OTLP receiver is the collector's own: it takes gzip, snappy
	// and zstd gRPC compression, which configgrpc registers.
	_ "go.opentelemetry.io/collector/config/configgrpc"
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TenantHeader is the header Mimir, Loki, Tempo and Pyroscope read the tenant from.
const TenantHeader = "X-Scope-Orgid"

// Request is one export a sink received, with the headers it came with.
// Exactly one of the payload fields is set.
type Request struct {
	Transport string // "grpc" or "http"
	Path      string // HTTP path or gRPC full method
	Header    http.Header
	Traces    ptrace.Traces
	Logs      plog.Logs
	Metrics   pmetric.Metrics
	Profiles  pprofile.Profiles
}

// Tenant is the request's X-Scope-OrgID.
func (r Request) Tenant() string { return r.Header.Get(TenantHeader) }

// OTLPSink is a backend that accepts OTLP over gRPC and HTTP, like Tempo,
// Loki's /otlp endpoint and Pyroscope, and records every request. Like those
// backends run multi-tenant, it refuses a request without X-Scope-OrgID.
type OTLPSink struct {
	// GRPCAddr is host:port of the gRPC listener.
	GRPCAddr string
	// HTTPURL is the base URL of the HTTP listener; paths under it are
	// accepted whatever their prefix (Loki's /otlp/v1/logs, /v1/traces ...).
	HTTPURL string

	// DiscardPayloads keeps only counts and headers: for benchmarks, where
	// holding every span would cost the machine more than the collector.
	DiscardPayloads bool

	faults                   faults
	mu                       sync.Mutex
	requests                 []Request
	spans, records, profiles int
	latency                  *Latency // set by TrackLatency
}

// SetFault makes the sink refuse or delay the requests it receives from
// now on (see Fault); a zero Fault makes it accept them again. Refused
// requests are not recorded.
func (s *OTLPSink) SetFault(f Fault) { s.faults.set(f) }

// Refused is how many requests a fault has refused so far.
func (s *OTLPSink) Refused() int { return s.faults.refusedCount() }

// StartOTLPSink starts a sink on two loopback ports and stops it with the test.
func StartOTLPSink(t testing.TB) *OTLPSink {
	t.Helper()
	s := &OTLPSink{}

	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	ptraceotlp.RegisterGRPCServer(gs, &traceService{s: s})
	plogotlp.RegisterGRPCServer(gs, &logService{s: s})
	pmetricotlp.RegisterGRPCServer(gs, &metricService{s: s})
	pprofileotlp.RegisterGRPCServer(gs, &profileService{s: s})
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
	})
	return s
}

// Requests returns a copy of everything received so far.
func (s *OTLPSink) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// SpanCount, LogCount and ProfileSampleCount total the payloads received.
func (s *OTLPSink) SpanCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans
}

func (s *OTLPSink) LogCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

func (s *OTLPSink) ProfileSampleCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profiles
}

// WaitSpans waits up to 30 s until the sink holds exactly n spans, then
// checks that every request it recorded came as tenant.
func (s *OTLPSink) WaitSpans(t testing.TB, n int, tenant string) {
	t.Helper()
	Eventually(t, 30*time.Second, func() error {
		if got := s.SpanCount(); got != n {
			return fmt.Errorf("the sink has %d spans, want %d", got, n)
		}
		return nil
	})
	for _, r := range s.Requests() {
		if r.Tenant() != tenant {
			t.Errorf("%s request as tenant %q, want %q", r.Transport, r.Tenant(), tenant)
		}
	}
}

func (s *OTLPSink) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latency != nil {
		s.latency.observe(r, time.Now())
	}
	if r.Traces != (ptrace.Traces{}) {
		s.spans += r.Traces.SpanCount()
	}
	if r.Logs != (plog.Logs{}) {
		s.records += r.Logs.LogRecordCount()
	}
	if r.Profiles != (pprofile.Profiles{}) {
		s.profiles += r.Profiles.SampleCount()
	}
	// The payload belongs to the request being served: keep a copy.
	keep := Request{Transport: r.Transport, Path: r.Path, Header: r.Header}
	if !s.DiscardPayloads {
		switch {
		case r.Traces != (ptrace.Traces{}):
			keep.Traces = ptrace.NewTraces()
			r.Traces.CopyTo(keep.Traces)
		case r.Logs != (plog.Logs{}):
			keep.Logs = plog.NewLogs()
			r.Logs.CopyTo(keep.Logs)
		case r.Metrics != (pmetric.Metrics{}):
			keep.Metrics = pmetric.NewMetrics()
			r.Metrics.CopyTo(keep.Metrics)
		case r.Profiles != (pprofile.Profiles{}):
			keep.Profiles = pprofile.NewProfiles()
			r.Profiles.CopyTo(keep.Profiles)
		}
	}
	s.requests = append(s.requests, keep)
}

func (s *OTLPSink) grpcRequest(ctx context.Context, method string) (Request, error) {
	if code := s.faults.refuseGRPC(ctx); code != codes.OK {
		return Request{}, status.Error(code, "refused by the test's fault")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	h := http.Header{}
	for k, vs := range md {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if h.Get(TenantHeader) == "" {
		return Request{}, status.Error(codes.Unauthenticated, "no org id")
	}
	return Request{Transport: "grpc", Path: method, Header: h}, nil
}

type traceService struct {
	ptraceotlp.UnimplementedGRPCServer
	s *OTLPSink
}

func (ts *traceService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r, err := ts.s.grpcRequest(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
	if err != nil {
		return ptraceotlp.NewExportResponse(), err
	}
	r.Traces = req.Traces()
	ts.s.record(r)
	return ptraceotlp.NewExportResponse(), nil
}

type logService struct {
	plogotlp.UnimplementedGRPCServer
	s *OTLPSink
}

func (ls *logService) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	r, err := ls.s.grpcRequest(ctx, "/opentelemetry.proto.collector.logs.v1.LogsService/Export")
	if err != nil {
		return plogotlp.NewExportResponse(), err
	}
	r.Logs = req.Logs()
	ls.s.record(r)
	return plogotlp.NewExportResponse(), nil
}

type metricService struct {
	pmetricotlp.UnimplementedGRPCServer
	s *OTLPSink
}

func (ms *metricService) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	r, err := ms.s.grpcRequest(ctx, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export")
	if err != nil {
		return pmetricotlp.NewExportResponse(), err
	}
	r.Metrics = req.Metrics()
	ms.s.record(r)
	return pmetricotlp.NewExportResponse(), nil
}

type profileService struct {
	pprofileotlp.UnimplementedGRPCServer
	s *OTLPSink
}

func (ps *profileService) Export(ctx context.Context, req pprofileotlp.ExportRequest) (pprofileotlp.ExportResponse, error) {
	r, err := ps.s.grpcRequest(ctx, "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export")
	if err != nil {
		return pprofileotlp.NewExportResponse(), err
	}
	r.Profiles = req.Profiles()
	ps.s.record(r)
	return pprofileotlp.NewExportResponse(), nil
}

// serveHTTP speaks OTLP/HTTP protobuf and JSON on /v1/{traces,logs,metrics}
// and /v1development/profiles under any prefix.
func (s *OTLPSink) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if code := s.faults.refuseHTTP(req.Context()); code != 0 {
		http.Error(w, "refused by the test's fault", code)
		return
	}
	if req.Header.Get(TenantHeader) == "" {
		http.Error(w, "no org id", http.StatusUnauthorized)
		return
	}
	body, err := ReadBody(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	isJSON := strings.HasPrefix(req.Header.Get("Content-Type"), "application/json")
	r := Request{Transport: "http", Path: req.URL.Path, Header: req.Header.Clone()}
	switch {
	case strings.HasSuffix(req.URL.Path, "/v1/traces"):
		er := ptraceotlp.NewExportRequest()
		err = unmarshal(isJSON, body, er.UnmarshalJSON, er.UnmarshalProto)
		r.Traces = er.Traces()
	case strings.HasSuffix(req.URL.Path, "/v1/logs"):
		er := plogotlp.NewExportRequest()
		err = unmarshal(isJSON, body, er.UnmarshalJSON, er.UnmarshalProto)
		r.Logs = er.Logs()
	case strings.HasSuffix(req.URL.Path, "/v1/metrics"):
		er := pmetricotlp.NewExportRequest()
		err = unmarshal(isJSON, body, er.UnmarshalJSON, er.UnmarshalProto)
		r.Metrics = er.Metrics()
	case strings.HasSuffix(req.URL.Path, "/v1development/profiles"):
		er := pprofileotlp.NewExportRequest()
		err = unmarshal(isJSON, body, er.UnmarshalJSON, er.UnmarshalProto)
		r.Profiles = er.Profiles()
	default:
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("decoding OTLP request: %v", err), http.StatusBadRequest)
		return
	}
	s.record(r)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func unmarshal(isJSON bool, body []byte, fromJSON, fromProto func([]byte) error) error {
	if isJSON {
		return fromJSON(body)
	}
	return fromProto(body)
}

// ReadBody reads a request's body and decompresses what Mimir's and Loki's OTLP endpoints accept
// (gzip, lz4, zstd or none) and refuses any other encoding, as they do.
func ReadBody(req *http.Request) ([]byte, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return io.ReadAll(zr)
	case "lz4":
		return io.ReadAll(lz4.NewReader(bytes.NewReader(body)))
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
}
