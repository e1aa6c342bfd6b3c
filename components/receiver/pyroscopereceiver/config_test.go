// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id      component.ID
		check   func(t *testing.T, cfg *Config)
		wantErr string
	}{
		{
			id: component.NewID(metadata.Type),
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, "localhost:4040", cfg.NetAddr.Endpoint)
				assert.False(t, cfg.IncludeMetadata)
				assert.Equal(t, int64(16<<20), cfg.MaxRequestBodySize)
				assert.Equal(t, 30*time.Second, cfg.WriteTimeout)
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, "0.0.0.0:14040", cfg.NetAddr.Endpoint)
				assert.True(t, cfg.IncludeMetadata)
				assert.Equal(t, int64(4<<20), cfg.MaxRequestBodySize)
				assert.Equal(t, int64(4<<20), cfg.maxBodySize())
			},
		},
		{
			id:      component.NewIDWithName(metadata.Type, "bad_size"),
			wantErr: "max_request_body_size must not be negative",
		},
	}
	for _, tt := range tests {
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
			tt.check(t, cfg.(*Config))
		})
	}
}

func TestValidateEmptyEndpoint(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = ""
	require.EqualError(t, cfg.Validate(), "endpoint must not be empty")
	cfg.MaxRequestBodySize = 0
	assert.Equal(t, int64(defaultMaxRequestBodySize), cfg.maxBodySize())
}
