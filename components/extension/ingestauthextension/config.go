// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package ingestauthextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/ingestauthextension"

import (
	"errors"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"
)

// Config of the ingestauth extension.
type Config struct {
	// Token every request must present as `Authorization: Bearer <token>`.
	// Null or empty: authentication is off and every request passes.
	// A pointer so that the config can write "no token" as null: an empty
	// ${env:...:-} default cannot be documented as a default value.
	Token *configopaque.String `mapstructure:"token"`

	// AllowTenantOverride keeps a sender's own X-Scope-OrgID when a token is
	// set. Off, an authenticated sender cannot write into another tenant:
	// the header is dropped and the exporters' default tenant applies.
	// Without a token it has no effect (the header is always kept).
	AllowTenantOverride bool `mapstructure:"allow_tenant_override"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate refuses tokens that no client could send in a header.
func (cfg *Config) Validate() error {
	tok := cfg.token()
	if tok != strings.TrimSpace(tok) {
		return errors.New("token must not start or end with white space")
	}
	for _, c := range tok {
		if c < 0x21 || c > 0x7e {
			return errors.New("token must be printable ASCII without spaces")
		}
	}
	return nil
}

func (cfg *Config) token() string {
	if cfg.Token == nil {
		return ""
	}
	return string(*cfg.Token)
}
