// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package profilesgate

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/featuregate"
)

func gateEnabled(t *testing.T, reg *featuregate.Registry) bool {
	t.Helper()
	var enabled, found bool
	reg.VisitAll(func(g *featuregate.Gate) {
		if g.ID() == GateID {
			enabled, found = g.IsEnabled(), true
		}
	})
	require.True(t, found, "gate %s is not registered", GateID)
	return enabled
}

func TestGateOnAfterImport(t *testing.T) {
	// Registered alpha, so off unless something turned it on: our init.
	assert.True(t, gateEnabled(t, featuregate.GlobalRegistry()))
}

// The collector parses --feature-gates into the global registry after every
// init: an explicit opt-out must still switch the gate off.
func TestCommandLineOptOutWins(t *testing.T) {
	reg := featuregate.GlobalRegistry()
	t.Cleanup(func() { require.NoError(t, reg.Set(GateID, true)) })
	fs := flag.NewFlagSet("otelcol", flag.ContinueOnError)
	reg.RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"--feature-gates=-" + GateID}))
	assert.False(t, gateEnabled(t, reg))
}

func TestEnableWithoutTheGate(t *testing.T) {
	// A release without the gate: nothing to do, no error.
	require.NoError(t, enable(featuregate.NewRegistry()))

	reg := featuregate.NewRegistry()
	reg.MustRegister(GateID, featuregate.StageAlpha)
	require.NoError(t, enable(reg))
	assert.True(t, gateEnabled(t, reg))
}
