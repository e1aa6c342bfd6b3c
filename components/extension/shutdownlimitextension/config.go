// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package shutdownlimitextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/shutdownlimitextension"

import (
	"errors"
	"net/url"
	"time"
)

// Config of the shutdownlimit extension.
type Config struct {
	// Timeout is the longest a stop may take, from the start of the
	// shutdown to the exit.
	Timeout time.Duration `mapstructure:"timeout"`

	// MetricsURL is the collector's own Prometheus endpoint, read when the
	// timeout runs out to log each exporter's queue size. Empty: the exit
	// is logged without the sizes.
	MetricsURL string `mapstructure:"metrics_url"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate refuses a timeout that would end every stop at once, and a
// metrics URL that cannot be fetched.
func (cfg *Config) Validate() error {
	if cfg.Timeout <= 0 {
		return errors.New("timeout must be positive")
	}
	if cfg.MetricsURL != "" {
		u, err := url.Parse(cfg.MetricsURL)
		if err != nil {
			return errors.New("metrics_url: " + err.Error())
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return errors.New("metrics_url must be an http(s) URL with a host")
		}
	}
	return nil
}
