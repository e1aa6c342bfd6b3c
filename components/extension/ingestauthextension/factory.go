// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package ingestauthextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/ingestauthextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/ingestauthextension/internal/metadata"
)

// NewFactory returns the factory of the ingestauth extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{}
}

func createExtension(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newAuthenticator(cfg.(*Config)), nil
}
