package backends

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// backend is one folder under backends/.
type backend struct {
	name   string // folder and image name: grafana/<name>
	config string // config file in the folder
	syntax syntax
}

var all = []backend{
	{"mimir", "mimir.yaml", mimirExpand},
	{"loki", "loki.yaml", envsubst},
	{"tempo", "tempo.yaml", envsubst},
	{"pyroscope", "pyroscope.yaml", envsubst},
}

func byName(t *testing.T, name string) backend {
	t.Helper()
	for _, b := range all {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("no backend %q", name)
	return backend{}
}

func readFile(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{harness.RepoRoot()}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// load expands the backend's config with env (unset variables take their
// defaults) and parses it. yaml.v3 refuses duplicate keys, which the
// backends' own decoders also refuse.
func load(t *testing.T, b backend, env map[string]string) (map[string]any, []reference) {
	t.Helper()
	text, refs, err := expand(readFile(t, "backends", b.name, b.config), b.syntax, env)
	if err != nil {
		t.Fatalf("backends/%s/%s: %v", b.name, b.config, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("backends/%s/%s does not parse after expansion: %v", b.name, b.config, err)
	}
	return doc, refs
}

// get walks a dotted path through nested maps.
func get(t *testing.T, doc map[string]any, path string) any {
	t.Helper()
	var cur any = doc
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: %v is not a map", path, cur)
		}
		if cur, ok = m[key]; !ok {
			t.Fatalf("%s is not set", path)
		}
	}
	return cur
}

func has(doc map[string]any, path string) bool {
	var cur any = doc
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[key]; !ok {
			return false
		}
	}
	return true
}

func want(t *testing.T, doc map[string]any, path string, expected any) {
	t.Helper()
	if got := get(t, doc, path); fmt.Sprint(got) != fmt.Sprint(expected) {
		t.Errorf("%s = %v, want %v", path, got, expected)
	}
}

func duration(t *testing.T, doc map[string]any, path string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(fmt.Sprint(get(t, doc, path)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

func defaultOf(t *testing.T, refs []reference, name string) string {
	t.Helper()
	for _, r := range refs {
		if r.Name == name {
			return r.Default
		}
	}
	t.Fatalf("the config does not read %s", name)
	return ""
}

// wantLoopbackRings: one process must name itself by loopback in every ring,
// or a machine with several interfaces makes it advertise an address it
// cannot reach, and queries hang.
func wantLoopbackRings(t *testing.T, doc map[string]any, paths ...string) {
	t.Helper()
	for _, p := range paths {
		want(t, doc, p, "127.0.0.1")
	}
}

// wantDualStack: an empty listen address is every address, IPv4 and IPv6.
func wantDualStack(t *testing.T, doc map[string]any) {
	t.Helper()
	want(t, doc, "server.http_listen_address", "")
	want(t, doc, "server.grpc_listen_address", "")
}

func TestExpanderRefusesWhatBackendsWouldMangle(t *testing.T) {
	for _, c := range []struct {
		text string
		s    syntax
		ok   bool
		out  string
	}{
		{"port: ${P:-3100}", envsubst, true, "port: 3100"},
		{"port: ${P:3100}", mimirExpand, true, "port: 3100"},
		{"port: ${P}", envsubst, false, ""},
		{"port: ${P:-3100}", mimirExpand, false, ""},
		{"re: ^a$", envsubst, false, ""},
		{"url: http://h:${P:9009}/x", mimirExpand, true, "url: http://h:9009/x"},
	} {
		out, _, err := expand(c.text, c.s, nil)
		if (err == nil) != c.ok || out != c.out {
			t.Errorf("expand(%q, %v) = %q, %v", c.text, c.s, out, err)
		}
	}
	out, _, err := expand("port: ${P:-3100}", envsubst, map[string]string{"P": "13100"})
	if err != nil || out != "port: 13100" {
		t.Errorf("a set variable must win over its default: %q, %v", out, err)
	}
}

// TestEnvOverridesReachTheConfig: the env contract works, e.g. a Railway
// volume mount path moves every data path.
func TestEnvOverridesReachTheConfig(t *testing.T) {
	doc, _ := load(t, byName(t, "tempo"), map[string]string{"TEMPO_DATA_DIR": "/vol", "TEMPO_OTLP_GRPC_PORT": "14317"})
	want(t, doc, "storage.trace.wal.path", "/vol/wal")
	want(t, doc, "distributor.receivers.otlp.protocols.grpc.endpoint", ":14317")
	doc, _ = load(t, byName(t, "mimir"), map[string]string{"MIMIR_DATA_DIR": "/vol", "MIMIR_HTTP_PORT": "19009"})
	want(t, doc, "blocks_storage.tsdb.dir", "/vol/tsdb")
	want(t, doc, "limits.ruler_alertmanager_client_config.alertmanager_url", "http://127.0.0.1:19009/alertmanager")
}

// tableRows maps each `NAME` in a markdown table to the `default` in the
// cell after it.
func tableRows(text string) map[string]string {
	rows := map[string]string{}
	name := regexp.MustCompile("^`([A-Z][A-Z0-9_]*)`$")
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(line, "|")
		for i := 1; i+1 < len(cells); i++ {
			if m := name.FindStringSubmatch(strings.TrimSpace(cells[i])); m != nil {
				rows[m[1]] = strings.Trim(strings.TrimSpace(cells[i+1]), "`")
				break
			}
		}
	}
	return rows
}

// TestEveryVariableIsDocumented: every variable a backend config reads has
// a default, a row in the README's environment table and one in
// backends/README.md's contract, both with the config's default (compose and
// Railway are built from those).
func TestEveryVariableIsDocumented(t *testing.T) {
	root := tableRows(readFile(t, "README.md"))
	contract := tableRows(readFile(t, "backends", "README.md"))
	for _, b := range all {
		_, refs := load(t, b, nil)
		if len(refs) == 0 {
			t.Errorf("%s reads no variables: its ports and paths are fixed", b.name)
		}
		for _, r := range refs {
			for table, rows := range map[string]map[string]string{"README.md": root, "backends/README.md": contract} {
				def, ok := rows[r.Name]
				switch {
				case !ok:
					t.Errorf("%s reads %s, which has no row in %s", b.name, r.Name, table)
				case def != r.Default:
					t.Errorf("%s: %s defaults to %q in the config, %q in %s", b.name, r.Name, r.Default, def, table)
				}
			}
		}
	}
}

func TestMimir(t *testing.T) {
	doc, refs := load(t, byName(t, "mimir"), nil)
	want(t, doc, "multitenancy_enabled", true)
	want(t, doc, "target", "all,alertmanager")
	wantDualStack(t, doc)

	want(t, doc, "limits.compactor_blocks_retention_period", "720h")
	want(t, doc, "limits.max_query_lookback", "720h")
	want(t, doc, "limits.ingestion_rate", 50000)
	want(t, doc, "limits.max_global_series_per_user", 500000)
	if n, _ := get(t, doc, "limits.max_global_exemplars_per_user").(int); n <= 0 {
		t.Errorf("max_global_exemplars_per_user = %v: exemplars are stored only above 0", n)
	}

	// Late samples from the collector's retries must still be accepted.
	gateway := readFile(t, "collector-configs", "gateway.yaml")
	m := regexp.MustCompile(`\$\{env:EXPORT_RETRY_MAX_ELAPSED:-([^}]+)\}`).FindStringSubmatch(gateway)
	if m == nil {
		t.Fatal("gateway.yaml no longer reads EXPORT_RETRY_MAX_ELAPSED")
	}
	retry, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if ooo := duration(t, doc, "limits.out_of_order_time_window"); ooo <= retry {
		t.Errorf("out_of_order_time_window %v does not exceed the collector's retry time %v", ooo, retry)
	}

	want(t, doc, "blocks_storage.backend", "filesystem")
	for _, p := range []string{"ingester.ring.replication_factor", "store_gateway.sharding_ring.replication_factor", "alertmanager.sharding_ring.replication_factor"} {
		want(t, doc, p, 1)
	}
	wantLoopbackRings(t, doc, "distributor.ring.instance_addr", "ingester.ring.instance_addr",
		"store_gateway.sharding_ring.instance_addr", "compactor.sharding_ring.instance_addr",
		"query_scheduler.ring.instance_addr", "ruler.ring.instance_addr",
		"alertmanager.sharding_ring.instance_addr", "frontend.address", "memberlist.advertise_addr")

	want(t, doc, "ruler_storage.backend", "local")
	want(t, doc, "ruler_storage.local.directory", defaultOf(t, refs, "MIMIR_RULES_DIR"))
	want(t, doc, "alertmanager.fallback_config_file", defaultOf(t, refs, "MIMIR_ALERTMANAGER_CONFIG"))
	if has(doc, "ruler.alertmanager_url") {
		t.Error("ruler.alertmanager_url is deprecated: use limits.ruler_alertmanager_client_config")
	}
	am, err := url.Parse(fmt.Sprint(get(t, doc, "limits.ruler_alertmanager_client_config.alertmanager_url")))
	if err != nil {
		t.Fatal(err)
	}
	if am.Hostname() != "127.0.0.1" || am.Port() != defaultOf(t, refs, "MIMIR_HTTP_PORT") || am.Path != "/alertmanager" {
		t.Errorf("the ruler sends alerts to %s, not to this process's own Alertmanager", am)
	}
	ext, err := url.Parse(fmt.Sprint(get(t, doc, "alertmanager.external_url")))
	if err != nil || ext.Path != "/alertmanager" {
		t.Errorf("alertmanager.external_url %v: Mimir serves the Alertmanager under its path, which must be /alertmanager (%v)", ext, err)
	}

	// Local rule storage reads <dir>/<tenant id>/*.yaml; a file directly in
	// <dir> is never loaded.
	rulesDir := filepath.Join(harness.RepoRoot(), "backends", "mimir", "rules")
	entries, err := os.ReadDir(rulesDir)
	if err != nil {
		t.Fatal(err)
	}
	tenants := 0
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("backends/mimir/rules/%s is not in a tenant folder: the ruler ignores it", e.Name())
			continue
		}
		files, _ := filepath.Glob(filepath.Join(rulesDir, e.Name(), "*.yaml"))
		if len(files) > 0 {
			tenants++
		}
	}
	if tenants == 0 {
		t.Error("backends/mimir/rules has no <tenant id>/*.yaml")
	}
}

func TestLoki(t *testing.T) {
	doc, refs := load(t, byName(t, "loki"), nil)
	want(t, doc, "auth_enabled", true)
	wantDualStack(t, doc)
	wantLoopbackRings(t, doc, "common.instance_addr")
	want(t, doc, "common.replication_factor", 1)

	schemas, _ := get(t, doc, "schema_config.configs").([]any)
	if len(schemas) == 0 {
		t.Fatal("no schema_config.configs")
	}
	last, _ := schemas[len(schemas)-1].(map[string]any)
	want(t, last, "schema", "v13")
	want(t, last, "store", "tsdb")
	want(t, last, "index.period", "24h")

	want(t, doc, "compactor.retention_enabled", true)
	if s := fmt.Sprint(get(t, doc, "compactor.delete_request_store")); s == "" {
		t.Error("compactor.delete_request_store is required once retention is on")
	}
	if wd := fmt.Sprint(get(t, doc, "compactor.working_directory")); !strings.HasPrefix(wd, defaultOf(t, refs, "LOKI_DATA_DIR")) {
		t.Errorf("compactor.working_directory %s is outside LOKI_DATA_DIR (the volume)", wd)
	}
	want(t, doc, "limits_config.retention_period", "720h")
	want(t, doc, "limits_config.allow_structured_metadata", true)

	want(t, doc, "limits_config.otlp_config.resource_attributes.ignore_defaults", true)
	rules, _ := get(t, doc, "limits_config.otlp_config.resource_attributes.attributes_config").([]any)
	var indexed []string
	restIsMetadata := false
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		switch rule["action"] {
		case "index_label":
			if rule["regex"] != nil {
				t.Errorf("an index_label rule by regex indexes unbounded attributes: %v", rule)
			}
			for _, a := range rule["attributes"].([]any) {
				indexed = append(indexed, fmt.Sprint(a))
			}
		case "structured_metadata":
			restIsMetadata = restIsMetadata || rule["regex"] == ".*"
		}
	}
	sort.Strings(indexed)
	if wantIndexed := []string{"deployment.environment", "service.instance.id", "service.name", "service.namespace"}; !slices.Equal(indexed, wantIndexed) {
		t.Errorf("index labels %v, want %v", indexed, wantIndexed)
	}
	if !restIsMetadata {
		t.Error("the other resource attributes are not mapped to structured metadata")
	}
	if has(doc, "limits_config.otlp_config.log_attributes") {
		for _, r := range get(t, doc, "limits_config.otlp_config.log_attributes").([]any) {
			if r.(map[string]any)["action"] == "index_label" {
				t.Errorf("a log-record attribute becomes an index label: %v", r)
			}
		}
	}
}

func TestTempo(t *testing.T) {
	doc, refs := load(t, byName(t, "tempo"), nil)
	want(t, doc, "target", "all")
	want(t, doc, "multitenancy_enabled", true)
	want(t, doc, "stream_over_http_enabled", true)
	wantDualStack(t, doc)
	for _, gone := range []string{"ingester", "ingester_client", "compactor", "metrics_generator_client"} {
		if has(doc, gone) {
			t.Errorf("Tempo 3 has no %q block", gone)
		}
	}
	for key := range get(t, doc, "overrides").(map[string]any) {
		if key != "defaults" && key != "per_tenant_override_config" {
			t.Errorf("overrides.%s: Tempo 3 refuses to start on legacy flat overrides", key)
		}
	}
	want(t, doc, "overrides.defaults.compaction.block_retention", "168h")
	if p := get(t, doc, "overrides.defaults.metrics_generator.processors"); len(p.([]any)) != 0 {
		t.Errorf("metrics-generator processors %v: the collector makes span metrics and the service graph", p)
	}
	if has(doc, "metrics_generator.processor") {
		t.Error("metrics_generator.processor is configured, but no processor may run")
	}
	for proto, port := range map[string]string{"grpc": "TEMPO_OTLP_GRPC_PORT", "http": "TEMPO_OTLP_HTTP_PORT"} {
		// ":port" listens dual-stack, "0.0.0.0:port" IPv4 only.
		want(t, doc, "distributor.receivers.otlp.protocols."+proto+".endpoint", ":"+defaultOf(t, refs, port))
	}
	want(t, doc, "storage.trace.backend", "local")
	data := defaultOf(t, refs, "TEMPO_DATA_DIR")
	for _, p := range []string{"storage.trace.local.path", "storage.trace.wal.path", "live_store.wal.path"} {
		if v := fmt.Sprint(get(t, doc, p)); !strings.HasPrefix(v, data+"/") {
			t.Errorf("%s = %s, outside TEMPO_DATA_DIR (the volume)", p, v)
		}
	}
	wantLoopbackRings(t, doc, "distributor.ring.instance_addr", "live_store.ring.instance_addr",
		"backend_worker.ring.instance_addr", "metrics_generator.ring.instance_addr", "memberlist.advertise_addr")
}

func TestPyroscope(t *testing.T) {
	doc, refs := load(t, byName(t, "pyroscope"), nil)
	want(t, doc, "target", "all")
	want(t, doc, "multitenancy_enabled", true)
	wantDualStack(t, doc)
	want(t, doc, "server.http_listen_port", defaultOf(t, refs, "PYROSCOPE_HTTP_PORT"))
	want(t, doc, "storage.backend", "filesystem")
	want(t, doc, "self_profiling.disable_push", true)
	wantLoopbackRings(t, doc, "distributor.ring.instance_addr", "ingester.lifecycler.address",
		"frontend.instance_addr", "query_scheduler.ring.instance_addr",
		"store_gateway.sharding_ring.instance_addr", "compactor.sharding_ring.instance_addr",
		"overrides_exporter.ring.instance_addr", "memberlist.advertise_addr")
	data := defaultOf(t, refs, "PYROSCOPE_DATA_DIR")
	for _, p := range []string{"storage.filesystem.dir", "pyroscopedb.data_path", "compactor.data_dir"} {
		if v := fmt.Sprint(get(t, doc, p)); !strings.HasPrefix(v, data+"/") {
			t.Errorf("%s = %s, outside PYROSCOPE_DATA_DIR (the volume)", p, v)
		}
	}
}

// TestDockerfiles: each image is the stock one at the tag backends/README.md
// names (Mimir's may take tools from earlier stages: its final stage is the
// stock image), and starts the backend with our config, env expansion on.
func TestDockerfiles(t *testing.T) {
	readme := readFile(t, "backends", "README.md")
	for _, b := range all {
		df := readFile(t, "backends", b.name, "Dockerfile")
		from := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
		if len(from) == 0 || (len(from) > 1 && b.name != "mimir") {
			t.Errorf("%s: want one FROM (the stock image), have %d", b.name, len(from))
			continue
		}
		image := from[len(from)-1][1]
		tag, ok := strings.CutPrefix(image, "grafana/"+b.name+":")
		if !ok || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(tag) {
			t.Errorf("%s: base image %s is not grafana/%s pinned to an exact version", b.name, image, b.name)
		}
		if !strings.Contains(readme, "| `"+b.name+"/` | `"+image+"` |") {
			t.Errorf("%s: backends/README.md does not name %s", b.name, image)
		}

		cmdLine := regexp.MustCompile(`(?m)^CMD\s+(\[.*\])\s*$`).FindStringSubmatch(df)
		if cmdLine == nil {
			t.Errorf("%s: no exec-form CMD", b.name)
			continue
		}
		var cmd []string
		if err := json.Unmarshal([]byte(cmdLine[1]), &cmd); err != nil {
			t.Errorf("%s: CMD is not a JSON array: %v", b.name, err)
			continue
		}
		if !slices.Contains(cmd, "-config.expand-env=true") {
			t.Errorf("%s: CMD %v does not pass -config.expand-env=true", b.name, cmd)
		}
		if b.name == "mimir" && !slices.Contains(cmd, "-target=all,alertmanager") {
			t.Errorf("mimir: CMD %v does not run the Alertmanager (-target=all,alertmanager)", cmd)
		}
		configPath := ""
		for _, arg := range cmd {
			if p, ok := strings.CutPrefix(arg, "-config.file="); ok {
				configPath = p
			}
		}
		if !regexp.MustCompile(`(?m)^COPY\s+` + regexp.QuoteMeta(b.config) + `\s+` + regexp.QuoteMeta(configPath) + `\s*$`).MatchString(df) {
			t.Errorf("%s: the image does not put %s at -config.file=%q", b.name, b.config, configPath)
		}
	}

	// The ruler reads where the image puts the rules. The Alertmanager's
	// file is rendered at start: tests/deploy follows that path.
	mimir := readFile(t, "backends", "mimir", "Dockerfile")
	_, refs := load(t, byName(t, "mimir"), nil)
	for src, env := range map[string]string{"rules/": "MIMIR_RULES_DIR"} {
		dest := strings.TrimSuffix(defaultOf(t, refs, env), "/")
		if !regexp.MustCompile(`(?m)^COPY\s+` + regexp.QuoteMeta(src) + `\s+` + regexp.QuoteMeta(dest) + `/?\s*$`).MatchString(mimir) {
			t.Errorf("mimir: the image does not put %s at %s's default %s", src, env, dest)
		}
	}
}
