// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/grafana/pyroscope-go/upstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/gatewayz/otelcol-gatewayz/internal/pprofcompare"
)

// ---------------------------------------------------------------------------
// Comparing the receiver's output with its input.

// requireSameSamples checks that out holds every sample of in, with its
// frames, labels and value, and in's period. The time window is out's own
// (the receiver takes it from the request when in has none); the callers
// check it against the request.
func requireSameSamples(t testing.TB, in *profile.Profile, out pprofile.Profiles) {
	t.Helper()
	rp := out.ResourceProfiles().At(0)
	first := rp.ScopeProfiles().At(0).Profiles().At(0)
	want := pprofcompare.PprofFingerprint(in, int64(first.Time()), int64(first.DurationNano())) //nolint:gosec // test profiles' times fit
	got := pprofcompare.OTLPFingerprint(out.Dictionary(), rp)
	require.Equal(t, want, got, "samples differ:\n%s", pprofcompare.LineDiff(want, got))
}

// withoutSampleTypes is a copy of p without the named ("type/unit") sample
// types and their values; each must be present.
func withoutSampleTypes(t testing.TB, p *profile.Profile, drop ...string) *profile.Profile {
	t.Helper()
	if len(drop) == 0 {
		return p
	}
	c := p.Copy()
	var keep []int
	for i, st := range c.SampleType {
		if !slices.Contains(drop, st.Type+"/"+st.Unit) {
			keep = append(keep, i)
		}
	}
	require.Len(t, keep, len(c.SampleType)-len(drop), "dropped types %v not all in %v", drop, c.SampleType)
	var types []*profile.ValueType
	for _, i := range keep {
		types = append(types, c.SampleType[i])
	}
	c.SampleType = types
	for _, s := range c.Sample {
		vals := make([]int64, 0, len(keep))
		for _, i := range keep {
			vals = append(vals, s.Value[i])
		}
		s.Value = vals
	}
	return c
}

// pyroscopeStores renders out as Pyroscope 1.21.1's OTLP ingestion stores
// it (pkg/ingester/otlp/convert.go): a Profile of samples/count with a
// non-zero cpu/nanoseconds period becomes
// process_cpu:cpu:nanoseconds:cpu:nanoseconds with its values multiplied by
// the period; any other one is named after its period type
// (<period type>:<type>:<unit>:<period type>:<period unit>), and with a zero
// period it has an empty name, which Pyroscope refuses. Keys are profile
// type IDs, values the flame graph (stack -> value). A type stored twice or
// empty fails the test.
func pyroscopeStores(t testing.TB, out pprofile.Profiles) map[string]map[string]int64 {
	t.Helper()
	flame := pprofcompare.FromOTLP(out)
	d := out.Dictionary()
	str := func(i int32) string { return pprofcompare.DictString(d, i) }
	stores := map[string]map[string]int64{}
	for _, rp := range out.ResourceProfiles().All() {
		for _, sp := range rp.ScopeProfiles().All() {
			for _, p := range sp.Profiles().All() {
				st, su := str(p.SampleType().TypeStrindex()), str(p.SampleType().UnitStrindex())
				pt, pu := str(p.PeriodType().TypeStrindex()), str(p.PeriodType().UnitStrindex())
				require.NotZero(t, p.Period(), "%s/%s: a zero period gets an empty profile name in Pyroscope", st, su)
				values := flame[st+"/"+su]
				id := pt + ":" + st + ":" + su + ":" + pt + ":" + pu
				if st == "samples" && su == "count" && pt == "cpu" && pu == "nanoseconds" {
					id = "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
					scaled := make(map[string]int64, len(values))
					for k, v := range values {
						scaled[k] = v * p.Period()
					}
					values = scaled
				}
				require.NotContains(t, stores, id, "profile type stored twice")
				require.NotEmpty(t, values, "%s stored empty", id)
				stores[id] = values
			}
		}
	}
	return stores
}

// requireDictionaryValid checks the OTLP dictionary conventions: zero
// entries at index 0 and all references in range.
func requireDictionaryValid(t testing.TB, pd pprofile.Profiles) {
	t.Helper()
	d := pd.Dictionary()
	require.Positive(t, d.StringTable().Len())
	require.Empty(t, d.StringTable().At(0))
	require.Equal(t, pprofile.NewMapping(), d.MappingTable().At(0))
	require.Equal(t, pprofile.NewLocation(), d.LocationTable().At(0))
	require.Equal(t, pprofile.NewFunction(), d.FunctionTable().At(0))
	require.Equal(t, pprofile.NewLink(), d.LinkTable().At(0))
	require.Equal(t, pprofile.NewStack(), d.StackTable().At(0))
	require.Equal(t, pprofile.NewKeyValueAndUnit(), d.AttributeTable().At(0))
	strOK := func(i int32) { require.True(t, i >= 0 && int(i) < d.StringTable().Len(), "string index %d", i) }
	for _, f := range d.FunctionTable().All() {
		strOK(f.NameStrindex())
		strOK(f.SystemNameStrindex())
		strOK(f.FilenameStrindex())
	}
	for _, m := range d.MappingTable().All() {
		strOK(m.FilenameStrindex())
	}
	for _, kv := range d.AttributeTable().All() {
		strOK(kv.KeyStrindex())
		strOK(kv.UnitStrindex())
	}
	for _, l := range d.LocationTable().All() {
		require.Less(t, int(l.MappingIndex()), d.MappingTable().Len())
		for _, ln := range l.Lines().All() {
			require.Less(t, int(ln.FunctionIndex()), d.FunctionTable().Len())
		}
	}
	for _, s := range d.StackTable().All() {
		for _, li := range s.LocationIndices().All() {
			require.True(t, li > 0 && int(li) < d.LocationTable().Len())
		}
	}
	for _, rp := range pd.ResourceProfiles().All() {
		for _, sp := range rp.ScopeProfiles().All() {
			for _, p := range sp.Profiles().All() {
				strOK(p.SampleType().TypeStrindex())
				strOK(p.PeriodType().TypeStrindex())
				for _, s := range p.Samples().All() {
					require.Equal(t, 1, s.Values().Len(), "one value per sample: a Profile has one sample type")
					require.True(t, s.StackIndex() >= 0 && int(s.StackIndex()) < d.StackTable().Len())
					for _, ai := range s.AttributeIndices().All() {
						require.True(t, ai > 0 && int(ai) < d.AttributeTable().Len())
					}
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Real Go profiles made with runtime/pprof.

var (
	cpuOnce    sync.Once
	cpuProfile []byte
)

//go:noinline
func burnA(n int) int {
	s := 0
	for i := range n {
		s += i * i % 7
	}
	return s
}

//go:noinline
func burnB(n int) int { return burnA(n) + burnA(n/2) }

//go:noinline
func burnC(n int) int {
	s := 0
	for i := range n {
		s ^= i << 3
	}
	return s + burnB(n/4)
}

// realCPUProfile returns a gzipped pprof CPU profile of a busy loop with a
// few distinct stacks (made once per test binary).
func realCPUProfile(t testing.TB) []byte {
	t.Helper()
	cpuOnce.Do(func() {
		var buf bytes.Buffer
		if err := pprof.StartCPUProfile(&buf); err != nil {
			t.Fatalf("start cpu profile: %v", err)
		}
		deadline := time.Now().Add(400 * time.Millisecond)
		sink := 0
		for time.Now().Before(deadline) {
			sink += burnA(20000) + burnB(20000) + burnC(20000)
		}
		runtime.KeepAlive(sink)
		pprof.StopCPUProfile()
		cpuProfile = buf.Bytes()
	})
	require.NotEmpty(t, cpuProfile)
	return cpuProfile
}

var heapSink [][]byte

// realHeapProfile returns a gzipped pprof heap profile.
func realHeapProfile(t testing.TB) []byte {
	t.Helper()
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	for i := range 200 {
		heapSink = append(heapSink, make([]byte, 1024+i))
	}
	runtime.GC()
	runtime.MemProfileRate = old
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("heap").WriteTo(&buf, 0))
	heapSink = nil
	return buf.Bytes()
}

func realGoroutineProfile(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 0))
	return buf.Bytes()
}

func mustParse(t testing.TB, b []byte) *profile.Profile {
	t.Helper()
	p, err := profile.ParseData(b)
	require.NoError(t, err)
	return p
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func serialize(t testing.TB, p *profile.Profile) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, p.Write(&buf)) // gzipped
	return buf.Bytes()
}

// ---------------------------------------------------------------------------
// Requests as pyroscope-go v1.2.7 builds them (upstream/remote/remote.go).

// pyroscopeGoBody builds the multipart body exactly like pyroscope-go's
// uploadProfile: a "profile" file part named profile.pprof, then (when
// non-nil) a "sample_type_config" file part with the JSON config. prev is
// added as a "prev_profile" part like pre-godeltaprof clients did.
func pyroscopeGoBody(t testing.TB, prof, prev []byte, stc map[string]*upstream.SampleType) (*bytes.Buffer, string) {
	t.Helper()
	body := &bytes.Buffer{}
	w := multipart.NewWriter(body)
	fw, err := w.CreateFormFile("profile", "profile.pprof")
	require.NoError(t, err)
	_, _ = fw.Write(prof)
	if prev != nil {
		fw, err = w.CreateFormFile("prev_profile", "profile.pprof")
		require.NoError(t, err)
		_, _ = fw.Write(prev)
	}
	if stc != nil {
		fw, err = w.CreateFormFile("sample_type_config", "sample_type_config.json")
		require.NoError(t, err)
		b, mErr := json.Marshal(stc)
		require.NoError(t, mErr)
		_, _ = fw.Write(b)
	}
	require.NoError(t, w.Close())
	return body, w.FormDataContentType()
}

// pyroscopeGoQuery builds the query string like pyroscope-go: from/until
// in nanoseconds, no format parameter.
func pyroscopeGoQuery(name string, start, end time.Time, sampleRate int, units, aggregation string) string {
	q := url.Values{}
	q.Set("name", name)
	q.Set("from", strconv.FormatInt(start.UnixNano(), 10))
	q.Set("until", strconv.FormatInt(end.UnixNano(), 10))
	q.Set("spyName", "gospy")
	q.Set("sampleRate", strconv.Itoa(sampleRate))
	q.Set("units", units)
	q.Set("aggregationType", aggregation)
	return q.Encode()
}

// ---------------------------------------------------------------------------
// Receiver under test, driven through its full confighttp handler chain
// (client info, decompression, size limit), without a listener.

type testReceiver struct {
	r    *pyroscopeReceiver
	sink *consumertest.ProfilesSink
	h    http.Handler
}

var fixedNow = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

func newTestReceiver(t testing.TB, next xconsumer.Profiles, mutate ...func(*Config)) *testReceiver {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	for _, m := range mutate {
		m(cfg)
	}
	sink, _ := next.(*consumertest.ProfilesSink)
	r, err := newReceiver(cfg, receivertest.NewNopSettings(typ), next)
	require.NoError(t, err)
	r.now = func() time.Time { return fixedNow }
	srv, err := r.newServer(context.Background(), componenttest.NewNopHost())
	require.NoError(t, err)
	return &testReceiver{r: r, sink: sink, h: srv.Handler}
}

func (tr *testReceiver) do(t testing.TB, method, query, contentType string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), method, "/ingest?"+query, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	tr.h.ServeHTTP(rec, req)
	return rec
}
