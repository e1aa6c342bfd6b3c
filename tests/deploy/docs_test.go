// Package deploy checks the shipped deployments without running them: the
// docker compose stack (loaded with compose-go, the loader docker compose
// itself uses) and the Railway service folders, against the README and
// docs/railway.md that tell people how to run them.
package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text under the markdown heading (any level) up to the
// next heading of the same or a higher level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		level := len(l) - len(strings.TrimLeft(l, "#"))
		if level == 0 || strings.TrimSpace(l[level:]) != heading {
			continue
		}
		var out []string
		for _, next := range lines[i+1:] {
			nl := len(next) - len(strings.TrimLeft(next, "#"))
			if nl > 0 && nl <= level && strings.HasPrefix(next[nl:], " ") {
				break
			}
			out = append(out, next)
		}
		return strings.Join(out, "\n")
	}
	t.Fatalf("no heading %q", heading)
	return ""
}

// tableRows returns the cells of every markdown table row in text, header
// and separator rows left out.
func tableRows(text string) [][]string {
	var rows [][]string
	var inTable bool
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if !inTable { // the header
			inTable = true
			continue
		}
		if strings.Trim(cells[0], "-: ") == "" {
			continue
		}
		rows = append(rows, cells)
	}
	return rows
}

var codeName = regexp.MustCompile("^`([A-Za-z_][A-Za-z0-9_]*)`")

// documentedVars are the variables with a row of their own: the README's
// one Environment variables table, and the per-service tables of
// docs/railway.md (Railway's own and Grafana's GF_* settings).
func documentedVars(t *testing.T) (readme, railway map[string]bool) {
	t.Helper()
	collect := func(text string) map[string]bool {
		names := map[string]bool{}
		for _, row := range tableRows(text) {
			if m := codeName.FindStringSubmatch(row[0]); m != nil {
				names[m[1]] = true
			}
		}
		return names
	}
	readme = collect(section(t, readRepoFile(t, "README.md"), "Environment variables"))
	railway = collect(readRepoFile(t, "docs/railway.md"))
	return readme, railway
}

// backendContract reads one setting of every backend from the environment
// contract in backends/README.md: backend (lower case) → the default of
// <BACKEND>_<suffix>, e.g. backendContract(t, "HTTP_PORT")["mimir"].
func backendContract(t *testing.T, suffix string) map[string]string {
	t.Helper()
	re := regexp.MustCompile("^`([A-Z]+)_" + suffix + "`$")
	out := map[string]string{}
	for _, row := range tableRows(section(t, readRepoFile(t, "backends/README.md"), "Environment contract")) {
		if len(row) < 3 {
			continue
		}
		if m := re.FindStringSubmatch(row[1]); m != nil {
			out[strings.ToLower(m[1])] = strings.Trim(row[2], "`")
		}
	}
	for _, b := range []string{"mimir", "loki", "tempo", "pyroscope"} {
		if out[b] == "" {
			t.Fatalf("backends/README.md's environment contract has no %s_%s default", strings.ToUpper(b), suffix)
		}
	}
	return out
}
