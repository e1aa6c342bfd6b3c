// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
)

func FuzzParseName(f *testing.F) {
	for _, s := range []string{
		"myapp", "myapp.cpu", "myapp.cpu{env=prod,region=eu}", "app{__session_id__=ab,a=1,}",
		"{a=b}", "app{a", "app}", "app{a=b}x", "app{=x}", "a b", " app { k = v } ", "app.v2{k.x=v=w}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parseAppKey(s)
		if err != nil {
			return
		}
		if k.ServiceName == "" || k.FullName == "" {
			t.Fatalf("empty name accepted: %q", s)
		}
		if !strings.HasPrefix(k.FullName, k.ServiceName) {
			t.Fatalf("service name %q is not a prefix of %q", k.ServiceName, k.FullName)
		}
		if k.Suffix != "" && k.FullName != k.ServiceName+"."+k.Suffix {
			t.Fatalf("suffix %q inconsistent with %q/%q", k.Suffix, k.FullName, k.ServiceName)
		}
		seen := map[string]bool{}
		for _, l := range k.Labels {
			if l.name == "" || l.value == "" || seen[l.name] {
				t.Fatalf("bad label %+v from %q", l, s)
			}
			if strings.ContainsAny(l.value, ",{}") {
				t.Fatalf("label value %q contains a separator", l.value)
			}
			seen[l.name] = true
		}
		// Re-serialising and parsing again gives the same key.
		var sb strings.Builder
		sb.WriteString(k.FullName)
		sb.WriteByte('{')
		for i, l := range k.Labels {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(l.name + "=" + l.value)
		}
		sb.WriteByte('}')
		k2, err := parseAppKey(sb.String())
		if err != nil {
			t.Fatalf("re-parse of %q failed: %v", sb.String(), err)
		}
		if k2.FullName != k.FullName || len(k2.Labels) != len(k.Labels) {
			t.Fatalf("round trip changed %q -> %q", s, sb.String())
		}
	})
}

func FuzzDecodeFolded(f *testing.F) {
	for _, s := range []string{
		"a;b;c 1\n", "main;work;compute 42\r\nmain;work 8\n\nmain;work;compute 10", "a 0", " 5", "x", "a;b -1", "a;;b 3\n", "frame with space 7",
	} {
		f.Add([]byte(s), int64(100))
	}
	f.Fuzz(func(t *testing.T, data []byte, rate int64) {
		p, err := decodeFolded(data, cpuFolded, rate)
		if err != nil {
			return
		}
		if err := p.CheckValid(); err != nil {
			t.Fatalf("invalid profile: %v", err)
		}
		if len(p.Sample) == 0 {
			t.Fatal("no samples accepted")
		}
		// The sum of the sample counts equals the sum of the line values.
		var want int64
		for _, line := range bytes.Split(data, []byte("\n")) {
			line = bytes.TrimRight(line, "\r")
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			i := bytes.LastIndexByte(line, ' ')
			var v int64
			for _, c := range line[i+1:] {
				v = v*10 + int64(c-'0')
			}
			want += v
		}
		var got int64
		for _, s := range p.Sample {
			got += s.Value[0]
		}
		if got != want {
			t.Fatalf("sum %d != %d", got, want)
		}
		out := translatePprof(p, resourceInfo{Key: appKey{FullName: "a", ServiceName: "a"}}, scopeInfo{}, 0, 0)
		requireDictionaryValid(t, out)
		// Folded CPU is sent as counts alone: Pyroscope derives the time.
		if out.SampleCount() != len(p.Sample) {
			t.Fatalf("sample count %d, want %d", out.SampleCount(), len(p.Sample))
		}
	})
}

func FuzzDecodePprof(f *testing.F) {
	f.Add(realCPUProfile(f))
	f.Add(realHeapProfile(f))
	f.Add(realGoroutineProfile(f))
	f.Add(serializeRawF(f, synthProfile([]string{"samples", "cpu"}, []synthSample{
		{stack: []string{"main", "a"}, values: []int64{1, 2}, labels: map[string][]string{"k": {"v"}}, num: map[string][]int64{"n": {3}}},
	})))
	// pyroscope-rs's CPU shape: nanoseconds alone, multiples of the period.
	rs := synthProfile([]string{"cpu"}, []synthSample{{stack: []string{"main", "a"}, values: []int64{3 * 10_101_010}}})
	rs.SampleType[0].Unit, rs.PeriodType, rs.Period = "nanoseconds", &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, 10_101_010
	f.Add(serializeRawF(f, rs))
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Add([]byte("not a profile"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePprof(data, 1<<20, "profile")
		if err != nil {
			return
		}
		out := translatePprof(p, resourceInfo{Key: appKey{FullName: "a", ServiceName: "a"}}, scopeInfo{}, 0, 0)
		requireDictionaryValid(t, out)
		types := otlpSampleTypes(p)
		if out.SampleCount() != len(types)*len(p.Sample) {
			t.Fatalf("sample count %d, want %d", out.SampleCount(), len(types)*len(p.Sample))
		}
		// CPU time may only be dropped or divided when Pyroscope rebuilds
		// it exactly as count × period.
		sent := map[int]bool{}
		for _, ot := range types {
			sent[ot.src] = true
			for _, s := range p.Sample {
				if s.Value[ot.src]%ot.div != 0 {
					t.Fatalf("%v: %d does not divide by %d", ot, s.Value[ot.src], ot.div)
				}
			}
		}
		for i, st := range p.SampleType {
			if sent[i] {
				continue
			}
			count := slices.IndexFunc(types, func(ot otlpType) bool { return ot.vt == valueType{"samples", "count"} && ot.div == 1 })
			if st.Type != "cpu" || st.Unit != "nanoseconds" || count < 0 {
				t.Fatalf("sample type %d %v not sent, and no samples/count it derives from", i, st)
			}
			for _, s := range p.Sample {
				if s.Value[i] != s.Value[types[count].src]*p.Period {
					t.Fatalf("dropped %v %d != %d × period %d", st, s.Value[i], s.Value[types[count].src], p.Period)
				}
			}
		}
		in := map[string]int64{}
		for _, ot := range types {
			for _, s := range p.Sample {
				in[ot.vt.Type+"/"+ot.vt.Unit] += s.Value[ot.src] / ot.div
			}
		}
		got := pprofcompare.FromOTLP(out).Totals()
		if len(p.Sample) > 0 && len(in) == len(types) {
			for k, v := range in {
				if got[k] != v {
					t.Fatalf("total %s: %d != %d", k, got[k], v)
				}
			}
		}
	})
}

func serializeRawF(tb testing.TB, p *profile.Profile) []byte {
	var buf bytes.Buffer
	if err := p.WriteUncompressed(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
