// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
)

const benchProfilePath = "testdata/cpu_30k.pb.gz"

// makeBenchCPUProfile builds a deterministic Go-like CPU profile: 400
// functions in 40 packages, 320 distinct stacks 8-40 frames deep, values
// in samples/count and cpu/nanoseconds at 100 Hz (about 30 KB gzipped).
func makeBenchCPUProfile() *profile.Profile {
	rng := rand.New(rand.NewPCG(42, 7))
	p := &profile.Profile{
		SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        10_000_000,
		TimeNanos:     1_700_000_000_000_000_000,
		DurationNanos: 15_000_000_000,
	}
	m := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x2000000, File: "/usr/local/bin/checkout", HasFunctions: true, HasFilenames: true, HasLineNumbers: true}
	p.Mapping = []*profile.Mapping{m}
	for i := range 400 {
		pkg := fmt.Sprintf("github.com/acme/checkout/internal/pkg%02d", i%40)
		name := fmt.Sprintf("%s.(*Handler%d).Method%d", pkg, i%7, i)
		p.Function = append(p.Function, &profile.Function{
			ID: uint64(i + 1), Name: name, SystemName: name,
			Filename: fmt.Sprintf("/src/checkout/internal/pkg%02d/file%d.go", i%40, i%5), StartLine: int64(10 + i),
		})
	}
	locByKey := map[[2]int]*profile.Location{}
	loc := func(fn, line int) *profile.Location {
		k := [2]int{fn, line}
		if l, ok := locByKey[k]; ok {
			return l
		}
		l := &profile.Location{
			ID: uint64(len(p.Location) + 1), Mapping: m, Address: 0x401000 + uint64(len(p.Location))*24,
			Line: []profile.Line{{Function: p.Function[fn], Line: int64(20 + fn + line)}},
		}
		p.Location = append(p.Location, l)
		locByKey[k] = l
		return l
	}
	for range 320 {
		depth := 8 + rng.IntN(33)
		s := &profile.Sample{}
		root := rng.IntN(10) // a few entry points
		for d := range depth {
			fn := root
			if d > 0 {
				fn = rng.IntN(len(p.Function))
			}
			s.Location = append([]*profile.Location{loc(fn, rng.IntN(3))}, s.Location...) // leaf first
		}
		n := int64(1 + rng.IntN(20))
		s.Value = []int64{n, n * p.Period}
		p.Sample = append(p.Sample, s)
	}
	return p
}

// TestGenerateBenchProfile rewrites testdata/cpu_30k.pb.gz when
// PYROSCOPE_RECEIVER_GEN=1; otherwise it checks the file is the one the
// generator makes.
func TestGenerateBenchProfile(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, makeBenchCPUProfile().Write(&buf))
	if os.Getenv("PYROSCOPE_RECEIVER_GEN") == "1" {
		require.NoError(t, os.WriteFile(benchProfilePath, buf.Bytes(), 0o644))
	}
	data, err := os.ReadFile(filepath.FromSlash(benchProfilePath))
	require.NoError(t, err)
	// Compare parsed profiles (gzip output may differ across Go versions).
	want := makeBenchCPUProfile()
	got := mustParse(t, data)
	require.Equal(t, pprofcompare.FromPprof(want), pprofcompare.FromPprof(got))
}

func BenchmarkIngestPprof(b *testing.B) { benchIngest(b, false) }

// BenchmarkIngestPprofExport adds the OTLP protobuf encoding the
// otlp_grpc exporter does for each upload, and reports its size.
func BenchmarkIngestPprofExport(b *testing.B) { benchIngest(b, true) }

func benchIngest(b *testing.B, export bool) {
	data, err := os.ReadFile(filepath.FromSlash(benchProfilePath))
	require.NoError(b, err)
	body, ct := pyroscopeGoBody(b, data, nil, nil)
	payload := body.Bytes()
	query := "/ingest?" + pyroscopeGoQuery("checkout{env=prod,__session_id__=0a1b2c3d4e5f6071}", time.Unix(1_700_000_000, 0), time.Unix(1_700_000_015, 0), 100, "samples", "sum")
	sink := new(consumertest.ProfilesSink)
	tr := newTestReceiver(b, sink)
	var marshaler pprofile.ProtoMarshaler
	exported := 0
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, query, bytes.NewReader(payload))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		tr.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		if export {
			all := sink.AllProfiles()
			out, err := marshaler.MarshalProfiles(all[len(all)-1])
			if err != nil {
				b.Fatal(err)
			}
			exported = len(out)
		}
		if i%64 == 63 {
			sink.Reset()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "profiles/s")
	if export {
		b.ReportMetric(float64(exported), "otlp-bytes/op")
	}
}
