// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/component"
)

const (
	// Prometheus's own defaults, so a scrape config moved here from the
	// prometheus receiver behaves as it did there.
	defaultScrapeInterval = time.Minute
	defaultScrapeTimeout  = 10 * time.Second
	defaultMetricsPath    = "/metrics"
	defaultScheme         = "http"
	// A scrape is handed on in requests of about this many data points, so
	// the receiver never holds a whole large scrape as pdata at once.
	defaultMaxPointsPerRequest = 4096
)

// Config configures the receiver. Its keys are the subset of Prometheus's
// scrape configuration that static targets need, under the same names.
type Config struct {
	// ScrapeInterval and ScrapeTimeout apply to every job that sets none
	// (Prometheus's `global`).
	ScrapeInterval time.Duration `mapstructure:"scrape_interval"`
	ScrapeTimeout  time.Duration `mapstructure:"scrape_timeout"`
	// MaxPointsPerRequest bounds the data points of one request to the
	// next consumer; a scrape larger than that is handed on in parts, each
	// metric whole.
	MaxPointsPerRequest int            `mapstructure:"max_points_per_request"`
	ScrapeConfigs       []ScrapeConfig `mapstructure:"scrape_configs"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ScrapeConfig is one Prometheus scrape job.
type ScrapeConfig struct {
	JobName        string        `mapstructure:"job_name"`
	Scheme         string        `mapstructure:"scheme"`
	MetricsPath    string        `mapstructure:"metrics_path"`
	ScrapeInterval time.Duration `mapstructure:"scrape_interval"`
	ScrapeTimeout  time.Duration `mapstructure:"scrape_timeout"`
	// HonorLabels keeps a scraped label that collides with a target label;
	// otherwise the scraped one is kept as exported_<name>.
	HonorLabels bool `mapstructure:"honor_labels"`
	// HonorTimestamps uses the timestamps the target exposes (default
	// true); otherwise every sample gets the scrape's time.
	HonorTimestamps *bool          `mapstructure:"honor_timestamps"`
	StaticConfigs   []StaticConfig `mapstructure:"static_configs"`

	_ struct{}
}

// StaticConfig lists targets (host:port) and the labels added to every
// series scraped from them.
type StaticConfig struct {
	Targets []string          `mapstructure:"targets"`
	Labels  map[string]string `mapstructure:"labels"`

	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	if cfg.MaxPointsPerRequest <= 0 {
		return errors.New("max_points_per_request must be positive")
	}
	if len(cfg.ScrapeConfigs) == 0 {
		return errors.New("scrape_configs must list at least one job")
	}
	jobs := map[string]bool{}
	for i, sc := range cfg.ScrapeConfigs {
		if sc.JobName == "" {
			return fmt.Errorf("scrape_configs[%d]: job_name must not be empty", i)
		}
		if jobs[sc.JobName] {
			return fmt.Errorf("scrape_configs[%d]: job_name %q is used twice", i, sc.JobName)
		}
		jobs[sc.JobName] = true
		if err := sc.validate(cfg); err != nil {
			return fmt.Errorf("job %q: %w", sc.JobName, err)
		}
	}
	return nil
}

func (sc *ScrapeConfig) validate(cfg *Config) error {
	if s := sc.scheme(); s != "http" && s != "https" {
		return fmt.Errorf("scheme must be http or https, not %q", s)
	}
	if p := sc.MetricsPath; p != "" && !strings.HasPrefix(p, "/") {
		return fmt.Errorf("metrics_path %q must start with /", p)
	}
	interval, timeout := sc.interval(cfg), sc.timeout(cfg)
	if interval <= 0 || timeout <= 0 {
		return errors.New("scrape_interval and scrape_timeout must be positive")
	}
	if timeout > interval {
		return fmt.Errorf("scrape_timeout %s is longer than scrape_interval %s", timeout, interval)
	}
	if len(sc.StaticConfigs) == 0 {
		return errors.New("static_configs must list at least one target")
	}
	for _, st := range sc.StaticConfigs {
		if len(st.Targets) == 0 {
			return errors.New("a static_configs entry has no targets")
		}
		for _, t := range st.Targets {
			if _, _, err := net.SplitHostPort(t); err != nil {
				return fmt.Errorf("target %q is not host:port: %w", t, err)
			}
		}
		for name, value := range st.Labels {
			if !model.LabelName(name).IsValid() || strings.HasPrefix(name, model.ReservedLabelPrefix) {
				return fmt.Errorf("label name %q is not valid", name)
			}
			if !model.LabelValue(value).IsValid() {
				return fmt.Errorf("label %q has a value that is not valid UTF-8", name)
			}
		}
	}
	return nil
}

func (sc *ScrapeConfig) scheme() string {
	if sc.Scheme == "" {
		return defaultScheme
	}
	return sc.Scheme
}

func (sc *ScrapeConfig) metricsPath() string {
	if sc.MetricsPath == "" {
		return defaultMetricsPath
	}
	return sc.MetricsPath
}

func (sc *ScrapeConfig) interval(cfg *Config) time.Duration {
	if sc.ScrapeInterval != 0 {
		return sc.ScrapeInterval
	}
	if cfg.ScrapeInterval != 0 {
		return cfg.ScrapeInterval
	}
	return defaultScrapeInterval
}

// timeout follows Prometheus: a job without one takes the global timeout,
// capped at its own interval.
func (sc *ScrapeConfig) timeout(cfg *Config) time.Duration {
	if sc.ScrapeTimeout != 0 {
		return sc.ScrapeTimeout
	}
	t := cfg.ScrapeTimeout
	if t == 0 {
		t = defaultScrapeTimeout
	}
	return min(t, sc.interval(cfg))
}

func (sc *ScrapeConfig) honorTimestamps() bool {
	return sc.HonorTimestamps == nil || *sc.HonorTimestamps
}
