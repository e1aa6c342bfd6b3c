// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package rejectionsextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/rejectionsextension"

import (
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config of the rejections extension.
type Config struct {
	// Receiver is the value of the `receiver` attribute and log field. A
	// middleware cannot learn which receiver calls it, so each receiver gets
	// its own instance; empty means the instance name (rejections/<name>).
	Receiver string `mapstructure:"receiver"`

	// LogInterval is the shortest time between two log lines for one reason:
	// a client retrying a refused request thousands of times a second must
	// not flood the log.
	LogInterval time.Duration `mapstructure:"log_interval"`

	// Authenticator, when set, makes this extension an authenticator that
	// asks that one and counts its refusals as `unauthenticated`: confighttp
	// answers a failed authentication (401) outside every middleware, so an
	// HTTP receiver names this extension as its `auth` to have them counted.
	// gRPC receivers need not: the stats handler sees Unauthenticated.
	Authenticator component.ID `mapstructure:"authenticator"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate refuses an interval that would log every refusal or never.
func (cfg *Config) Validate() error {
	if cfg.LogInterval <= 0 {
		return errors.New("log_interval must be positive")
	}
	return nil
}
