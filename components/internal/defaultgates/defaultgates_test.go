// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package defaultgates

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/featuregate"
)

func gateEnabled(t *testing.T, reg *featuregate.Registry, id string) bool {
	t.Helper()
	var enabled, found bool
	reg.VisitAll(func(g *featuregate.Gate) {
		if g.ID() == id {
			enabled, found = g.IsEnabled(), true
		}
	})
	require.True(t, found, "gate %s is not registered", id)
	return enabled
}

func TestGatesOnAfterImport(t *testing.T) {
	// Both are registered alpha, so off unless something turned them on:
	// our init.
	for _, id := range []string{ProfilesSupport, HealthCheckComponentStatus} {
		assert.True(t, gateEnabled(t, featuregate.GlobalRegistry(), id), id)
	}
}

// The collector parses --feature-gates into the global registry after every
// init: an explicit opt-out must still switch a gate off, and leave the
// others on.
func TestCommandLineOptOutWins(t *testing.T) {
	reg := featuregate.GlobalRegistry()
	for _, id := range Gates {
		t.Run(id, func(t *testing.T) {
			t.Cleanup(func() { require.NoError(t, reg.Set(id, true)) })
			fs := flag.NewFlagSet("otelcol", flag.ContinueOnError)
			reg.RegisterFlags(fs)
			require.NoError(t, fs.Parse([]string{"--feature-gates=-" + id}))
			assert.False(t, gateEnabled(t, reg, id))
			for _, other := range Gates {
				if other != id {
					assert.True(t, gateEnabled(t, reg, other), "turning %s off turned %s off too", id, other)
				}
			}
		})
	}
}

func TestEnableSkipsUnregisteredGates(t *testing.T) {
	// A release without a gate: nothing to do for it, no error.
	require.NoError(t, enable(featuregate.NewRegistry(), Gates))

	reg := featuregate.NewRegistry()
	reg.MustRegister(HealthCheckComponentStatus, featuregate.StageAlpha)
	require.NoError(t, enable(reg, Gates))
	assert.True(t, gateEnabled(t, reg, HealthCheckComponentStatus))
}

func TestEnableAcceptsAStableGate(t *testing.T) {
	// A gate that went stable is on for good; setting it on again is
	// allowed, so a release that stabilised one still starts.
	reg := featuregate.NewRegistry()
	reg.MustRegister(ProfilesSupport, featuregate.StageStable, featuregate.WithRegisterToVersion("v9.9.9"))
	require.NoError(t, enable(reg, Gates))
	assert.True(t, gateEnabled(t, reg, ProfilesSupport))
}
