package distribution

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// readmeDefaults maps each variable of the README's environment table to
// its "default" cell.
func readmeDefaults(t *testing.T) map[string]string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| *`([A-Z][A-Z0-9_]*)` *\\| *([^|]*)\\|")
	defaults := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			defaults[m[1]] = m[2]
		}
	}
	return defaults
}

// TestEnvDefaultsAgree: a variable read in several places (YAML cannot
// splice an anchor into a string, so some are) has one default per config
// file, and the README's default cell names it, so the documented default
// is the one a user gets.
func TestEnvDefaultsAgree(t *testing.T) {
	root := harness.RepoRoot()
	documented := readmeDefaults(t)
	configs, _ := filepath.Glob(filepath.Join(root, "collector-configs", "*.yaml"))
	if len(configs) == 0 {
		t.Fatal("no collector configs found")
	}
	for _, f := range configs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		seen := map[string]string{}
		for _, m := range envRef.FindAllStringSubmatch(string(b), -1) {
			name, def := m[1], m[2]
			if prev, ok := seen[name]; ok && prev != def {
				t.Errorf("%s reads %s with two defaults: %q and %q", rel, name, prev, def)
			}
			seen[name] = def
		}
		for name, def := range seen {
			cell, ok := documented[name]
			if !ok {
				continue // TestEveryEnvVarIsDocumented reports it
			}
			if !strings.Contains(cell, "`"+def+"`") {
				t.Errorf("%s: %s defaults to %q, but the README's default is %s", rel, name, def, strings.TrimSpace(cell))
			}
		}
	}
}
