// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/grafana/pyroscope-go/upstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
)

type synthSample struct {
	stack  []string // root first
	values []int64
	labels map[string][]string
	num    map[string][]int64
	units  map[string][]string
}

// synthProfile builds a pprof profile with one mapping, functions with
// file/start line, one location per frame (line = 10*index) and the given
// samples.
func synthProfile(types []string, samples []synthSample) *profile.Profile {
	p := &profile.Profile{
		PeriodType:    &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:        524288,
		TimeNanos:     1_700_000_000_123_456_789,
		DurationNanos: 15_000_000_000,
	}
	for _, t := range types {
		unit := "count"
		if t == "alloc_space" || t == "inuse_space" {
			unit = "bytes"
		}
		p.SampleType = append(p.SampleType, &profile.ValueType{Type: t, Unit: unit})
	}
	m := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x800000, Offset: 0x1000, File: "/app/server", BuildID: "abc123", HasFunctions: true}
	p.Mapping = []*profile.Mapping{m}
	locs := map[string]*profile.Location{}
	for _, s := range samples {
		ps := &profile.Sample{Value: s.values, Label: s.labels, NumLabel: s.num, NumUnit: s.units}
		for i := len(s.stack) - 1; i >= 0; i-- {
			name := s.stack[i]
			loc, ok := locs[name]
			if !ok {
				fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: name, SystemName: "sys." + name, Filename: name + ".go", StartLine: int64(len(p.Function) + 3)}
				p.Function = append(p.Function, fn)
				loc = &profile.Location{ID: uint64(len(p.Location) + 1), Mapping: m, Address: 0x400000 + uint64(len(p.Location))*16,
					Line: []profile.Line{{Function: fn, Line: int64(10 * (len(p.Location) + 1)), Column: 2}}}
				p.Location = append(p.Location, loc)
				locs[name] = loc
			}
			ps.Location = append(ps.Location, loc)
		}
		p.Sample = append(p.Sample, ps)
	}
	return p
}

// requireSameProfile checks that out carries in's sample types, except the
// dropped ones ("type/unit"), sample for sample, and that Pyroscope's view of
// out (pyroscopeStores) holds each type it stores from in, values included.
func requireSameProfile(t *testing.T, in *profile.Profile, out pprofile.Profiles, dropped ...string) {
	t.Helper()
	requireDictionaryValid(t, out)
	full := pprofcompare.FromPprof(in)
	in = withoutSampleTypes(t, in, dropped...)
	stores := pyroscopeStores(t, out)
	for _, d := range dropped {
		require.Equal(t, "cpu/nanoseconds", d, "only Pyroscope's derived CPU time may be dropped")
		assert.Equal(t, full[d], stores["process_cpu:cpu:nanoseconds:cpu:nanoseconds"], "cpu nanoseconds as Pyroscope derives them")
	}
	inFG := pprofcompare.FromPprof(in)
	outFG := pprofcompare.FromOTLP(out)
	require.Equal(t, inFG, outFG, "flame graphs differ")
	require.Equal(t, inFG.Totals(), outFG.Totals())
	requireSameSamples(t, in, out)
	// One Profile per sample type, in order, with period/time/duration.
	profs := out.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles()
	require.Equal(t, len(in.SampleType), profs.Len())
	st := out.Dictionary().StringTable()
	for i, vt := range in.SampleType {
		p := profs.At(i)
		assert.Equal(t, vt.Type, st.At(int(p.SampleType().TypeStrindex())))
		assert.Equal(t, vt.Unit, st.At(int(p.SampleType().UnitStrindex())))
		if in.PeriodType != nil {
			assert.Equal(t, in.PeriodType.Type, st.At(int(p.PeriodType().TypeStrindex())))
			assert.Equal(t, in.PeriodType.Unit, st.At(int(p.PeriodType().UnitStrindex())))
		}
		assert.Equal(t, in.Period, p.Period())
		if in.TimeNanos != 0 {
			assert.Equal(t, pcommon.Timestamp(in.TimeNanos), p.Time())
		}
		if in.DurationNanos != 0 {
			assert.Equal(t, uint64(in.DurationNanos), p.DurationNano())
		}
		assert.Equal(t, len(in.Sample), p.Samples().Len())
		assert.False(t, p.ProfileID().IsEmpty())
	}
}

func resourceAttrs(pd pprofile.Profiles) map[string]any {
	return pd.ResourceProfiles().At(0).Resource().Attributes().AsRaw()
}

func TestIngestPprofRawCPU(t *testing.T) {
	cpu := realCPUProfile(t)
	in := mustParse(t, cpu)
	require.Equal(t, []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}, in.SampleType)
	require.NotEmpty(t, in.Sample)

	for name, body := range map[string][]byte{"gzip": cpu, "raw": serializeRaw(t, in)} {
		t.Run(name, func(t *testing.T) {
			sink := new(consumertest.ProfilesSink)
			tr := newTestReceiver(t, sink)
			rec := tr.do(t, http.MethodPost, "format=pprof&name=checkout.cpu%7Benv%3Dprod%7D&from=1700000000&until=1700000010&spyName=gospy&sampleRate=100", "application/octet-stream", bytes.NewReader(body))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Empty(t, rec.Body.String())
			require.Len(t, sink.AllProfiles(), 1)
			out := sink.AllProfiles()[0]
			assert.Equal(t, map[string]any{
				"service.name":       "checkout",
				"env":                "prod",
				"pyroscope.spy_name": "gospy",
				"pyroscope.app_name": "checkout.cpu",
			}, resourceAttrs(out))
			scope := out.ResourceProfiles().At(0).ScopeProfiles().At(0).Scope()
			assert.Equal(t, "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver", scope.Name())
			requireSameProfile(t, in, out, "cpu/nanoseconds")
			// The burn functions must be visible in the flame graph.
			found := false
			for stack := range pprofcompare.FromOTLP(out)["samples/count"] {
				if bytes.Contains([]byte(stack), []byte("pyroscopereceiver.burnA")) {
					found = true
				}
			}
			assert.True(t, found, "burnA in flame graph")
			assert.Equal(t, "cpu", out.Dictionary().StringTable().At(int(out.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0).PeriodType().TypeStrindex())))
		})
	}
}

// serializeRaw writes a profile without gzip.
func serializeRaw(t *testing.T, p *profile.Profile) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, p.WriteUncompressed(&buf))
	require.False(t, isGzip(buf.Bytes()))
	return buf.Bytes()
}

func TestIngestPyroscopeGoMultipart(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	end := start.Add(15 * time.Second)
	name := "checkout{__session_id__=0a1b2c3d4e5f6071,env=prod}"

	t.Run("cpu", func(t *testing.T) {
		cpu := realCPUProfile(t)
		body, ct := pyroscopeGoBody(t, cpu, nil, nil)
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink)
		rec := tr.do(t, http.MethodPost, pyroscopeGoQuery(name, start, end, 100, "samples", "sum"), ct, body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Len(t, sink.AllProfiles(), 1)
		out := sink.AllProfiles()[0]
		assert.Equal(t, map[string]any{
			"service.name":         "checkout",
			"env":                  "prod",
			"pyroscope.session_id": "0a1b2c3d4e5f6071",
			"pyroscope.spy_name":   "gospy",
		}, resourceAttrs(out))
		requireSameProfile(t, mustParse(t, cpu), out, "cpu/nanoseconds")
	})

	t.Run("heap", func(t *testing.T) {
		heap := realHeapProfile(t)
		in := mustParse(t, heap)
		require.Equal(t, []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"},
		}, in.SampleType)
		require.Zero(t, in.DurationNanos)
		stc := map[string]*upstream.SampleType{
			"alloc_objects": {Units: "objects"}, "alloc_space": {Units: "bytes"},
			"inuse_space": {Units: "bytes", Aggregation: "average"}, "inuse_objects": {Units: "objects", Aggregation: "average"},
		}
		body, ct := pyroscopeGoBody(t, heap, nil, stc)
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink)
		rec := tr.do(t, http.MethodPost, pyroscopeGoQuery(name, start, end, 100, "", ""), ct, body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Len(t, sink.AllProfiles(), 1)
		out := sink.AllProfiles()[0]
		requireSameProfile(t, in, out)
		profs := out.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles()
		st := out.Dictionary().StringTable()
		for i := range profs.Len() {
			assert.Equal(t, "space", st.At(int(profs.At(i).PeriodType().TypeStrindex())))
			assert.Equal(t, "bytes", st.At(int(profs.At(i).PeriodType().UnitStrindex())))
			// No duration in a heap pprof: the query window is used.
			assert.Equal(t, uint64(15*time.Second), profs.At(i).DurationNano())
			assert.Equal(t, pcommon.Timestamp(in.TimeNanos), profs.At(i).Time())
		}
	})

	t.Run("goroutine", func(t *testing.T) {
		g := realGoroutineProfile(t)
		in := mustParse(t, g)
		require.Equal(t, []*profile.ValueType{{Type: "goroutine", Unit: "count"}}, in.SampleType)
		body, ct := pyroscopeGoBody(t, g, nil, map[string]*upstream.SampleType{"goroutine": {DisplayName: "goroutines", Units: "goroutines", Aggregation: "average"}})
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink)
		rec := tr.do(t, http.MethodPost, pyroscopeGoQuery(name, start, end, 0, "goroutines", "average"), ct, body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Len(t, sink.AllProfiles(), 1)
		requireSameProfile(t, in, sink.AllProfiles()[0])
	})
}

func TestIngestTimeFallback(t *testing.T) {
	p := synthProfile([]string{"alloc_objects"}, []synthSample{{stack: []string{"main", "f"}, values: []int64{3}}})
	p.TimeNanos, p.DurationNanos = 0, 0
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(t, sink)
	// from/until in milliseconds.
	rec := tr.do(t, http.MethodPost, "format=pprof&name=svc&from=1700000000000&until=1700000015000", "", bytes.NewReader(serialize(t, p)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	prof := sink.AllProfiles()[0].ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0)
	assert.Equal(t, pcommon.Timestamp(1_700_000_000_000_000_000), prof.Time())
	assert.Equal(t, uint64(15_000_000_000), prof.DurationNano())

	// pyroscope-go Flush: "until" truncated to the upload rate, before
	// "from" by less than a minute: accepted as an empty window at "until".
	sink.Reset()
	rec = tr.do(t, http.MethodPost, "format=pprof&name=svc&from=1700000001300000000&until=1700000001000000000", "", bytes.NewReader(serialize(t, p)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	prof = sink.AllProfiles()[0].ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0)
	assert.Equal(t, pcommon.Timestamp(1_700_000_001_000_000_000), prof.Time())
	assert.Equal(t, uint64(0), prof.DurationNano())

	// Neither from nor until: until = now, from = now - 10s.
	sink.Reset()
	rec = tr.do(t, http.MethodPost, "format=pprof&name=svc", "", bytes.NewReader(serialize(t, p)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	prof = sink.AllProfiles()[0].ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0)
	assert.Equal(t, pcommon.Timestamp(fixedNow.Add(-10*time.Second).UnixNano()), prof.Time())
	assert.Equal(t, uint64(10*time.Second), prof.DurationNano())
}

func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]int64{
		"0":                   0,
		"1700000000":          1_700_000_000_000_000_000,
		"1700000000123":       1_700_000_000_123_000_000,
		"1700000000123456":    1_700_000_000_123_456_000,
		"1700000000123456789": 1_700_000_000_123_456_789,
	} {
		got, err := parseTimestamp(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"-1", "now", "1.5", "", "99999999999999999999"} {
		_, err := parseTimestamp(in)
		require.Error(t, err, in)
	}
}

func TestLabelsBecomeAttributes(t *testing.T) {
	p := synthProfile([]string{"samples", "cpu"}, []synthSample{
		{stack: []string{"main", "handler"}, values: []int64{1, 10}, labels: map[string][]string{"span_id": {"00f067aa0ba902b7"}, "route": {"/cart"}}},
		{stack: []string{"main", "handler"}, values: []int64{2, 20}, labels: map[string][]string{"route": {"/pay"}}, num: map[string][]int64{"bytes": {512}}, units: map[string][]string{"bytes": {"bytes"}}},
		{stack: []string{"main", "gc"}, values: []int64{4, 40}, labels: map[string][]string{"multi": {"a", "b"}}, num: map[string][]int64{"n": {1, 2}}},
		{stack: []string{"main", "gc"}, values: []int64{8, 80}},
	})
	p.PeriodType = &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}
	p.Period = 10_000_000
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(t, sink)
	rec := tr.do(t, http.MethodPost, "format=pprof&name=svc.cpu", "", bytes.NewReader(serialize(t, p)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	out := sink.AllProfiles()[0]
	requireSameProfile(t, p, out)

	d := out.Dictionary()
	attrsOf := func(s pprofile.Sample) map[string]any {
		m, err := pprofile.FromAttributeIndices(d.AttributeTable(), s, d)
		require.NoError(t, err)
		return m.AsRaw()
	}
	profs := out.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles()
	for i := range profs.Len() {
		s := profs.At(i).Samples()
		require.Equal(t, 4, s.Len())
		assert.Equal(t, map[string]any{"span_id": "00f067aa0ba902b7", "route": "/cart"}, attrsOf(s.At(0)))
		assert.Equal(t, map[string]any{"route": "/pay", "bytes": int64(512)}, attrsOf(s.At(1)))
		assert.Equal(t, map[string]any{"multi": []any{"a", "b"}, "n": []any{int64(1), int64(2)}}, attrsOf(s.At(2)))
		assert.Empty(t, attrsOf(s.At(3)))
		// Same stack for the same frames, in both profiles.
		assert.Equal(t, s.At(0).StackIndex(), s.At(1).StackIndex())
		assert.Equal(t, s.At(2).StackIndex(), s.At(3).StackIndex())
	}
	// The numeric label's unit is kept.
	bytesAttr := d.AttributeTable().At(int(profs.At(0).Samples().At(1).AttributeIndices().At(1)))
	assert.Equal(t, "bytes", d.StringTable().At(int(bytesAttr.KeyStrindex())))
	assert.Equal(t, "bytes", d.StringTable().At(int(bytesAttr.UnitStrindex())))
	// Attributes are interned: "route=/cart" appears once in the table.
	assert.Equal(t, profs.At(0).Samples().At(0).AttributeIndices().AsRaw(), profs.At(1).Samples().At(0).AttributeIndices().AsRaw())
}

func TestPrevProfileDelta(t *testing.T) {
	types := []string{"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"}
	prev := synthProfile(types, []synthSample{
		{stack: []string{"main", "a"}, values: []int64{10, 1000, 1, 100}},
		{stack: []string{"main", "b"}, values: []int64{5, 500, 5, 500}},
		{stack: []string{"main", "c"}, values: []int64{7, 700, 0, 0}},
		{stack: []string{"main", "gone"}, values: []int64{9, 900, 0, 0}},
	})
	cur := synthProfile(types, []synthSample{
		{stack: []string{"main", "a"}, values: []int64{15, 1600, 2, 200}},                                      // grew
		{stack: []string{"main", "b"}, values: []int64{5, 500, 5, 500}},                                        // unchanged: inuse kept
		{stack: []string{"main", "c"}, values: []int64{7, 700, 0, 0}},                                          // unchanged, nothing in use: dropped
		{stack: []string{"main", "d"}, values: []int64{3, 300, 3, 300}},                                        // new
		{stack: []string{"main", "a"}, values: []int64{4, 400, 0, 0}, labels: map[string][]string{"k": {"v"}}}, // other labels: no prev
	})
	want := map[string]map[string]int64{
		"alloc_objects/count": {"main;a": 5, "main;a {k=v}": 4, "main;b": 0, "main;d": 3},
		"alloc_space/bytes":   {"main;a": 600, "main;a {k=v}": 400, "main;b": 0, "main;d": 300},
		"inuse_objects/count": {"main;a": 2, "main;a {k=v}": 0, "main;b": 5, "main;d": 3},
		"inuse_space/bytes":   {"main;a": 200, "main;a {k=v}": 0, "main;b": 500, "main;d": 300},
	}
	run := func(t *testing.T, stc map[string]*upstream.SampleType, want map[string]map[string]int64, samples int) {
		t.Helper()
		body, ct := pyroscopeGoBody(t, serialize(t, cur), serialize(t, prev), stc)
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink)
		rec := tr.do(t, http.MethodPost, "name=svc&from=1700000000&until=1700000010", ct, body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		out := sink.AllProfiles()[0]
		requireDictionaryValid(t, out)
		assert.Equal(t, pprofcompare.Flame(want), pprofcompare.FromOTLP(out))
		assert.Equal(t, samples, out.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0).Samples().Len())
	}
	t.Run("default cumulative types", func(t *testing.T) { run(t, nil, want, 4) })
	t.Run("old pyroscope-go sample_type_config", func(t *testing.T) {
		run(t, map[string]*upstream.SampleType{
			"alloc_objects": {Units: "objects", Cumulative: true},
			"alloc_space":   {Units: "bytes", Cumulative: true},
			"inuse_objects": {Units: "objects", Aggregation: "average"},
			"inuse_space":   {Units: "bytes", Aggregation: "average"},
		}, want, 4)
	})
	t.Run("config says nothing is cumulative", func(t *testing.T) {
		// pyroscope-go >= 0.5 (godeltaprof) marks every type non-cumulative:
		// prev_profile is then ignored.
		run(t, map[string]*upstream.SampleType{"alloc_objects": {}, "alloc_space": {}}, pprofcompare.FromPprof(cur), 5)
	})
	t.Run("counter reset clamps at zero", func(t *testing.T) {
		small := synthProfile([]string{"contentions", "delay"}, []synthSample{{stack: []string{"main", "lock"}, values: []int64{1, 10}}})
		big := synthProfile([]string{"contentions", "delay"}, []synthSample{
			{stack: []string{"main", "lock"}, values: []int64{5, 50}},
			{stack: []string{"main", "other"}, values: []int64{2, 20}},
		})
		require.NoError(t, subtractPrevious(small, big, func(string) bool { return true }))
		assert.Empty(t, small.Sample)
		require.NoError(t, subtractPrevious(big, synthProfile([]string{"contentions", "delay"}, []synthSample{{stack: []string{"main", "lock"}, values: []int64{1, 10}}}), func(string) bool { return true }))
		assert.Equal(t, map[string]int64{"main;lock": 4, "main;other": 2}, pprofcompare.FromPprof(big)["contentions/count"])
		assert.Equal(t, map[string]int64{"main;lock": 40, "main;other": 20}, pprofcompare.FromPprof(big)["delay/count"])
	})
}

func TestMultipartOtherPartsIgnored(t *testing.T) {
	// Parts are found by form name regardless of order; unknown parts are
	// ignored; an empty prev_profile means "no previous profile".
	p := synthProfile([]string{"samples"}, []synthSample{{stack: []string{"main"}, values: []int64{1}}})
	var body bytes.Buffer
	boundary := "XyZ"
	write := func(name, data string) {
		body.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"x\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + "\r\n")
	}
	write("extra", "ignored")
	write("prev_profile", "")
	write("profile", string(serialize(t, p)))
	body.WriteString("--" + boundary + "--\r\n")
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(t, sink)
	rec := tr.do(t, http.MethodPost, "name=svc", "multipart/form-data; boundary="+boundary, &body)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	requireSameProfile(t, p, sink.AllProfiles()[0])
}

func TestIngestFoldedHTTP(t *testing.T) {
	folded := "main;work;compute 42\nmain;work 8\nmain;work;compute 10\n"
	tests := []struct {
		name     string
		query    string
		body     []byte
		headers  []string
		wantFG   pprofcompare.Flame
		wantName string
		period   int64
		ptype    string
	}{
		{
			name: "no format, cpu suffix", query: "name=py.cpu&sampleRate=100&spyName=pyspy",
			body:   []byte(folded),
			wantFG: pprofcompare.Flame{"samples/count": {"main;work;compute": 52, "main;work": 8}},
			period: 10_000_000, ptype: "cpu", wantName: "py",
		},
		{
			name: "format=folded, gzip magic, 250 Hz", query: "name=py&format=folded&sampleRate=250",
			body:   gzipBytes(t, []byte(folded)),
			wantFG: pprofcompare.Flame{"samples/count": {"main;work;compute": 52, "main;work": 8}},
			period: 4_000_000, ptype: "cpu", wantName: "py",
		},
		{
			name: "inuse_space by units", query: "name=rb&units=bytes&aggregationType=average",
			body:   []byte(folded),
			wantFG: pprofcompare.Flame{"inuse_space/bytes": {"main;work;compute": 52, "main;work": 8}},
			period: 1, ptype: "space", wantName: "rb",
		},
		{
			name: "wall suffix", query: "name=rb.wall&sampleRate=100",
			body:   []byte(folded),
			wantFG: pprofcompare.Flame{"wall/nanoseconds": {"main;work;compute": 520_000_000, "main;work": 80_000_000}},
			period: 10_000_000, ptype: "wall", wantName: "rb",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.ProfilesSink)
			tr := newTestReceiver(t, sink)
			rec := tr.do(t, http.MethodPost, tt.query, "text/plain", bytes.NewReader(tt.body), tt.headers...)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Len(t, sink.AllProfiles(), 1)
			out := sink.AllProfiles()[0]
			requireDictionaryValid(t, out)
			assert.Equal(t, tt.wantFG, pprofcompare.FromOTLP(out))
			assert.Equal(t, tt.wantName, resourceAttrs(out)["service.name"])
			prof := out.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0)
			assert.Equal(t, tt.period, prof.Period())
			assert.Equal(t, tt.ptype, out.Dictionary().StringTable().At(int(prof.PeriodType().TypeStrindex())))
		})
	}
}

func TestTranslateDictionaryDedup(t *testing.T) {
	p := synthProfile([]string{"samples", "cpu"}, []synthSample{
		{stack: []string{"main", "a", "b"}, values: []int64{1, 1}},
		{stack: []string{"main", "a", "b"}, values: []int64{2, 2}, labels: map[string][]string{"x": {"y"}}},
		{stack: []string{"main", "a"}, values: []int64{3, 3}},
	})
	out := translatePprof(p, resourceInfo{Key: appKey{FullName: "s", ServiceName: "s"}}, scopeInfo{Name: "n", Version: "v"}, 0, 0)
	d := out.Dictionary()
	assert.Equal(t, 1+3, d.FunctionTable().Len())
	assert.Equal(t, 1+3, d.LocationTable().Len())
	assert.Equal(t, 1+1, d.MappingTable().Len())
	assert.Equal(t, 1+2, d.StackTable().Len())
	assert.Equal(t, 1+2, d.AttributeTable().Len()) // x=y and the mapping build ID
	assert.Equal(t, 1, d.LinkTable().Len())
	assert.Equal(t, "v", out.ResourceProfiles().At(0).ScopeProfiles().At(0).Scope().Version())
	assert.Equal(t, 2*3, out.SampleCount())
}

func TestOutputRoundTripsThroughOTLPProto(t *testing.T) {
	in := mustParse(t, realHeapProfile(t))
	out := translatePprof(in, resourceInfo{Key: appKey{FullName: "svc.alloc_space", ServiceName: "svc", Suffix: "alloc_space"}, SpyName: "gospy"}, scopeInfo{Name: "s"}, 1, 2)
	buf, err := (&pprofile.ProtoMarshaler{}).MarshalProfiles(out)
	require.NoError(t, err)
	back, err := (&pprofile.ProtoUnmarshaler{}).UnmarshalProfiles(buf)
	require.NoError(t, err)
	requireDictionaryValid(t, back)
	assert.Equal(t, pprofcompare.FromPprof(in), pprofcompare.FromOTLP(back))
	requireSameSamples(t, in, back)
	assert.Equal(t, map[string]any{"service.name": "svc", "pyroscope.app_name": "svc.alloc_space", "pyroscope.spy_name": "gospy"}, resourceAttrs(back))
}

func TestEmptyProfileNotForwarded(t *testing.T) {
	empty := synthProfile([]string{"samples", "cpu"}, nil)
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(t, sink)
	rec := tr.do(t, http.MethodPost, "format=pprof&name=idle.cpu", "", bytes.NewReader(serialize(t, empty)))
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Empty(t, rec.Body.String())
	assert.Empty(t, sink.AllProfiles())

	// A delta that cancels out entirely is not forwarded either.
	same := synthProfile([]string{"alloc_objects"}, []synthSample{{stack: []string{"main", "f"}, values: []int64{3}}})
	body, ct := pyroscopeGoBody(t, serialize(t, same), serialize(t, same), nil)
	rec = tr.do(t, http.MethodPost, "name=idle", ct, body)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Empty(t, sink.AllProfiles())
}

// Old pyspy, rbspy and pyroscope-rs versions put microseconds in
// time_nanos, a time in 1970: the query's "from" replaces it, as in
// Pyroscope's own /ingest. A real time is kept.
func TestIngestMicrosecondTimeNanos(t *testing.T) {
	for _, tc := range []struct {
		name      string
		timeNanos int64
		want      pcommon.Timestamp
	}{
		{"microseconds", 1_700_000_000_123_456, 1_700_000_000_000_000_000},
		{"last nanosecond of 1970", 31_535_999_999_999_999, 1_700_000_000_000_000_000},
		{"1971", 31_536_000_000_000_000, 31_536_000_000_000_000},
		{"nanoseconds", 1_700_000_005_000_000_000, 1_700_000_005_000_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := synthProfile([]string{"alloc_objects"}, []synthSample{{stack: []string{"main", "f"}, values: []int64{3}}})
			p.TimeNanos = tc.timeNanos
			sink := new(consumertest.ProfilesSink)
			tr := newTestReceiver(t, sink)
			rec := tr.do(t, http.MethodPost, "format=pprof&name=svc&from=1700000000&until=1700000015", "", bytes.NewReader(serialize(t, p)))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			prof := sink.AllProfiles()[0].ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().At(0)
			assert.Equal(t, tc.want, prof.Time())
		})
	}
}
