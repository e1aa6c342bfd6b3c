package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/scenario"
)

// overloadContainerMiB is the container limit the overload and slow-backend
// tests give the gateway: small, so a few seconds of load reach it.
const overloadContainerMiB = 400

// memoryScript is the one place the memory settings are derived; the image
// and `make run` start the collector through it.
func memoryScript() string {
	return filepath.Join(harness.RepoRoot(), "collector-configs", "with-memory-limit.sh")
}

// runMemoryScript runs the script with COLLECTOR_MEMORY_LIMIT_MIB=limit and
// `env` as the command, and returns what it printed and its exit error.
func runMemoryScript(limit string) (string, error) {
	cmd := exec.Command("sh", memoryScript(), "env")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "COLLECTOR_MEMORY_LIMIT_MIB=" + limit}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// memoryEnv is the collector environment the script derives from a
// container limit of limitMiB, so the tests run the settings users get.
func memoryEnv(t *testing.T, limitMiB int) map[string]string {
	t.Helper()
	out, err := runMemoryScript(strconv.Itoa(limitMiB))
	if err != nil {
		t.Fatalf("%s: %v\n%s", memoryScript(), err, out)
	}
	env := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "MEMORY_LIMIT_MIB", "MEMORY_SPIKE_LIMIT_MIB", "GOMEMLIMIT":
			env[k] = v
		}
	}
	if len(env) != 3 {
		t.Fatalf("%s set %v, want MEMORY_LIMIT_MIB, MEMORY_SPIKE_LIMIT_MIB and GOMEMLIMIT", memoryScript(), env)
	}
	return env
}

// TestMemoryLimitScript: one number, the container's limit, sets
// memory_limiter's hard limit and GOMEMLIMIT (the limit less a fifth, or
// less 128 MiB where a fifth is smaller) and its spike (a fifth of the
// hard limit); a value that is not a number, or too small to run on, is
// refused.
func TestMemoryLimitScript(t *testing.T) {
	for limit, want := range map[string]string{
		"2000": "GOMEMLIMIT=1600MiB MEMORY_LIMIT_MIB=1600 MEMORY_SPIKE_LIMIT_MIB=320",
		"400":  "GOMEMLIMIT=272MiB MEMORY_LIMIT_MIB=272 MEMORY_SPIKE_LIMIT_MIB=54",
		"641":  "GOMEMLIMIT=513MiB MEMORY_LIMIT_MIB=513 MEMORY_SPIKE_LIMIT_MIB=102",
	} {
		n, _ := strconv.Atoi(limit)
		env := memoryEnv(t, n)
		got := fmt.Sprintf("GOMEMLIMIT=%s MEMORY_LIMIT_MIB=%s MEMORY_SPIKE_LIMIT_MIB=%s",
			env["GOMEMLIMIT"], env["MEMORY_LIMIT_MIB"], env["MEMORY_SPIKE_LIMIT_MIB"])
		if got != want {
			t.Errorf("COLLECTOR_MEMORY_LIMIT_MIB=%s: %s, want %s", limit, got, want)
		}
	}
	for limit, msg := range map[string]string{
		"2g":  `must be a whole number of MiB, got "2g"`,
		"255": "below the minimum of 256 MiB",
	} {
		out, err := runMemoryScript(limit)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out, msg) {
			t.Errorf("COLLECTOR_MEMORY_LIMIT_MIB=%s: exit %v, output %q; want exit 2 saying %q", limit, err, out, msg)
		}
	}
}

// rssWatch samples a process's resident set every 100 ms: all of it, and
// its anonymous part (heap, stacks), which is what a container's limit
// cannot reclaim; the rest is the binary's own pages, read back from the
// file under pressure.
type rssWatch struct {
	maxKiB, maxAnonKiB atomic.Int64
	stop               chan struct{}
	done               chan struct{}
}

func watchRSS(t *testing.T, pid int) *rssWatch {
	w := &rssWatch{stop: make(chan struct{}), done: make(chan struct{})}
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(w.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			rss, anon := vmRSS(path)
			if rss > w.maxKiB.Load() {
				w.maxKiB.Store(rss)
			}
			if anon > w.maxAnonKiB.Load() {
				w.maxAnonKiB.Store(anon)
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(w.Stop)
	return w
}

// MaxMiB is the largest RSS seen so far, MaxAnonMiB its largest anonymous part.
func (w *rssWatch) MaxMiB() float64     { return float64(w.maxKiB.Load()) / 1024 }
func (w *rssWatch) MaxAnonMiB() float64 { return float64(w.maxAnonKiB.Load()) / 1024 }

func (w *rssWatch) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// vmRSS reads VmRSS and RssAnon (KiB) from /proc/<pid>/status.
func vmRSS(path string) (rss, anon int64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "RssAnon":
			anon = n
		}
	}
	return rss, anon
}

// loadRequest is one gateway-shaped OTLP export (100 requests of the
// scenario, 500 spans), marshalled again for every send as a client would.
func loadRequest() (ptraceotlp.ExportRequest, int) {
	sc := scenario.Scenario{Requests: 100, FailEvery: 5, Start: time.Now().Add(-time.Minute)}
	return ptraceotlp.NewExportRequestFromTraces(sc.Traces()), sc.SpanCount()
}

// loadResult counts, in spans, what a load phase had accepted, refused
// with a retryable code, or lost track of (the client gave up waiting, so
// the gateway may or may not hold it).
type loadResult struct {
	requests, accepted, refused, uncertain atomic.Int64
	mu                                     sync.Mutex
	codes                                  map[codes.Code]int
	fatal                                  []string // non-retryable answers
	// retryDelays counts the refusals by the RetryInfo delay they carried
	// (0: none).
	retryDelays map[time.Duration]int
}

func (r *loadResult) record(err error, spans int64) {
	r.requests.Add(1)
	code := status.Code(err)
	switch code {
	case codes.OK:
		r.accepted.Add(spans)
		return
	case codes.Unavailable, codes.ResourceExhausted:
		r.refused.Add(spans)
	case codes.DeadlineExceeded:
		r.uncertain.Add(spans)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.codes == nil {
		r.codes = map[codes.Code]int{}
	}
	r.codes[code]++
	if code != codes.Unavailable && code != codes.ResourceExhausted && code != codes.DeadlineExceeded {
		r.fatal = append(r.fatal, err.Error())
	}
	if code == codes.Unavailable || code == codes.ResourceExhausted {
		if r.retryDelays == nil {
			r.retryDelays = map[time.Duration]int{}
		}
		r.retryDelays[retryDelay(err)]++
	}
}

// retryDelay is the RetryInfo delay a gRPC error carries, 0 if none.
func retryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

func (r *loadResult) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%d requests: %d spans accepted, %d refused, %d unanswered; codes %v",
		r.requests.Load(), r.accepted.Load(), r.refused.Load(), r.uncertain.Load(), r.codes)
}

// closedLoad keeps `senders` exports in flight for d (at most maxRequests
// in all): each sender sends its next as soon as the last is answered.
func closedLoad(conn *harness.OTLPConn, senders int, d time.Duration, maxRequests int64) *loadResult {
	req, spans := loadRequest()
	res := &loadResult{}
	var sent atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && sent.Add(1) <= maxRequests {
				res.record(conn.ExportTraces(spanTenant, req), int64(spans))
			}
		}()
	}
	wg.Wait()
	return res
}

// openLoad offers spansPerSecond for d, whatever the answers, spread over
// conns (many clients: one HTTP/2 connection's flow-control window would
// hold most exports back in the client), with at most maxInFlight exports
// waiting (an export that finds them all busy is not sent and counted in
// `skipped`) and at most maxRequests sent.
func openLoad(conns []*harness.OTLPConn, spansPerSecond float64, d time.Duration, maxInFlight int, maxRequests int64) (res *loadResult, skipped int64) {
	req, spans := loadRequest()
	res = &loadResult{}
	interval := time.Duration(float64(time.Second) * float64(spans) / spansPerSecond)
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for i := int64(0); i < maxRequests; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(due))
		select {
		case slots <- struct{}{}:
		default:
			skipped++
			continue
		}
		conn := conns[i%int64(len(conns))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			res.record(conn.ExportTraces(spanTenant, req), int64(spans))
		}()
	}
	wg.Wait()
	return res, skipped
}

// ingressRetryAfter is RETRY_AFTER's default as a Retry-After value.
const ingressRetryAfter = "5"

// ingressProbe sends one small item to each HTTP ingress (OTLP/HTTP logs,
// Loki push, Pyroscope ingest) and tallies the answers: accepted, refused
// as a client should retry (429/503 with Retry-After: retryAfter), or
// anything else.
type ingressProbe struct {
	gw         *harness.Gateway
	retryAfter string
	client     *http.Client
	mu         sync.Mutex
	// per receiver
	accepted, refused map[string]int
	wrong             []string
	logsAccepted      int
}

// newIngressProbe probes gw, whose refusals must say Retry-After: retryAfter.
func newIngressProbe(gw *harness.Gateway, retryAfter string) *ingressProbe {
	return &ingressProbe{gw: gw, retryAfter: retryAfter, client: &http.Client{Timeout: 10 * time.Second},
		accepted: map[string]int{}, refused: map[string]int{}}
}

func (p *ingressProbe) once() {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("overload probe")
	otlpBody, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	lokiBody := `{"streams":[{"stream":{"service_name":"overload"},"values":[["` + now + `","overload probe"]]}]}`
	q := url.Values{"name": {"overload.cpu"}, "format": {"folded"}, "sampleRate": {"100"},
		"from": {strconv.FormatInt(time.Now().Unix()-10, 10)}, "until": {strconv.FormatInt(time.Now().Unix(), 10)}}
	for _, c := range []struct {
		receiver, url, contentType, body string
		logs                             int
	}{
		// The OTLP receiver (v0.158.0) sends Retry-After only when the
		// refusal carries gRPC RetryInfo: the backpressure processor's.
		{"otlp/http", p.gw.OTLPHTTP + "/v1/logs", "application/x-protobuf", string(otlpBody), 1},
		{"lokipush", p.gw.LokiPush + "/loki/api/v1/push", "application/json", lokiBody, 1},
		{"pyroscope", p.gw.PyroscopeIngest + "/ingest?" + q.Encode(), "text/plain", "main;work 5\n", 0},
	} {
		req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.contentType)
		req.Header.Set("X-Scope-OrgID", spanTenant)
		resp, err := p.client.Do(req)
		if err != nil {
			p.note(c.receiver, fmt.Sprintf("%s: %v", c.receiver, err))
			continue
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent:
			p.mu.Lock()
			p.accepted[c.receiver]++
			p.logsAccepted += c.logs
			p.mu.Unlock()
		case (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) &&
			resp.Header.Get("Retry-After") == p.retryAfter:
			p.mu.Lock()
			p.refused[c.receiver]++
			p.mu.Unlock()
		default:
			p.note(c.receiver, fmt.Sprintf("%s: %d (Retry-After %q)", c.receiver, resp.StatusCode, resp.Header.Get("Retry-After")))
		}
	}
}

func (p *ingressProbe) note(_ string, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wrong = append(p.wrong, msg)
}

// every probes every 200 ms until stop is closed.
func (p *ingressProbe) every(stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				p.once()
			}
		}
	}()
	return done
}

// healthStatus is the health check's answer now (0 when it does not answer).
func healthStatus(url string) int {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// healthSample is one answer of the health check.
type healthSample struct {
	at   time.Time
	code int
}

// healthWatch asks the health check every interval until Stop.
type healthWatch struct {
	mu      sync.Mutex
	samples []healthSample
	stop    chan struct{}
	done    chan struct{}
}

func watchHealth(t *testing.T, url string, interval time.Duration) *healthWatch {
	w := &healthWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			code := healthStatus(url)
			w.mu.Lock()
			w.samples = append(w.samples, healthSample{time.Now(), code})
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-time.After(interval):
			}
		}
	}()
	t.Cleanup(w.Stop)
	return w
}

func (w *healthWatch) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// between returns the answers taken from `from` to `to`, by status code.
func (w *healthWatch) between(from, to time.Time) map[int]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[int]int{}
	for _, s := range w.samples {
		if !s.at.Before(from) && !s.at.After(to) {
			out[s.code]++
		}
	}
	return out
}

// transitions lists, from `from` on, each change of the answer and when
// it came ("+2.2s 500, +3.1s 200").
func (w *healthWatch) transitions(from time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	last := -1
	for _, s := range w.samples {
		if !s.at.Before(from) && s.code != last {
			out = append(out, fmt.Sprintf("+%v %d", s.at.Sub(from).Round(100*time.Millisecond), s.code))
			last = s.code
		}
	}
	return strings.Join(out, ", ")
}

// first returns how long after `from` the first answer for which match
// holds came, and whether one did.
func (w *healthWatch) first(from time.Time, match func(code int) bool) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.samples {
		if !s.at.Before(from) && match(s.code) {
			return s.at.Sub(from), true
		}
	}
	return 0, false
}

// waitDelivered waits until the sink's span count lies between what the
// gateway accepted and that plus what the clients stopped waiting for.
func waitDelivered(t *testing.T, sink *harness.OTLPSink, accepted, uncertain int64, within time.Duration) {
	t.Helper()
	harness.Eventually(t, within, func() error {
		if got := int64(sink.SpanCount()); got < accepted || got > accepted+uncertain {
			return fmt.Errorf("Tempo has %d spans, want %d accepted (+ up to %d unanswered)", got, accepted, uncertain)
		}
		return nil
	})
}

// TestOverload: the gateway, set up for a 400 MiB container, is offered ten
// times the rate it sustains for eight senders, from 32 clients (up to
// 1024 exports of 500 spans in flight).
// Its anonymous RSS stays under the container limit (see checkRSS); gRPC
// and every HTTP receiver refuse with retryable answers and nothing else,
// each carrying RETRY_AFTER (gRPC RetryInfo, HTTP Retry-After); the health
// check fails while the gateway refuses and answers 200 again once the
// load is gone; every span and log it accepted is delivered and nothing is
// dropped behind a receiver; once the load drops it takes data again at at
// least half its sustained rate.
func TestOverload(t *testing.T) {
	// Not the default 5s, so the test sees the setting reach every receiver.
	const retryAfter = 3 * time.Second
	env := memoryEnv(t, overloadContainerMiB)
	env["RETRY_AFTER"] = retryAfter.String()
	gw := harness.StartGateway(t, harness.GatewayOptions{Env: env})
	gw.Tempo.DiscardPayloads = true
	conn := harness.DialOTLP(t, gw.OTLPGRPC)
	rss := watchRSS(t, gw.Pid())

	base := closedLoad(conn, 8, 4*time.Second, 20000)
	if base.refused.Load() != 0 || base.uncertain.Load() != 0 || len(base.fatal) != 0 {
		t.Fatalf("at the sustainable rate the gateway refused: %s", base)
	}
	sustained := float64(base.accepted.Load()) / 4
	t.Logf("sustained: %.0f spans/s (%s), RSS so far %.0f MiB", sustained, base, rss.MaxMiB())

	const overloadFor = 10 * time.Second
	if code := healthStatus(gw.Health); code != http.StatusOK {
		t.Errorf("health check at the sustainable rate: %d, want 200", code)
	}
	health := watchHealth(t, gw.Health, 250*time.Millisecond)
	stop := make(chan struct{})
	probe := newIngressProbe(gw, strconv.Itoa(int(retryAfter/time.Second)))
	probing := probe.every(stop)
	var clients []*harness.OTLPConn
	for range 32 {
		clients = append(clients, harness.DialOTLP(t, gw.OTLPGRPC))
	}
	overStart := time.Now()
	over, skipped := openLoad(clients, 10*sustained, overloadFor, 1024, int64(10*sustained*overloadFor.Seconds()/500)+1)
	overEnd := time.Now()
	close(stop)
	<-probing
	offered := float64(over.requests.Load()+skipped) * 500 / overloadFor.Seconds()
	t.Logf("overload: offered %.0f spans/s, %d not sent (1024 in flight); %s; max RSS %.0f MiB, anonymous %.0f MiB", offered, skipped, over, rss.MaxMiB(), rss.MaxAnonMiB())
	t.Logf("HTTP probes: accepted %v, refused %v; gRPC refusals by RetryInfo delay %v", probe.accepted, probe.refused, over.retryDelays)
	during := health.between(overStart, overEnd)
	failedAfter, failed := health.first(overStart, func(code int) bool { return code != http.StatusOK })
	t.Logf("health check during the overload: %v (first non-200 %v after it began)", during, failedAfter.Round(time.Millisecond))
	if !failed || failedAfter > overloadFor {
		t.Errorf("the health check never failed during the overload: %v", during)
	}
	for delay, n := range over.retryDelays {
		if delay != retryAfter {
			t.Errorf("%d gRPC refusals carried RetryInfo delay %v, want %v", n, delay, retryAfter)
		}
	}

	if len(over.fatal) != 0 {
		t.Errorf("non-retryable answers under overload: %v", over.fatal[:min(5, len(over.fatal))])
	}
	if over.refused.Load() == 0 {
		t.Errorf("at ten times the sustained rate the gRPC receiver refused nothing: %s", over)
	}
	if len(probe.wrong) != 0 {
		t.Errorf("HTTP receivers answered the overload wrongly: %v", probe.wrong[:min(5, len(probe.wrong))])
	}
	for _, r := range []string{"otlp/http", "lokipush", "pyroscope"} {
		if probe.refused[r] == 0 {
			t.Errorf("%s refused nothing under overload (accepted %d)", r, probe.accepted[r])
		}
	}
	checkRSS(t, rss)

	// The load is gone: the health check answers 200 again (and goes on).
	harness.Eventually(t, 30*time.Second, func() error {
		if code := healthStatus(gw.Health); code != http.StatusOK {
			return fmt.Errorf("health check still answers %d", code)
		}
		return nil
	})
	t.Logf("health check from the start of the overload (ended at +%v): %s", overEnd.Sub(overStart).Round(100*time.Millisecond), health.transitions(overStart))

	// Load drops to the sustainable rate: the gateway takes data again.
	harness.Eventually(t, 30*time.Second, func() error {
		if err := conn.ExportTraces(spanTenant, ptraceotlp.NewExportRequestFromTraces(scenario.Scenario{Requests: 1, FailEvery: 5, Start: time.Now()}.Traces())); err != nil {
			return fmt.Errorf("still refusing: %v", err)
		}
		over.accepted.Add(scenario.SpansPerRequest)
		return nil
	})
	after := closedLoad(conn, 8, 4*time.Second, 20000)
	recovered := float64(after.accepted.Load()) / 4
	t.Logf("after the overload: %.0f spans/s (%s)", recovered, after)
	if recovered < sustained/2 {
		t.Errorf("after the overload the gateway took %.0f spans/s, under half the %.0f it sustained before", recovered, sustained)
	}
	if len(after.fatal) != 0 {
		t.Errorf("non-retryable answers after the overload: %v", after.fatal[:min(5, len(after.fatal))])
	}

	accepted := base.accepted.Load() + over.accepted.Load() + after.accepted.Load()
	uncertain := over.uncertain.Load() + after.uncertain.Load()
	waitDelivered(t, gw.Tempo, accepted, uncertain, 60*time.Second)
	harness.Eventually(t, 30*time.Second, func() error {
		if got := gw.Loki.LogCount(); got != probe.logsAccepted {
			return fmt.Errorf("Loki has %d records, want the %d accepted", got, probe.logsAccepted)
		}
		return nil
	})
	checkRSS(t, rss)
	checkNothingDroppedInside(t, gw.Collector)
}

// checkRSS fails if the gateway's anonymous memory passed the container
// limit it was configured for: memory_limiter's hard limit plus the margin
// the script leaves (128 MiB here). Its file-backed pages (the binary,
// some 80 MiB) come on top: a cgroup reclaims them instead of OOM-killing.
func checkRSS(t *testing.T, rss *rssWatch) {
	t.Helper()
	t.Logf("max RSS %.0f MiB, of it anonymous %.0f MiB (limit %d MiB)", rss.MaxMiB(), rss.MaxAnonMiB(), overloadContainerMiB)
	if anon := rss.MaxAnonMiB(); anon > overloadContainerMiB {
		t.Errorf("anonymous RSS reached %.0f MiB, over the %d MiB container limit", anon, overloadContainerMiB)
	}
}

// checkNothingDroppedInside fails if a refusal happened behind a receiver,
// where no client hears of it and the data is gone: a batch whose export
// failed, or a connector whose flush was refused.
func checkNothingDroppedInside(t *testing.T, c *harness.Collector) {
	t.Helper()
	for _, line := range []string{"Sender failed", "failed to flush metrics"} {
		if c.HasLogLine(line) {
			t.Errorf("the gateway dropped data it had accepted (%q in its log)", line)
		}
	}
}
