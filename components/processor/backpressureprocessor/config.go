// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package backpressureprocessor // import "github.com/gatewayz/otelcol-gatewayz/components/processor/backpressureprocessor"

import (
	"errors"
	"time"
)

// Config of the backpressure processor.
type Config struct {
	// RetryAfter is the delay a refused client is told to wait: RetryInfo's
	// retry_delay, which the OTLP receiver turns into `Retry-After` (whole
	// seconds) and the Loki push and Pyroscope receivers send as well.
	RetryAfter time.Duration `mapstructure:"retry_after"`

	// HealthyAfter is how long the pipeline must refuse nothing before the
	// processor reports StatusOK again.
	HealthyAfter time.Duration `mapstructure:"healthy_after"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate refuses a delay that the HTTP header cannot carry and a hold
// that would report every single request.
func (cfg *Config) Validate() error {
	var errs []error
	// Retry-After is whole seconds: anything shorter would be sent as 0,
	// which tells a client to retry at once.
	if cfg.RetryAfter < time.Second {
		errs = append(errs, errors.New("retry_after must be at least 1s"))
	}
	if cfg.RetryAfter%time.Second != 0 {
		errs = append(errs, errors.New("retry_after must be whole seconds (Retry-After carries seconds)"))
	}
	if cfg.HealthyAfter <= 0 {
		errs = append(errs, errors.New("healthy_after must be positive"))
	}
	return errors.Join(errs...)
}
