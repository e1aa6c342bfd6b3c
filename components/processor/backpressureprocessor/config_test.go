// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package backpressureprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
	"github.com/gatewayz/otelcol-gatewayz/components/processor/backpressureprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, tt := range []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: &Config{RetryAfter: ingress.RetryAfter, HealthyAfter: time.Second}},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: &Config{RetryAfter: 10 * time.Second, HealthyAfter: 3 * time.Second}},
		{id: component.NewIDWithName(metadata.Type, "subsecond"), wantErr: "retry_after must be at least 1s"},
		{id: component.NewIDWithName(metadata.Type, "fraction"), wantErr: "retry_after must be whole seconds"},
		{id: component.NewIDWithName(metadata.Type, "nohold"), wantErr: "healthy_after must be positive"},
	} {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}
