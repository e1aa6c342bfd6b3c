package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

const (
	authDefaultTenant = "auth-default-tenant"
	spoofedTenant     = "auth-spoofed-tenant"
)

// authAttempt is how a request presents itself: its Authorization header
// ("" sends none) and a label that also marks its payload, so that a refused
// request's data would be recognised if it reached a sink.
type authAttempt struct {
	label, authorization string
}

// sendEveryIngress sends one request of each ingress protocol with the attempt's
// Authorization header and X-Scope-OrgID spoofedTenant, and returns the
// outcome of each: the HTTP status, or for OTLP gRPC the status code.
// With tlsCfg it speaks TLS on every port.
func sendEveryIngress(t *testing.T, gw *harness.Gateway, a authAttempt, tlsCfg *tls.Config) map[string]string {
	t.Helper()
	got := map[string]string{}
	transport := insecure.NewCredentials()
	httpClient := &http.Client{Timeout: 10 * time.Second}
	base := func(u string) string { return u }
	if tlsCfg != nil {
		transport = credentials.NewTLS(tlsCfg)
		httpClient.Transport = &http.Transport{TLSClientConfig: tlsCfg}
		base = func(u string) string { return "https" + strings.TrimPrefix(u, "http") }
	}

	// OTLP gRPC traces.
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("service.name", "auth-app")
	span := td.ResourceSpans().At(0).ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName(a.label)
	var traceID [16]byte
	copy(traceID[:], a.label)
	span.SetTraceID(traceID)
	span.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "X-Scope-OrgID", spoofedTenant)
	if a.authorization != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "Authorization", a.authorization)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(gw.OTLPGRPC, grpc.WithTransportCredentials(transport))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	got["otlp grpc"] = status.Code(err).String()

	post := func(name, url, contentType string, body []byte) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Scope-OrgID", spoofedTenant)
		if a.authorization != "" {
			req.Header.Set("Authorization", a.authorization)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			got[name] = "error: " + err.Error()
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got[name] = strconv.Itoa(resp.StatusCode)
	}

	// OTLP HTTP logs.
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("service.name", "auth-app")
	ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("otlp " + a.label)
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	post("otlp http", base(gw.OTLPHTTP)+"/v1/logs", "application/x-protobuf", body)

	// Loki push (python-logging-loki's JSON).
	push := fmt.Sprintf(`{"streams":[{"stream":{"service_name":"auth-app"},"values":[["%d","loki %s"]]}]}`, time.Now().UnixNano(), a.label)
	post("loki push", base(gw.LokiPush)+"/loki/api/v1/push", "application/json", []byte(push))

	// Pyroscope ingest (folded text, as pyroscope-io's Python SDK sends).
	now := time.Now().Unix()
	q := url.Values{
		"name":   {"auth-" + a.label + ".cpu"},
		"format": {"folded"},
		"from":   {strconv.FormatInt(now-10, 10)},
		"until":  {strconv.FormatInt(now, 10)},
	}
	post("pyroscope ingest", base(gw.PyroscopeIngest)+"/ingest?"+q.Encode(), "text/plain", []byte("main;work 3\n"))
	return got
}

// checkAccepted waits until the sinks hold exactly what the accepted
// attempts sent, each piece once, as wantTenant, and nothing else.
func checkAccepted(t *testing.T, gw *harness.Gateway, accepted []authAttempt, wantTenant string) {
	t.Helper()
	wantSpans, wantLogs := map[string]bool{}, map[string]bool{}
	wantProfiles := map[string]bool{}
	for _, a := range accepted {
		wantSpans[a.label] = true
		wantLogs["otlp "+a.label] = true
		wantLogs["loki "+a.label] = true
		wantProfiles["auth-"+a.label] = true
	}
	harness.Eventually(t, 30*time.Second, func() error {
		if gw.Tempo.SpanCount() < len(wantSpans) || gw.Loki.LogCount() < len(wantLogs) || len(gw.Pyroscope.Requests()) < len(wantProfiles) {
			return fmt.Errorf("sinks hold %d spans, %d log records, %d profile requests; want %d, %d, %d",
				gw.Tempo.SpanCount(), gw.Loki.LogCount(), len(gw.Pyroscope.Requests()), len(wantSpans), len(wantLogs), len(wantProfiles))
		}
		return nil
	})
	// A refused request's data would arrive no later than the accepted data
	// sent after it; one more batch timeout lets any straggler show.
	time.Sleep(time.Second)

	gotSpans := map[string]int{}
	for _, r := range gw.Tempo.Requests() {
		checkTenant(t, "tempo", r, wantTenant)
		rss := r.Traces.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			for j := 0; j < rss.At(i).ScopeSpans().Len(); j++ {
				spans := rss.At(i).ScopeSpans().At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					gotSpans[spans.At(k).Name()]++
				}
			}
		}
	}
	checkExactlyOnce(t, "span", gotSpans, wantSpans)

	gotLogs := map[string]int{}
	for _, r := range gw.Loki.Requests() {
		checkTenant(t, "loki", r, wantTenant)
		rls := r.Logs.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			for j := 0; j < rls.At(i).ScopeLogs().Len(); j++ {
				recs := rls.At(i).ScopeLogs().At(j).LogRecords()
				for k := 0; k < recs.Len(); k++ {
					gotLogs[recs.At(k).Body().AsString()]++
				}
			}
		}
	}
	checkExactlyOnce(t, "log record", gotLogs, wantLogs)

	gotProfiles := map[string]int{}
	for _, r := range gw.Pyroscope.Requests() {
		checkTenant(t, "pyroscope", r, wantTenant)
		rps := r.Profiles.ResourceProfiles()
		for i := 0; i < rps.Len(); i++ {
			name, _ := rps.At(i).Resource().Attributes().Get("service.name")
			gotProfiles[name.AsString()]++
		}
	}
	checkExactlyOnce(t, "profile of service", gotProfiles, wantProfiles)
}

func checkTenant(t *testing.T, sink string, r harness.Request, want string) {
	t.Helper()
	if got := r.Header.Values(harness.TenantHeader); len(got) != 1 || got[0] != want {
		t.Errorf("%s request with X-Scope-OrgID %q, want %q", sink, got, want)
	}
}

func checkExactlyOnce(t *testing.T, what string, got map[string]int, want map[string]bool) {
	t.Helper()
	for k, n := range got {
		if !want[k] {
			t.Errorf("%s %q reached a sink %d times, but its request was refused", what, k, n)
		} else if n != 1 {
			t.Errorf("%s %q reached a sink %d times, want once", what, k, n)
		}
	}
	for k := range want {
		if got[k] == 0 {
			t.Errorf("%s %q was accepted but never reached a sink", what, k)
		}
	}
}

// ingestToken is made at run time: no literal in the repository looks like
// a credential (tests/distribution scans for them).
func ingestToken() string {
	return fmt.Sprintf("ingest-%x", time.Now().UnixNano())
}

// With INGEST_TOKEN set, every ingress protocol refuses a request without
// the token or with another one (401, gRPC Unauthenticated) before anything
// of it is accepted, takes one with the token, and writes it to TENANT_ID
// whatever X-Scope-OrgID the sender claimed.
func TestIngestAuthRequiresToken(t *testing.T) {
	token := ingestToken()
	telemetryPort := harness.FreePort(t)
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"INGEST_TOKEN":             token,
		"TENANT_ID":                authDefaultTenant,
		"COLLECTOR_TELEMETRY_PORT": fmt.Sprint(telemetryPort),
	}})

	refused := []authAttempt{
		{"no-token", ""},
		{"wrong-token", "Bearer " + token + "x"},
		{"token-prefix", "Bearer " + token[:len(token)-1]},
		{"basic-scheme", "Basic " + token},
	}
	for _, a := range refused {
		got := sendEveryIngress(t, gw, a, nil)
		want := map[string]string{"otlp grpc": codes.Unauthenticated.String(), "otlp http": "401", "loki push": "401", "pyroscope ingest": "401"}
		for proto, w := range want {
			if got[proto] != w {
				t.Errorf("%s on %s: %s, want %s", a.label, proto, got[proto], w)
			}
		}
	}
	accepted := []authAttempt{{"right-token", "Bearer " + token}}
	got := sendEveryIngress(t, gw, accepted[0], nil)
	// Every receiver counts each refused attempt as unauthenticated, the
	// accepted one not: gRPC through the rejections stats handler, the HTTP
	// receivers through the rejections authenticator in front of
	// ingestauth (confighttp answers 401 outside every middleware).
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)
	for _, receiver := range []string{"otlp_grpc", "otlp_http", "lokipush", "pyroscope"} {
		harness.Eventually(t, 10*time.Second, func() error {
			if n := rejected(t, metricsURL, receiver, "unauthenticated"); n != float64(len(refused)) {
				return fmt.Errorf("otelcol_ingress_requests_rejected{receiver=%s,reason=unauthenticated} = %v, want %d", receiver, n, len(refused))
			}
			return nil
		})
		harness.Eventually(t, 5*time.Second, func() error {
			if !gw.HasLogLine("info", "Refused requests", `"receiver": "`+receiver+`"`, `"reason": "unauthenticated"`) {
				return fmt.Errorf("no info line for the refused %s requests", receiver)
			}
			return nil
		})
	}
	want := map[string]string{"otlp grpc": codes.OK.String(), "otlp http": "200", "loki push": "204", "pyroscope ingest": "200"}
	for proto, w := range want {
		if got[proto] != w {
			t.Errorf("right token on %s: %s, want %s", proto, got[proto], w)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	checkAccepted(t, gw, accepted, authDefaultTenant)
}

// ALLOW_TENANT_OVERRIDE=true lets an authenticated sender name its tenant.
func TestIngestAuthTenantOverride(t *testing.T) {
	token := ingestToken()
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"INGEST_TOKEN":          token,
		"ALLOW_TENANT_OVERRIDE": "true",
		"TENANT_ID":             authDefaultTenant,
	}})
	a := authAttempt{"override", "Bearer " + token}
	got := sendEveryIngress(t, gw, a, nil)
	want := map[string]string{"otlp grpc": codes.OK.String(), "otlp http": "200", "loki push": "204", "pyroscope ingest": "200"}
	for proto, w := range want {
		if got[proto] != w {
			t.Fatalf("%s: %s, want %s", proto, got[proto], w)
		}
	}
	checkAccepted(t, gw, []authAttempt{a}, spoofedTenant)
}

// Without INGEST_TOKEN the ingress stays open, and a sender's tenant is its
// own, whatever Authorization header it sends.
func TestIngestAuthOffByDefault(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{"TENANT_ID": authDefaultTenant}})
	accepted := []authAttempt{{"open-none", ""}, {"open-some", "Bearer " + ingestToken()}}
	for _, a := range accepted {
		got := sendEveryIngress(t, gw, a, nil)
		want := map[string]string{"otlp grpc": codes.OK.String(), "otlp http": "200", "loki push": "204", "pyroscope ingest": "200"}
		for proto, w := range want {
			if got[proto] != w {
				t.Fatalf("%s on %s: %s, want %s", a.label, proto, got[proto], w)
			}
		}
	}
	checkAccepted(t, gw, accepted, spoofedTenant)
}

// An agent with the gateways' INGEST_TOKEN gets its spans in (and, with
// ALLOW_TENANT_OVERRIDE=true, under the sender's tenant); an agent without
// it is refused, and none of its spans arrive.
func TestIngestAuthAgentSendsToken(t *testing.T) {
	token := ingestToken()
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"INGEST_TOKEN":          token,
		"ALLOW_TENANT_OVERRIDE": "true",
		"TENANT_ID":             authDefaultTenant,
	}})
	startAgent := func(token string) (string, *harness.Collector) {
		env := agentEnv(t, gw, t.TempDir())
		if token != "" {
			env["INGEST_TOKEN"] = token
		}
		return env["OTLP_GRPC_ENDPOINT"], harness.StartCollector(t, "collector-configs/agent.yaml", env)
	}
	withoutAddr, without := startAgent("")
	withAddr, _ := startAgent(token)

	refused := scenario.Scenario{Requests: 2, FailEvery: 3, Start: time.Now().Add(-time.Minute)}
	harness.SendTraces(t, withoutAddr, spanTenant, refused.Traces())
	harness.Eventually(t, 30*time.Second, func() error {
		if !without.HasLogLine("Unauthenticated") {
			return fmt.Errorf("the agent without a token has not logged a refusal")
		}
		return nil
	})
	sc := scenario.Scenario{Requests: 6, FailEvery: 3, Start: time.Now().Add(-time.Minute)}
	harness.SendTraces(t, withAddr, spanTenant, sc.Traces())
	gw.Tempo.WaitSpans(t, sc.SpanCount(), spanTenant)
	time.Sleep(time.Second)
	if got := gw.Tempo.SpanCount(); got != sc.SpanCount() {
		t.Errorf("tempo holds %d spans, want exactly the %d the agent with the token sent", got, sc.SpanCount())
	}
}

// selfSignedCert writes a certificate and key for 127.0.0.1 into dir and
// returns their paths and a client config that trusts only that certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "otelcol-gatewayz e2e"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// INGEST_TLS=true serves every ingress port over TLS from the certificate
// and key files named by INGEST_TLS_CERT_FILE and INGEST_TLS_KEY_FILE; the
// token is still required, and plaintext no longer gets in.
func TestIngestTLS(t *testing.T) {
	certFile, keyFile, clientTLS := selfSignedCert(t, t.TempDir())
	token := ingestToken()
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{
		"INGEST_TOKEN":          token,
		"INGEST_TLS":            "true",
		"INGEST_TLS_CERT_FILE":  certFile,
		"INGEST_TLS_KEY_FILE":   keyFile,
		"ALLOW_TENANT_OVERRIDE": "true",
		"TENANT_ID":             authDefaultTenant,
	}})

	plain := sendEveryIngress(t, gw, authAttempt{"plaintext", "Bearer " + token}, nil)
	if plain["otlp grpc"] == codes.OK.String() {
		t.Errorf("plaintext OTLP gRPC was accepted by a TLS ingress")
	}
	for _, proto := range []string{"otlp http", "loki push", "pyroscope ingest"} {
		if plain[proto] != "400" {
			t.Errorf("plaintext %s: %s, want 400 (an HTTP request to an HTTPS server)", proto, plain[proto])
		}
	}
	noToken := sendEveryIngress(t, gw, authAttempt{"tls-no-token", ""}, clientTLS)
	want := map[string]string{"otlp grpc": codes.Unauthenticated.String(), "otlp http": "401", "loki push": "401", "pyroscope ingest": "401"}
	for proto, w := range want {
		if noToken[proto] != w {
			t.Errorf("TLS without a token on %s: %s, want %s", proto, noToken[proto], w)
		}
	}
	a := authAttempt{"tls-token", "Bearer " + token}
	got := sendEveryIngress(t, gw, a, clientTLS)
	want = map[string]string{"otlp grpc": codes.OK.String(), "otlp http": "200", "loki push": "204", "pyroscope ingest": "200"}
	for proto, w := range want {
		if got[proto] != w {
			t.Errorf("TLS with the token on %s: %s, want %s", proto, got[proto], w)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	checkAccepted(t, gw, []authAttempt{a}, spoofedTenant)
}
