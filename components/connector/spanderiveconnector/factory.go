// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector/internal/metadata"
)

// NewFactory returns the factory of the spanderive connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(metadata.Type, createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability))
}

// The defaults are the stock connectors' (span_metrics, service_graph,
// delta_to_cumulative) at v0.158.0, so a setting left out behaves as it
// did there.
func createDefaultConfig() component.Config {
	return &Config{
		SpanMetrics: SpanMetricsConfig{
			Buckets: []time.Duration{
				2 * time.Millisecond, 4 * time.Millisecond, 6 * time.Millisecond, 8 * time.Millisecond,
				10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
				400 * time.Millisecond, 800 * time.Millisecond, time.Second, 1400 * time.Millisecond,
				2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
			},
			Exemplars:                ExemplarsConfig{MaxPerDataPoint: 5},
			MetricsFlushInterval:     60 * time.Second,
			ResourceMetricsCacheSize: 1000,
		},
		ServiceGraph: ServiceGraphConfig{
			Buckets: []time.Duration{
				2 * time.Millisecond, 4 * time.Millisecond, 6 * time.Millisecond, 8 * time.Millisecond,
				10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
				400 * time.Millisecond, 800 * time.Millisecond, time.Second, 1400 * time.Millisecond,
				2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
			},
			VirtualNodePeerAttributes: []string{"peer.service", "db.name", "db.system"},
			DatabaseNameAttributes:    []string{"db.name"},
			Store:                     StoreConfig{TTL: 2 * time.Second, MaxItems: 1000},
			MetricsFlushInterval:      60 * time.Second,
			StoreExpirationLoop:       2 * time.Second,
			StaleSeries:               15 * time.Minute,
			CacheLoop:                 time.Minute,
		},
		Tokens: TokensConfig{
			InputAttribute:  "gen_ai.usage.input_tokens",
			OutputAttribute: "gen_ai.usage.output_tokens",
			Attributes: []TokenAttribute{
				{Key: "gen_ai.system", DefaultValue: "unknown"},
				{Key: "gen_ai.request.model", DefaultValue: "unknown"},
			},
			MaxStale: 5 * time.Minute,
		},
	}
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	return newConnector(set.TelemetrySettings, cfg.(*Config), next)
}
