// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadConfig(t *testing.T) {
	cfg := loadConfig(t, "")
	require.NoError(t, cfg.Validate())
	sc := &cfg.ScrapeConfigs[0]
	// Prometheus's defaults.
	assert.Equal(t, time.Minute, sc.interval(cfg))
	assert.Equal(t, 10*time.Second, sc.timeout(cfg))
	assert.Equal(t, "http", sc.scheme())
	assert.Equal(t, "/metrics", sc.metricsPath())
	assert.True(t, sc.honorTimestamps())
	assert.Equal(t, defaultMaxPointsPerRequest, cfg.MaxPointsPerRequest)

	full := loadConfig(t, "full")
	require.NoError(t, full.Validate())
	assert.Equal(t, 1000, full.MaxPointsPerRequest)
	app, redis := &full.ScrapeConfigs[0], &full.ScrapeConfigs[1]
	assert.Equal(t, 10*time.Second, app.interval(full))
	assert.Equal(t, 2*time.Second, app.timeout(full))
	assert.Equal(t, "https", app.scheme())
	assert.Equal(t, "/prometheus/metrics", app.metricsPath())
	assert.True(t, app.HonorLabels)
	assert.False(t, app.honorTimestamps())
	assert.Equal(t, []string{"api-1:8000", "api-2:8000"}, app.StaticConfigs[0].Targets)
	assert.Equal(t, map[string]string{"team": "gateway"}, app.StaticConfigs[0].Labels)
	// The receiver-wide interval and timeout, as Prometheus's global.
	assert.Equal(t, 30*time.Second, redis.interval(full))
	assert.Equal(t, 5*time.Second, redis.timeout(full))
}

func TestTimeoutCappedAtInterval(t *testing.T) {
	cfg := &Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{
		JobName: "app", ScrapeInterval: 2 * time.Second,
		StaticConfigs: []StaticConfig{{Targets: []string{"a:1"}}},
	}}}
	require.NoError(t, cfg.Validate())
	assert.Equal(t, 2*time.Second, cfg.ScrapeConfigs[0].timeout(cfg))
}

func TestConfigErrors(t *testing.T) {
	target := []StaticConfig{{Targets: []string{"a:1"}}}
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no jobs":       {Config{MaxPointsPerRequest: 1}, "scrape_configs must list at least one job"},
		"no points":     {Config{ScrapeConfigs: []ScrapeConfig{{JobName: "a", StaticConfigs: target}}}, "max_points_per_request must be positive"},
		"no name":       {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{StaticConfigs: target}}}, "scrape_configs[0]: job_name must not be empty"},
		"same name":     {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{JobName: "a", StaticConfigs: target}, {JobName: "a", StaticConfigs: target}}}, `scrape_configs[1]: job_name "a" is used twice`},
		"scheme":        {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{JobName: "a", Scheme: "ftp", StaticConfigs: target}}}, `job "a": scheme must be http or https, not "ftp"`},
		"path":          {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{JobName: "a", MetricsPath: "metrics", StaticConfigs: target}}}, `job "a": metrics_path "metrics" must start with /`},
		"timeout":       {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{JobName: "a", ScrapeInterval: time.Second, ScrapeTimeout: 2 * time.Second, StaticConfigs: target}}}, `job "a": scrape_timeout 2s is longer than scrape_interval 1s`},
		"no targets":    {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{JobName: "a"}}}, `job "a": static_configs must list at least one target`},
		"empty targets": {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{JobName: "a", StaticConfigs: []StaticConfig{{}}}}}, `job "a": a static_configs entry has no targets`},
		"no port":       {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{JobName: "a", StaticConfigs: []StaticConfig{{Targets: []string{"api"}}}}}}, `job "a": target "api" is not host:port`},
		"label name":    {Config{MaxPointsPerRequest: 1, ScrapeConfigs: []ScrapeConfig{{JobName: "a", StaticConfigs: []StaticConfig{{Targets: []string{"a:1"}, Labels: map[string]string{"__x": "1"}}}}}}, `job "a": label name "__x" is not valid`},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
