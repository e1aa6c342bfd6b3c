package harness

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// sendTimeout bounds one export: the gateway answers as soon as its queue
// has the data, so anything longer is a hang worth failing on.
const sendTimeout = 10 * time.Second

// OTLPConn is one OTLP/gRPC connection, kept open for many exports (the
// benchmarks must not pay a dial per export). Safe for concurrent use.
type OTLPConn struct {
	conn *grpc.ClientConn
}

// DialOTLP opens a plaintext gRPC connection to addr, closed with the test.
func DialOTLP(t testing.TB, addr string) *OTLPConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dialling %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &OTLPConn{conn: conn}
}

// withTenant adds X-Scope-OrgID unless tenant is empty: an empty tenant is
// how a test sends as a client that names none.
func withTenant(ctx context.Context, tenant string) context.Context {
	if tenant == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "X-Scope-OrgID", tenant)
}

// ExportTraces sends one prepared trace export as tenant.
func (c *OTLPConn) ExportTraces(tenant string, req ptraceotlp.ExportRequest) error {
	ctx, cancel := context.WithTimeout(withTenant(context.Background(), tenant), sendTimeout)
	defer cancel()
	_, err := ptraceotlp.NewGRPCClient(c.conn).Export(ctx, req)
	return err
}

// ExportProfiles sends profiles as tenant.
func (c *OTLPConn) ExportProfiles(tenant string, pd pprofile.Profiles) error {
	ctx, cancel := context.WithTimeout(withTenant(context.Background(), tenant), sendTimeout)
	defer cancel()
	_, err := pprofileotlp.NewGRPCClient(c.conn).Export(ctx, pprofileotlp.NewExportRequestFromProfiles(pd))
	return err
}

// SendTraces exports td over OTLP/gRPC to grpcAddr as tenant ("" sends no
// X-Scope-OrgID) and fails the test unless the collector accepts it.
func SendTraces(t testing.TB, grpcAddr, tenant string, td ptrace.Traces) {
	t.Helper()
	if err := DialOTLP(t, grpcAddr).ExportTraces(tenant, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatalf("exporting traces to %s: %v", grpcAddr, err)
	}
}

// SendProfiles is SendTraces for profiles.
func SendProfiles(t testing.TB, grpcAddr, tenant string, pd pprofile.Profiles) {
	t.Helper()
	if err := DialOTLP(t, grpcAddr).ExportProfiles(tenant, pd); err != nil {
		t.Fatalf("exporting profiles to %s: %v", grpcAddr, err)
	}
}

// SendLogs posts ld as OTLP/HTTP protobuf to httpBaseURL/v1/logs as tenant
// ("" sends no X-Scope-OrgID) and fails the test unless it is answered 200.
func SendLogs(t testing.TB, httpBaseURL, tenant string, ld plog.Logs) {
	t.Helper()
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	postOTLP(t, httpBaseURL+"/v1/logs", tenant, body)
}

// SendMetrics is SendLogs for metrics (httpBaseURL/v1/metrics).
func SendMetrics(t testing.TB, httpBaseURL, tenant string, md pmetric.Metrics) {
	t.Helper()
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	postOTLP(t, httpBaseURL+"/v1/metrics", tenant, body)
}

func postOTLP(t testing.TB, url, tenant string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	resp, err := (&http.Client{Timeout: sendTimeout}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, bytes.TrimSpace(msg))
	}
}
