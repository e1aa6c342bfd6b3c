// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package ingestauthextension

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/gatewayz/otelcol-gatewayz/components/extension/ingestauthextension/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	token := configopaque.String("s3cr3t-token")

	tests := []struct {
		id      component.ID
		want    component.Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig()},
		{
			id:   component.NewIDWithName(metadata.Type, "token"),
			want: &Config{Token: &token, AllowTenantOverride: true},
		},
		// The shipped configs' default: null is "no token", not the text "null".
		{id: component.NewIDWithName(metadata.Type, "null_token"), want: &Config{}},
		{id: component.NewIDWithName(metadata.Type, "padded_token"), wantErr: "token must not start or end with white space"},
		{id: component.NewIDWithName(metadata.Type, "token_with_space"), wantErr: "token must be printable ASCII without spaces"},
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
