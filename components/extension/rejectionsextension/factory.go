// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package rejectionsextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/rejectionsextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/rejectionsextension/internal/metadata"
)

const defaultLogInterval = time.Minute

// NewFactory returns the factory of the rejections extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{LogInterval: defaultLogInterval}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newRejections(set, cfg.(*Config))
}
