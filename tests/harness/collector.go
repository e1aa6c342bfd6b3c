package harness

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// GatewayOptions changes how StartGateway runs the collector.
type GatewayOptions struct {
	// Config is the config file, relative to the repository root.
	// Default: collector-configs/gateway.yaml.
	Config string
	// Prometheus starts a real Prometheus as the metrics backend (Mimir's
	// OTLP endpoint). Without it, metrics go to a server that accepts and
	// drops them.
	Prometheus bool
	// PrometheusOptions are that Prometheus's rules and Alertmanager.
	PrometheusOptions PrometheusOptions
	// Env overrides or adds environment variables of the collector.
	Env map[string]string
	// Overlays are config files merged after Config, in order (another
	// --config each), such as collector-configs/dev.yaml.
	Overlays []string
}

// Gateway is a running collector with its backends.
type Gateway struct {
	OTLPGRPC        string // host:port
	OTLPHTTP        string // http://host:port
	LokiPush        string // http://host:port
	PyroscopeIngest string // http://host:port
	Health          string // http://host:port/

	Loki, Tempo, Pyroscope *OTLPSink
	Prometheus             *Prometheus

	// Env is the environment the collector runs with.
	Env      map[string]string
	config   string
	overlays []string

	*Collector
}

// Restart starts the gateway's collector again, after Stop, with the same
// config, environment, ports and backends: a restarted replica.
func (g *Gateway) Restart(t testing.TB) {
	t.Helper()
	if g.cmd.ProcessState == nil {
		t.Fatal("Restart: the collector is still running; Stop it first")
	}
	g.Collector = StartCollector(t, g.config, g.Env, g.overlays...)
}

// StartGateway starts the built binary ($OTELCOL_BIN, default
// bin/otelcol-gatewayz) with the gateway config, every listener on a free
// loopback port and every backend pointed at a local server, and waits
// until its health check answers 200.
func StartGateway(t testing.TB, opts GatewayOptions) *Gateway {
	t.Helper()
	if opts.Config == "" {
		opts.Config = "collector-configs/gateway.yaml"
	}
	g := &Gateway{
		Loki:      StartOTLPSink(t),
		Tempo:     StartOTLPSink(t),
		Pyroscope: StartOTLPSink(t),
	}
	metricsURL := DiscardingMetrics(t)
	if opts.Prometheus {
		g.Prometheus = StartPrometheusWith(t, opts.PrometheusOptions)
		metricsURL = g.Prometheus.OTLPURL
	}
	telemetryPort := FreePort(t)
	env := map[string]string{
		"OTLP_GRPC_ENDPOINT":        FreeAddr(t),
		"OTLP_HTTP_ENDPOINT":        FreeAddr(t),
		"LOKI_PUSH_ENDPOINT":        FreeAddr(t),
		"PYROSCOPE_INGEST_ENDPOINT": FreeAddr(t),
		"HEALTH_ENDPOINT":           FreeAddr(t),
		"ZPAGES_ENDPOINT":           FreeAddr(t),
		"COLLECTOR_TELEMETRY_HOST":  "127.0.0.1",
		"COLLECTOR_TELEMETRY_PORT":  fmt.Sprint(telemetryPort),
		"COLLECTOR_STORAGE_DIR":     t.TempDir(),
		"MIMIR_OTLP_URL":            metricsURL,
		"LOKI_OTLP_URL":             g.Loki.HTTPURL + "/otlp",
		"TEMPO_OTLP_ENDPOINT":       g.Tempo.GRPCAddr,
		"PYROSCOPE_OTLP_ENDPOINT":   g.Pyroscope.GRPCAddr,
		// Nothing listens on port 1: scrapes of absent backends fail fast.
		"FASTAPI_TARGET":           "127.0.0.1:1",
		"REDIS_EXPORTER_TARGET":    "127.0.0.1:1",
		"MIMIR_METRICS_TARGET":     "127.0.0.1:1",
		"LOKI_METRICS_TARGET":      "127.0.0.1:1",
		"TEMPO_METRICS_TARGET":     "127.0.0.1:1",
		"PYROSCOPE_METRICS_TARGET": "127.0.0.1:1",
		// Test-speed intervals; production defaults are in the config.
		"FASTAPI_SCRAPE_INTERVAL":      "1s",
		"FASTAPI_DATA_SCRAPE_INTERVAL": "1s",
		"FASTAPI_SCRAPE_TIMEOUT":       "1s",
		"REDIS_SCRAPE_INTERVAL":        "1s",
		"REDIS_SCRAPE_TIMEOUT":         "1s",
		"SELF_SCRAPE_INTERVAL":         "5s",
		"SPANMETRICS_FLUSH_INTERVAL":   "1s",
		"SERVICE_GRAPH_FLUSH_INTERVAL": "1s",
		"BATCH_TIMEOUT":                "200ms",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	g.OTLPGRPC = env["OTLP_GRPC_ENDPOINT"]
	g.OTLPHTTP = "http://" + env["OTLP_HTTP_ENDPOINT"]
	g.LokiPush = "http://" + env["LOKI_PUSH_ENDPOINT"]
	g.PyroscopeIngest = "http://" + env["PYROSCOPE_INGEST_ENDPOINT"]
	g.Health = "http://" + env["HEALTH_ENDPOINT"] + "/"
	g.Env, g.config, g.overlays = env, opts.Config, opts.Overlays

	g.Collector = StartCollector(t, opts.Config, env, opts.Overlays...)
	return g
}

// Collector is a running otelcol-gatewayz process.
type Collector struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
}

// StartCollector runs the built binary with config (absolute, or relative
// to the repository root), then each overlay merged over it, and exactly
// env, and waits for the health check at $HEALTH_ENDPOINT to answer 200.
func StartCollector(t testing.TB, config string, env map[string]string, overlays ...string) *Collector {
	t.Helper()
	bin := RequireBinary(t, "OTELCOL_BIN", "bin/otelcol-gatewayz")
	c := &Collector{logs: &lockedBuffer{}}
	var args, files []string
	for _, f := range append([]string{config}, overlays...) {
		if !filepath.IsAbs(f) {
			f = filepath.Join(RepoRoot(), f)
		}
		args, files = append(args, "--config="+f), append(files, f)
	}
	config = strings.Join(files, " + ")
	// No --feature-gates: the command a user types must be enough.
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = collectorEnv(env)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = c.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", config, tail(c.Logs(), 60))
		}
	})
	health := "http://" + env["HEALTH_ENDPOINT"] + "/"
	if err := WaitHTTP200(health, 60*time.Second); err != nil {
		_ = c.Stop()
		t.Fatalf("collector (%s) never became healthy: %v\n%s", config, err, tail(c.Logs(), 60))
	}
	return c
}

// Stop sends SIGTERM and waits for a clean exit (the error is non-nil if
// it exited non-zero or had to be killed). Safe to call twice.
func (c *Collector) Stop() error {
	if c.cmd.ProcessState != nil {
		return nil
	}
	return stopProcess(c.cmd, 20*time.Second)
}

// Logs is everything the collector printed so far.
func (c *Collector) Logs() string { return c.logs.String() }

// HasLogLine tells whether one line of the collector's output contains
// every part.
func (c *Collector) HasLogLine(parts ...string) bool {
	for _, line := range strings.Split(c.Logs(), "\n") {
		all := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// Pid is the collector's process id.
func (c *Collector) Pid() int { return c.cmd.Process.Pid }

// collectorEnv is a minimal environment: the caller's own environment must
// not change what the config resolves to.
func collectorEnv(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// DiscardingMetrics is an OTLP metrics base URL (as MIMIR_OTLP_URL takes
// it) that accepts and drops.
func DiscardingMetrics(t testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/otlp"
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
