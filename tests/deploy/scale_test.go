package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

const scaleFile = "compose/scale.yaml"

// TestComposeScaleOut loads docker-compose.yaml with compose/scale.yaml on
// top, as `docker compose -f ... -f ...` does, and checks the wiring of the
// scaled-out form: the agent in the collector's place, sending to a name
// every gateway answers to, each gateway with its own instance id and its
// own on-disk queue volume.
func TestComposeScaleOut(t *testing.T) {
	p, _, err := loadComposeFiles(t, requiredEnv, composeFile, scaleFile)
	if err != nil {
		t.Fatalf("docker compose would refuse %s with %s: %v", composeFile, scaleFile, err)
	}
	if _, on := p.Services["collector"]; on {
		t.Error("the single collector still runs: it would take the agent's host ports")
	}
	agent, ok := p.Services["agent"]
	if !ok {
		t.Fatal("no agent service")
	}
	var gateways []types.ServiceConfig
	for _, s := range sortedServices(p) {
		if strings.HasPrefix(s.Name, "gateway-") {
			gateways = append(gateways, s)
		}
	}
	if len(gateways) != 2 {
		t.Fatalf("%d gateway services, want 2", len(gateways))
	}

	env := func(s types.ServiceConfig, name string) string {
		if v := s.Environment[name]; v != nil {
			return *v
		}
		return ""
	}
	if !slices.ContainsFunc(agent.Command, func(a string) bool { return strings.HasSuffix(a, "/agent.yaml") }) {
		t.Errorf("agent command %v does not run agent.yaml", agent.Command)
	}
	host := env(agent, "GATEWAY_HOSTNAME")
	if host == "" || env(agent, "GATEWAY_DNS") == "false" {
		t.Errorf("agent: GATEWAY_HOSTNAME=%q with the DNS resolver, want the gateways' shared name", host)
	}
	if port := env(agent, "GATEWAY_OTLP_PORT"); port != "4317" {
		t.Errorf("agent: GATEWAY_OTLP_PORT=%q, want the gateways' OTLP gRPC port 4317", port)
	}
	if !slices.ContainsFunc(agent.Ports, func(p types.ServicePortConfig) bool { return p.Target == 4317 && p.Published == "4317" }) {
		t.Errorf("agent publishes %v, want the collector's host ports (4317 among them)", agent.Ports)
	}

	// The queues on disk: one named volume per process at its storage
	// directory, never shared (two processes cannot hold one queue file).
	volumeAt := func(s types.ServiceConfig) string {
		dir := env(s, "COLLECTOR_STORAGE_DIR")
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Target == dir && !v.ReadOnly {
				return v.Source
			}
		}
		t.Errorf("%s: its storage directory %q is not a named volume", s.Name, dir)
		return ""
	}
	ids := map[string]string{env(agent, "COLLECTOR_INSTANCE_ID"): agent.Name}
	volumes := map[string]string{volumeAt(agent): agent.Name}
	for _, g := range gateways {
		if c, ok := agent.DependsOn[g.Name]; !ok || c.Condition != types.ServiceConditionHealthy {
			t.Errorf("agent does not wait for %s to be healthy", g.Name)
		}
		if !slices.Contains(g.Networks["default"].Aliases, host) {
			t.Errorf("%s is not reachable as %q (aliases %v): the agent's DNS resolver would not find it", g.Name, host, g.Networks["default"].Aliases)
		}
		if len(g.Ports) != 0 {
			t.Errorf("%s publishes %v: gateways are reached through the agent only", g.Name, g.Ports)
		}
		if env(g, "EXPORT_QUEUE_STORAGE") != "file_storage" {
			t.Errorf("%s: EXPORT_QUEUE_STORAGE=%q, want file_storage", g.Name, env(g, "EXPORT_QUEUE_STORAGE"))
		}
		id := env(g, "COLLECTOR_INSTANCE_ID")
		if id == "" || ids[id] != "" {
			t.Errorf("%s: COLLECTOR_INSTANCE_ID=%q is empty or also %s's: their series would collide", g.Name, id, ids[id])
		}
		ids[id] = g.Name
		v := volumeAt(g)
		if v != "" && volumes[v] != "" {
			t.Errorf("%s shares volume %s with %s", g.Name, v, volumes[v])
		}
		volumes[v] = g.Name
	}

	// Every target scraped from one place: the agent scrapes the API the
	// single collector scraped, one gateway the shared targets.
	if got, want := env(agent, "AGENT_SCRAPE_TARGET"), env(gateways[0], "FASTAPI_TARGET"); got == "" || got != want {
		t.Errorf("agent: AGENT_SCRAPE_TARGET=%q, want the API the gateways would scrape (FASTAPI_TARGET=%q)", got, want)
	}
	runs := map[string]int{}
	for _, g := range gateways {
		for _, r := range metricsScrapes(t, g.Name, env(g, "METRICS_RECEIVERS")) {
			runs[r]++
		}
	}
	checkScrapedOnce(t, "compose scale form", runs, len(gateways))
}

// scrapeReceivers reads collector-configs/gateway.yaml: every receiver it
// defines, and the scrape receivers its metrics pipeline runs when
// METRICS_RECEIVERS is unset.
func scrapeReceivers(t *testing.T) (defined map[string]bool, byDefault []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "collector-configs", "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Receivers map[string]any `yaml:"receivers"`
		Service   struct {
			Pipelines map[string]struct {
				Receivers any `yaml:"receivers"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("gateway.yaml: %v", err)
	}
	defined = map[string]bool{}
	for name := range cfg.Receivers {
		defined[name] = true
	}
	line, _ := cfg.Service.Pipelines["metrics"].Receivers.(string)
	m := regexp.MustCompile(`^\$\{env:METRICS_RECEIVERS:-(\[[^}]*\])\}$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("gateway.yaml: the metrics pipeline's receivers are %v, want ${env:METRICS_RECEIVERS:-[...]}", cfg.Service.Pipelines["metrics"].Receivers)
	}
	var list []string
	if err := yaml.Unmarshal([]byte(m[1]), &list); err != nil {
		t.Fatalf("METRICS_RECEIVERS default %s: %v", m[1], err)
	}
	for _, r := range list {
		if isScrape(r) {
			byDefault = append(byDefault, r)
		}
	}
	return defined, byDefault
}

// isScrape tells a scrape receiver by its type: ours, promscrape, which
// the shipped configs use, or contrib's prometheus, still in the build for
// a config of one's own, so a scrape added with it is counted too.
func isScrape(receiver string) bool {
	typ, _, _ := strings.Cut(receiver, "/")
	return typ == "promscrape" || typ == "prometheus"
}

// metricsScrapes checks one gateway's METRICS_RECEIVERS ("" = unset, the
// default) and returns the scrape receivers it runs.
func metricsScrapes(t *testing.T, who, value string) []string {
	t.Helper()
	defined, byDefault := scrapeReceivers(t)
	if value == "" {
		return byDefault
	}
	var list []string
	if err := yaml.Unmarshal([]byte(value), &list); err != nil || len(list) == 0 {
		t.Errorf("%s: METRICS_RECEIVERS=%q is not a YAML list of receivers (%v)", who, value, err)
		return nil
	}
	var scrapes []string
	for _, r := range list {
		if !defined[r] {
			t.Errorf("%s: METRICS_RECEIVERS names %q, which gateway.yaml does not define: the gateway would not start", who, r)
		}
		if isScrape(r) {
			scrapes = append(scrapes, r)
		}
	}
	if !slices.Contains(list, "otlp") {
		t.Errorf("%s: METRICS_RECEIVERS=%s without otlp: the agents' metrics would have nowhere to go", who, value)
	}
	return scrapes
}

// checkScrapedOnce: in a scaled-out form, where runs counts the gateway
// processes running each scrape receiver, every gateway scrapes itself, no
// gateway the API (its agents do), and each other scrape runs exactly once.
func checkScrapedOnce(t *testing.T, form string, runs map[string]int, gateways int) {
	t.Helper()
	defined, _ := scrapeReceivers(t)
	for r := range defined {
		if !isScrape(r) {
			continue
		}
		want := 1
		switch r {
		case "promscrape/self":
			want = gateways
		case "promscrape":
			want = 0
		}
		if runs[r] != want {
			t.Errorf("%s: %d gateway processes run receiver %s, want %d", form, runs[r], r, want)
		}
	}
}

// TestSingleCollectorScrapesEverything: with METRICS_RECEIVERS unset (the
// single collector of compose, make run and Railway), the gateway runs
// every scrape it defines, as before the scrapes were split.
func TestSingleCollectorScrapesEverything(t *testing.T) {
	defined, byDefault := scrapeReceivers(t)
	for r := range defined {
		if isScrape(r) && !slices.Contains(byDefault, r) {
			t.Errorf("the default METRICS_RECEIVERS leaves out %s: a single collector would not scrape its targets", r)
		}
	}
	for _, want := range []string{"promscrape", "promscrape/backends", "promscrape/self"} {
		if !defined[want] {
			t.Errorf("gateway.yaml defines no receiver %s (docs/scaling.md names it)", want)
		}
	}
	p, _, err := loadCompose(t, requiredEnv)
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Services["collector"].Environment["METRICS_RECEIVERS"]; v != nil {
		t.Errorf("the single collector sets METRICS_RECEIVERS=%s: it must scrape everything", *v)
	}
}
