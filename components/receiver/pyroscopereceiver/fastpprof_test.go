// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

var (
	fastRes   = resourceInfo{Key: appKey{FullName: "svc.cpu", ServiceName: "svc", Suffix: "cpu", Labels: []label{{"env", "prod"}}}, SpyName: "gospy"}
	fastScope = scopeInfo{Name: "scope", Version: "v1"}
)

// otlpBytes is pd as the exporter sends it, with the random profile IDs
// zeroed so that two translations of one profile compare equal.
func otlpBytes(t testing.TB, pd pprofile.Profiles) []byte {
	t.Helper()
	c := pprofile.NewProfiles()
	pd.CopyTo(c)
	rps := c.ResourceProfiles()
	for i := range rps.Len() {
		sps := rps.At(i).ScopeProfiles()
		for j := range sps.Len() {
			ps := sps.At(j).Profiles()
			for k := range ps.Len() {
				ps.At(k).SetProfileID(pprofile.ProfileID{})
			}
		}
	}
	var m pprofile.ProtoMarshaler
	b, err := m.MarshalProfiles(c)
	require.NoError(t, err)
	return b
}

// compareFastPath checks the fast path against profile.ParseData +
// translatePprof on raw (uncompressed): where the fast path takes a
// profile, profile.Parse must accept it too and both must emit the same
// OTLP profiles. It reports whether the fast path took it.
func compareFastPath(t testing.TB, raw []byte) bool {
	t.Helper()
	const start, dur = 1_600_000_000_000_000_000, 10_000_000_000
	fast, fastErr := fastTranslatePprof(raw, fastRes, fastScope, start, dur)
	if fastErr != nil {
		if !errors.Is(fastErr, errFallback) {
			t.Fatalf("fast path error is not errFallback: %v", fastErr)
		}
		return false
	}
	p, err := parseRawPprof(raw, "profile")
	if err != nil {
		t.Fatalf("fast path accepted a profile profile.Parse refuses (%v)", err)
	}
	old := translatePprof(p, fastRes, fastScope, start, dur)
	require.Equal(t, otlpBytes(t, old), otlpBytes(t, fast), "fast path output differs from profile.Parse + translatePprof")
	requireDictionaryValid(t, fast)
	return true
}

func gunzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	raw, err := maybeGunzip(b, 64<<20, "profile")
	require.NoError(t, err)
	return raw
}

// fastPathInputs are profiles of every shape the receiver's tests use,
// uncompressed, which the fast path must take.
func fastPathInputs(t testing.TB) map[string][]byte {
	t.Helper()
	bench, err := os.ReadFile(filepath.FromSlash(benchProfilePath))
	require.NoError(t, err)
	rs := synthProfile([]string{"cpu"}, []synthSample{{stack: []string{"main", "a"}, values: []int64{3 * 10_101_010}}})
	rs.SampleType[0].Unit, rs.PeriodType, rs.Period = "nanoseconds", &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, 10_101_010
	labelled := synthProfile([]string{"alloc_objects", "alloc_space", "inuse_space"}, []synthSample{
		{stack: []string{"main", "a", "b"}, values: []int64{1, 2, 3}, labels: map[string][]string{"span_id": {"00ab"}, "endpoint": {"/x"}}, num: map[string][]int64{"bytes": {512}}, units: map[string][]string{"bytes": {"bytes"}}},
		{stack: []string{"main", "a"}, values: []int64{4, 5, 6}, labels: map[string][]string{"endpoint": {"/x"}}, num: map[string][]int64{"n": {7}}},
		{stack: []string{"main", "c"}, values: []int64{0, 0, 9}, labels: map[string][]string{"process.executable.build_id.gnu": {"abc123"}}},
		{stack: nil, values: []int64{1, 1, 1}},
	})
	noTime := synthProfile([]string{"samples"}, []synthSample{{stack: []string{"main"}, values: []int64{2}}})
	noTime.TimeNanos, noTime.DurationNanos, noTime.PeriodType = 0, 0, nil
	sdk := withTypes(synthProfile([]string{"samples", "cpu"}, []synthSample{
		{stack: []string{"main", "work"}, values: []int64{3, 30_000_000}},
		{stack: []string{"main", "idle"}, values: []int64{1, 10_000_001}}, // not count × period: both types sent
	}), profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, 10_000_000,
		profile.ValueType{Type: "samples", Unit: "count"}, profile.ValueType{Type: "cpu", Unit: "nanoseconds"})
	empty := &profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}}}
	return map[string][]byte{
		"bench cpu_30k":  gunzipped(t, bench),
		"go cpu":         gunzipped(t, realCPUProfile(t)),
		"go heap":        gunzipped(t, realHeapProfile(t)),
		"go goroutine":   gunzipped(t, realGoroutineProfile(t)),
		"pyroscope-rs":   serializeRawF(t, rs),
		"labels":         serializeRawF(t, labelled),
		"no time":        serializeRawF(t, noTime),
		"inexact cpu ns": serializeRawF(t, sdk),
		"no samples":     serializeRawF(t, empty),
	}
}

func TestFastPathMatchesProfileParse(t *testing.T) {
	for name, raw := range fastPathInputs(t) {
		t.Run(name, func(t *testing.T) {
			require.True(t, compareFastPath(t, raw), "the fast path left this profile to profile.Parse")
			// A pooled decoder gives the same result the second time.
			require.True(t, compareFastPath(t, raw))
		})
	}
}

// TestFastPathFallsBack checks inputs the fast path must leave to
// profile.Parse (whose answer, accept or refuse, then stands).
func TestFastPathFallsBack(t *testing.T) {
	twoValues := synthProfile([]string{"samples"}, []synthSample{
		{stack: []string{"main"}, values: []int64{1}, labels: map[string][]string{"k": {"a", "b"}}},
	})
	raw := serializeRawF(t, twoValues)
	badIndex := append(bytes.Clone(raw), 0x38, 0x7f) // keep_frames = string 127
	concat := append(bytes.Clone(raw), raw...)       // time_nanos twice
	for name, in := range map[string][]byte{
		"repeated label key":   raw,
		"string out of range":  badIndex,
		"concatenated":         concat,
		"legacy text":          []byte("--- contention:\ncycles/second=1000\n1 1 @ 0x1 0x2\n"),
		"empty":                nil,
		"truncated":            raw[:len(raw)/2],
		"sample without types": serializeRawF(t, &profile.Profile{Sample: []*profile.Sample{{}}}),
	} {
		t.Run(name, func(t *testing.T) {
			require.False(t, compareFastPath(t, in))
		})
	}
	// Through the receiver the fallback keeps profile.Parse's answer.
	pd, err := translatePprofData(nil, raw, 1<<20, fastRes, fastScope, 1, 2)
	require.NoError(t, err)
	requireSameSamples(t, twoValues, pd)
	_, err = translatePprofData(nil, badIndex, 1<<20, fastRes, fastScope, 1, 2)
	require.ErrorContains(t, err, "cannot parse pprof")
}

func FuzzFastPprof(f *testing.F) {
	for _, raw := range fastPathInputs(f) {
		f.Add(raw)
	}
	f.Add([]byte("not a profile"))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := maybeGunzip(data, 1<<20, "profile")
		if err != nil {
			return
		}
		compareFastPath(t, raw)
	})
}

func BenchmarkDecodePprof(b *testing.B) {
	bench, err := os.ReadFile(filepath.FromSlash(benchProfilePath))
	require.NoError(b, err)
	raw := gunzipped(b, bench)
	b.Run("profile.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := parseRawPprof(raw, "profile")
			if err != nil {
				b.Fatal(err)
			}
			translatePprof(p, fastRes, fastScope, 1, 2)
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fastTranslatePprof(raw, fastRes, fastScope, 1, 2); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestForwardedProfilesOwnTheirMemory sends uploads one after another
// through the receiver, raw, gzipped and as pyroscope-go's multipart form
// (with and without prev_profile, which takes profile.Parse), and checks
// that what it forwarded first is unchanged once later uploads have reused
// its pooled body, multipart, decompression and decoder buffers: no string
// or table may point into them.
func TestForwardedProfilesOwnTheirMemory(t *testing.T) {
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(t, sink)
	bench, err := os.ReadFile(filepath.FromSlash(benchProfilePath))
	require.NoError(t, err)
	realCPU := realCPUProfile(t)
	first := synthProfile([]string{"samples"}, []synthSample{
		{stack: []string{"main", "first"}, values: []int64{7}, labels: map[string][]string{"endpoint": {"/first"}}},
	})
	type upload struct {
		name, contentType string
		body              []byte
	}
	plain := func(name string, b []byte) upload { return upload{name, "application/octet-stream", b} }
	form := func(name string, prof, prev []byte) upload {
		body, ct := pyroscopeGoBody(t, prof, prev, nil)
		return upload{name, ct, body.Bytes()}
	}
	firsts := []upload{
		plain("raw", serializeRawF(t, first)),
		plain("gzip", serialize(t, first)),
		form("form raw", serializeRawF(t, first), nil),
		form("form gzip", serialize(t, first), nil),
		// samples/count is not cumulative: prev_profile changes no value.
		form("form with prev_profile", serialize(t, first), serialize(t, first)),
	}
	laters := []upload{
		plain("bench", bench),
		plain("bench raw", gunzipped(t, bench)),
		plain("go cpu", realCPU),
		form("form bench", bench, nil),
		form("form go cpu with prev_profile", realCPU, realCPU),
	}
	const query = "format=pprof&name=checkout.cpu&from=1700000000&until=1700000010"
	for _, up := range firsts {
		t.Run(up.name, func(t *testing.T) {
			sink.Reset()
			rec := tr.do(t, http.MethodPost, query, up.contentType, bytes.NewReader(up.body))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			kept := sink.AllProfiles()[0]
			want := otlpBytes(t, kept)
			for _, later := range laters {
				rec = tr.do(t, http.MethodPost, query, later.contentType, bytes.NewReader(later.body))
				require.Equal(t, http.StatusOK, rec.Code, "%s: %s", later.name, rec.Body.String())
			}
			require.Equal(t, want, otlpBytes(t, kept), "a later upload changed an earlier one's forwarded profile")
			requireSameSamples(t, first, kept)
		})
	}
}

// TestInternStackCollisions gives different stacks the same hash: each
// must still get its own entry, and every stack its own index again when
// it repeats.
func TestInternStackCollisions(t *testing.T) {
	st := pprofile.NewProfilesDictionary().StackTable()
	st.AppendEmpty() // the zero stack
	stacks := map[uint64]int32{}
	a, b, c := []int32{1, 2, 3}, []int32{1, 2}, []int32{3, 2, 1}
	ia := internStack(st, stacks, 7, a)
	ib := internStack(st, stacks, 7, b)
	ic := internStack(st, stacks, 7, c)
	require.Equal(t, []int32{1, 2, 3}, []int32{ia, ib, ic})
	// b now holds hash 8: a stack hashing to 8 probes past it.
	id := internStack(st, stacks, 8, []int32{4})
	require.Equal(t, int32(4), id)
	for range 2 {
		require.Equal(t, ia, internStack(st, stacks, 7, a))
		require.Equal(t, ib, internStack(st, stacks, 7, b))
		require.Equal(t, ic, internStack(st, stacks, 7, c))
		require.Equal(t, id, internStack(st, stacks, 8, []int32{4}))
	}
	require.Equal(t, 5, st.Len())
	for i, want := range [][]int32{a, b, c, {4}} {
		require.Equal(t, want, st.At(i+1).LocationIndices().AsRaw())
	}
}

// refVarint is profile.Parse's varint reading (pprof proto.go
// decodeVarint): at most 10 bytes, bits past 64 dropped.
func refVarint(data []byte) (uint64, int) {
	var u uint64
	for i := 0; i < 10 && i < len(data); i++ {
		u |= uint64(data[i]&0x7F) << uint(7*i)
		if data[i]&0x80 == 0 {
			return u, i + 1
		}
	}
	return 0, 0
}

// TestReadVarint checks readVarint's one- and two-byte shortcuts against
// the plain loop, on encodings of every length, truncated ones, 10-byte
// ones with high bits past 64 and over-long ones.
func TestReadVarint(t *testing.T) {
	inputs := [][]byte{nil, {}, {0x80}, {0xff, 0xff}, {0x80, 0x00}, {0x00, 0xff}, {0x7f, 0x80}}
	for _, v := range []uint64{0, 1, 0x7f, 0x80, 0xff, 0x3fff, 0x4000, 1 << 21, 1<<35 + 3, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		enc := binary.AppendUvarint(nil, v)
		inputs = append(inputs, enc, append(enc, 0x05), enc[:len(enc)-1])
	}
	ten := bytes.Repeat([]byte{0xff}, 9)
	inputs = append(inputs, append(ten, 0x7f), append(ten, 0xff, 0x01), bytes.Repeat([]byte{0x80}, 11))
	for _, in := range inputs {
		gotV, gotN := readVarint(in)
		wantV, wantN := refVarint(in)
		require.Equal(t, [2]uint64{wantV, uint64(wantN)}, [2]uint64{gotV, uint64(gotN)}, "% x", in)
	}
}
