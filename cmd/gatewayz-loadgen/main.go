// Command gatewayz-loadgen sends what the GatewayZ backend sends to an
// otelcol-gatewayz collector (see internal/loadgen), serves a /metrics
// endpoint for it to scrape, and with `watch` prints what the pipeline
// derived, from PromQL.
//
//	gatewayz-loadgen [flags]        send; a progress line per second
//	gatewayz-loadgen watch [flags]  live summary from Prometheus
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	var err error
	if len(args) > 0 && args[0] == "watch" {
		err = watch(ctx, args[1:], os.Stdout)
	} else {
		err = send(ctx, args, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatewayz-loadgen:", err)
		os.Exit(1)
	}
}

type sendFlags struct {
	kinds                          string
	target                         string
	otlpGRPC, otlpHTTP, loki, pyro string
	rate                           string
	duration                       time.Duration
	workers, batch                 int
	tenant, token                  string
	metricsAddr                    string
	metricsSeries                  int
}

func parseSend(args []string, out io.Writer) (*sendFlags, []loadgen.Options, error) {
	f := &sendFlags{}
	fs := flag.NewFlagSet("gatewayz-loadgen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.kinds, "kinds", "traces", "comma-separated kinds to send at once: "+kindNames()+", or none (only -metrics-addr)")
	fs.StringVar(&f.target, "target", "", "target of the one kind in -kinds (host:port for gRPC kinds, http://host:port for HTTP kinds); overrides the per-protocol flags")
	fs.StringVar(&f.otlpGRPC, "otlp-grpc", "127.0.0.1:4317", "OTLP gRPC host:port (traces, otlp-profiles)")
	fs.StringVar(&f.otlpHTTP, "otlp-http", "http://127.0.0.1:4318", "OTLP/HTTP base URL (logs)")
	fs.StringVar(&f.loki, "loki", "http://127.0.0.1:3100", "Loki push base URL (loki-json, loki-proto)")
	fs.StringVar(&f.pyro, "pyroscope", "http://127.0.0.1:4040", "Pyroscope ingest base URL (pyroscope)")
	fs.StringVar(&f.rate, "rate", "0", "items per second per kind (spans, records, lines, uploads, profiles); 0 = as fast as the collector accepts. A list sets kinds apart: 100,pyroscope=0.2 (100 for every kind not named)")
	fs.DurationVar(&f.duration, "duration", 0, "how long to send; 0 = until Ctrl-C")
	fs.IntVar(&f.workers, "workers", 4, "concurrent senders per kind")
	fs.IntVar(&f.batch, "batch", 0, "items per request; 0 = the kind's default (traces 400, logs and Loki 100, profiles 1)")
	fs.StringVar(&f.tenant, "tenant", "", "X-Scope-OrgID to send (empty: none)")
	fs.StringVar(&f.token, "token", "", "bearer token to send (empty: none; the collector's INGEST_TOKEN)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics for the collector to scrape on this host:port, on every path (/metrics and the data-metrics path alike)")
	fs.IntVar(&f.metricsSeries, "metrics-series", 100, "series on -metrics-addr")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected arguments %q (the only subcommand is watch)", fs.Args())
	}
	if f.metricsSeries < 0 {
		return nil, nil, fmt.Errorf("-metrics-series %d: must be at least 0", f.metricsSeries)
	}
	rates, err := parseRates(f.rate)
	if err != nil {
		return nil, nil, err
	}
	var opts []loadgen.Options
	if f.kinds != "none" {
		seen := map[loadgen.Kind]bool{}
		for _, name := range strings.Split(f.kinds, ",") {
			k, err := loadgen.ParseKind(strings.TrimSpace(name))
			if err != nil {
				return nil, nil, fmt.Errorf("-kinds: %w", err)
			}
			if seen[k] {
				return nil, nil, fmt.Errorf("-kinds: %s twice", k)
			}
			seen[k] = true
			rate, ok := rates[k]
			if !ok {
				rate = rates[""]
			}
			opts = append(opts, loadgen.Options{Kind: k, Target: f.targetOf(k), Rate: rate, Duration: f.duration,
				Workers: f.workers, BatchSize: f.batch, Tenant: f.tenant, Token: f.token})
		}
	}
	if f.target != "" {
		if len(opts) != 1 {
			return nil, nil, fmt.Errorf("-target needs exactly one kind in -kinds (got %q); use -otlp-grpc, -otlp-http, -loki, -pyroscope", f.kinds)
		}
		opts[0].Target = f.target
	}
	if len(opts) == 0 && f.metricsAddr == "" {
		return nil, nil, errors.New("nothing to do: -kinds none and no -metrics-addr")
	}
	return f, opts, nil
}

// parseRates reads -rate: a number for every kind, kind=number for one;
// the key "" holds the number for kinds not named.
func parseRates(s string) (map[loadgen.Kind]float64, error) {
	rates := map[loadgen.Kind]float64{"": 0}
	for _, item := range strings.Split(s, ",") {
		name, num, perKind := strings.Cut(strings.TrimSpace(item), "=")
		if !perKind {
			name, num = "", name
		}
		var k loadgen.Kind
		if perKind {
			var err error
			if k, err = loadgen.ParseKind(name); err != nil {
				return nil, fmt.Errorf("-rate %q: %w", s, err)
			}
		}
		r, err := strconv.ParseFloat(num, 64)
		if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			return nil, fmt.Errorf("-rate %q: %q is not a rate (items per second, at least 0)", s, num)
		}
		rates[k] = r
	}
	return rates, nil
}

func (f *sendFlags) targetOf(k loadgen.Kind) string {
	switch k {
	case loadgen.Traces, loadgen.Profiles:
		return f.otlpGRPC
	case loadgen.Logs:
		return f.otlpHTTP
	case loadgen.LokiJSON, loadgen.LokiProto:
		return f.loki
	}
	return f.pyro
}

func kindNames() string {
	names := make([]string, len(loadgen.Kinds))
	for i, k := range loadgen.Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func send(ctx context.Context, args []string, out io.Writer) error {
	f, opts, err := parseSend(args, out)
	if err != nil {
		return err
	}
	if f.metricsAddr != "" {
		l, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			return fmt.Errorf("-metrics-addr: %w", err)
		}
		srv := &http.Server{Handler: loadgen.MetricsHandler(f.metricsSeries), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
		fmt.Fprintf(out, "serving %d series on http://%s/metrics\n", f.metricsSeries, l.Addr())
	}
	if len(opts) == 0 {
		<-ctx.Done()
		return nil
	}

	p := newProgress(opts)
	var wg sync.WaitGroup
	errs := make([]error, len(opts))
	for i, o := range opts {
		o.OnError = func(err error) { p.fail(i, err) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := loadgen.Run(ctx, o, func(c loadgen.Counts) { p.set(i, c) })
			p.set(i, c)
			errs[i] = err
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fmt.Fprintln(out, p.line(false))
		case <-done:
			if err := errors.Join(errs...); err != nil {
				return err
			}
			fmt.Fprintln(out, p.line(true))
			return nil
		}
	}
}

// progress keeps each kind's latest totals for the per-second line, and
// its accepted rate between its own last two reports: the line's ticker
// and each Run's are not in step, so a rate over the line's interval
// would jump between 0 and twice the real one.
type progress struct {
	mu    sync.Mutex
	kinds []loadgen.Kind
	now   []loadgen.Counts
	at    []time.Time
	rate  []float64
	errs  []error // the last error of each kind since the last line
	start time.Time
}

func newProgress(opts []loadgen.Options) *progress {
	p := &progress{start: time.Now()}
	for _, o := range opts {
		p.kinds = append(p.kinds, o.Kind)
	}
	p.now = make([]loadgen.Counts, len(opts))
	p.rate = make([]float64, len(opts))
	p.errs = make([]error, len(opts))
	p.at = make([]time.Time, len(opts))
	for i := range p.at {
		p.at[i] = p.start
	}
	return p
}

func (p *progress) set(i int, c loadgen.Counts) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if secs := now.Sub(p.at[i]).Seconds(); secs > 0 {
		p.rate[i] = float64(c.Sub(p.now[i]).Accepted) / secs
	}
	p.now[i], p.at[i] = c, now
}

func (p *progress) fail(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs[i] = err
}

// line is one line for every kind: its totals and its accepted rate (the
// final line: over the whole run).
func (p *progress) line(final bool) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	parts := make([]string, len(p.kinds))
	for i, k := range p.kinds {
		c, rate := p.now[i], p.rate[i]
		if final {
			rate = float64(c.Accepted) / max(now.Sub(p.start).Seconds(), 1e-9)
		}
		parts[i] = fmt.Sprintf("%s sent %d acc %d ref %d fail %d %.0f/s", k, c.Sent, c.Accepted, c.Refused, c.Failed, rate)
		if p.errs[i] != nil {
			parts[i] += fmt.Sprintf(" (last error: %v)", p.errs[i])
			p.errs[i] = nil
		}
	}
	head := now.Format("15:04:05")
	if final {
		head = fmt.Sprintf("total %s", now.Sub(p.start).Round(100*time.Millisecond))
	}
	return head + "  " + strings.Join(parts, " | ")
}

func watch(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gatewayz-loadgen watch", flag.ContinueOnError)
	fs.SetOutput(out)
	prom := fs.String("prometheus", "http://127.0.0.1:9090", "base URL of the Prometheus (or Mimir's /prometheus) the collector writes to")
	every := fs.Duration("interval", 5*time.Second, "how often to print the summary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("watch: unexpected arguments %q", fs.Args())
	}
	if *every <= 0 {
		return fmt.Errorf("watch: -interval %s: must be positive", *every)
	}
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, *every)
		s, err := loadgen.Summarize(qctx, *prom)
		cancel()
		stamp := time.Now().Format("15:04:05")
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			fmt.Fprintf(out, "%s  waiting for Prometheus at %s: %v\n", stamp, *prom, err)
		case s.Requests == 0:
			fmt.Fprintf(out, "%s  no gateway requests in Prometheus yet (span metrics are flushed every SPANMETRICS_FLUSH_INTERVAL)\n", stamp)
		default:
			fmt.Fprintf(out, "%s  %s\n", stamp, s)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
