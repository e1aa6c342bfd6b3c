package distribution

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// envDefault is ${env:NAME:-default}: a config value a user may override.
var envDefault = regexp.MustCompile(`^\$\{env:[A-Z0-9_]+:-(.*)\}$`)

// TestDebugEndpointsLoopbackByDefault: zPages and pprof (where a config
// enables them) show a process's internals, so unless a user moves them
// they listen on loopback only.
func TestDebugEndpointsLoopbackByDefault(t *testing.T) {
	configs, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "collector-configs", "*.yaml"))
	if err != nil || len(configs) == 0 {
		t.Fatalf("no configs in collector-configs/: %v", err)
	}
	for _, path := range configs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Extensions map[string]struct {
				Endpoint string `yaml:"endpoint"`
			} `yaml:"extensions"`
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for id, ext := range cfg.Extensions {
			kind, _, _ := strings.Cut(id, "/")
			if kind != "zpages" && kind != "pprof" {
				continue
			}
			endpoint := ext.Endpoint
			if m := envDefault.FindStringSubmatch(endpoint); m != nil {
				endpoint = m[1]
			}
			host, _, err := net.SplitHostPort(endpoint)
			ip := net.ParseIP(host)
			if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
				t.Errorf("%s: extension %s listens on %q by default, want a loopback address", filepath.Base(path), id, ext.Endpoint)
			}
		}
	}
}
