// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"errors"
	"fmt"
	"regexp"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"
)

const (
	defaultEndpoint = "localhost:3100"
	// defaultMaxRequestBodySize bounds both the request body as sent and
	// the body after Content-Encoding / snappy decompression.
	defaultMaxRequestBodySize = 10 << 20 // 10 MiB
)

// defaultServiceNameLabels lists the stream labels tried, in order, for
// service.name: the first one present in a stream wins.
var defaultServiceNameLabels = []string{"service_name", "service", "app", "application", "job"}

// knownCompressionAlgorithms are the Content-Encoding values confighttp can
// decode (the empty string means "not compressed").
var knownCompressionAlgorithms = map[string]bool{
	"": true, "gzip": true, "zstd": true, "zlib": true, "snappy": true,
	"deflate": true, "lz4": true, "x-snappy-framed": true,
}

// labelNameRE is the Prometheus/Loki label name syntax.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Config defines the configuration of the Loki push receiver.
type Config struct {
	// ServerConfig is the HTTP server: endpoint, include_metadata,
	// max_request_body_size, tls, auth, cors, compression_algorithms, ...
	confighttp.ServerConfig `mapstructure:",squash"`

	// ServiceNameLabels are the stream labels that can provide service.name;
	// the first present in a stream wins.
	ServiceNameLabels []string `mapstructure:"service_name_labels"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the receiver configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint must not be empty"))
	}
	if cfg.MaxRequestBodySize < 0 {
		errs = append(errs, fmt.Errorf("max_request_body_size must not be negative, got %d", cfg.MaxRequestBodySize))
	}
	seen := make(map[string]bool, len(cfg.ServiceNameLabels))
	for i, l := range cfg.ServiceNameLabels {
		if !labelNameRE.MatchString(l) {
			errs = append(errs, fmt.Errorf("service_name_labels[%d]: %q is not a valid Loki label name", i, l))
			continue
		}
		if seen[l] {
			errs = append(errs, fmt.Errorf("service_name_labels[%d]: %q is listed twice", i, l))
		}
		seen[l] = true
	}
	for _, a := range cfg.CompressionAlgorithms {
		if !knownCompressionAlgorithms[a] {
			errs = append(errs, fmt.Errorf("compression_algorithms: unsupported algorithm %q", a))
		}
	}
	return errors.Join(errs...)
}
