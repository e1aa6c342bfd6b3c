// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

// The fast path decodes a pprof protobuf straight into OTLP profiles,
// without building a profile.Profile first: profile.Parse allocates an
// object per sample, location, line and label, and translatePprof then
// looks each of them up again in pointer-keyed maps; together they were
// most of the receiver's CPU per upload. It produces exactly what
// profile.ParseData + translatePprof produce (fastpprof_test.go compares
// the two on every test profile and on fuzzed input). It accepts only what
// profile.ParseData accepts and leaves every input it does not handle to
// that path (errFallback): legacy text formats, malformed or inconsistent
// tables, concatenated profiles, repeated label keys.

var errFallback = errors.New("pprof input left to profile.Parse")

type span struct{ lo, hi int32 }

type rawValueType struct{ typ, unit int64 }

type rawSample struct{ locs, vals, labels span }

type rawLabel struct{ key, str, num, unit int64 }

type rawMapping struct {
	id, start, limit, offset uint64
	file, buildID            int64
}

type rawLocation struct {
	id, mappingID, address uint64
	lines                  span
}

type rawLine struct {
	function     uint64
	line, column int64
}

type rawFunction struct {
	id                                    uint64
	name, systemName, filename, startLine int64
}

// idIndex resolves pprof IDs to table positions like profile.postDecode
// does: a slice for IDs up to the table's length, a map above.
type idIndex struct {
	dense  []int32
	sparse map[uint64]int32
}

func (x *idIndex) reset(n int) {
	x.dense = x.dense[:0]
	for range n + 1 {
		x.dense = append(x.dense, -1)
	}
	clear(x.sparse)
}

// add reports false for ID 0 and for a duplicate, both refused by
// profile.CheckValid.
func (x *idIndex) add(id uint64, pos int32) bool {
	if id == 0 {
		return false
	}
	if id < uint64(len(x.dense)) {
		if x.dense[id] >= 0 {
			return false
		}
		x.dense[id] = pos
		return true
	}
	if x.sparse == nil {
		x.sparse = map[uint64]int32{}
	}
	if _, dup := x.sparse[id]; dup {
		return false
	}
	x.sparse[id] = pos
	return true
}

func (x *idIndex) get(id uint64) int32 {
	if id < uint64(len(x.dense)) {
		return x.dense[id]
	}
	if v, ok := x.sparse[id]; ok {
		return v
	}
	return -1
}

// attrKey identifies a sample label by its string-table indices, in front
// of the content-keyed attribute map: the same indices are the same
// attribute, without building its content key again.
type attrKey struct {
	key, str, num, unit int64
}

// resolvedLabel is one label of the sample being translated.
type resolvedLabel struct {
	key  string
	num  bool
	attr rawLabel
}

// fastDecoder holds one upload's decoded tables and the scratch state of
// its translation; pooled, so steady-state uploads allocate little beyond
// their output.
type fastDecoder struct {
	raw         []byte
	strs        []span
	sampleTypes []rawValueType
	samples     []rawSample
	locIDs      []uint64
	vals        []int64
	labels      []rawLabel
	mappings    []rawMapping
	locations   []rawLocation
	lines       []rawLine
	functions   []rawFunction
	comments    []int64
	periodType  rawValueType
	timeNanos   int64
	duration    int64
	period      int64
	dropFrames  int64
	keepFrames  int64
	defaultType int64
	docURL      int64

	mapIdx, funcIdx, locIdx idIndex

	dict      pprofile.ProfilesDictionary
	strOut    []int32 // output string index per pprof string index, -1 unset
	strMap    map[string]int32
	outStrs   []string // backed by raw until copied out in finishStrings
	funcOut   []int32  // output index per function position, 0 unset
	mapOut    []int32
	locOut    []int32
	stacks    map[uint64]int32 // see internStack
	seed      maphash.Seed
	attrs     map[string]int32
	attrCache map[attrKey]int32
	stackBuf  []int32
	funcBuf   []int32
	stackIdx  []int32
	attrFlat  []int32
	attrSpans []span
	lbls      []resolvedLabel
}

var fastDecoders = sync.Pool{New: func() any {
	return &fastDecoder{
		strMap:    map[string]int32{},
		stacks:    map[uint64]int32{},
		seed:      maphash.MakeSeed(),
		attrs:     map[string]int32{},
		attrCache: map[attrKey]int32{},
	}
}}

// maxPooledDecoder bounds the tables a pooled decoder keeps between
// uploads: a rare huge profile should not pin its memory.
const maxPooledDecoder = 1 << 16

// fastTranslatePprof decodes raw (an uncompressed pprof protobuf) into OTLP
// profiles, as translatePprof(profile.ParseData(raw)) does. It returns
// errFallback for anything it leaves to that path.
func fastTranslatePprof(raw []byte, res resourceInfo, scope scopeInfo, startNanos, durationNanos int64) (pprofile.Profiles, error) {
	d := fastDecoders.Get().(*fastDecoder)
	defer d.release()
	if err := d.decode(raw); err != nil {
		return pprofile.Profiles{}, err
	}
	if err := d.validate(); err != nil {
		return pprofile.Profiles{}, err
	}
	return d.translate(res, scope, startNanos, durationNanos)
}

func (d *fastDecoder) release() {
	// Drop every reference into raw and into the output.
	d.raw = nil
	d.dict = pprofile.ProfilesDictionary{}
	clear(d.outStrs)
	clear(d.lbls)
	clear(d.strMap)
	clear(d.stacks)
	clear(d.attrs)
	if len(d.samples) > maxPooledDecoder || len(d.locIDs) > 16*maxPooledDecoder || len(d.strs) > maxPooledDecoder {
		return
	}
	fastDecoders.Put(d)
}

func (d *fastDecoder) reset(raw []byte) {
	d.raw = raw
	d.strs = d.strs[:0]
	d.sampleTypes = d.sampleTypes[:0]
	d.samples = d.samples[:0]
	d.locIDs = d.locIDs[:0]
	d.vals = d.vals[:0]
	d.labels = d.labels[:0]
	d.mappings = d.mappings[:0]
	d.locations = d.locations[:0]
	d.lines = d.lines[:0]
	d.functions = d.functions[:0]
	d.comments = d.comments[:0]
	d.periodType = rawValueType{}
	d.timeNanos, d.duration, d.period = 0, 0, 0
	d.dropFrames, d.keepFrames, d.defaultType, d.docURL = 0, 0, 0, 0
}

// ---------------------------------------------------------------------------
// Wire format, with the exact rules of github.com/google/pprof/profile's
// decoder (proto.go): which wire types each field takes, 10-byte varints,
// unknown fields of wire types 0, 1, 2 and 5 skipped.

// The decoder passes indices into raw around, never subslices: it stores
// no pointer, so it pays no GC write barrier. An upload allocates enough
// (its OTLP profile) to keep the GC marking much of the time, and the
// barriers on the subslices of a field struct it used to pass were a large
// part of its time.

// readVarint returns the varint at the start of data and its length, 0 if
// invalid.
func readVarint(data []byte) (uint64, int) {
	if len(data) > 0 && data[0] < 0x80 {
		return uint64(data[0]), 1
	}
	return readVarintSlow(data)
}

func readVarintSlow(data []byte) (uint64, int) {
	// Two bytes: IDs, indices and line numbers of most profiles.
	if len(data) > 1 && data[0] >= 0x80 && data[1] < 0x80 {
		return uint64(data[0]&0x7F) | uint64(data[1])<<7, 2
	}
	var u uint64
	for i := 0; ; i++ {
		if i >= 10 || i >= len(data) {
			return 0, 0
		}
		u |= uint64(data[i]&0x7F) << uint(7*i)
		if data[i]&0x80 == 0 {
			return u, i + 1
		}
	}
}

// nextField reads the field that starts at b[i]: its number, its wire
// type, its value (a varint or fixed-size value; for wire type 2 the
// length of its payload, which is b[end-int(v):end]) and the index after
// it. end is 0 if b holds no valid field at i; b ends where the enclosing
// message does.
func nextField(b []byte, i int) (num, typ int, v uint64, end int) {
	var x uint64
	n := 0
	if i < len(b) && b[i] < 0x80 {
		// The tag of every field numbered below 16: one byte.
		x, n = uint64(b[i]), 1
	} else if x, n = readVarintSlow(b[i:]); n == 0 {
		return 0, 0, 0, 0
	}
	i += n
	num, typ = int(x>>3), int(x&7)
	if num < 0 {
		// profile.Parse panics on these (a negative table index).
		return 0, 0, 0, 0
	}
	switch typ {
	case 0:
		if i < len(b) && b[i] < 0x80 {
			return num, typ, uint64(b[i]), i + 1
		}
		if v, n = readVarintSlow(b[i:]); n == 0 {
			return 0, 0, 0, 0
		}
		return num, typ, v, i + n
	case 1:
		if len(b)-i < 8 {
			return 0, 0, 0, 0
		}
		return num, typ, binary.LittleEndian.Uint64(b[i:]), i + 8
	case 2:
		if v, n = readVarint(b[i:]); n == 0 || v > uint64(len(b)-i-n) {
			return 0, 0, 0, 0
		}
		return num, typ, v, i + n + int(v)
	case 5:
		if len(b)-i < 4 {
			return 0, 0, 0, 0
		}
		return num, typ, uint64(binary.LittleEndian.Uint32(b[i:])), i + 4
	}
	return 0, 0, 0, 0
}

// appendVarints appends a repeated (u)int64 field: packed (wire type 2,
// payload b[lo:hi]), or one varint (wire type 0, value v).
func appendVarints[T int64 | uint64](dst []T, b []byte, typ int, v uint64, lo, hi int) ([]T, error) {
	if typ != 2 {
		if typ != 0 {
			return dst, errFallback
		}
		return append(dst, T(v)), nil
	}
	for i := lo; i < hi; {
		if c := b[i]; c < 0x80 {
			dst = append(dst, T(c))
			i++
			continue
		}
		u, n := readVarintSlow(b[i:hi])
		if n == 0 {
			return dst, errFallback
		}
		dst = append(dst, T(u))
		i += n
	}
	return dst, nil
}

// decode reads raw's fields into d's tables.
func (d *fastDecoder) decode(raw []byte) error {
	d.reset(raw)
	if len(raw) == 0 || cap(raw) >= 1<<31-1 {
		return errFallback
	}
	for i := 0; i < len(raw); {
		num, typ, v, end := nextField(raw, i)
		if end == 0 {
			return errFallback
		}
		if err := d.profileField(num, typ, v, end); err != nil {
			return err
		}
		i = end
	}
	return nil
}

// varintOf is the value of a field that must be a varint (wire type 0).
func varintOf(typ int, v uint64) (uint64, error) {
	if typ != 0 {
		return 0, errFallback
	}
	return v, nil
}

func (d *fastDecoder) profileField(num, typ int, v uint64, end int) error {
	var err error
	var u uint64
	lo := end - int(v) // the payload's start, for wire type 2
	switch num {
	case 1:
		if typ != 2 {
			return errFallback
		}
		var vt rawValueType
		if vt, err = d.decodeValueType(lo, end); err == nil {
			d.sampleTypes = append(d.sampleTypes, vt)
		}
	case 2:
		if typ != 2 {
			return errFallback
		}
		err = d.decodeSample(lo, end)
	case 3:
		if typ != 2 {
			return errFallback
		}
		err = d.decodeMapping(lo, end)
	case 4:
		if typ != 2 {
			return errFallback
		}
		err = d.decodeLocation(lo, end)
	case 5:
		if typ != 2 {
			return errFallback
		}
		err = d.decodeFunction(lo, end)
	case 6:
		if typ != 2 {
			return errFallback
		}
		d.strs = append(d.strs, span{int32(lo), int32(end)})
		if d.strs[0].hi != d.strs[0].lo {
			return errFallback
		}
	case 7:
		u, err = varintOf(typ, v)
		d.dropFrames = int64(u)
	case 8:
		u, err = varintOf(typ, v)
		d.keepFrames = int64(u)
	case 9:
		if d.timeNanos != 0 {
			return errFallback // concatenated profiles
		}
		u, err = varintOf(typ, v)
		d.timeNanos = int64(u)
	case 10:
		u, err = varintOf(typ, v)
		d.duration = int64(u)
	case 11:
		if typ != 2 {
			return errFallback
		}
		// A repeated period_type replaces the previous one, as in profile.Parse.
		d.periodType, err = d.decodeValueType(lo, end)
	case 12:
		u, err = varintOf(typ, v)
		d.period = int64(u)
	case 13:
		d.comments, err = appendVarints(d.comments, d.raw, typ, v, lo, end)
	case 14:
		u, err = varintOf(typ, v)
		d.defaultType = int64(u)
	case 15:
		u, err = varintOf(typ, v)
		d.docURL = int64(u)
	}
	return err
}

// varints reads a message of varint fields numbered 1 to len(dst) into
// dst (the last one wins, as in profile.Parse); a field in that range of
// another wire type makes it fall back, any other field is skipped.
func (d *fastDecoder) varints(lo, hi int, dst []uint64) error {
	b := d.raw[:hi]
	for i := lo; i < hi; {
		num, typ, v, end := nextField(b, i)
		if end == 0 {
			return errFallback
		}
		if num >= 1 && num <= len(dst) {
			if typ != 0 {
				return errFallback
			}
			dst[num-1] = v
		}
		i = end
	}
	return nil
}

func (d *fastDecoder) decodeValueType(lo, hi int) (rawValueType, error) {
	var f [2]uint64 // type, unit
	err := d.varints(lo, hi, f[:])
	return rawValueType{typ: int64(f[0]), unit: int64(f[1])}, err
}

func (d *fastDecoder) decodeSample(lo, hi int) error {
	s := rawSample{
		locs:   span{int32(len(d.locIDs)), 0},
		vals:   span{int32(len(d.vals)), 0},
		labels: span{int32(len(d.labels)), 0},
	}
	b := d.raw[:hi]
	var err error
	for i := lo; i < hi; {
		num, typ, v, end := nextField(b, i)
		if end == 0 {
			return errFallback
		}
		switch num {
		case 1:
			d.locIDs, err = appendVarints(d.locIDs, b, typ, v, end-int(v), end)
		case 2:
			d.vals, err = appendVarints(d.vals, b, typ, v, end-int(v), end)
		case 3:
			if typ != 2 {
				return errFallback
			}
			var l rawLabel
			l, err = d.decodeLabel(end-int(v), end)
			d.labels = append(d.labels, l)
		}
		if err != nil {
			return err
		}
		i = end
	}
	s.locs.hi, s.vals.hi, s.labels.hi = int32(len(d.locIDs)), int32(len(d.vals)), int32(len(d.labels))
	d.samples = append(d.samples, s)
	return nil
}

func (d *fastDecoder) decodeLabel(lo, hi int) (rawLabel, error) {
	var f [4]uint64 // key, str, num, num_unit
	err := d.varints(lo, hi, f[:])
	return rawLabel{key: int64(f[0]), str: int64(f[1]), num: int64(f[2]), unit: int64(f[3])}, err
}

func (d *fastDecoder) decodeMapping(lo, hi int) error {
	// id, memory_start, memory_limit, file_offset, filename, build_id, then
	// has_functions, has_filenames, has_line_numbers, has_inline_frames:
	// profile.Parse checks only their type.
	var f [10]uint64
	if err := d.varints(lo, hi, f[:]); err != nil {
		return err
	}
	d.mappings = append(d.mappings, rawMapping{id: f[0], start: f[1], limit: f[2], offset: f[3], file: int64(f[4]), buildID: int64(f[5])})
	return nil
}

func (d *fastDecoder) decodeLocation(lo, hi int) error {
	l := rawLocation{lines: span{int32(len(d.lines)), 0}}
	b := d.raw[:hi]
	for i := lo; i < hi; {
		num, typ, v, end := nextField(b, i)
		if end == 0 {
			return errFallback
		}
		switch num {
		case 1, 2, 3, 5:
			if typ != 0 {
				return errFallback
			}
			switch num {
			case 1:
				l.id = v
			case 2:
				l.mappingID = v
			case 3:
				l.address = v
			}
			// 5: is_folded; profile.Parse checks only its type.
		case 4:
			if typ != 2 {
				return errFallback
			}
			if err := d.decodeLine(end-int(v), end); err != nil {
				return err
			}
		}
		i = end
	}
	l.lines.hi = int32(len(d.lines))
	d.locations = append(d.locations, l)
	return nil
}

func (d *fastDecoder) decodeLine(lo, hi int) error {
	var f [3]uint64 // function_id, line, column
	if err := d.varints(lo, hi, f[:]); err != nil {
		return err
	}
	d.lines = append(d.lines, rawLine{function: f[0], line: int64(f[1]), column: int64(f[2])})
	return nil
}

func (d *fastDecoder) decodeFunction(lo, hi int) error {
	var f [5]uint64 // id, name, system_name, filename, start_line
	if err := d.varints(lo, hi, f[:]); err != nil {
		return err
	}
	d.functions = append(d.functions, rawFunction{id: f[0], name: int64(f[1]), systemName: int64(f[2]), filename: int64(f[3]), startLine: int64(f[4])})
	return nil
}

// ---------------------------------------------------------------------------
// What profile.postDecode and profile.CheckValid refuse, refused here too.

func (d *fastDecoder) validStr(i int64) bool { return i >= 0 && i < int64(len(d.strs)) }

func (d *fastDecoder) rawStr(i int64) string {
	s := d.strs[i]
	if s.lo == s.hi {
		return ""
	}
	return unsafe.String(&d.raw[s.lo], int(s.hi-s.lo))
}

func (d *fastDecoder) validate() error {
	if len(d.samples) > 0 && len(d.sampleTypes) == 0 {
		return errFallback
	}
	for _, st := range d.sampleTypes {
		if !d.validStr(st.typ) || !d.validStr(st.unit) {
			return errFallback
		}
	}
	for _, i := range [...]int64{d.dropFrames, d.keepFrames, d.periodType.typ, d.periodType.unit, d.defaultType, d.docURL} {
		if !d.validStr(i) {
			return errFallback
		}
	}
	for _, i := range d.comments {
		if !d.validStr(i) {
			return errFallback
		}
	}
	d.mapIdx.reset(len(d.mappings))
	for i, m := range d.mappings {
		if !d.validStr(m.file) || !d.validStr(m.buildID) || !d.mapIdx.add(m.id, int32(i)) {
			return errFallback
		}
	}
	d.funcIdx.reset(len(d.functions))
	for i, f := range d.functions {
		if !d.validStr(f.name) || !d.validStr(f.systemName) || !d.validStr(f.filename) || !d.funcIdx.add(f.id, int32(i)) {
			return errFallback
		}
	}
	d.locIdx.reset(len(d.locations))
	for i, l := range d.locations {
		if !d.locIdx.add(l.id, int32(i)) {
			return errFallback
		}
		for _, ln := range d.lines[l.lines.lo:l.lines.hi] {
			if d.funcIdx.get(ln.function) < 0 {
				return errFallback
			}
		}
	}
	for _, s := range d.samples {
		if int(s.vals.hi-s.vals.lo) != len(d.sampleTypes) {
			return errFallback
		}
		for _, id := range d.locIDs[s.locs.lo:s.locs.hi] {
			if d.locIdx.get(id) < 0 {
				return errFallback
			}
		}
		for _, l := range d.labels[s.labels.lo:s.labels.hi] {
			if !d.validStr(l.key) {
				return errFallback
			}
			switch {
			case l.str != 0:
				if !d.validStr(l.str) {
					return errFallback
				}
			case l.unit != 0:
				if !d.validStr(l.unit) {
					return errFallback
				}
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Translation: translatePprof's order of interning, so the tables come out
// identical.

func fill32(s []int32, n int, v int32) []int32 {
	s = s[:0]
	for range n {
		s = append(s, v)
	}
	return s
}

func (d *fastDecoder) str(i int64) int32 {
	if v := d.strOut[i]; v >= 0 {
		return v
	}
	v := d.strContent(d.rawStr(i))
	d.strOut[i] = v
	return v
}

// strContent interns s, which may point into raw: the map and outStrs only
// live until finishStrings copies the strings out.
func (d *fastDecoder) strContent(s string) int32 {
	if v, ok := d.strMap[s]; ok {
		return v
	}
	v := int32(len(d.outStrs))
	d.outStrs = append(d.outStrs, s)
	d.strMap[s] = v
	return v
}

// finishStrings writes the string table, its strings copied into one
// allocation.
func (d *fastDecoder) finishStrings() {
	n := 0
	for _, s := range d.outStrs {
		n += len(s)
	}
	arena := make([]byte, 0, n)
	st := d.dict.StringTable()
	st.EnsureCapacity(len(d.outStrs))
	for _, s := range d.outStrs {
		off := len(arena)
		arena = append(arena, s...)
		if len(s) == 0 {
			st.Append("")
			continue
		}
		st.Append(unsafe.String(&arena[off], len(s)))
	}
}

func (d *fastDecoder) function(pos int32) int32 {
	if v := d.funcOut[pos]; v != 0 {
		return v
	}
	f := &d.functions[pos]
	ft := d.dict.FunctionTable()
	i := int32(ft.Len())
	of := ft.AppendEmpty()
	of.SetNameStrindex(d.str(f.name))
	of.SetSystemNameStrindex(d.str(f.systemName))
	of.SetFilenameStrindex(d.str(f.filename))
	of.SetStartLine(f.startLine)
	d.funcOut[pos] = i
	return i
}

func (d *fastDecoder) mapping(id uint64) int32 {
	pos := d.mapIdx.get(id)
	if pos < 0 {
		return 0 // a missing mapping is no mapping, as in profile.Parse
	}
	if v := d.mapOut[pos]; v != 0 {
		return v
	}
	m := &d.mappings[pos]
	mt := d.dict.MappingTable()
	i := int32(mt.Len())
	om := mt.AppendEmpty()
	om.SetMemoryStart(m.start)
	om.SetMemoryLimit(m.limit)
	om.SetFileOffset(m.offset)
	om.SetFilenameStrindex(d.str(m.file))
	if bid := d.rawStr(m.buildID); bid != "" {
		om.AttributeIndices().Append(d.attribute(attrBuildID, "s"+bid, "", func(v pcommon.Value) { v.SetStr(string([]byte(bid))) }))
	}
	d.mapOut[pos] = i
	return i
}

func (d *fastDecoder) location(pos int32) int32 {
	if v := d.locOut[pos]; v != 0 {
		return v
	}
	l := &d.locations[pos]
	mi := d.mapping(l.mappingID)
	lines := d.lines[l.lines.lo:l.lines.hi]
	fis := d.funcBuf[:0]
	for _, ln := range lines {
		fis = append(fis, d.function(d.funcIdx.get(ln.function)))
	}
	d.funcBuf = fis
	lt := d.dict.LocationTable()
	i := int32(lt.Len())
	ol := lt.AppendEmpty()
	ol.SetMappingIndex(mi)
	ol.SetAddress(l.address)
	ols := ol.Lines()
	ols.EnsureCapacity(len(lines))
	for j, ln := range lines {
		oln := ols.AppendEmpty()
		oln.SetFunctionIndex(fis[j])
		oln.SetLine(ln.line)
		oln.SetColumn(ln.column)
	}
	d.locOut[pos] = i
	return i
}

func (d *fastDecoder) stack(ids []uint64) int32 {
	if len(ids) == 0 {
		return 0
	}
	idx := d.stackBuf[:0]
	for _, id := range ids {
		idx = append(idx, d.location(d.locIdx.get(id)))
	}
	d.stackBuf = idx
	b := unsafe.Slice((*byte)(unsafe.Pointer(&idx[0])), 4*len(idx))
	return internStack(d.dict.StackTable(), d.stacks, maphash.Bytes(d.seed, b), idx)
}

// internStack returns the index of the stack idx in st, appending it if
// it is new. stacks maps a hash of a stack's location indices (h for idx)
// to its index in st; each hit is checked against st, and a stack whose
// hash is taken by another goes to the next free one. Unlike a map keyed
// by the indices themselves, it keeps no copy of them: those keys were a
// ninth of the bytes an upload allocated.
func internStack(st pprofile.StackSlice, stacks map[uint64]int32, h uint64, idx []int32) int32 {
	for ; ; h++ {
		i, ok := stacks[h]
		if !ok {
			i = int32(st.Len())
			st.AppendEmpty().LocationIndices().FromRaw(idx)
			stacks[h] = i
			return i
		}
		if sameIndices(st.At(int(i)).LocationIndices(), idx) {
			return i
		}
	}
}

func sameIndices(s pcommon.Int32Slice, idx []int32) bool {
	if s.Len() != len(idx) {
		return false
	}
	for j, v := range idx {
		if s.At(j) != v {
			return false
		}
	}
	return true
}

// attribute is dictBuilder.attribute: interned by key, value id and unit.
func (d *fastDecoder) attribute(key, id, unit string, set func(pcommon.Value)) int32 {
	mk := key + "\x00" + id + "\x00" + unit
	if i, ok := d.attrs[mk]; ok {
		return i
	}
	at := d.dict.AttributeTable()
	i := int32(at.Len())
	kv := at.AppendEmpty()
	kv.SetKeyStrindex(d.strContent(key))
	set(kv.Value())
	if unit != "" {
		kv.SetUnitStrindex(d.strContent(unit))
	}
	d.attrs[mk] = i
	return i
}

// sampleAttributes appends the attributes of sample s to d.attrFlat, as
// dictBuilder.sampleAttributes does for profile.Parse's labels: string
// labels by key, then numeric labels by key. A key with several values
// is left to profile.Parse.
func (d *fastDecoder) sampleAttributes(s rawSample) error {
	labels := d.labels[s.labels.lo:s.labels.hi]
	if len(labels) == 0 {
		return nil
	}
	lbls := d.lbls[:0]
	for _, l := range labels {
		switch {
		case l.str != 0:
			lbls = append(lbls, resolvedLabel{key: d.rawStr(l.key), attr: rawLabel{key: l.key, str: l.str}})
		case l.num != 0 || l.unit != 0:
			lbls = append(lbls, resolvedLabel{key: d.rawStr(l.key), num: true, attr: rawLabel{key: l.key, num: l.num, unit: l.unit}})
		}
	}
	d.lbls = lbls
	// Insertion sort: string labels first, each kind by key.
	for i := 1; i < len(lbls); i++ {
		for j := i; j > 0 && labelLess(lbls[j], lbls[j-1]); j-- {
			lbls[j], lbls[j-1] = lbls[j-1], lbls[j]
		}
	}
	for i := 1; i < len(lbls); i++ {
		if lbls[i].num == lbls[i-1].num && lbls[i].key == lbls[i-1].key {
			return errFallback
		}
	}
	for _, l := range lbls {
		ck := attrKey(l.attr)
		if i, ok := d.attrCache[ck]; ok {
			d.attrFlat = append(d.attrFlat, i)
			continue
		}
		var i int32
		// key and unit may point into raw: attribute copies them.
		key := l.key
		if !l.num {
			v := string([]byte(d.rawStr(l.attr.str)))
			i = d.attribute(key, "s"+v, "", func(pv pcommon.Value) { pv.SetStr(v) })
		} else {
			unit := ""
			if l.attr.unit != 0 {
				unit = d.rawStr(l.attr.unit)
			}
			v := l.attr.num
			i = d.attribute(key, "i"+strconv.FormatInt(v, 10), unit, func(pv pcommon.Value) { pv.SetInt(v) })
		}
		d.attrCache[ck] = i
		d.attrFlat = append(d.attrFlat, i)
	}
	return nil
}

func labelLess(a, b resolvedLabel) bool {
	if a.num != b.num {
		return !a.num
	}
	return a.key < b.key
}

func (d *fastDecoder) translate(res resourceInfo, scope scopeInfo, startNanos, durationNanos int64) (pprofile.Profiles, error) {
	out := pprofile.NewProfiles()
	d.dict = out.Dictionary()
	d.strOut = fill32(d.strOut, len(d.strs), -1)
	d.funcOut = fill32(d.funcOut, len(d.functions), 0)
	d.mapOut = fill32(d.mapOut, len(d.mappings), 0)
	d.locOut = fill32(d.locOut, len(d.locations), 0)
	d.outStrs = d.outStrs[:0]
	clear(d.attrCache)
	d.strContent("")
	d.dict.MappingTable().AppendEmpty()
	d.dict.LocationTable().AppendEmpty()
	d.dict.FunctionTable().AppendEmpty()
	d.dict.LinkTable().AppendEmpty()
	d.dict.AttributeTable().AppendEmpty()
	d.dict.StackTable().AppendEmpty()
	d.dict.FunctionTable().EnsureCapacity(len(d.functions) + 1)
	d.dict.LocationTable().EnsureCapacity(len(d.locations) + 1)

	rp := out.ResourceProfiles().AppendEmpty()
	fillResource(rp.Resource().Attributes(), res)
	sp := rp.ScopeProfiles().AppendEmpty()
	sp.Scope().SetName(scope.Name)
	sp.Scope().SetVersion(scope.Version)

	d.stackIdx = d.stackIdx[:0]
	d.attrFlat = d.attrFlat[:0]
	d.attrSpans = d.attrSpans[:0]
	for _, s := range d.samples {
		d.stackIdx = append(d.stackIdx, d.stack(d.locIDs[s.locs.lo:s.locs.hi]))
		lo := int32(len(d.attrFlat))
		if err := d.sampleAttributes(s); err != nil {
			return pprofile.Profiles{}, err
		}
		d.attrSpans = append(d.attrSpans, span{lo, int32(len(d.attrFlat))})
	}

	timeNanos := d.timeNanos
	if time.Unix(0, timeNanos).UTC().Year() == 1970 {
		timeNanos = startNanos
	}
	duration := d.duration
	if duration == 0 {
		duration = durationNanos
	}
	types := make([]valueType, len(d.sampleTypes))
	for i, st := range d.sampleTypes {
		types[i] = valueType{d.rawStr(st.typ), d.rawStr(st.unit)}
	}
	pt := valueType{d.rawStr(d.periodType.typ), d.rawStr(d.periodType.unit)}
	picked := pickSampleTypes(types, &pt, d.period, len(d.samples), func(s, t int) int64 {
		return d.vals[int(d.samples[s].vals.lo)+t]
	})
	profs := sp.Profiles()
	profs.EnsureCapacity(len(picked))
	for _, ot := range picked {
		prof := profs.AppendEmpty()
		prof.SetProfileID(newProfileID())
		prof.SampleType().SetTypeStrindex(d.strContent(ot.vt.Type))
		prof.SampleType().SetUnitStrindex(d.strContent(ot.vt.Unit))
		prof.PeriodType().SetTypeStrindex(d.str(d.periodType.typ))
		prof.PeriodType().SetUnitStrindex(d.str(d.periodType.unit))
		prof.SetPeriod(d.period)
		if timeNanos > 0 {
			prof.SetTime(pcommon.Timestamp(timeNanos))
		}
		if duration > 0 {
			prof.SetDurationNano(uint64(duration))
		}
		samples := prof.Samples()
		samples.EnsureCapacity(len(d.samples))
		for i := range d.samples {
			os := samples.AppendEmpty()
			os.SetStackIndex(d.stackIdx[i])
			if a := d.attrSpans[i]; a.hi > a.lo {
				os.AttributeIndices().FromRaw(d.attrFlat[a.lo:a.hi])
			}
			os.Values().Append(d.vals[int(d.samples[i].vals.lo)+ot.src] / ot.div)
		}
	}
	d.finishStrings()
	return out, nil
}
