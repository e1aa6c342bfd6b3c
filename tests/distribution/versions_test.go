package distribution

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// requireLine matches "module version" in a go.mod require block or line.
var requireLine = regexp.MustCompile(`(?m)^\s*(?:require\s+)?(\S+)\s+(v\S+)`)

func goModVersions(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range requireLine.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestOneCollectorRelease: our components and tests are built against the
// same collector modules as the distribution, so a stray `go get` cannot
// quietly move them to another release.
func TestOneCollectorRelease(t *testing.T) {
	root := harness.RepoRoot()
	ours := goModVersions(t, filepath.Join(root, "go.mod"))
	dist := goModVersions(t, filepath.Join(root, "cmd", "otelcol-gatewayz", "go.mod"))
	checked := 0
	for mod, v := range ours {
		if !strings.HasPrefix(mod, "go.opentelemetry.io/collector") &&
			!strings.HasPrefix(mod, "github.com/open-telemetry/opentelemetry-collector-contrib") {
			continue
		}
		checked++
		if dv, ok := dist[mod]; ok && dv != v {
			t.Errorf("%s is %s in go.mod but %s in the distribution", mod, v, dv)
		}
		if v != "v0.158.0" && v != "v1.64.0" {
			t.Errorf("%s %s is not of the pinned release (v0.158.0 / v1.64.0)", mod, v)
		}
	}
	if checked == 0 {
		t.Fatal("no collector modules found in go.mod")
	}
	manifest, err := os.ReadFile(filepath.Join(root, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`gomod: (\S+) (\S+)`).FindAllStringSubmatch(string(manifest), -1) {
		if strings.HasPrefix(m[1], "github.com/gatewayz/") {
			continue
		}
		if m[2] != "v0.158.0" && m[2] != "v1.64.0" {
			t.Errorf("builder-config.yaml pins %s at %s, not the release", m[1], m[2])
		}
	}
}
