// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package backpressureprocessor // import "github.com/gatewayz/otelcol-gatewayz/components/processor/backpressureprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/xprocessor"

	// The health check only reports what this processor raises in
	// component-status mode, which is behind a feature gate: linked in with
	// the processor, the gate is on by default.
	_ "github.com/gatewayz/otelcol-gatewayz/components/internal/defaultgates"
	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
	"github.com/gatewayz/otelcol-gatewayz/components/processor/backpressureprocessor/internal/metadata"
)

// NewFactory returns the factory of the backpressure processor.
func NewFactory() xprocessor.Factory {
	return xprocessor.NewFactory(metadata.Type, createDefaultConfig,
		xprocessor.WithTraces(createTraces, metadata.TracesStability),
		xprocessor.WithMetrics(createMetrics, metadata.MetricsStability),
		xprocessor.WithLogs(createLogs, metadata.LogsStability),
		xprocessor.WithProfiles(createProfiles, metadata.ProfilesStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		// One default with the Loki push and Pyroscope receivers' own 503s.
		RetryAfter: ingress.RetryAfter,
		// memory_limiter checks every 100 ms and lets data through between
		// two checks that find memory high: a second without any refusal
		// means the pressure is gone, not that one check came out low.
		HealthyAfter: time.Second,
	}
}

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return &tracesProcessor{backpressure: newBackpressure(cfg.(*Config), set), next: next}, nil
}

func createMetrics(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	return &metricsProcessor{backpressure: newBackpressure(cfg.(*Config), set), next: next}, nil
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return &logsProcessor{backpressure: newBackpressure(cfg.(*Config), set), next: next}, nil
}

func createProfiles(_ context.Context, set processor.Settings, cfg component.Config, next xconsumer.Profiles) (xprocessor.Profiles, error) {
	return &profilesProcessor{backpressure: newBackpressure(cfg.(*Config), set), next: next}, nil
}
