// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

// Package pprofcompare renders pprof profiles and OTLP profiles in one
// common text form, so a test can show that a translation from one to the
// other kept every sample: as flame graphs (stacks of function names with
// their summed values) and as fingerprints (every sample with its full
// frames, labels and value, and each profile's period and time window).
// The pyroscope receiver's unit tests and the end-to-end tests both use it,
// so the two prove the same thing.
package pprofcompare // import "github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

// buildIDAttr is the mapping attribute that carries a pprof mapping's build
// ID in OTLP (semantic conventions).
const buildIDAttr = "process.executable.build_id.gnu"

// Flame maps a sample type ("type/unit") to stacks to their summed value.
// A stack is its frames root first, joined by ';' (function names, inlined
// frames expanded, the address where a location has no line), followed by
// " {k=v ...}" when the sample has labels.
type Flame map[string]map[string]int64

// FromPprof is the flame graph of p.
func FromPprof(p *profile.Profile) Flame {
	f := Flame{}
	f.AddPprof(p)
	return f
}

// FromOTLP is the flame graph of every profile in pd.
func FromOTLP(pd pprofile.Profiles) Flame {
	f := Flame{}
	for _, rp := range pd.ResourceProfiles().All() {
		f.AddOTLP(pd.Dictionary(), rp)
	}
	return f
}

func (f Flame) add(sampleType, stack string, v int64) {
	m := f[sampleType]
	if m == nil {
		m = map[string]int64{}
		f[sampleType] = m
	}
	m[stack] += v
}

// AddPprof adds p's samples to f.
func (f Flame) AddPprof(p *profile.Profile) {
	for t, st := range p.SampleType {
		for _, s := range p.Sample {
			f.add(st.Type+"/"+st.Unit, pprofStack(s), s.Value[t])
		}
	}
}

// AddOTLP adds the samples of rp, whose tables are in d, to f.
func (f Flame) AddOTLP(d pprofile.ProfilesDictionary, rp pprofile.ResourceProfiles) {
	for _, sp := range rp.ScopeProfiles().All() {
		for _, prof := range sp.Profiles().All() {
			st := valueType(d, prof.SampleType())
			for _, s := range prof.Samples().All() {
				for _, v := range s.Values().All() {
					f.add(st, otlpStack(d, s), v)
				}
			}
		}
	}
}

// Totals is the summed value per sample type.
func (f Flame) Totals() map[string]int64 {
	out := map[string]int64{}
	for st, m := range f {
		for _, v := range m {
			out[st] += v
		}
	}
	return out
}

// StackCounts is the number of distinct stacks per sample type.
func (f Flame) StackCounts() map[string]int {
	out := map[string]int{}
	for st, m := range f {
		out[st] = len(m)
	}
	return out
}

// SampleTypes lists f's sample types, sorted.
func (f Flame) SampleTypes() []string {
	out := make([]string, 0, len(f))
	for st := range f {
		out = append(out, st)
	}
	sort.Strings(out)
	return out
}

// Lines renders the stacks of one sample type as sorted "stack = value"
// lines, the form LineDiff compares.
func (f Flame) Lines(sampleType string) string {
	lines := make([]string, 0, len(f[sampleType]))
	for stack, v := range f[sampleType] {
		lines = append(lines, fmt.Sprintf("%s = %d", stack, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// HasStack reports whether a stack of sampleType with a positive value ends
// in suffix.
func (f Flame) HasStack(sampleType, suffix string) bool {
	for s, v := range f[sampleType] {
		if v > 0 && strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}

func frameName(fn string, addr uint64) string {
	if fn != "" {
		return fn
	}
	return "0x" + strconv.FormatUint(addr, 16)
}

func pprofFrames(s *profile.Sample) string {
	var frames []string // leaf first
	for _, loc := range s.Location {
		if len(loc.Line) == 0 {
			frames = append(frames, frameName("", loc.Address))
		}
		for _, ln := range loc.Line {
			name := ""
			if ln.Function != nil {
				name = ln.Function.Name
			}
			frames = append(frames, frameName(name, loc.Address))
		}
	}
	slices.Reverse(frames)
	return strings.Join(frames, ";")
}

func pprofLabels(s *profile.Sample) []string {
	var labels []string
	for k, vs := range s.Label {
		labels = append(labels, k+"="+strings.Join(vs, ","))
	}
	for k, vs := range s.NumLabel {
		unit := ""
		if u := s.NumUnit[k]; len(u) > 0 {
			unit = u[0]
		}
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = strconv.FormatInt(v, 10)
		}
		labels = append(labels, k+"="+strings.Join(parts, ",")+labelUnit(unit))
	}
	sort.Strings(labels)
	return labels
}

func pprofStack(s *profile.Sample) string {
	return withLabels(pprofFrames(s), pprofLabels(s))
}

func otlpFrames(d pprofile.ProfilesDictionary, s pprofile.Sample) string {
	var frames []string // leaf first
	for _, li := range d.StackTable().At(int(s.StackIndex())).LocationIndices().All() {
		loc := d.LocationTable().At(int(li))
		if loc.Lines().Len() == 0 {
			frames = append(frames, frameName("", loc.Address()))
		}
		for _, ln := range loc.Lines().All() {
			frames = append(frames, frameName(DictString(d, d.FunctionTable().At(int(ln.FunctionIndex())).NameStrindex()), loc.Address()))
		}
	}
	slices.Reverse(frames)
	return strings.Join(frames, ";")
}

func otlpLabels(d pprofile.ProfilesDictionary, s pprofile.Sample) []string {
	var labels []string
	for _, ai := range s.AttributeIndices().All() {
		kv := d.AttributeTable().At(int(ai))
		v := kv.Value().AsString()
		if kv.Value().Type() == pcommon.ValueTypeSlice {
			var parts []string
			for _, e := range kv.Value().Slice().All() {
				parts = append(parts, e.AsString())
			}
			v = strings.Join(parts, ",")
		}
		labels = append(labels, DictString(d, kv.KeyStrindex())+"="+v+labelUnit(DictString(d, kv.UnitStrindex())))
	}
	sort.Strings(labels)
	return labels
}

func otlpStack(d pprofile.ProfilesDictionary, s pprofile.Sample) string {
	return withLabels(otlpFrames(d, s), otlpLabels(d, s))
}

func labelUnit(u string) string {
	if u == "" {
		return ""
	}
	return "(" + u + ")"
}

func withLabels(stack string, labels []string) string {
	if len(labels) == 0 {
		return stack
	}
	return stack + " {" + strings.Join(labels, " ") + "}"
}

// PprofFingerprint renders p as a translation must keep it: per sample
// type its period and time window, and every sample with its full frames
// (address, mapping, function, file, lines), labels and value; sorted, one
// line each. start and duration (Unix nanoseconds) stand in for a
// TimeNanos or DurationNanos that p leaves at zero, as the receiver takes
// them from the request then.
func PprofFingerprint(p *profile.Profile, start, duration int64) string {
	if p.TimeNanos != 0 {
		start = p.TimeNanos
	}
	if p.DurationNanos != 0 {
		duration = p.DurationNanos
	}
	period := "/"
	if p.PeriodType != nil {
		period = p.PeriodType.Type + "/" + p.PeriodType.Unit
	}
	var lines []string
	for i, st := range p.SampleType {
		key := st.Type + "/" + st.Unit
		lines = append(lines, fmt.Sprintf("%s: period %s %d time %d duration %d", key, period, p.Period, start, duration))
		for _, s := range p.Sample {
			var sb strings.Builder
			for _, loc := range s.Location {
				fmt.Fprintf(&sb, "[%x", loc.Address)
				if m := loc.Mapping; m != nil {
					fmt.Fprintf(&sb, " map(%x-%x+%x %s %s)", m.Start, m.Limit, m.Offset, m.File, m.BuildID)
				}
				for _, ln := range loc.Line {
					f := ln.Function
					if f == nil {
						f = &profile.Function{}
					}
					fmt.Fprintf(&sb, " %s|%s|%s|%d:%d:%d", f.Name, f.SystemName, f.Filename, f.StartLine, ln.Line, ln.Column)
				}
				sb.WriteString("]")
			}
			lines = append(lines, fmt.Sprintf("%s: %s {%s} = %d", key, sb.String(), strings.Join(pprofLabels(s), " "), s.Value[i]))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// OTLPFingerprint renders the profiles of rp, whose tables are in d, in
// PprofFingerprint's form. A sample with more than one value shows them
// all, so it cannot match a pprof sample.
func OTLPFingerprint(d pprofile.ProfilesDictionary, rp pprofile.ResourceProfiles) string {
	var lines []string
	for _, sp := range rp.ScopeProfiles().All() {
		for _, prof := range sp.Profiles().All() {
			key := valueType(d, prof.SampleType())
			lines = append(lines, fmt.Sprintf("%s: period %s %d time %d duration %d", key, valueType(d, prof.PeriodType()), prof.Period(), prof.Time(), prof.DurationNano()))
			for _, s := range prof.Samples().All() {
				var sb strings.Builder
				for _, li := range d.StackTable().At(int(s.StackIndex())).LocationIndices().All() {
					loc := d.LocationTable().At(int(li))
					fmt.Fprintf(&sb, "[%x", loc.Address())
					if loc.MappingIndex() != 0 {
						m := d.MappingTable().At(int(loc.MappingIndex()))
						buildID := ""
						for _, ai := range m.AttributeIndices().All() {
							kv := d.AttributeTable().At(int(ai))
							if DictString(d, kv.KeyStrindex()) == buildIDAttr {
								buildID = kv.Value().Str()
							}
						}
						fmt.Fprintf(&sb, " map(%x-%x+%x %s %s)", m.MemoryStart(), m.MemoryLimit(), m.FileOffset(), DictString(d, m.FilenameStrindex()), buildID)
					}
					for _, ln := range loc.Lines().All() {
						f := d.FunctionTable().At(int(ln.FunctionIndex()))
						fmt.Fprintf(&sb, " %s|%s|%s|%d:%d:%d", DictString(d, f.NameStrindex()), DictString(d, f.SystemNameStrindex()), DictString(d, f.FilenameStrindex()), f.StartLine(), ln.Line(), ln.Column())
					}
					sb.WriteString("]")
				}
				vals := make([]string, 0, s.Values().Len())
				for _, v := range s.Values().All() {
					vals = append(vals, strconv.FormatInt(v, 10))
				}
				lines = append(lines, fmt.Sprintf("%s: %s {%s} = %s", key, sb.String(), strings.Join(otlpLabels(d, s), " "), strings.Join(vals, ",")))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func valueType(d pprofile.ProfilesDictionary, vt pprofile.ValueType) string {
	return DictString(d, vt.TypeStrindex()) + "/" + DictString(d, vt.UnitStrindex())
}

// DictString is d's string i, or a marker naming a bad index (so that a
// broken dictionary shows in a diff rather than panicking the test).
func DictString(d pprofile.ProfilesDictionary, i int32) string {
	if i < 0 || int(i) >= d.StringTable().Len() {
		return fmt.Sprintf("<bad string index %d>", i)
	}
	return d.StringTable().At(int(i))
}

// LineDiff lists, sorted, the lines only in want ("- ") and only in got
// ("+ "), counting repeats; at most 40 of them.
func LineDiff(want, got string) string {
	w, g := map[string]int{}, map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		w[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		g[l]++
	}
	var out []string
	for l, n := range w {
		if g[l] < n {
			out = append(out, "- "+l)
		}
	}
	for l, n := range g {
		if w[l] < n {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	if len(out) > 40 {
		out = append(out[:40], fmt.Sprintf("... %d more", len(out)-40))
	}
	return strings.Join(out, "\n")
}
