// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/grafana/pyroscope-go/upstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// ---------------------------------------------------------------------------
// Flame graphs: the same function for input (pprof) and output (pprofile).

// flameGraph maps "type/unit" -> "root;...;leaf" -> summed value.
type flameGraph map[string]map[string]int64

func frameName(fnName string, addr uint64) string {
	if fnName != "" {
		return fnName
	}
	return "0x" + strconv.FormatUint(addr, 16)
}

// pprofFlameGraph builds the flame graph of a pprof profile: frames are
// function names (inlined lines expanded), root first.
func pprofFlameGraph(p *profile.Profile) flameGraph {
	fg := flameGraph{}
	for t, st := range p.SampleType {
		m := map[string]int64{}
		for _, s := range p.Sample {
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
			m[rootFirst(frames)] += s.Value[t]
		}
		fg[st.Type+"/"+st.Unit] = m
	}
	return fg
}

func rootFirst(leafFirst []string) string {
	out := make([]string, len(leafFirst))
	for i, f := range leafFirst {
		out[len(leafFirst)-1-i] = f
	}
	return strings.Join(out, ";")
}

// otlpFlameGraph builds the flame graph of OTLP profiles (all resources and
// scopes merged), keyed by each Profile's sample type.
func otlpFlameGraph(t testing.TB, pd pprofile.Profiles) flameGraph {
	t.Helper()
	d := pd.Dictionary()
	st := d.StringTable()
	fg := flameGraph{}
	for _, rp := range pd.ResourceProfiles().All() {
		for _, sp := range rp.ScopeProfiles().All() {
			for _, prof := range sp.Profiles().All() {
				key := st.At(int(prof.SampleType().TypeStrindex())) + "/" + st.At(int(prof.SampleType().UnitStrindex()))
				m := fg[key]
				if m == nil {
					m = map[string]int64{}
					fg[key] = m
				}
				for _, s := range prof.Samples().All() {
					require.Equal(t, 1, s.Values().Len(), "one value per sample")
					var frames []string
					stack := d.StackTable().At(int(s.StackIndex()))
					for _, li := range stack.LocationIndices().All() {
						loc := d.LocationTable().At(int(li))
						if loc.Lines().Len() == 0 {
							frames = append(frames, frameName("", loc.Address()))
						}
						for _, ln := range loc.Lines().All() {
							fn := d.FunctionTable().At(int(ln.FunctionIndex()))
							frames = append(frames, frameName(st.At(int(fn.NameStrindex())), loc.Address()))
						}
					}
					m[rootFirst(frames)] += s.Values().At(0)
				}
			}
		}
	}
	return fg
}

func (fg flameGraph) totals() map[string]int64 {
	out := map[string]int64{}
	for k, m := range fg {
		for _, v := range m {
			out[k] += v
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Detailed sample fingerprints: every field the translation must preserve.

func pprofSampleFingerprints(p *profile.Profile) map[string][]string {
	out := map[string][]string{}
	for t, st := range p.SampleType {
		var fps []string
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
			var labels []string
			for k, vs := range s.Label {
				labels = append(labels, k+"="+strings.Join(vs, ","))
			}
			for k, vs := range s.NumLabel {
				unit := ""
				if u := s.NumUnit[k]; len(u) > 0 {
					unit = u[0]
				}
				var parts []string
				for _, v := range vs {
					parts = append(parts, strconv.FormatInt(v, 10))
				}
				labels = append(labels, k+"="+strings.Join(parts, ",")+unit)
			}
			sort.Strings(labels)
			fmt.Fprintf(&sb, " {%s} = %d", strings.Join(labels, " "), s.Value[t])
			fps = append(fps, sb.String())
		}
		sort.Strings(fps)
		out[st.Type+"/"+st.Unit] = fps
	}
	return out
}

func otlpSampleFingerprints(t testing.TB, pd pprofile.Profiles) map[string][]string {
	t.Helper()
	d := pd.Dictionary()
	st := d.StringTable()
	str := func(i int32) string { return st.At(int(i)) }
	out := map[string][]string{}
	prof := func(prof pprofile.Profile) {
		key := str(prof.SampleType().TypeStrindex()) + "/" + str(prof.SampleType().UnitStrindex())
		for _, s := range prof.Samples().All() {
			var sb strings.Builder
			for _, li := range d.StackTable().At(int(s.StackIndex())).LocationIndices().All() {
				loc := d.LocationTable().At(int(li))
				fmt.Fprintf(&sb, "[%x", loc.Address())
				if loc.MappingIndex() != 0 {
					m := d.MappingTable().At(int(loc.MappingIndex()))
					buildID := ""
					attrs, err := pprofile.FromAttributeIndices(d.AttributeTable(), m, d)
					require.NoError(t, err)
					if v, ok := attrs.Get(attrBuildID); ok {
						buildID = v.Str()
					}
					fmt.Fprintf(&sb, " map(%x-%x+%x %s %s)", m.MemoryStart(), m.MemoryLimit(), m.FileOffset(), str(m.FilenameStrindex()), buildID)
				}
				for _, ln := range loc.Lines().All() {
					f := d.FunctionTable().At(int(ln.FunctionIndex()))
					fmt.Fprintf(&sb, " %s|%s|%s|%d:%d:%d", str(f.NameStrindex()), str(f.SystemNameStrindex()), str(f.FilenameStrindex()), f.StartLine(), ln.Line(), ln.Column())
				}
				sb.WriteString("]")
			}
			var labels []string
			for _, ai := range s.AttributeIndices().All() {
				kv := d.AttributeTable().At(int(ai))
				k := str(kv.KeyStrindex())
				unit := str(kv.UnitStrindex())
				switch kv.Value().Type() {
				case pcommon.ValueTypeSlice:
					var parts []string
					for _, v := range kv.Value().Slice().All() {
						parts = append(parts, v.AsString())
					}
					labels = append(labels, k+"="+strings.Join(parts, ",")+unit)
				default:
					labels = append(labels, k+"="+kv.Value().AsString()+unit)
				}
			}
			sort.Strings(labels)
			fmt.Fprintf(&sb, " {%s} = %d", strings.Join(labels, " "), s.Values().At(0))
			out[key] = append(out[key], sb.String())
		}
	}
	for _, rp := range pd.ResourceProfiles().All() {
		for _, sp := range rp.ScopeProfiles().All() {
			for _, p := range sp.Profiles().All() {
				prof(p)
			}
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
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
// Receiver under test, driven through its handler.

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
	r.now = func() int64 { return fixedNow.UnixNano() }
	return &testReceiver{r: r, sink: sink, h: r.handler()}
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
