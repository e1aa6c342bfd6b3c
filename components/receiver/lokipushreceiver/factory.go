// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"context"
	"slices"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver/internal/metadata"
)

// NewFactory creates a factory for the Loki push receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	serverCfg := confighttp.NewDefaultServerConfig()
	serverCfg.NetAddr.Endpoint = defaultEndpoint
	serverCfg.MaxRequestBodySize = defaultMaxRequestBodySize
	return &Config{
		ServerConfig:      serverCfg,
		ServiceNameLabels: slices.Clone(defaultServiceNameLabels),
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(cfg.(*Config), set, next)
}
