package distribution

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// shippedConfig is the part of a collector config these checks read.
type shippedConfig struct {
	Extensions struct {
		HealthCheck struct {
			Endpoint        string `yaml:"endpoint"`
			Path            string `yaml:"path"`
			HTTP            any    `yaml:"http"`
			GRPC            any    `yaml:"grpc"`
			ComponentHealth struct {
				IncludeRecoverable bool   `yaml:"include_recoverable_errors"`
				IncludePermanent   bool   `yaml:"include_permanent_errors"`
				RecoveryDuration   string `yaml:"recovery_duration"`
			} `yaml:"component_health"`
		} `yaml:"health_check"`
	} `yaml:"extensions"`
	Connectors map[string]any `yaml:"connectors"`
	Service    struct {
		Pipelines map[string]struct {
			Receivers  nameList `yaml:"receivers"`
			Processors nameList `yaml:"processors"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

// nameList is a component list, or one ${env:...} that expands to one:
// kept as that single string.
type nameList []string

func (l *nameList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var names []string
	err := n.Decode(&names)
	*l = names
	return err
}

func loadShipped(t *testing.T, name string) shippedConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "collector-configs", name))
	if err != nil {
		t.Fatal(err)
	}
	var c shippedConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// TestHealthCheckTellsTheTruth: in each shipped config, every pipeline a
// receiver feeds starts with backpressure then memory_limiter (so every
// refusal carries a retry delay and reaches the health check), no pipeline
// fed only by connectors refuses (it would drop accepted data), and the
// health check answers on the image's HEALTHCHECK path from component
// status, counting recoverable errors (refusals) but not permanent ones,
// in the layout that loads whether or not its feature gate is on.
func TestHealthCheckTellsTheTruth(t *testing.T) {
	df, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	probe := regexp.MustCompile(`HEALTHCHECK[^\n]*(?:\\\n[^\n]*)*http://127\.0\.0\.1:13133(/\S*)`).FindSubmatch(df)
	if probe == nil {
		t.Fatal("the Dockerfile's HEALTHCHECK does not call http://127.0.0.1:13133/...")
	}
	for _, name := range []string{"gateway.yaml", "agent.yaml"} {
		c := loadShipped(t, name)
		hc := c.Extensions.HealthCheck
		if hc.Endpoint == "" || hc.Path != string(probe[1]) {
			t.Errorf("%s: health_check answers on %q at %q, the image probes %q", name, hc.Endpoint, hc.Path, probe[1])
		}
		if hc.HTTP != nil || hc.GRPC != nil {
			t.Errorf("%s: health_check uses the http/grpc layout, which does not load with --feature-gates=-extension.healthcheck.useComponentStatus", name)
		}
		if !hc.ComponentHealth.IncludeRecoverable || hc.ComponentHealth.IncludePermanent || hc.ComponentHealth.RecoveryDuration == "" {
			t.Errorf("%s: component_health %+v, want recoverable errors counted after a recovery_duration, permanent ones not", name, hc.ComponentHealth)
		}
		for id, p := range c.Service.Pipelines {
			fromReceiver := slices.ContainsFunc(p.Receivers, func(r string) bool {
				_, isConnector := c.Connectors[r]
				return !isConnector
			})
			switch {
			case fromReceiver && (len(p.Processors) < 2 || p.Processors[0] != "backpressure" || p.Processors[1] != "memory_limiter"):
				t.Errorf("%s: pipeline %s (receivers %v) has processors %v, want [backpressure, memory_limiter, ...]", name, id, p.Receivers, p.Processors)
			case !fromReceiver && (slices.Contains(p.Processors, "memory_limiter") || slices.Contains(p.Processors, "backpressure")):
				t.Errorf("%s: pipeline %s is fed by connectors only but refuses data (%v)", name, id, p.Processors)
			}
		}
	}
}
