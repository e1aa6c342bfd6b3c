// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package scrubprocessor // import "github.com/gatewayz/otelcol-gatewayz/components/processor/scrubprocessor"

import (
	"errors"
	"fmt"
	"regexp"
)

// Config of the scrub processor.
type Config struct {
	// BlockedKeyPatterns: an attribute whose key matches one has its whole
	// value replaced by ****.
	BlockedKeyPatterns []string `mapstructure:"blocked_key_patterns"`
	// BlockedValues: every match of each, in order, in every string
	// attribute value and log body is replaced by ****.
	BlockedValues []string `mapstructure:"blocked_values"`
	// CaptureGenAIContent keeps GenAI message content; false removes it.
	CaptureGenAIContent bool `mapstructure:"capture_genai_content"`
}

// Validate reports patterns that do not compile.
func (c *Config) Validate() error {
	var errs []error
	for _, list := range []struct {
		name     string
		patterns []string
	}{{"blocked_key_patterns", c.BlockedKeyPatterns}, {"blocked_values", c.BlockedValues}} {
		for _, p := range list.patterns {
			if _, err := regexp.Compile(p); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", list.name, err))
			}
		}
	}
	return errors.Join(errs...)
}
