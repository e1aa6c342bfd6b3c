// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/google/pprof/profile"
	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
)

// tooLarge is the 413 for a body or a part of it over the size limit,
// before or after decompression.
func tooLarge(what string, limit int64) error {
	return ingress.TooLarge("%s exceeds the limit of %d bytes", what, limit)
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// gzipReaders are klauspost's gzip readers (the same format, about half the
// CPU of compress/gzip's on profiles), reset for each body.
var gzipReaders sync.Pool

// bufs are the request bodies and decompressed profiles of finished
// uploads: a steady stream of similar uploads reuses the same few
// buffers, already grown to their size. Nothing decoded from a buffer
// points into it (profile.Parse and the fast path copy their strings), so
// it is returned once the upload is translated.
var bufs sync.Pool

// maxPooledBuf keeps a rare huge upload's buffer out of the pool.
const maxPooledBuf = 4 << 20

func getBuf() *bytes.Buffer {
	if b, ok := bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func putBuf(b *bytes.Buffer) {
	if b == nil || b.Cap() > maxPooledBuf {
		return
	}
	b.Reset()
	bufs.Put(b)
}

// maybeGunzip decompresses b when it starts with the gzip magic bytes,
// refusing output larger than limit. Nested gzip is refused because
// profile.Parse would decompress it again without a limit.
func maybeGunzip(b []byte, limit int64, what string) ([]byte, error) {
	return gunzipInto(nil, b, limit, what)
}

// gunzipInto is maybeGunzip writing into buf (nil: a new buffer).
func gunzipInto(buf *bytes.Buffer, b []byte, limit int64, what string) ([]byte, error) {
	if !isGzip(b) {
		return b, nil
	}
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(b))
	} else {
		err = zr.Reset(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: invalid gzip data: %w", what, err)
	}
	defer gzipReaders.Put(zr)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	// Profiles typically compress 3-5x: size the buffer once.
	buf.Grow(int(min(int64(len(b))*4, limit) + bytes.MinRead))
	if _, err = buf.ReadFrom(io.LimitReader(zr, limit+1)); err != nil {
		return nil, fmt.Errorf("%s: invalid gzip data: %w", what, err)
	}
	out := buf.Bytes()
	if int64(len(out)) > limit {
		return nil, tooLarge(what+" (decompressed)", limit)
	}
	if isGzip(out) {
		return nil, fmt.Errorf("%s: nested gzip compression is not supported", what)
	}
	return out, nil
}

// safeFastTranslatePprof leaves the profile to profile.Parse should the
// fast path ever panic on an input the fuzz tests did not find.
func safeFastTranslatePprof(raw []byte, res resourceInfo, scope scopeInfo, startNanos, durationNanos int64) (pd pprofile.Profiles, err error) {
	defer func() {
		if r := recover(); r != nil {
			pd, err = pprofile.Profiles{}, errFallback
		}
	}()
	return fastTranslatePprof(raw, res, scope, startNanos, durationNanos)
}

// parsePprof decompresses (bounded by limit) and parses a pprof profile.
func parsePprof(b []byte, limit int64, what string) (p *profile.Profile, err error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty", what)
	}
	raw, err := maybeGunzip(b, limit, what)
	if err != nil {
		return nil, err
	}
	return parseRawPprof(raw, what)
}

// parseRawPprof parses an uncompressed pprof profile.
func parseRawPprof(raw []byte, what string) (p *profile.Profile, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%s: cannot parse pprof: %v", what, r)
		}
	}()
	p, err = profile.ParseData(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot parse pprof: %w", what, err)
	}
	if len(p.Sample) > 0 && len(p.SampleType) == 0 {
		return nil, fmt.Errorf("%s: pprof has samples but no sample types", what)
	}
	return p, nil
}

// translatePprofData is translatePprof(parsePprof(b)): by the fast path
// when it takes the profile, else by profile.Parse. buf receives the
// decompressed profile.
func translatePprofData(buf *bytes.Buffer, b []byte, limit int64, res resourceInfo, scope scopeInfo, startNanos, durationNanos int64) (pprofile.Profiles, error) {
	const what = "profile"
	if len(b) == 0 {
		return pprofile.Profiles{}, fmt.Errorf("%s is empty", what)
	}
	raw, err := gunzipInto(buf, b, limit, what)
	if err != nil {
		return pprofile.Profiles{}, err
	}
	if pd, err := safeFastTranslatePprof(raw, res, scope, startNanos, durationNanos); err == nil {
		return pd, nil
	}
	p, err := parseRawPprof(raw, what)
	if err != nil {
		return pprofile.Profiles{}, err
	}
	return translatePprof(p, res, scope, startNanos, durationNanos), nil
}

// sampleKey identifies a sample by its stack (function name, file and line
// of every frame, plus the address) and its labels, independent of the IDs
// inside one profile. It is used to subtract prev_profile from profile.
func sampleKey(s *profile.Sample) string {
	var sb strings.Builder
	for _, loc := range s.Location {
		sb.WriteString(strconv.FormatUint(loc.Address, 16))
		for _, ln := range loc.Line {
			sb.WriteByte('|')
			if ln.Function != nil {
				sb.WriteString(ln.Function.Name)
				sb.WriteByte('@')
				sb.WriteString(ln.Function.Filename)
			}
			sb.WriteByte(':')
			sb.WriteString(strconv.FormatInt(ln.Line, 10))
		}
		sb.WriteByte(';')
	}
	sb.WriteByte('{')
	for _, k := range sortedKeys(s.Label) {
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(strings.Join(s.Label[k], ","))
		sb.WriteByte(',')
	}
	for _, k := range sortedKeys(s.NumLabel) {
		sb.WriteString(k)
		sb.WriteByte('#')
		for _, v := range s.NumLabel[k] {
			sb.WriteString(strconv.FormatInt(v, 10))
			sb.WriteByte(',')
		}
		sb.WriteString(strings.Join(s.NumUnit[k], ","))
		sb.WriteByte(',')
	}
	sb.WriteByte('}')
	return sb.String()
}

// defaultCumulative lists the sample types that Go's runtime reports as
// totals since process start (heap alloc_*, mutex/block contentions and
// delay). Only these are turned into deltas when a prev_profile arrives
// without a sample_type_config saying otherwise.
var defaultCumulative = map[string]bool{
	"alloc_objects": true,
	"alloc_space":   true,
	"contentions":   true,
	"delay":         true,
}

var errPrevMismatch = errors.New("prev_profile sample types do not match profile sample types")

// subtractPrevious turns the cumulative sample types of cur into deltas
// against prev: for every sample, value(cur) - value(prev) over all prev
// samples with the same stack and labels, clamped at 0 (a counter reset).
// Non-cumulative sample types (e.g. inuse_space) keep cur's values. Samples
// whose values are all zero afterwards are dropped, as Pyroscope does.
// cumulative reports whether a sample type (by pprof type name) is
// cumulative.
func subtractPrevious(cur, prev *profile.Profile, cumulative func(string) bool) error {
	if len(cur.SampleType) != len(prev.SampleType) {
		return errPrevMismatch
	}
	var idx []int
	for i, st := range cur.SampleType {
		if st.Type != prev.SampleType[i].Type || st.Unit != prev.SampleType[i].Unit {
			return errPrevMismatch
		}
		if cumulative(st.Type) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	prevVals := make(map[string][]int64, len(prev.Sample))
	for _, s := range prev.Sample {
		k := sampleKey(s)
		acc, ok := prevVals[k]
		if !ok {
			acc = make([]int64, len(s.Value))
			prevVals[k] = acc
		}
		for _, i := range idx {
			acc[i] += s.Value[i]
		}
	}
	kept := cur.Sample[:0]
	for _, s := range cur.Sample {
		if pv, ok := prevVals[sampleKey(s)]; ok {
			for _, i := range idx {
				d := s.Value[i] - pv[i]
				// A stack that appears twice in cur is subtracted once.
				pv[i] = 0
				if d < 0 {
					d = 0
				}
				s.Value[i] = d
			}
		}
		allZero := true
		for _, v := range s.Value {
			if v != 0 {
				allZero = false
				break
			}
		}
		if !allZero {
			kept = append(kept, s)
		}
	}
	for i := len(kept); i < len(cur.Sample); i++ {
		cur.Sample[i] = nil
	}
	cur.Sample = kept
	return nil
}
