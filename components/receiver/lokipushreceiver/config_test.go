// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	customServer := confighttp.NewDefaultServerConfig()
	customServer.NetAddr.Endpoint = "0.0.0.0:3101"
	customServer.IncludeMetadata = true
	customServer.MaxRequestBodySize = 5 << 20

	tests := []struct {
		id      component.ID
		want    component.Config
		wantErr string
	}{
		{
			id:   component.NewID(metadata.Type),
			want: createDefaultConfig(),
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			want: &Config{
				ServerConfig:      customServer,
				ServiceNameLabels: []string{"service", "app"},
			},
		},
		{
			id:      component.NewIDWithName(metadata.Type, "invalid_label"),
			wantErr: `service_name_labels[0]: "service-name" is not a valid Loki label name`,
		},
		{
			id:      component.NewIDWithName(metadata.Type, "duplicate_label"),
			wantErr: `service_name_labels[1]: "app" is listed twice`,
		},
		{
			id:      component.NewIDWithName(metadata.Type, "negative_size"),
			wantErr: "max_request_body_size must not be negative, got -1",
		},
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

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "localhost:3100", cfg.NetAddr.Endpoint)
	assert.Equal(t, int64(10<<20), cfg.MaxRequestBodySize)
	assert.Equal(t, []string{"service_name", "service", "app", "application", "job"}, cfg.ServiceNameLabels)
	assert.False(t, cfg.IncludeMetadata)
	require.NoError(t, cfg.Validate())
}

func TestValidateConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = ""
	cfg.CompressionAlgorithms = []string{"gzip", "brotli"}
	assert.EqualError(t, cfg.Validate(), "endpoint must not be empty\ncompression_algorithms: unsupported algorithm \"brotli\"")
}
