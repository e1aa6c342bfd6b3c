// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lz4compressionextension

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/lz4compressionextension/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id      component.ID
		want    component.Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: &Config{BlockSize: "64KiB"}},
		{id: component.NewIDWithName(metadata.Type, "large"), want: &Config{BlockSize: "4MiB"}},
		{id: component.NewIDWithName(metadata.Type, "bad"), wantErr: `block_size must be one of 64KiB, 256KiB, 1MiB or 4MiB, got "128KiB"`},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			if tt.wantErr != "" {
				assert.EqualError(t, confmap.Validate(cfg), tt.wantErr)
				return
			}
			require.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.want, cfg)
		})
	}
}
