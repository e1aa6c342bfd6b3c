package alerts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// TestRuleFilesPassPromtoolCheck runs `promtool check rules` on every rule
// file, the check Prometheus and the Mimir ruler apply when loading them.
func TestRuleFilesPassPromtoolCheck(t *testing.T) {
	promtool := harness.RequireBinary(t, "PROMTOOL_BIN", ".tools/bin/promtool")
	for _, f := range ruleFiles(t) {
		out := run(t, promtool, "check", "rules", f)
		if !strings.Contains(out, "SUCCESS") {
			t.Errorf("promtool check rules %s:\n%s", f, out)
		}
	}
}

// TestRuleUnitTests runs `promtool test rules` on every test file, and
// checks that every alert has a case where it fires and one where it must
// not.
func TestRuleUnitTests(t *testing.T) {
	promtool := harness.RequireBinary(t, "PROMTOOL_BIN", ".tools/bin/promtool")
	tests, err := filepath.Glob(filepath.Join(harness.RepoRoot(), ruleTestsDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Fatalf("no promtool tests in %s", ruleTestsDir)
	}
	args := append([]string{"test", "rules"}, tests...)
	t.Log(run(t, promtool, args...))

	fires, quiet := map[string]bool{}, map[string]bool{}
	tested := map[string]bool{}
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			RuleFiles []string `yaml:"rule_files"`
			Tests     []struct {
				AlertRuleTest []struct {
					Alertname string `yaml:"alertname"`
					ExpAlerts []any  `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, rf := range doc.RuleFiles {
			tested[filepath.Base(rf)] = true
		}
		for _, tc := range doc.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}
	for _, f := range ruleFiles(t) {
		if !tested[filepath.Base(f)] {
			t.Errorf("no promtool test file loads %s", filepath.Base(f))
		}
	}
	for _, r := range alertRules(t) {
		if !fires[r.Alert] {
			t.Errorf("%s: no unit test where it fires", r.Alert)
		}
		if !quiet[r.Alert] {
			t.Errorf("%s: no unit test where it must not fire", r.Alert)
		}
	}
}

// TestRulesCarryRoutingLabelsAndRunbooks checks what routing and the person
// paged rely on: the old stack's groups, one per file, and on every alert
// severity (one the Alertmanager routes), category, component, a summary
// and a runbook line.
func TestRulesCarryRoutingLabelsAndRunbooks(t *testing.T) {
	var groups []string
	for _, f := range ruleFiles(t) {
		var names []string
		for _, r := range parseRules(t, f) {
			if !slices.Contains(names, r.Group) {
				names = append(names, r.Group)
			}
		}
		if len(names) != groupsPerFile || names[0]+".yaml" != filepath.Base(f) {
			t.Errorf("%s: groups %v, want one group named as the file (one namespace per file)", filepath.Base(f), names)
		}
		groups = append(groups, names...)
	}
	for _, g := range wantGroups {
		if !slices.Contains(groups, g) {
			t.Errorf("group %s is missing (have %v)", g, groups)
		}
	}

	alerts := alertRules(t)
	// The old stack's 14, plus queue, refusal, memory-limiter,
	// rejected-request and dropped-delta-point alerts.
	if len(alerts) != 19 {
		t.Errorf("%d alerts, want 19", len(alerts))
	}
	seen := map[string]bool{}
	for _, r := range alerts {
		if seen[r.Alert] {
			t.Errorf("alert %s is defined twice", r.Alert)
		}
		seen[r.Alert] = true
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
		}
		if r.Labels["category"] != r.Group {
			t.Errorf("%s: category %q, want its group %q", r.Alert, r.Labels["category"], r.Group)
		}
		if r.Labels["component"] == "" {
			t.Errorf("%s: no component label", r.Alert)
		}
		for _, a := range []string{"summary", "runbook"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", r.Alert, a)
			}
		}
		if r.For == "" {
			t.Errorf("%s: no for: (a single bad evaluation would page)", r.Alert)
		}
	}
}
