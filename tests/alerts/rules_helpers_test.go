// Package alerts checks the alert rules (backends/mimir/rules) and their
// routing (backends/mimir/alertmanager.yaml) with the real tools: promtool,
// amtool, a Prometheus evaluating the rules against the gateway's own
// output, and an Alertmanager mailing a local SMTP server.
package alerts

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

const (
	// The Mimir ruler's local storage reads <dir>/<tenant id>/*.yaml.
	rulesDir      = "backends/mimir/rules/anonymous"
	ruleTestsDir  = "backends/mimir/rules-tests"
	groupsPerFile = 1
)

// The four groups the old stack had, one namespace (file) each.
var wantGroups = []string{"service_health", "api_performance", "provider_health", "infrastructure"}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	// Group and File say where the rule is.
	Group, File string `yaml:"-"`
}

// ruleFiles are the rule files' absolute paths.
func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(harness.RepoRoot(), rulesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no rule files in %s", rulesDir)
	}
	return files
}

func parseRules(t *testing.T, path string) []rule {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var rules []rule
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			r.Group, r.File = g.Name, filepath.Base(path)
			rules = append(rules, r)
		}
	}
	return rules
}

// alertRules are every alerting rule of every rule file.
func alertRules(t *testing.T) []rule {
	t.Helper()
	var all []rule
	for _, f := range ruleFiles(t) {
		for _, r := range parseRules(t, f) {
			if r.Alert != "" {
				all = append(all, r)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Alert < all[j].Alert })
	return all
}

var forLine = regexp.MustCompile(`(?m)^(\s+for:\s*)\S+\s*$`)

// fastRuleFiles copies the rule files into a temporary directory with every
// `for:` set to forValue: minutes of pending would make a test minutes long.
// Nothing else changes (checked below): expressions, labels, annotations
// and routing stay the repository's.
func fastRuleFiles(t *testing.T, forValue string) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for _, f := range ruleFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fast := forLine.ReplaceAll(b, []byte("${1}"+forValue))
		dst := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(dst, fast, 0o600); err != nil {
			t.Fatal(err)
		}
		orig, copied := parseRules(t, f), parseRules(t, dst)
		if len(orig) != len(copied) {
			t.Fatalf("%s: the for: rewrite changed the rules", f)
		}
		for i := range orig {
			o, c := orig[i], copied[i]
			if c.For != forValue && o.For != "" {
				t.Fatalf("%s %s: for: is %q after the rewrite", f, o.Alert, c.For)
			}
			o.For, c.For = "", ""
			if fmt.Sprint(o) != fmt.Sprint(c) {
				t.Fatalf("%s %s: the for: rewrite changed more than for:", f, o.Alert)
			}
		}
		out = append(out, dst)
	}
	return out
}

// run runs a tool and returns its combined output, failing the test with it
// when the tool exits non-zero.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := runErr(bin, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(bin string, args ...string) (string, error) {
	var buf bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir = harness.RepoRoot()
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}
