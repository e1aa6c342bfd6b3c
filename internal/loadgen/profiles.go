package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/google/pprof/profile"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
	"google.golang.org/protobuf/encoding/protowire"
)

// CPUProfile is the 30 KB gzipped CPU pprof of
// components/receiver/pyroscopereceiver/testdata/cpu_30k.pb.gz (a test
// keeps this copy equal to it): 320 stacks, samples/count and
// cpu/nanoseconds, 15 s.
//
//go:embed cpu_30k.pb.gz
var CPUProfile []byte

// PyroscopeApp is the application name the uploads carry; the receiver
// strips the .cpu suffix, so profiles land under the traces' service.name.
const PyroscopeApp = GatewayService + ".cpu"

type pyroscopeSender struct {
	h        *httpTarget
	duration time.Duration
	base     []byte // CPUProfile without its time, gzipped again
}

func newPyroscopeSender(o Options) (sender, error) {
	if o.BatchSize != 1 {
		return nil, fmt.Errorf("%s: batch size %d: an upload is one profile (batch size 1)", o.Kind, o.BatchSize)
	}
	p, err := profile.ParseData(CPUProfile)
	if err != nil {
		return nil, fmt.Errorf("%s: the embedded pprof: %w", o.Kind, err)
	}
	base, err := timelessPprof(CPUProfile)
	if err != nil {
		return nil, fmt.Errorf("%s: the embedded pprof: %w", o.Kind, err)
	}
	h, err := newHTTPTarget(o, "application/octet-stream")
	if err != nil {
		return nil, err
	}
	return &pyroscopeSender{h: h, duration: time.Duration(p.DurationNanos), base: base}, nil
}

// timelessPprof is a gzipped pprof without its time_nanos (field 9), so
// that stampPprofTime can give it one: pprof refuses a second time_nanos
// as a concatenated profile. Go's default gzip level makes it the size of
// the fixture again (32,492 bytes for its 32,504).
func timelessPprof(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for b := raw; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		if num != 9 {
			_, _ = zw.Write(b[:n+m])
		}
		b = b[n+m:]
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *pyroscopeSender) close() { s.h.close() }

func (s *pyroscopeSender) newWorker() (worker, error) {
	return &pyroscopeWorker{s: s, body: append(make([]byte, 0, len(s.base)+40), s.base...)}, nil
}

type pyroscopeWorker struct {
	s    *pyroscopeSender
	body []byte
	resp []byte
}

// stampPprofTime makes body (base, the timeless pprof, and whatever a
// previous call appended) base followed by a second gzip member that
// holds only pprof field 9, time_nanos, set to sent. Gzip readers join
// members, so the upload parses as the fixture with its time replaced:
// the sink can then read each upload's send time (the fixture's own is
// from 2023), while the collector decompresses and parses what it did
// before, plus 37 bytes.
func stampPprofTime(body []byte, baseLen int, sent time.Time) []byte {
	var field [1 + binary.MaxVarintLen64]byte
	field[0] = 9<<3 | 0                                            // field 9, varint
	n := 1 + binary.PutUvarint(field[1:], uint64(sent.UnixNano())) //nolint:gosec // after 1970
	payload := field[:n]
	body = append(body[:baseLen],
		0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, // gzip header: deflate, no name, no mtime, unknown OS
		1,                          // one final stored (uncompressed) deflate block
		byte(n), 0, ^byte(n), 0xff) // LEN and its complement, little endian
	body = append(body, payload...)
	body = binary.LittleEndian.AppendUint32(body, crc32.ChecksumIEEE(payload))
	return binary.LittleEndian.AppendUint32(body, uint32(n))
}

// pyroscopeQuery is what pyroscope-io SDKs put in the URL; until is the
// send time, from the profile's duration before it.
func pyroscopeQuery(now time.Time, d time.Duration) string {
	until := now.Unix()
	q := url.Values{
		"name":       {PyroscopeApp + "{env=production}"},
		"from":       {strconv.FormatInt(until-int64(d/time.Second), 10)},
		"until":      {strconv.FormatInt(until, 10)},
		"format":     {"pprof"},
		"sampleRate": {"100"},
		"spyName":    {"gospy"},
	}
	return "/ingest?" + q.Encode()
}

func (w *pyroscopeWorker) send(ctx context.Context, now time.Time) outcome {
	w.body = stampPprofTime(w.body, len(w.s.base), now)
	return w.s.h.post(ctx, pyroscopeQuery(now, w.s.duration), w.body, nil, &w.resp)
}

// ProfileBatch is n copies of CPUProfile as OTLP profiles: one
// ResourceProfiles (service.name gatewayz-api) per copy, holding one
// Profile per pprof sample type, all sharing one dictionary. Times and
// profile ids are template sentinels.
func ProfileBatch(n int) (pprofile.Profiles, error) {
	p, err := profile.ParseData(CPUProfile)
	if err != nil {
		return pprofile.Profiles{}, err
	}
	pd := pprofile.NewProfiles()
	d := newDict(pd.Dictionary())
	stacks := make([]int32, len(p.Sample))
	for i, s := range p.Sample {
		stacks[i] = d.stack(s.Location)
	}
	for c := range n {
		rp := pd.ResourceProfiles().AppendEmpty()
		rp.Resource().Attributes().PutStr("service.name", GatewayService)
		rp.Resource().Attributes().PutStr("service.instance.id", GatewayService+"-0")
		sp := rp.ScopeProfiles().AppendEmpty()
		sp.Scope().SetName("gatewayz-loadgen")
		for st, vt := range p.SampleType {
			prof := sp.Profiles().AppendEmpty()
			prof.SetProfileID(pprofile.ProfileID(sentinelTraceID(c*len(p.SampleType) + st)))
			prof.SampleType().SetTypeStrindex(d.str(vt.Type))
			prof.SampleType().SetUnitStrindex(d.str(vt.Unit))
			prof.PeriodType().SetTypeStrindex(d.str(p.PeriodType.Type))
			prof.PeriodType().SetUnitStrindex(d.str(p.PeriodType.Unit))
			prof.SetPeriod(p.Period)
			prof.SetTime(pcommon.Timestamp(sentinelTime(0)))
			prof.SetDurationNano(uint64(p.DurationNanos))
			for i, s := range p.Sample {
				out := prof.Samples().AppendEmpty()
				out.SetStackIndex(stacks[i])
				out.Values().Append(s.Value[st])
			}
		}
	}
	return pd, nil
}

// dict fills a dictionary; index 0 of every table is the zero entry, as
// OTLP profiles require.
type dict struct {
	d         pprofile.ProfilesDictionary
	strs      map[string]int32
	funcs     map[uint64]int32
	locs      map[uint64]int32
	mappings  map[uint64]int32
	stackKeys map[string]int32
}

func newDict(d pprofile.ProfilesDictionary) *dict {
	d.StringTable().Append("")
	d.MappingTable().AppendEmpty()
	d.LinkTable().AppendEmpty()
	d.AttributeTable().AppendEmpty()
	d.FunctionTable().AppendEmpty()
	d.LocationTable().AppendEmpty()
	d.StackTable().AppendEmpty()
	return &dict{d: d, strs: map[string]int32{"": 0}, funcs: map[uint64]int32{}, locs: map[uint64]int32{},
		mappings: map[uint64]int32{}, stackKeys: map[string]int32{}}
}

func (b *dict) str(s string) int32 {
	if i, ok := b.strs[s]; ok {
		return i
	}
	i := int32(b.d.StringTable().Len())
	b.d.StringTable().Append(s)
	b.strs[s] = i
	return i
}

func (b *dict) mapping(m *profile.Mapping) int32 {
	if m == nil {
		return 0
	}
	if i, ok := b.mappings[m.ID]; ok {
		return i
	}
	i := int32(b.d.MappingTable().Len())
	out := b.d.MappingTable().AppendEmpty()
	out.SetMemoryStart(m.Start)
	out.SetMemoryLimit(m.Limit)
	out.SetFileOffset(m.Offset)
	out.SetFilenameStrindex(b.str(m.File))
	b.mappings[m.ID] = i
	return i
}

func (b *dict) function(f *profile.Function) int32 {
	if i, ok := b.funcs[f.ID]; ok {
		return i
	}
	i := int32(b.d.FunctionTable().Len())
	out := b.d.FunctionTable().AppendEmpty()
	out.SetNameStrindex(b.str(f.Name))
	out.SetSystemNameStrindex(b.str(f.SystemName))
	out.SetFilenameStrindex(b.str(f.Filename))
	out.SetStartLine(f.StartLine)
	b.funcs[f.ID] = i
	return i
}

func (b *dict) location(l *profile.Location) int32 {
	if i, ok := b.locs[l.ID]; ok {
		return i
	}
	i := int32(b.d.LocationTable().Len())
	out := b.d.LocationTable().AppendEmpty()
	out.SetMappingIndex(b.mapping(l.Mapping))
	out.SetAddress(l.Address)
	for _, ln := range l.Line {
		ol := out.Lines().AppendEmpty()
		ol.SetFunctionIndex(b.function(ln.Function))
		ol.SetLine(ln.Line)
	}
	b.locs[l.ID] = i
	return i
}

// stack interns a stack (leaf first, as in pprof).
func (b *dict) stack(locs []*profile.Location) int32 {
	idx := make([]int32, len(locs))
	var key bytes.Buffer
	for i, l := range locs {
		idx[i] = b.location(l)
		fmt.Fprintf(&key, "%d,", idx[i])
	}
	if i, ok := b.stackKeys[key.String()]; ok {
		return i
	}
	i := int32(b.d.StackTable().Len())
	b.d.StackTable().AppendEmpty().LocationIndices().FromRaw(idx)
	b.stackKeys[key.String()] = i
	return i
}

type profileSender struct {
	g    *grpcTarget
	tmpl *template
	ids  *idSource
	n    int64
}

func newProfileSender(o Options) (sender, error) {
	pd, err := ProfileBatch(o.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("%s: the embedded pprof: %w", o.Kind, err)
	}
	body, err := pprofileotlp.NewExportRequestFromProfiles(pd).MarshalProto()
	if err != nil {
		return nil, err
	}
	perCopy := pd.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().Len()
	tmpl, err := scanProto(body, perCopy*o.BatchSize, perCopy*o.BatchSize)
	if err != nil {
		return nil, err
	}
	g, err := dialGRPC(o, "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export")
	if err != nil {
		return nil, err
	}
	return &profileSender{g: g, tmpl: tmpl, ids: newIDSource(), n: int64(o.BatchSize)}, nil
}

func (s *profileSender) close() { s.g.close() }

func (s *profileSender) newWorker() (worker, error) {
	return &profileWorker{s: s, tmpl: s.tmpl.clone()}, nil
}

type profileWorker struct {
	s    *profileSender
	tmpl *template
	resp []byte
}

func (w *profileWorker) send(ctx context.Context, now time.Time) outcome {
	w.tmpl.stamp(now, w.s.ids)
	out := w.s.g.call(ctx, w.tmpl.body, &w.resp)
	if out.err == nil && len(w.resp) > 0 {
		r := pprofileotlp.NewExportResponse()
		if err := r.UnmarshalProto(w.resp); err == nil && r.PartialSuccess().RejectedProfiles() > 0 {
			// Rejected counts Profile messages; an item is a whole pprof.
			out.rejected = w.s.n
		}
	}
	return out
}
