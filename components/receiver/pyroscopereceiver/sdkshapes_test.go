// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
)

// withTypes sets p's sample types and period ("type/unit" pairs), keeping its
// samples; values are given per sample in type order.
func withTypes(p *profile.Profile, period profile.ValueType, periodValue int64, types ...profile.ValueType) *profile.Profile {
	p.SampleType = nil
	for i := range types {
		p.SampleType = append(p.SampleType, &types[i])
	}
	p.PeriodType, p.Period = &period, periodValue
	return p
}

var (
	vtSamples     = profile.ValueType{Type: "samples", Unit: "count"}
	vtCPU         = profile.ValueType{Type: "cpu", Unit: "nanoseconds"}
	vtContentions = profile.ValueType{Type: "contentions", Unit: "count"}
	vtDelay       = profile.ValueType{Type: "delay", Unit: "nanoseconds"}
)

// TestPyroscopeProfileTypes pins, for each shape the Pyroscope SDKs upload,
// which OTLP Profiles the receiver emits and what Pyroscope 1.21.1's OTLP
// ingestion then stores (pyroscopeStores): one profile type per Pyroscope
// type, none twice, none empty, values equal to what the SDK sent. CPU time
// lands in process_cpu:cpu:nanoseconds:cpu:nanoseconds, the type Grafana's
// trace-to-profile link queries.
func TestPyroscopeProfileTypes(t *testing.T) {
	const period = 10_101_010 // pyroscope-rs at 99 Hz: 1e9/99 truncated
	stack := func(s ...string) []string { return s }
	tests := []struct {
		name  string
		query string
		body  func(t *testing.T) []byte
		// Emitted OTLP Profiles: "type/unit period-type/unit period".
		want []string
		// Pyroscope profile type -> the input flame it must equal
		// (pprofcompare.FromPprof(input)[key]), or literal values.
		stores    map[string]string
		storesLit map[string]map[string]int64
	}{
		{
			name: "pyroscope-go CPU", query: "format=pprof&name=app.cpu&spyName=gospy",
			body:   func(t *testing.T) []byte { return realCPUProfile(t) },
			want:   []string{"samples/count cpu/nanoseconds 10000000"},
			stores: map[string]string{"process_cpu:cpu:nanoseconds:cpu:nanoseconds": "cpu/nanoseconds"},
		},
		{
			name: "pyroscope-rs CPU (Python, Ruby, Rust)", query: "format=pprof&name=app.cpu&spyName=pyspy",
			body: func(t *testing.T) []byte {
				p := withTypes(synthProfile([]string{"x"}, []synthSample{
					{stack: stack("main", "handle"), values: []int64{3 * period}},
					{stack: stack("main", "idle"), values: []int64{period}},
				}), vtCPU, period, vtCPU)
				return serialize(t, p)
			},
			want:   []string{"samples/count cpu/nanoseconds 10101010"},
			stores: map[string]string{"process_cpu:cpu:nanoseconds:cpu:nanoseconds": "cpu/nanoseconds"},
		},
		{
			// Not a multiple of the period: Pyroscope could not rebuild it
			// from counts, so it is sent as it is.
			name: "cpu nanoseconds off the period", query: "format=pprof&name=app",
			body: func(t *testing.T) []byte {
				return serialize(t, withTypes(synthProfile([]string{"x"}, []synthSample{
					{stack: stack("main", "f"), values: []int64{period + 1}},
				}), vtCPU, period, vtCPU))
			},
			want:   []string{"cpu/nanoseconds cpu/nanoseconds 10101010"},
			stores: map[string]string{"cpu:cpu:nanoseconds:cpu:nanoseconds": "cpu/nanoseconds"},
		},
		{
			name: "counts and nanoseconds that disagree", query: "format=pprof&name=app",
			body: func(t *testing.T) []byte {
				return serialize(t, withTypes(synthProfile([]string{"x", "y"}, []synthSample{
					{stack: stack("main", "f"), values: []int64{2, 3 * period}},
				}), vtCPU, period, vtSamples, vtCPU))
			},
			want: []string{"samples/count cpu/nanoseconds 10101010", "cpu/nanoseconds cpu/nanoseconds 10101010"},
			storesLit: map[string]map[string]int64{
				"process_cpu:cpu:nanoseconds:cpu:nanoseconds": {"main;f": 2 * period},
				"cpu:cpu:nanoseconds:cpu:nanoseconds":         {"main;f": 3 * period},
			},
		},
		{
			name: "pyroscope-go heap", query: "format=pprof&name=app",
			body: func(t *testing.T) []byte { return realHeapProfile(t) },
			want: []string{
				"alloc_objects/count space/bytes 524288", "alloc_space/bytes space/bytes 524288",
				"inuse_objects/count space/bytes 524288", "inuse_space/bytes space/bytes 524288",
			},
			stores: map[string]string{
				"space:alloc_objects:count:space:bytes": "alloc_objects/count", "space:alloc_space:bytes:space:bytes": "alloc_space/bytes",
				"space:inuse_objects:count:space:bytes": "inuse_objects/count", "space:inuse_space:bytes:space:bytes": "inuse_space/bytes",
			},
		},
		{
			name: "pyroscope-go goroutines", query: "format=pprof&name=app",
			body:   func(t *testing.T) []byte { return realGoroutineProfile(t) },
			want:   []string{"goroutine/count goroutine/count 1"},
			stores: map[string]string{"goroutine:goroutine:count:goroutine:count": "goroutine/count"},
		},
		{
			name: "pyroscope-go mutex or block", query: "format=pprof&name=app",
			body: func(t *testing.T) []byte {
				return serialize(t, withTypes(synthProfile([]string{"x", "y"}, []synthSample{
					{stack: stack("main", "lock"), values: []int64{4, 9000}},
				}), vtContentions, 1, vtContentions, vtDelay))
			},
			want: []string{"contentions/count contentions/count 1", "delay/nanoseconds contentions/count 1"},
			stores: map[string]string{
				"contentions:contentions:count:contentions:count": "contentions/count",
				"contentions:delay:nanoseconds:contentions:count": "delay/nanoseconds",
			},
		},
		{
			name: "folded CPU", query: "name=py.cpu&sampleRate=100&spyName=pyspy",
			body: func(*testing.T) []byte { return []byte("main;work 5\nmain;idle 2\n") },
			want: []string{"samples/count cpu/nanoseconds 10000000"},
			storesLit: map[string]map[string]int64{
				"process_cpu:cpu:nanoseconds:cpu:nanoseconds": {"main;work": 50_000_000, "main;idle": 20_000_000},
			},
		},
		{
			name: "folded wall", query: "name=rb.wall&sampleRate=100",
			body: func(*testing.T) []byte { return []byte("main;work 5\n") },
			want: []string{"wall/nanoseconds wall/nanoseconds 10000000"},
			storesLit: map[string]map[string]int64{
				"wall:wall:nanoseconds:wall:nanoseconds": {"main;work": 50_000_000},
			},
		},
		{
			name: "folded alloc_space", query: "name=rb.alloc_space",
			body: func(*testing.T) []byte { return []byte("main;alloc 4096\n") },
			want: []string{"alloc_space/bytes space/bytes 1"},
			storesLit: map[string]map[string]int64{
				"space:alloc_space:bytes:space:bytes": {"main;alloc": 4096},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body(t)
			sink := new(consumertest.ProfilesSink)
			tr := newTestReceiver(t, sink)
			rec := tr.do(t, http.MethodPost, tt.query, "", bytes.NewReader(body))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Len(t, sink.AllProfiles(), 1)
			out := sink.AllProfiles()[0]
			requireDictionaryValid(t, out)

			var got []string
			d := out.Dictionary()
			str := func(i int32) string { return pprofcompare.DictString(d, i) }
			for _, p := range out.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().All() {
				got = append(got, str(p.SampleType().TypeStrindex())+"/"+str(p.SampleType().UnitStrindex())+" "+
					str(p.PeriodType().TypeStrindex())+"/"+str(p.PeriodType().UnitStrindex())+" "+strconv.FormatInt(p.Period(), 10))
			}
			assert.Equal(t, tt.want, got)

			want := tt.storesLit
			if tt.stores != nil {
				in := pprofcompare.FromPprof(mustParse(t, body))
				want = map[string]map[string]int64{}
				for id, key := range tt.stores {
					require.NotEmpty(t, in[key], "input has no %s", key)
					want[id] = in[key]
				}
			}
			assert.Equal(t, want, pyroscopeStores(t, out))
		})
	}
}
