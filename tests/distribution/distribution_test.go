// Package distribution checks the built otelcol-gatewayz binary and the
// files that ship it: the component list, the configs, the Dockerfile and
// the README's environment table.
package distribution

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/internal/dockerfile"
)

func TestComponentsListsEveryComponent(t *testing.T) {
	bin := harness.RequireBinary(t, "OTELCOL_BIN", "bin/otelcol-gatewayz")
	out, err := exec.Command(bin, "components").Output()
	if err != nil {
		t.Fatalf("%s components: %v", bin, err)
	}
	var listed struct {
		Receivers  []struct{ Name string }   `yaml:"receivers"`
		Processors []struct{ Name string }   `yaml:"processors"`
		Exporters  []struct{ Name string }   `yaml:"exporters"`
		Connectors []struct{ Name string }   `yaml:"connectors"`
		Extensions []struct{ Name string }   `yaml:"extensions"`
		Providers  []struct{ Scheme string } `yaml:"providers"`
	}
	if err := yaml.Unmarshal(out, &listed); err != nil {
		t.Fatalf("parsing `components` output: %v\n%s", err, out)
	}
	names := func(items []struct{ Name string }) []string {
		var n []string
		for _, i := range items {
			n = append(n, i.Name)
		}
		return n
	}
	var schemes []string
	for _, p := range listed.Providers {
		schemes = append(schemes, p.Scheme)
	}
	want := map[string]struct {
		got  []string
		want []string
	}{
		"receivers": {names(listed.Receivers), []string{"otlp", "prometheus", "promscrape", "file_log", "lokipush", "pyroscope"}},
		"processors": {names(listed.Processors), []string{"memory_limiter", "batch", "resource", "transform", "attributes",
			"filter", "redaction", "tail_sampling", "resource_detection", "delta_to_cumulative", "backpressure"}},
		"connectors": {names(listed.Connectors), []string{"span_metrics", "service_graph", "forward", "signal_to_metrics", "count"}},
		"exporters":  {names(listed.Exporters), []string{"otlp_grpc", "otlp_http", "prometheus_remote_write", "load_balancing", "debug", "file"}},
		"extensions": {names(listed.Extensions), []string{"health_check", "headers_setter", "file_storage", "bearertokenauth", "basicauth", "zpages"}},
		"providers":  {schemes, []string{"env", "file", "yaml"}},
	}
	for kind, w := range want {
		for _, name := range w.want {
			if !slices.Contains(w.got, name) {
				t.Errorf("%s: %q missing from `components` (has %v)", kind, name, w.got)
			}
		}
	}
}

// envRef matches the collector's ${env:NAME} and ${env:NAME:-default}.
var envRef = regexp.MustCompile(`\$\{env:([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}`)

// TestEveryEnvVarIsDocumented: every variable a shipped config reads has a
// row in the README's environment table, and every collector config gives
// each a default.
func TestEveryEnvVarIsDocumented(t *testing.T) {
	root := harness.RepoRoot()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if m := regexp.MustCompile("^\\| *`([A-Z][A-Z0-9_]*)`").FindStringSubmatch(line); m != nil {
			documented[m[1]] = true
		}
	}
	configs, _ := filepath.Glob(filepath.Join(root, "collector-configs", "*.yaml"))
	if len(configs) == 0 {
		t.Fatal("no collector configs found")
	}
	missing := map[string][]string{}
	for _, f := range configs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envRef.FindAllStringSubmatch(string(b), -1) {
			rel, _ := filepath.Rel(root, f)
			if !strings.Contains(m[0], ":-") {
				t.Errorf("%s: %s has no default", rel, m[0])
			}
			if !documented[m[1]] {
				missing[m[1]] = append(missing[m[1]], rel)
			}
		}
	}
	var names []string
	for n := range missing {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Errorf("%s is read by %v but has no row in the README's environment table", n, slices.Compact(missing[n]))
	}
}

func TestDockerfileIsConsistent(t *testing.T) {
	root := harness.RepoRoot()
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	parsed, err := dockerfile.ParseBytes("Dockerfile", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(parsed.Stages) < 2 {
		t.Errorf("want a multi-stage build, found %d stages", len(parsed.Stages))
	}
	for _, img := range parsed.BaseImages() {
		if err := dockerfile.Pinned(img.Ref); err != nil {
			t.Errorf("Dockerfile:%d: %v", img.Line, err)
		}
	}
	// The last USER and the EXPOSE lines of the runtime stage.
	var user string
	var exposed []string
	for _, ins := range parsed.Final().Instructions {
		switch ins.Cmd {
		case "USER":
			user = ins.Rest
		case "EXPOSE":
			exposed = append(exposed, ins.Args...)
		}
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	bin := regexp.MustCompile(`(?m)^BIN\s*:=\s*(\S+)`).FindSubmatch(makefile)
	if bin == nil {
		t.Fatal("Makefile has no BIN")
	}
	if !strings.Contains(df, "RUN make build") {
		t.Error("the build stage does not run `make build`")
	}
	if !regexp.MustCompile(`COPY --from=build \S+/` + regexp.QuoteMeta(string(bin[1])) + `\s`).MatchString(df) {
		t.Errorf("the runtime stage does not copy the binary the Makefile builds (%s)", bin[1])
	}
	cmd := regexp.MustCompile(`--config=/etc/otelcol-gatewayz/(\S+?)"`).FindStringSubmatch(df)
	if cmd == nil {
		t.Fatal("the image does not name a --config")
	}
	if !strings.Contains(df, "COPY collector-configs/ /etc/otelcol-gatewayz/") {
		t.Error("collector-configs/ is not copied to /etc/otelcol-gatewayz/")
	}
	if _, err := os.Stat(filepath.Join(root, "collector-configs", cmd[1])); err != nil {
		t.Errorf("the image's config %s does not exist in collector-configs/: %v", cmd[1], err)
	}
	if user == "" || strings.HasPrefix(user, "root") || user == "0" || strings.HasPrefix(user, "0:") {
		t.Errorf("the image must run as a non-root user, USER is %q", user)
	}
	for _, port := range []string{"4317", "4318", "3100", "4040", "13133"} {
		if !slices.Contains(exposed, port) {
			t.Errorf("port %s is not exposed", port)
		}
	}
	// The memory settings come from one variable only if the image starts
	// the collector through the script that derives them.
	if !strings.Contains(df, `ENTRYPOINT ["/bin/sh", "/etc/otelcol-gatewayz/with-memory-limit.sh", "/usr/local/bin/otelcol-gatewayz"]`) {
		t.Error("the ENTRYPOINT does not start the collector through with-memory-limit.sh")
	}
	if strings.Contains(df, "--feature-gates") {
		t.Error("the entrypoint passes --feature-gates: the binary enables what the shipped configs need")
	}
}
