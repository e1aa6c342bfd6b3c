// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lz4compressionextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/lz4compressionextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/lz4compressionextension/internal/metadata"
)

// NewFactory returns the factory of the lz4compression extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{BlockSize: "64KiB"}
}

func createExtension(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newCompressor(blockSizes[cfg.(*Config).BlockSize]), nil
}
