// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
)

const (
	defaultEndpoint           = "localhost:4040"
	defaultMaxRequestBodySize = 16 << 20 // 16 MiB
)

// Config configures the Pyroscope receiver. It embeds the standard HTTP
// server settings (endpoint, include_metadata, max_request_body_size, tls,
// auth, ...). max_request_body_size bounds the request body as received and
// again every decompressed profile (Content-Encoding or gzip inside the
// body).
type Config struct {
	confighttp.ServerConfig `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the receiver configuration.
func (cfg *Config) Validate() error {
	if cfg.NetAddr.Endpoint == "" {
		return errors.New("endpoint must not be empty")
	}
	if cfg.MaxRequestBodySize < 0 {
		return errors.New("max_request_body_size must not be negative")
	}
	return nil
}

// maxBodySize returns the effective body size limit.
func (cfg *Config) maxBodySize() int64 {
	if cfg.MaxRequestBodySize <= 0 {
		return defaultMaxRequestBodySize
	}
	return cfg.MaxRequestBodySize
}
