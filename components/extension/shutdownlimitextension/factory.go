// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package shutdownlimitextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/shutdownlimitextension"

import (
	"context"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/shutdownlimitextension/internal/metadata"
)

// NewFactory returns the factory of the shutdownlimit extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	// Well under compose's 10 s and Kubernetes' 30 s grace periods.
	return &Config{Timeout: 5 * time.Second}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newLimiter(cfg.(*Config), set.Logger, func() { os.Exit(0) }), nil
}
