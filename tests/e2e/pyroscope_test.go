package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/grafana/pyroscope-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

const (
	profilesExportPath = "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
	receiverScope      = "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"
	profileTenant      = "initech"
)

// TestPyroscopeGoClientRoundTrip profiles this test process with the real
// pyroscope-go client (CPU and heap), pushes to the running collector
// through a recording tee and checks that the Pyroscope sink received
// exactly the pprof profiles the client sent: per upload, every sample
// (stack, labels, value) of every sample type, the period and the time
// window; and in aggregate, equal totals and stack sets per sample type.
// A CPU upload arrives as samples/count alone: Pyroscope's OTLP ingestion
// stores count × period as process_cpu:cpu:nanoseconds, which must equal the
// cpu/nanoseconds the client sent.
//
// pyroscope-go allows one CPU profiler per process: keep this the only
// test that starts it.
func TestPyroscopeGoClientRoundTrip(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{"TENANT_ID": defaultTenant}})
	tee := startIngestTee(t, gw.PyroscopeIngest)

	const app = "checkout-e2e"
	tags := map[string]string{"env": "e2e", "region": "eu-west-1"}
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	logger := &clientLogger{}
	p, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: app,
		Tags:            tags,
		ServerAddress:   tee.URL,
		TenantID:        profileTenant,
		UploadRate:      time.Second,
		Logger:          logger,
		// CPU (one pprof with samples/count and cpu/nanoseconds) and the
		// heap (godeltaprof: one pprof with the four alloc/inuse types).
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU,
			pyroscope.ProfileAllocObjects, pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace,
		},
		HTTPClient: &http.Client{Transport: transport, Timeout: 20 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two upload periods of work; the first tick of the CPU collector never
	// uploads, Flush uploads what is left of the window.
	pyroscope.TagWrapper(context.Background(), pyroscope.Labels("phase", "burn"), func(context.Context) {
		burnCPUAndHeap(2200 * time.Millisecond)
	})
	p.Flush(true)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	// Every worker has returned: the tee has seen every upload there will be.
	if errs := logger.errors(); len(errs) > 0 {
		t.Errorf("pyroscope-go logged errors: %q", errs)
	}

	uploads := tee.Uploads()
	var sessionID string
	wantRP, wantSamples := 0, 0
	wantPerUpload := []string{}
	// sent: the uploads as they were; want: as the receiver forwards them.
	sent, want := pprofcompare.Flame{}, pprofcompare.Flame{}
	var cpuPeriod int64
	kinds := map[string]int{}
	for i, u := range uploads {
		if u.Status != http.StatusOK {
			t.Fatalf("upload %d (%s) answered %d %q", i, u.Query.Get("name"), u.Status, u.Response)
		}
		if u.Tenant != profileTenant {
			t.Errorf("upload %d sent X-Scope-OrgID %q, want %q", i, u.Tenant, profileTenant)
		}
		name := u.Query.Get("name")
		m := sessionRE.FindStringSubmatch(name)
		if m == nil {
			t.Fatalf("upload %d name %q has no __session_id__", i, name)
		}
		if sessionID == "" {
			sessionID = m[1]
		} else if m[1] != sessionID {
			t.Errorf("upload %d session %s, earlier uploads %s", i, m[1], sessionID)
		}
		wantName := fmt.Sprintf("%s{__session_id__=%s,env=e2e,region=eu-west-1}", app, sessionID)
		if name != wantName {
			t.Errorf("upload %d name %q, want %q", i, name, wantName)
		}
		pp, hasPrev := u.pprof(t)
		if hasPrev {
			t.Fatalf("upload %d has a prev_profile part: pyroscope-go v1.2.7 computes deltas itself", i)
		}
		kinds[sampleTypesOf(pp)]++
		if len(pp.Sample) == 0 {
			continue // answered 200, not forwarded
		}
		wantRP++
		sent.AddPprof(pp)
		if sampleTypesOf(pp) == "samples/count,cpu/nanoseconds" {
			if cpuPeriod != 0 && pp.Period != cpuPeriod {
				t.Fatalf("upload %d CPU period %d, earlier %d", i, pp.Period, cpuPeriod)
			}
			cpuPeriod = pp.Period
		}
		fp := forwardedPprof(t, pp)
		wantSamples += len(fp.Sample) * len(fp.SampleType)
		wantPerUpload = append(wantPerUpload, uploadFingerprint(t, fp, u.Query))
		want.AddPprof(fp)
	}
	cpuKey, allocKey := "samples/count,cpu/nanoseconds", "alloc_objects/count,alloc_space/bytes,inuse_objects/count,inuse_space/bytes"
	if kinds[cpuKey] == 0 || kinds[allocKey] == 0 || len(kinds) != 2 {
		t.Fatalf("uploads by sample types: %v; want CPU and heap uploads only", kinds)
	}
	// The work above must be in what was sent, or the comparison proves little.
	if !sent.HasStack("cpu/nanoseconds", burnStack) {
		t.Fatalf("no CPU time sent for ...%s; CPU stacks sent:\n%s", burnStack, sent.Lines("cpu/nanoseconds"))
	}
	if !sent.HasStack("alloc_space/bytes", allocStack) {
		t.Fatalf("no allocation sent from ...%s; stacks sent:\n%s", allocStack, sent.Lines("alloc_space/bytes"))
	}

	harness.Eventually(t, 30*time.Second, func() error {
		if n := resourceProfileCount(gw.Pyroscope.Requests()); n != wantRP {
			return fmt.Errorf("pyroscope sink has %d resource profiles, want %d (one per upload with samples)", n, wantRP)
		}
		return nil
	})
	reqs := gw.Pyroscope.Requests()
	got := pprofcompare.Flame{}
	var gotPerUpload []string
	for i, r := range reqs {
		if r.Tenant() != profileTenant {
			t.Errorf("sink request %d X-Scope-OrgID %q, want %q", i, r.Tenant(), profileTenant)
		}
		if r.Transport != "grpc" || r.Path != profilesExportPath {
			t.Errorf("sink request %d: %s %s, want grpc %s", i, r.Transport, r.Path, profilesExportPath)
		}
		for _, rp := range r.Profiles.ResourceProfiles().All() {
			wantAttrs := map[string]any{
				"service.name": app, "env": "e2e", "region": "eu-west-1",
				"pyroscope.session_id": sessionID, "pyroscope.spy_name": "gospy",
				// Added by resource/normalize (DEPLOYMENT_ENV's default).
				"deployment.environment": "production",
			}
			if a := rp.Resource().Attributes().AsRaw(); !attrsEqual(a, wantAttrs) {
				t.Errorf("sink request %d resource attributes %v, want %v", i, a, wantAttrs)
			}
			for _, sp := range rp.ScopeProfiles().All() {
				if sp.Scope().Name() != receiverScope {
					t.Errorf("scope name %q, want %q", sp.Scope().Name(), receiverScope)
				}
			}
			gotPerUpload = append(gotPerUpload, pprofcompare.OTLPFingerprint(r.Profiles.Dictionary(), rp))
			got.AddOTLP(r.Profiles.Dictionary(), rp)
		}
	}

	// Per upload: the multiset of fingerprints, whatever the order.
	sort.Strings(wantPerUpload)
	sort.Strings(gotPerUpload)
	if !slices.Equal(gotPerUpload, wantPerUpload) {
		for i := range max(len(gotPerUpload), len(wantPerUpload)) {
			g, w := profAt(gotPerUpload, i), profAt(wantPerUpload, i)
			if g != w {
				t.Errorf("upload fingerprint %d differs:\n%s", i, pprofcompare.LineDiff(w, g))
				break
			}
		}
	}
	// Aggregate: total value and set of stacks (with their summed values)
	// per sample type.
	if !slices.Equal(got.SampleTypes(), want.SampleTypes()) {
		t.Errorf("sample types received %v, sent %v", got.SampleTypes(), want.SampleTypes())
	}
	gotTotals, wantTotals := got.Totals(), want.Totals()
	for _, st := range want.SampleTypes() {
		if gotTotals[st] != wantTotals[st] {
			t.Errorf("%s: total received %d, sent %d", st, gotTotals[st], wantTotals[st])
		}
		if gl, wl := got.Lines(st), want.Lines(st); gl != wl {
			t.Errorf("%s: %d stacks received, %d sent; differences:\n%s", st, len(got[st]), len(want[st]), pprofcompare.LineDiff(wl, gl))
		}
	}
	if _, ok := got["cpu/nanoseconds"]; ok {
		t.Error("cpu/nanoseconds forwarded: Pyroscope would store it a second time, as profile type cpu")
	}
	// The CPU time Pyroscope derives (count × period), stack by stack.
	derived := map[string]int64{}
	for stack, n := range got["samples/count"] {
		derived[stack] = n * cpuPeriod
	}
	if !maps.Equal(derived, sent["cpu/nanoseconds"]) {
		t.Errorf("cpu nanoseconds as Pyroscope derives them differ from those sent: %d stacks derived, %d sent", len(derived), len(sent["cpu/nanoseconds"]))
	}
	if n := gw.Pyroscope.ProfileSampleCount(); n != wantSamples {
		t.Errorf("sink counted %d samples, want %d (samples x sample types forwarded)", n, wantSamples)
	}
	t.Logf("%d uploads (%d CPU, %d heap; %d with samples) in %d sink requests; %d samples x types; totals %v; stacks %v",
		len(uploads), kinds[cpuKey], kinds[allocKey], wantRP, len(reqs), wantSamples, sent.Totals(), sent.StackCounts())
}

// TestOTLPProfilesReachPyroscope sends a small OTLP profile to the OTLP
// gRPC receiver: it must reach the Pyroscope sink byte for byte, with the
// sender's tenant.
func TestOTLPProfilesReachPyroscope(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{"TENANT_ID": defaultTenant}})
	sent := smallProfiles()
	wantBytes, err := (&pprofile.ProtoMarshaler{}).MarshalProfiles(sent)
	if err != nil {
		t.Fatal(err)
	}
	// Export consumes the request: send a copy.
	cp := pprofile.NewProfiles()
	sent.CopyTo(cp)
	harness.SendProfiles(t, gw.OTLPGRPC, profileTenant, cp)

	harness.Eventually(t, 30*time.Second, func() error {
		if n := len(gw.Pyroscope.Requests()); n != 1 {
			return fmt.Errorf("pyroscope sink has %d requests, want 1", n)
		}
		return nil
	})
	r := gw.Pyroscope.Requests()[0]
	if r.Tenant() != profileTenant {
		t.Errorf("tenant %q, want %q", r.Tenant(), profileTenant)
	}
	if r.Path != profilesExportPath {
		t.Errorf("path %q, want %q", r.Path, profilesExportPath)
	}
	if n := gw.Pyroscope.ProfileSampleCount(); n != 2 {
		t.Errorf("sink counted %d samples, want 2", n)
	}
	gotBytes, err := (&pprofile.ProtoMarshaler{}).MarshalProfiles(r.Profiles)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotBytes, wantBytes) {
		wj, _ := (&pprofile.JSONMarshaler{}).MarshalProfiles(sent)
		gj, _ := (&pprofile.JSONMarshaler{}).MarshalProfiles(r.Profiles)
		t.Errorf("profiles changed on the way:\n sent     %s\n received %s", wj, gj)
	}
	want := pprofcompare.Flame{"samples/count": {"main;handler;parse {thread.name=worker-1}": 7, "main;handler": 3}}
	if got := pprofcompare.FromOTLP(r.Profiles); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flame graph %v, want %v", got, want)
	}
}

// TestPyroscopeIngestRejectsBadInput sends bad uploads to the running
// collector, then a good one: the bad ones are refused with the right
// status and a message naming the problem, nothing of them reaches the
// sink, and the good one arrives in full.
func TestPyroscopeIngestRejectsBadInput(t *testing.T) {
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: map[string]string{"TENANT_ID": defaultTenant}})
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	garbage := []byte("\x0a\xffthis is not a pprof profile")
	mpBody, mpType := pyroscopeMultipart(t, garbage)
	// A real pprof (gzipped, as runtime/pprof writes it) cut in half.
	var whole bytes.Buffer
	if err := smallPprof().Write(&whole); err != nil {
		t.Fatal(err)
	}
	truncated := whole.Bytes()[:whole.Len()/2]
	for _, tc := range []struct {
		name, query, contentType string
		body                     []byte
		status                   int
		msg                      string
	}{
		{"raw garbage pprof", "name=bad-app.cpu&format=pprof", "application/octet-stream", garbage,
			http.StatusBadRequest, "profile: cannot parse pprof: parsing profile: unrecognized profile format"},
		{"garbage pprof in pyroscope-go's multipart form", "name=bad-app&spyName=gospy", mpType, mpBody,
			http.StatusBadRequest, "profile: cannot parse pprof: parsing profile: unrecognized profile format"},
		{"truncated gzipped pprof", "name=bad-app&format=pprof", "", truncated,
			http.StatusBadRequest, "profile: invalid gzip data: unexpected EOF"},
		{"jfr", "name=java-app&format=jfr", "", []byte("JFR\x00\x02\x00"),
			http.StatusUnsupportedMediaType, `format "jfr" is not supported by this receiver: send pprof (format=pprof) or collapsed stacks (format=folded)`},
	} {
		status, msg := postPyroscopeIngest(t, client, gw.PyroscopeIngest, tc.query, tc.contentType, tc.body, profileTenant)
		if status != tc.status || msg != tc.msg {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, msg, tc.status, tc.msg)
		}
	}

	from := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	q := url.Values{
		"name":       {"folded-app.cpu{env=e2e}"},
		"format":     {"folded"},
		"sampleRate": {"100"},
		"spyName":    {"pyspy"},
		"from":       {strconv.FormatInt(from.Unix(), 10)},
		"until":      {strconv.FormatInt(from.Add(10*time.Second).Unix(), 10)},
	}
	folded := "main;handle;parse 3\nmain;handle;render 5\nmain;idle 2\nmain;handle;parse 1\n"
	if status, msg := postPyroscopeIngest(t, client, gw.PyroscopeIngest, q.Encode(), "text/plain", []byte(folded), profileTenant); status != http.StatusOK || msg != "" {
		t.Fatalf("good folded push: %d %q, want 200 with an empty body", status, msg)
	}

	harness.Eventually(t, 30*time.Second, func() error {
		if n := len(gw.Pyroscope.Requests()); n != 1 {
			return fmt.Errorf("pyroscope sink has %d requests, want 1 (only the good push)", n)
		}
		return nil
	})
	r := gw.Pyroscope.Requests()[0]
	if r.Tenant() != profileTenant {
		t.Errorf("tenant %q, want %q", r.Tenant(), profileTenant)
	}
	if n := r.Profiles.ResourceProfiles().Len(); n != 1 {
		t.Fatalf("%d resource profiles, want 1", n)
	}
	rp := r.Profiles.ResourceProfiles().At(0)
	wantAttrs := map[string]any{"service.name": "folded-app", "pyroscope.app_name": "folded-app.cpu", "env": "e2e", "pyroscope.spy_name": "pyspy",
		"deployment.environment": "production"}
	if a := rp.Resource().Attributes().AsRaw(); !attrsEqual(a, wantAttrs) {
		t.Errorf("resource attributes %v, want %v", a, wantAttrs)
	}
	got := pprofcompare.Flame{}
	got.AddOTLP(r.Profiles.Dictionary(), rp)
	// Counts only, at a 10 ms period: Pyroscope stores count × period as
	// process_cpu:cpu:nanoseconds, as its own /ingest does for folded CPU.
	want := pprofcompare.Flame{
		"samples/count": {"main;handle;parse": 4, "main;handle;render": 5, "main;idle": 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flame graph\n got  %v\n want %v", got, want)
	}
	if n := gw.Pyroscope.ProfileSampleCount(); n != 3 {
		t.Errorf("sink counted %d samples, want 3 (3 stacks x 1 sample type)", n)
	}
	d := r.Profiles.Dictionary()
	for _, prof := range rp.ScopeProfiles().At(0).Profiles().All() {
		pt := pprofcompare.DictString(d, prof.PeriodType().TypeStrindex()) + "/" + pprofcompare.DictString(d, prof.PeriodType().UnitStrindex())
		if pt != "cpu/nanoseconds" || prof.Period() != 10_000_000 {
			t.Errorf("period %s %d, want cpu/nanoseconds 10000000", pt, prof.Period())
		}
		if prof.Time().AsTime() != from || prof.DurationNano() != uint64(10*time.Second) {
			t.Errorf("time %s duration %d, want %s and 10s", prof.Time().AsTime(), prof.DurationNano(), from)
		}
	}

	// Still serving, still the same process, and the bad uploads never
	// reached the pipeline.
	if n := len(gw.Pyroscope.Requests()); n != 1 {
		t.Errorf("pyroscope sink has %d requests, want 1", n)
	}
	if err := harness.WaitHTTP200(gw.Health, 5*time.Second); err != nil {
		t.Error(err)
	}
	if err := syscall.Kill(gw.Pid(), 0); err != nil {
		t.Errorf("collector process %d: %v", gw.Pid(), err)
	}
	if logs := gw.Logs(); strings.Contains(logs, "panic:") || strings.Contains(logs, "panic serving") {
		t.Errorf("collector logged a panic:\n%s", logs)
	}
}

// ---------------------------------------------------------------------------
// Work for the profiler.

// The leaf ends of burnCPUAndHeap's stacks: CPU, with TagWrapper's label,
// and allocations, whose heap samples are labelled with the block size.
const (
	burnStack  = ";github.com/gatewayz/otelcol-gatewayz/tests/e2e.burnCPUAndHeap;github.com/gatewayz/otelcol-gatewayz/tests/e2e.burnHash {phase=burn}"
	allocStack = ";github.com/gatewayz/otelcol-gatewayz/tests/e2e.burnCPUAndHeap;github.com/gatewayz/otelcol-gatewayz/tests/e2e.allocChunk {bytes=65536}"
)

var burnLive [][]byte

// burnCPUAndHeap spins the CPU in burnHash and allocates in allocChunk for d.
func burnCPUAndHeap(d time.Duration) {
	deadline := time.Now().Add(d)
	s := uint64(0)
	for i := 0; time.Now().Before(deadline); i++ {
		s += burnHash(200_000)
		burnLive = append(burnLive, allocChunk(i))
		if len(burnLive) > 64 {
			burnLive = burnLive[1:]
		}
	}
	runtime.KeepAlive(s)
}

//go:noinline
func burnHash(n int) uint64 {
	h := uint64(14695981039346656037)
	for i := range n {
		h ^= uint64(i)
		h *= 1099511628211
	}
	return h
}

//go:noinline
func allocChunk(i int) []byte {
	b := make([]byte, 64<<10)
	b[i%len(b)] = 1
	return b
}

// ---------------------------------------------------------------------------
// Recording tee in front of the receiver.

type ingestUpload struct {
	Query       url.Values
	ContentType string
	Tenant      string
	Body        []byte
	Status      int
	Response    string
}

type ingestTee struct {
	URL     string
	mu      sync.Mutex
	uploads []ingestUpload
}

// startIngestTee forwards every request to target (the receiver's base URL)
// and records it with the answer.
func startIngestTee(t *testing.T, target string) *ingestTee {
	t.Helper()
	tee := &ingestTee{}
	fwd := &http.Transport{}
	client := &http.Client{Transport: fwd, Timeout: 20 * time.Second}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := ingestUpload{Query: r.URL.Query(), ContentType: r.Header.Get("Content-Type"), Tenant: r.Header.Get("X-Scope-OrgID"), Body: body}
		defer func() {
			tee.mu.Lock()
			tee.uploads = append(tee.uploads, rec)
			tee.mu.Unlock()
		}()
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			rec.Status = http.StatusInternalServerError
			http.Error(w, err.Error(), rec.Status)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			rec.Status, rec.Response = http.StatusBadGateway, err.Error()
			http.Error(w, err.Error(), rec.Status)
			return
		}
		respBody, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		rec.Status, rec.Response = resp.StatusCode, string(respBody)
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(respBody)
	}))
	t.Cleanup(func() {
		srv.Close()
		fwd.CloseIdleConnections()
	})
	tee.URL = srv.URL
	return tee
}

func (tee *ingestTee) Uploads() []ingestUpload {
	tee.mu.Lock()
	defer tee.mu.Unlock()
	return append([]ingestUpload(nil), tee.uploads...)
}

// pprof parses the multipart "profile" part; hasPrev reports a non-empty
// "prev_profile" part.
func (u ingestUpload) pprof(t *testing.T) (p *profile.Profile, hasPrev bool) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(u.ContentType)
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("upload Content-Type %q: want multipart/form-data (%v)", u.ContentType, err)
	}
	mr := multipart.NewReader(bytes.NewReader(u.Body), params["boundary"])
	var data []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("upload body: %v", err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		switch part.FormName() {
		case "profile":
			data = b
		case "prev_profile":
			hasPrev = len(b) > 0
		}
	}
	if data == nil {
		t.Fatal("upload without a profile part")
	}
	p, err = profile.ParseData(data)
	if err != nil {
		t.Fatalf("parsing the uploaded pprof: %v", err)
	}
	return p, hasPrev
}

type clientLogger struct {
	mu   sync.Mutex
	errs []string
}

func (*clientLogger) Infof(string, ...any)  {}
func (*clientLogger) Debugf(string, ...any) {}
func (l *clientLogger) Errorf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprintf(f, a...))
}

func (l *clientLogger) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

var sessionRE = regexp.MustCompile(`__session_id__=([0-9a-f]{16})[,}]`)

// ---------------------------------------------------------------------------
// Comparing pprof with OTLP profiles (the forms are pprofcompare's).

// uploadFingerprint is the fingerprint of one upload: pyroscope-go leaves
// the profile's time window to the query's from/until, in nanoseconds.
func uploadFingerprint(t *testing.T, p *profile.Profile, q url.Values) string {
	t.Helper()
	from, err1 := strconv.ParseInt(q.Get("from"), 10, 64)
	until, err2 := strconv.ParseInt(q.Get("until"), 10, 64)
	if err1 != nil || err2 != nil || from < 1e17 || until < 1e17 {
		t.Fatalf("upload from=%q until=%q: want nanoseconds", q.Get("from"), q.Get("until"))
	}
	if from > until { // pyroscope-go's Flush can end the window before it starts
		from = until
	}
	return pprofcompare.PprofFingerprint(p, from, until-from)
}

// forwardedPprof is p as the receiver forwards it: a CPU profile without
// its cpu/nanoseconds, which Pyroscope derives from samples/count × period.
// pyroscope-go's nanoseconds are exactly that, or the receiver would keep them.
func forwardedPprof(t *testing.T, p *profile.Profile) *profile.Profile {
	t.Helper()
	if sampleTypesOf(p) != "samples/count,cpu/nanoseconds" {
		return p
	}
	for _, s := range p.Sample {
		if s.Value[1] != s.Value[0]*p.Period {
			t.Fatalf("CPU sample %d ns != %d × period %d", s.Value[1], s.Value[0], p.Period)
		}
	}
	c := p.Copy()
	c.SampleType = c.SampleType[:1]
	for _, s := range c.Sample {
		s.Value = s.Value[:1]
	}
	return c
}

func sampleTypesOf(p *profile.Profile) string {
	var s []string
	for _, st := range p.SampleType {
		s = append(s, st.Type+"/"+st.Unit)
	}
	return strings.Join(s, ",")
}

func resourceProfileCount(reqs []harness.Request) int {
	n := 0
	for _, r := range reqs {
		n += r.Profiles.ResourceProfiles().Len()
	}
	return n
}

func attrsEqual(a, b map[string]any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) && len(a) == len(b)
}

func profAt(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<none>"
}

// ---------------------------------------------------------------------------
// Requests.

func postPyroscopeIngest(t *testing.T, client *http.Client, base, query, contentType string, body []byte, tenant string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/ingest?"+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(msg))
}

// pyroscopeMultipart is a body like pyroscope-go's, with prof as the profile,
// and its Content-Type.
func pyroscopeMultipart(t *testing.T, prof []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile("profile", "profile.pprof")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(prof)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// smallPprof is a valid two-sample CPU pprof.
func smallPprof() *profile.Profile {
	fnMain := &profile.Function{ID: 1, Name: "main"}
	fnWork := &profile.Function{ID: 2, Name: "work"}
	locMain := &profile.Location{ID: 1, Line: []profile.Line{{Function: fnMain}}}
	locWork := &profile.Location{ID: 2, Line: []profile.Line{{Function: fnWork}}}
	return &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
		Function:   []*profile.Function{fnMain, fnWork},
		Location:   []*profile.Location{locMain, locWork},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{locWork, locMain}, Value: []int64{4, 40_000_000}},
			{Location: []*profile.Location{locMain}, Value: []int64{1, 10_000_000}},
		},
	}
}

// smallProfiles is one CPU-like profile with two samples, one with an
// attribute, in a complete dictionary.
func smallProfiles() pprofile.Profiles {
	pd := pprofile.NewProfiles()
	d := pd.Dictionary()
	// Index 0 of every table is the zero entry.
	for _, s := range []string{"", "samples", "count", "cpu", "nanoseconds", "main", "handler", "parse", "/src/app/main.go", "thread.name"} {
		d.StringTable().Append(s)
	}
	d.MappingTable().AppendEmpty()
	d.LinkTable().AppendEmpty()
	d.AttributeTable().AppendEmpty()
	d.FunctionTable().AppendEmpty()
	d.LocationTable().AppendEmpty()
	d.StackTable().AppendEmpty()
	for i, name := range []int32{5, 6, 7} { // main, handler, parse
		f := d.FunctionTable().AppendEmpty()
		f.SetNameStrindex(name)
		f.SetSystemNameStrindex(name)
		f.SetFilenameStrindex(8)
		f.SetStartLine(int64(10 * (i + 1)))
		loc := d.LocationTable().AppendEmpty()
		loc.SetAddress(uint64(0x1000 + 0x10*i))
		ln := loc.Lines().AppendEmpty()
		ln.SetFunctionIndex(int32(i + 1))
		ln.SetLine(int64(10*(i+1) + 2))
	}
	d.StackTable().AppendEmpty().LocationIndices().FromRaw([]int32{3, 2, 1}) // parse, handler, main
	d.StackTable().AppendEmpty().LocationIndices().FromRaw([]int32{2, 1})
	kv := d.AttributeTable().AppendEmpty()
	kv.SetKeyStrindex(9)
	kv.Value().SetStr("worker-1")

	rp := pd.ResourceProfiles().AppendEmpty()
	rp.Resource().Attributes().PutStr("service.name", "otlp-profiled")
	rp.Resource().Attributes().PutStr("deployment.environment.name", "e2e")
	// A sender that names its instance and environment gets its profile
	// through unchanged: resource/normalize only fills in what is missing.
	rp.Resource().Attributes().PutStr("deployment.environment", "e2e")
	rp.Resource().Attributes().PutStr("service.instance.id", "otlp-profiled-0")
	sp := rp.ScopeProfiles().AppendEmpty()
	sp.Scope().SetName("e2e-test")
	prof := sp.Profiles().AppendEmpty()
	prof.SetProfileID(pprofile.ProfileID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	prof.SampleType().SetTypeStrindex(1)
	prof.SampleType().SetUnitStrindex(2)
	prof.PeriodType().SetTypeStrindex(3)
	prof.PeriodType().SetUnitStrindex(4)
	prof.SetPeriod(10_000_000)
	prof.SetTime(pcommon.NewTimestampFromTime(time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)))
	prof.SetDurationNano(uint64(10 * time.Second))
	s := prof.Samples().AppendEmpty()
	s.SetStackIndex(1)
	s.Values().Append(7)
	s.AttributeIndices().Append(1)
	s = prof.Samples().AppendEmpty()
	s.SetStackIndex(2)
	s.Values().Append(3)
	return pd
}
