// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

const (
	attrServiceName = "service.name"
	attrSpyName     = "pyroscope.spy_name"
	attrAppName     = "pyroscope.app_name"
	attrSessionID   = "pyroscope.session_id"
	attrBuildID     = "process.executable.build_id.gnu"
)

// resourceInfo carries what a request says about its origin.
type resourceInfo struct {
	Key     appKey
	SpyName string
}

// scopeInfo names the instrumentation scope of the emitted profiles.
type scopeInfo struct {
	Name    string
	Version string
}

// translatePprof converts one pprof profile into OTLP profiles: one
// ResourceProfiles (service.name, name labels, spy name) with one
// ScopeProfiles holding one Profile per pprof sample type, all sharing the
// dictionary (pprofile at this version has a single sample type per
// Profile), except that CPU time is sent as Pyroscope wants it
// (otlpSampleTypes). Every sample keeps its stack (leaf first), its value for that
// sample type and its labels (as attributes). startNanos/durationNanos are
// used when the pprof has no time/duration of its own.
func translatePprof(p *profile.Profile, res resourceInfo, scope scopeInfo, startNanos, durationNanos int64) pprofile.Profiles {
	out := pprofile.NewProfiles()
	b := newDictBuilder(out.Dictionary(), len(p.Function), len(p.Location), len(p.Sample))

	rp := out.ResourceProfiles().AppendEmpty()
	fillResource(rp.Resource().Attributes(), res)
	sp := rp.ScopeProfiles().AppendEmpty()
	sp.Scope().SetName(scope.Name)
	sp.Scope().SetVersion(scope.Version)

	// Per pprof sample: stack index and attribute indices, shared by all
	// sample types.
	stackIdx := make([]int32, len(p.Sample))
	attrIdx := make([][]int32, len(p.Sample))
	for i, s := range p.Sample {
		stackIdx[i] = b.stack(s.Location)
		attrIdx[i] = b.sampleAttributes(s)
	}

	timeNanos := p.TimeNanos
	// Old pyspy, rbspy and pyroscope-rs versions send microseconds here;
	// like Pyroscope's own /ingest, take any 1970 time as "not given".
	if time.Unix(0, timeNanos).UTC().Year() == 1970 {
		timeNanos = startNanos
	}
	duration := p.DurationNanos
	if duration == 0 {
		duration = durationNanos
	}
	profs := sp.Profiles()
	types := otlpSampleTypes(p)
	profs.EnsureCapacity(len(types))
	for _, ot := range types {
		prof := profs.AppendEmpty()
		prof.SetProfileID(newProfileID())
		prof.SampleType().SetTypeStrindex(b.str(ot.vt.Type))
		prof.SampleType().SetUnitStrindex(b.str(ot.vt.Unit))
		if p.PeriodType != nil {
			prof.PeriodType().SetTypeStrindex(b.str(p.PeriodType.Type))
			prof.PeriodType().SetUnitStrindex(b.str(p.PeriodType.Unit))
		}
		prof.SetPeriod(p.Period)
		if timeNanos > 0 {
			prof.SetTime(pcommon.Timestamp(timeNanos))
		}
		if duration > 0 {
			prof.SetDurationNano(uint64(duration))
		}
		samples := prof.Samples()
		samples.EnsureCapacity(len(p.Sample))
		for i, s := range p.Sample {
			os := samples.AppendEmpty()
			os.SetStackIndex(stackIdx[i])
			if len(attrIdx[i]) > 0 {
				os.AttributeIndices().FromRaw(attrIdx[i])
			}
			os.Values().Append(s.Value[ot.src] / ot.div)
		}
	}
	return out
}

// otlpType is one OTLP Profile to emit: pprof sample type src, sent as vt
// with its values divided by div.
type otlpType struct {
	src int
	vt  valueType
	div int64
}

// otlpSampleTypes picks the OTLP Profiles for p so that Pyroscope stores
// each of its profile types once, with the values its own /ingest stores.
// Pyroscope's OTLP ingestion (pkg/ingester/otlp/convert.go, v1.21.1) turns
// a samples/count Profile with a non-zero cpu/nanoseconds period into
// process_cpu:cpu:nanoseconds (count × period), and names every other
// Profile after its period type, so a cpu/nanoseconds Profile would land in
// a type "cpu" that Grafana's trace-to-profile link (process_cpu) never
// queries. Hence, with a cpu/nanoseconds period:
//   - samples/count and cpu/nanoseconds (Go): the nanoseconds are dropped
//     when every sample's equal count × period, Pyroscope derives them;
//   - cpu/nanoseconds alone (pyroscope-rs: Python, Ruby, Rust): sent as
//     samples/count = nanoseconds / period when every value divides.
//
// Anything else is sent as it is, one Profile per sample type.
func otlpSampleTypes(p *profile.Profile) []otlpType {
	types := make([]valueType, len(p.SampleType))
	for i, st := range p.SampleType {
		types[i] = valueType{st.Type, st.Unit}
	}
	var pt *valueType
	if p.PeriodType != nil {
		pt = &valueType{p.PeriodType.Type, p.PeriodType.Unit}
	}
	return pickSampleTypes(types, pt, p.Period, len(p.Sample), func(s, t int) int64 { return p.Sample[s].Value[t] })
}

// pickSampleTypes is otlpSampleTypes over any representation of a profile:
// its sample types, period type (nil: none), period, number of samples and
// value(sample, type).
func pickSampleTypes(types []valueType, periodType *valueType, period int64, nSamples int, value func(s, t int) int64) []otlpType {
	all := make([]otlpType, len(types))
	for i, st := range types {
		all[i] = otlpType{src: i, vt: st, div: 1}
	}
	if periodType == nil || periodType.Type != "cpu" || periodType.Unit != "nanoseconds" || period <= 0 {
		return all
	}
	count, nanos := -1, -1
	for i, st := range types {
		switch {
		case st.Type == "samples" && st.Unit == "count" && count < 0:
			count = i
		case st.Type == "cpu" && st.Unit == "nanoseconds" && nanos < 0:
			nanos = i
		}
	}
	if nanos < 0 {
		return all
	}
	for s := range nSamples {
		n := value(s, nanos)
		if count >= 0 {
			c := value(s, count)
			// The division guards the product against overflow.
			if c*period != n || (c != 0 && n/c != period) {
				return all
			}
		} else if n%period != 0 {
			return all
		}
	}
	if count >= 0 {
		return slices.Delete(all, nanos, nanos+1)
	}
	all[nanos].vt, all[nanos].div = valueType{"samples", "count"}, period
	return all
}

func fillResource(attrs pcommon.Map, res resourceInfo) {
	attrs.EnsureCapacity(len(res.Key.Labels) + 3)
	for _, l := range res.Key.Labels {
		k := l.name
		if k == sessionIDLabel {
			k = attrSessionID
		}
		attrs.PutStr(k, l.value)
	}
	if res.SpyName != "" {
		attrs.PutStr(attrSpyName, res.SpyName)
	}
	if res.Key.FullName != res.Key.ServiceName {
		attrs.PutStr(attrAppName, res.Key.FullName)
	}
	// The application name always wins over a label of the same name.
	attrs.PutStr(attrServiceName, res.Key.ServiceName)
}

func newProfileID() pprofile.ProfileID {
	var id pprofile.ProfileID
	_, _ = rand.Read(id[:])
	return id
}

// dictBuilder fills a ProfilesDictionary, deduplicating entries with maps
// (pprofile.Set* helpers scan linearly). Every table starts with its zero
// entry at index 0, as the OTLP profiles format requires.
type dictBuilder struct {
	dict      pprofile.ProfilesDictionary
	strings   map[string]int32
	functions map[*profile.Function]int32
	mappings  map[*profile.Mapping]int32
	locations map[*profile.Location]int32
	stacks    map[string]int32
	attrs     map[string]int32
	keyBuf    []byte
	stackBuf  []int32
	funcBuf   []int32
}

func newDictBuilder(dict pprofile.ProfilesDictionary, nFunc, nLoc, nSample int) *dictBuilder {
	dict.StringTable().Append("")
	dict.MappingTable().AppendEmpty()
	dict.LocationTable().AppendEmpty()
	dict.FunctionTable().AppendEmpty()
	dict.LinkTable().AppendEmpty()
	dict.AttributeTable().AppendEmpty()
	dict.StackTable().AppendEmpty()
	dict.FunctionTable().EnsureCapacity(nFunc + 1)
	dict.LocationTable().EnsureCapacity(nLoc + 1)
	return &dictBuilder{
		dict:      dict,
		strings:   map[string]int32{"": 0},
		functions: make(map[*profile.Function]int32, nFunc),
		mappings:  map[*profile.Mapping]int32{},
		locations: make(map[*profile.Location]int32, nLoc),
		stacks:    make(map[string]int32, nSample),
		attrs:     map[string]int32{},
	}
}

func (b *dictBuilder) str(s string) int32 {
	if i, ok := b.strings[s]; ok {
		return i
	}
	i := int32(b.dict.StringTable().Len())
	b.dict.StringTable().Append(s)
	b.strings[s] = i
	return i
}

func (b *dictBuilder) function(f *profile.Function) int32 {
	if f == nil {
		return 0
	}
	if i, ok := b.functions[f]; ok {
		return i
	}
	i := int32(b.dict.FunctionTable().Len())
	of := b.dict.FunctionTable().AppendEmpty()
	of.SetNameStrindex(b.str(f.Name))
	of.SetSystemNameStrindex(b.str(f.SystemName))
	of.SetFilenameStrindex(b.str(f.Filename))
	of.SetStartLine(f.StartLine)
	b.functions[f] = i
	return i
}

func (b *dictBuilder) mapping(m *profile.Mapping) int32 {
	if m == nil {
		return 0
	}
	if i, ok := b.mappings[m]; ok {
		return i
	}
	i := int32(b.dict.MappingTable().Len())
	om := b.dict.MappingTable().AppendEmpty()
	om.SetMemoryStart(m.Start)
	om.SetMemoryLimit(m.Limit)
	om.SetFileOffset(m.Offset)
	om.SetFilenameStrindex(b.str(m.File))
	if m.BuildID != "" {
		om.AttributeIndices().Append(b.attribute(attrBuildID, "s"+m.BuildID, func(v pcommon.Value) { v.SetStr(m.BuildID) }, ""))
	}
	b.mappings[m] = i
	return i
}

func (b *dictBuilder) location(l *profile.Location) int32 {
	if i, ok := b.locations[l]; ok {
		return i
	}
	// Resolve referenced entries first: they append to other tables only.
	mi := b.mapping(l.Mapping)
	fis := b.funcBuf[:0]
	for _, ln := range l.Line {
		fis = append(fis, b.function(ln.Function))
	}
	b.funcBuf = fis
	i := int32(b.dict.LocationTable().Len())
	ol := b.dict.LocationTable().AppendEmpty()
	ol.SetMappingIndex(mi)
	ol.SetAddress(l.Address)
	lines := ol.Lines()
	lines.EnsureCapacity(len(l.Line))
	for j, ln := range l.Line {
		oln := lines.AppendEmpty()
		oln.SetFunctionIndex(fis[j])
		oln.SetLine(ln.Line)
		oln.SetColumn(ln.Column)
	}
	b.locations[l] = i
	return i
}

func (b *dictBuilder) stack(locs []*profile.Location) int32 {
	if len(locs) == 0 {
		return 0
	}
	// Scratch buffers: most stacks repeat, and FromRaw copies a new one.
	idx := b.stackBuf[:0]
	key := b.keyBuf[:0]
	for _, l := range locs {
		li := b.location(l)
		idx = append(idx, li)
		key = binary.LittleEndian.AppendUint32(key, uint32(li))
	}
	b.stackBuf, b.keyBuf = idx, key
	if i, ok := b.stacks[string(key)]; ok {
		return i
	}
	i := int32(b.dict.StackTable().Len())
	b.dict.StackTable().AppendEmpty().LocationIndices().FromRaw(idx)
	b.stacks[string(key)] = i
	return i
}

// attribute interns one KeyValueAndUnit; id must identify the value
// uniquely (kind prefix + value).
func (b *dictBuilder) attribute(key, id string, set func(pcommon.Value), unit string) int32 {
	mk := key + "\x00" + id + "\x00" + unit
	if i, ok := b.attrs[mk]; ok {
		return i
	}
	i := int32(b.dict.AttributeTable().Len())
	kv := b.dict.AttributeTable().AppendEmpty()
	kv.SetKeyStrindex(b.str(key))
	set(kv.Value())
	if unit != "" {
		kv.SetUnitStrindex(b.str(unit))
	}
	b.attrs[mk] = i
	return i
}

// sampleAttributes turns pprof string labels into string attributes and
// numeric labels into int attributes (with their unit). A label with
// several values becomes an array attribute. Keys are emitted sorted.
func (b *dictBuilder) sampleAttributes(s *profile.Sample) []int32 {
	if len(s.Label) == 0 && len(s.NumLabel) == 0 {
		return nil
	}
	out := make([]int32, 0, len(s.Label)+len(s.NumLabel))
	for _, k := range sortedKeys(s.Label) {
		vals := s.Label[k]
		switch len(vals) {
		case 0:
			continue
		case 1:
			v := vals[0]
			out = append(out, b.attribute(k, "s"+v, func(pv pcommon.Value) { pv.SetStr(v) }, ""))
		default:
			out = append(out, b.attribute(k, "S"+strings.Join(vals, "\x00"), func(pv pcommon.Value) {
				sl := pv.SetEmptySlice()
				for _, v := range vals {
					sl.AppendEmpty().SetStr(v)
				}
			}, ""))
		}
	}
	for _, k := range sortedKeys(s.NumLabel) {
		vals := s.NumLabel[k]
		unit := ""
		if u := s.NumUnit[k]; len(u) > 0 {
			unit = u[0]
		}
		switch len(vals) {
		case 0:
			continue
		case 1:
			v := vals[0]
			out = append(out, b.attribute(k, "i"+strconv.FormatInt(v, 10), func(pv pcommon.Value) { pv.SetInt(v) }, unit))
		default:
			var sb strings.Builder
			for _, v := range vals {
				sb.WriteString(strconv.FormatInt(v, 10))
				sb.WriteByte(',')
			}
			out = append(out, b.attribute(k, "I"+sb.String(), func(pv pcommon.Value) {
				sl := pv.SetEmptySlice()
				for _, v := range vals {
					sl.AppendEmpty().SetInt(v)
				}
			}, unit))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare[string])
	return keys
}
