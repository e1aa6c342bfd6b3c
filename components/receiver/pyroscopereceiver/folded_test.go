// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
)

func TestDecodeFoldedCPU(t *testing.T) {
	in := "main;work;compute 42\r\n" +
		"\n" +
		"main;work 8\n" +
		"   \n" +
		"main;work;compute 10\n" + // duplicate stack: summed
		"main;frame with spaces;leaf 5\n" +
		"main;idle 0" // no trailing newline
	p, err := decodeFolded([]byte(in), cpuFolded, 100)
	require.NoError(t, err)
	require.Len(t, p.SampleType, 2)
	assert.Equal(t, "samples", p.SampleType[0].Type)
	assert.Equal(t, "count", p.SampleType[0].Unit)
	assert.Equal(t, "cpu", p.SampleType[1].Type)
	assert.Equal(t, "nanoseconds", p.SampleType[1].Unit)
	assert.Equal(t, "cpu", p.PeriodType.Type)
	assert.Equal(t, "nanoseconds", p.PeriodType.Unit)
	assert.Equal(t, int64(10_000_000), p.Period)
	require.NoError(t, p.CheckValid())

	fg := pprofcompare.FromPprof(p)
	assert.Equal(t, map[string]int64{
		"main;work;compute":           52,
		"main;work":                   8,
		"main;frame with spaces;leaf": 5,
		"main;idle":                   0,
	}, fg["samples/count"])
	assert.Equal(t, map[string]int64{
		"main;work;compute":           520_000_000,
		"main;work":                   80_000_000,
		"main;frame with spaces;leaf": 50_000_000,
		"main;idle":                   0,
	}, fg["cpu/nanoseconds"])
	// Leaf first, shared locations for shared frames.
	assert.Equal(t, "compute", p.Sample[0].Location[0].Line[0].Function.Name)
	assert.Equal(t, "main", p.Sample[0].Location[2].Line[0].Function.Name)
	assert.Same(t, p.Sample[0].Location[2], p.Sample[1].Location[1])
	assert.Len(t, p.Function, 6) // compute, work, main, leaf, frame with spaces, idle
}

func TestDecodeFoldedSampleRate(t *testing.T) {
	p, err := decodeFolded([]byte("a;b 3\n"), cpuFolded, 99)
	require.NoError(t, err)
	assert.Equal(t, int64(10_101_010), p.Period)
	assert.Equal(t, []int64{3, 30_303_030}, p.Sample[0].Value)

	p, err = decodeFolded([]byte("a;b 3\n"), cpuFolded, 0) // default 100 Hz
	require.NoError(t, err)
	assert.Equal(t, []int64{3, 30_000_000}, p.Sample[0].Value)
}

func TestDecodeFoldedNonCPU(t *testing.T) {
	p, err := decodeFolded([]byte("main;alloc 4096\nmain;alloc 1024\n"), suffixTypes["alloc_space"], 100)
	require.NoError(t, err)
	require.Len(t, p.SampleType, 1)
	assert.Equal(t, "alloc_space", p.SampleType[0].Type)
	assert.Equal(t, "bytes", p.SampleType[0].Unit)
	assert.Equal(t, "space", p.PeriodType.Type)
	// Non-zero, or Pyroscope's OTLP path finds no profile name.
	assert.Equal(t, int64(1), p.Period)
	require.Len(t, p.Sample, 1)
	assert.Equal(t, []int64{5120}, p.Sample[0].Value)
}

func TestDecodeFoldedErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "folded profile is empty: no stack lines"},
		{"\n\n  \r\n", "folded profile is empty: no stack lines"},
		{"a;b;c", `folded line 1: missing value (expected "frame;frame value")`},
		{"a;b 1\na;b x", `folded line 2: invalid value "x" (expected a non-negative integer)`},
		{"a;b -1", `folded line 1: invalid value "-1" (expected a non-negative integer)`},
		{"a;b +5", `folded line 1: invalid value "+5" (expected a non-negative integer)`},
		{"a;b 1.5", `folded line 1: invalid value "1.5" (expected a non-negative integer)`},
		{"a;b 99999999999999999999", `folded line 1: invalid value "99999999999999999999" (expected a non-negative integer)`},
		{" 5", "folded line 1: empty stack"},
		{"a 9223372036854775807\na 1", "folded line 2: value overflows int64"},
		{"a 9223372036854775807", "folded value 9223372036854775807 at sampleRate 100 overflows int64 nanoseconds"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := decodeFolded([]byte(tt.in), cpuFolded, 100)
			require.EqualError(t, err, tt.want)
		})
	}
}
