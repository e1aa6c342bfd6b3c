// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pprofcompare

import (
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

// twoSamples is main;work {k=v} = 4 and main = 1, as pprof.
func twoSamples() *profile.Profile {
	fnMain := &profile.Function{ID: 1, Name: "main", Filename: "main.go"}
	fnWork := &profile.Function{ID: 2, Name: "work", Filename: "main.go"}
	locMain := &profile.Location{ID: 1, Address: 0x10, Line: []profile.Line{{Function: fnMain, Line: 3}}}
	locWork := &profile.Location{ID: 2, Address: 0x20, Line: []profile.Line{{Function: fnWork, Line: 7}}}
	return &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10,
		Function:   []*profile.Function{fnMain, fnWork},
		Location:   []*profile.Location{locMain, locWork},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{locWork, locMain}, Value: []int64{4}, Label: map[string][]string{"k": {"v"}}},
			{Location: []*profile.Location{locMain}, Value: []int64{1}},
		},
	}
}

// twoSamplesOTLP is twoSamples as OTLP, with time 100 and duration 50.
func twoSamplesOTLP(workValue int64) pprofile.Profiles {
	pd := pprofile.NewProfiles()
	d := pd.Dictionary()
	for _, s := range []string{"", "samples", "count", "cpu", "nanoseconds", "main", "work", "main.go", "k"} {
		d.StringTable().Append(s)
	}
	d.FunctionTable().AppendEmpty()
	d.LocationTable().AppendEmpty()
	d.StackTable().AppendEmpty()
	d.AttributeTable().AppendEmpty()
	for i, name := range []int32{5, 6} {
		f := d.FunctionTable().AppendEmpty()
		f.SetNameStrindex(name)
		f.SetFilenameStrindex(7)
		loc := d.LocationTable().AppendEmpty()
		loc.SetAddress(uint64(0x10 * (i + 1)))
		ln := loc.Lines().AppendEmpty()
		ln.SetFunctionIndex(int32(i + 1))
		ln.SetLine(int64(3 + 4*i))
	}
	d.StackTable().AppendEmpty().LocationIndices().FromRaw([]int32{2, 1})
	d.StackTable().AppendEmpty().LocationIndices().FromRaw([]int32{1})
	kv := d.AttributeTable().AppendEmpty()
	kv.SetKeyStrindex(8)
	kv.Value().SetStr("v")
	prof := pd.ResourceProfiles().AppendEmpty().ScopeProfiles().AppendEmpty().Profiles().AppendEmpty()
	prof.SampleType().SetTypeStrindex(1)
	prof.SampleType().SetUnitStrindex(2)
	prof.PeriodType().SetTypeStrindex(3)
	prof.PeriodType().SetUnitStrindex(4)
	prof.SetPeriod(10)
	prof.SetTime(pcommon.Timestamp(100))
	prof.SetDurationNano(50)
	s := prof.Samples().AppendEmpty()
	s.SetStackIndex(1)
	s.Values().Append(workValue)
	s.AttributeIndices().Append(1)
	s = prof.Samples().AppendEmpty()
	s.SetStackIndex(2)
	s.Values().Append(1)
	return pd
}

func TestSameProfileRendersAlike(t *testing.T) {
	p, pd := twoSamples(), twoSamplesOTLP(4)
	want := Flame{"samples/count": {"main;work {k=v}": 4, "main": 1}}
	assert.Equal(t, want, FromPprof(p))
	assert.Equal(t, want, FromOTLP(pd))
	assert.Equal(t, map[string]int64{"samples/count": 5}, want.Totals())
	assert.Equal(t, map[string]int{"samples/count": 2}, want.StackCounts())
	assert.True(t, want.HasStack("samples/count", ";work {k=v}"))
	assert.False(t, want.HasStack("samples/count", ";idle"))

	fp := PprofFingerprint(p, 100, 50)
	assert.Equal(t, "samples/count: [10 main||main.go|0:3:0] {} = 1\n"+
		"samples/count: [20 work||main.go|0:7:0][10 main||main.go|0:3:0] {k=v} = 4\n"+
		"samples/count: period cpu/nanoseconds 10 time 100 duration 50", fp)
	assert.Equal(t, fp, OTLPFingerprint(pd.Dictionary(), pd.ResourceProfiles().At(0)))
}

func TestDifferenceShows(t *testing.T) {
	p, pd := twoSamples(), twoSamplesOTLP(5)
	want := PprofFingerprint(p, 100, 50)
	got := OTLPFingerprint(pd.Dictionary(), pd.ResourceProfiles().At(0))
	assert.Equal(t, "+ samples/count: [20 work||main.go|0:7:0][10 main||main.go|0:3:0] {k=v} = 5\n"+
		"- samples/count: [20 work||main.go|0:7:0][10 main||main.go|0:3:0] {k=v} = 4", LineDiff(want, got))
	assert.Equal(t, "main = 1\nmain;work {k=v} = 5", FromOTLP(pd).Lines("samples/count"))
	// A window the pprof profile carries itself wins over the fallback.
	p.TimeNanos = 7
	assert.Contains(t, PprofFingerprint(p, 100, 50), "time 7 duration 50")
}
