package grafana

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// lezerInput is one query for testdata/lezer.mjs.
type lezerInput struct {
	Lang  string `json:"lang"` // "logql" or "traceql"
	Query string `json:"query"`
}

type lezerError struct {
	From int    `json:"from"`
	To   int    `json:"to"`
	Text string `json:"text"`
}

// lezerDir is the node_modules directory with Grafana's grammars:
// $GRAFANA_LEZER_DIR (the Makefile sets it), else where `make grafana-tools`
// installs them.
func lezerDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GRAFANA_LEZER_DIR")
	if dir == "" {
		dir = filepath.Join(harness.RepoRoot(), ".tools", "node", "node_modules")
	}
	for _, pkg := range []string{"lezer-logql", "lezer-traceql"} {
		if _, err := os.Stat(filepath.Join(dir, "@grafana", pkg, "package.json")); err != nil {
			t.Fatalf("Grafana's grammar @grafana/%s is not in %s (GRAFANA_LEZER_DIR): run `make grafana-tools`, or point GRAFANA_LEZER_DIR at a node_modules directory holding it", pkg, dir)
		}
	}
	return dir
}

// parseWithLezer parses every query with Grafana's own LogQL/TraceQL
// grammar (run by Node) and returns each query's error nodes, in order.
func parseWithLezer(t *testing.T, in []lezerInput) [][]lezerError {
	t.Helper()
	if len(in) == 0 {
		return nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run Grafana's query grammars: %v", err)
	}
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "lezer.mjs"))
	cmd.Env = append(os.Environ(), "GRAFANA_LEZER_DIR="+lezerDir(t))
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("testdata/lezer.mjs: %v\n%s", err, stderr.String())
	}
	var out []struct {
		Errors []lezerError `json:"errors"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("testdata/lezer.mjs output %q: %v", stdout.String(), err)
	}
	if len(out) != len(in) {
		t.Fatalf("testdata/lezer.mjs answered %d results for %d queries", len(out), len(in))
	}
	res := make([][]lezerError, len(out))
	for i, o := range out {
		res[i] = o.Errors
	}
	return res
}

// TestLezerReportsErrors keeps the grammar check honest: a broken query of
// each language must be reported, a good one must not.
func TestLezerReportsErrors(t *testing.T) {
	res := parseWithLezer(t, []lezerInput{
		{"logql", `{service_name="gatewayz-api"} |= "x"`},
		{"logql", `{service_name="gatewayz-api" |= "x"`},
		{"traceql", `{ resource.service.name = "gatewayz-api" && status = error }`},
		{"traceql", `{ resource.service.name = }`},
	})
	for i, wantErr := range []bool{false, true, false, true} {
		if got := len(res[i]) > 0; got != wantErr {
			t.Errorf("query %d: errors %v, want errors: %v", i, res[i], wantErr)
		}
	}
}
