// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/xreceiver"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver/internal/metadata"
)

// NewFactory creates a factory for the Pyroscope receiver.
func NewFactory() receiver.Factory {
	return xreceiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		xreceiver.WithProfiles(createProfiles, metadata.ProfilesStability),
	)
}

func createDefaultConfig() component.Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = defaultEndpoint
	srv.MaxRequestBodySize = defaultMaxRequestBodySize
	return &Config{ServerConfig: srv}
}

func createProfiles(
	_ context.Context,
	set receiver.Settings,
	cfg component.Config,
	next xconsumer.Profiles,
) (xreceiver.Profiles, error) {
	return newReceiver(cfg.(*Config), set, next)
}
