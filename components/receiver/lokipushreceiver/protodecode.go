// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

// A decoder of logproto.PushRequest straight into []stream. The generated
// gogo code (github.com/grafana/loki/pkg/push) allocates a string per line
// and per metadata name and value, a Timestamp per entry, and its structs are
// then copied into ours: about a tenth of a Promtail push's CPU. This
// decoder copies the body into one string and hands out substrings of it,
// and accepts exactly the bodies the generated code accepts, with the same
// last-one-wins and skipping rules (FuzzDecodeProtobuf compares the two).

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
)

var (
	errPBOverflow      = errors.New("proto: integer overflow")
	errPBInvalidLength = errors.New("proto: negative length found during unmarshaling")
	errPBEndOfGroup    = errors.New("proto: unexpected end of group")
)

// The valid range of a google.protobuf.Timestamp's seconds,
// [0001-01-01, 10000-01-01), as the push types check it.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300800
)

// maxTime split into seconds and nanoseconds.
const (
	maxTimeSeconds = math.MaxInt64 / int64(time.Second)
	maxTimeNanos   = math.MaxInt64 % int64(time.Second)
)

// pbVarint reads a varint at b[i] the way the generated code does: at most
// ten bytes, bits beyond 64 dropped.
func pbVarint(b []byte, i int) (uint64, int, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, 0, errPBOverflow
		}
		if i >= len(b) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		c := b[i]
		i++
		v |= uint64(c&0x7F) << shift
		if c < 0x80 {
			return v, i, nil
		}
	}
}

// pbTag reads a field tag; msg names the message in errors.
func pbTag(b []byte, i int, msg string) (field int32, wireType int, next int, err error) {
	wire, next, err := pbVarint(b, i)
	if err != nil {
		return 0, 0, 0, err
	}
	field, wireType = int32(wire>>3), int(wire&7) //nolint:gosec // truncation as in the generated code
	if wireType == 4 {
		return 0, 0, 0, fmt.Errorf("proto: %s: wiretype end group for non-group", msg)
	}
	if field <= 0 {
		return 0, 0, 0, fmt.Errorf("proto: %s: illegal tag %d (wire type %d)", msg, field, wire)
	}
	return field, wireType, next, nil
}

// pbBytes reads a length-delimited field's bounds.
func pbBytes(b []byte, i int) (start, end int, err error) {
	v, i, err := pbVarint(b, i)
	if err != nil {
		return 0, 0, err
	}
	n := int(v) //nolint:gosec // a negative length is refused below, as in the generated code
	if n < 0 {
		return 0, 0, errPBInvalidLength
	}
	end = i + n
	if end < 0 {
		return 0, 0, errPBInvalidLength
	}
	if end > len(b) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return i, end, nil
}

func pbWireType(wireType, want int, field string) error {
	if wireType != want {
		return fmt.Errorf("proto: wrong wireType = %d for field %s", wireType, field)
	}
	return nil
}

// pbSkipField skips the unknown field whose tag starts at b[i] and returns
// the index after it (the push types' skip rules).
func pbSkipField(b []byte, i int) (int, error) {
	n, err := pbSkipPush(b[i:])
	if err != nil {
		return 0, err
	}
	if n < 0 || i+n < 0 {
		return 0, errPBInvalidLength
	}
	if i+n > len(b) {
		return 0, io.ErrUnexpectedEOF
	}
	return i + n, nil
}

// pbSkipPush is the push package's skip of one field at the start of b
// (b is never empty: it starts with the tag just read).
func pbSkipPush(b []byte) (int, error) {
	wire, i, err := pbVarint(b, 0)
	if err != nil {
		return 0, err
	}
	switch wt := int(wire & 7); wt {
	case 0:
		_, i, err = pbVarint(b, i)
		if err != nil {
			return 0, err
		}
		return i, nil
	case 1:
		return i + 8, nil
	case 2:
		v, i, err := pbVarint(b, i)
		if err != nil {
			return 0, err
		}
		n := int(v) //nolint:gosec // checked below
		if n < 0 {
			return 0, errPBInvalidLength
		}
		if i += n; i < 0 {
			return 0, errPBInvalidLength
		}
		return i, nil
	case 3:
		for {
			start := i
			inner, next, err := pbVarint(b, i)
			if err != nil {
				return 0, err
			}
			i = next
			if inner&7 == 4 {
				return i, nil
			}
			n, err := pbSkipPush(b[start:])
			if err != nil {
				return 0, err
			}
			if i = start + n; i < 0 {
				return 0, errPBInvalidLength
			}
		}
	case 4:
		return i, nil
	case 5:
		return i + 4, nil
	default:
		return 0, fmt.Errorf("proto: illegal wireType %d", wt)
	}
}

// pbSkipTimestamp is gogo's skip of one unknown field of a Timestamp
// (groups nest, a stray end group is an error).
func pbSkipTimestamp(b []byte) (int, error) {
	i, depth := 0, 0
	for i < len(b) {
		wire, next, err := pbVarint(b, i)
		if err != nil {
			return 0, err
		}
		i = next
		switch int(wire & 7) {
		case 0:
			if _, i, err = pbVarint(b, i); err != nil {
				return 0, err
			}
		case 1:
			i += 8
		case 2:
			v, next, err := pbVarint(b, i)
			if err != nil {
				return 0, err
			}
			n := int(v) //nolint:gosec // checked below
			if n < 0 {
				return 0, errPBInvalidLength
			}
			i = next + n
		case 3:
			depth++
		case 4:
			if depth == 0 {
				return 0, errPBEndOfGroup
			}
			depth--
		case 5:
			i += 4
		default:
			return 0, fmt.Errorf("proto: illegal wireType %d", int(wire&7))
		}
		if i < 0 {
			return 0, errPBInvalidLength
		}
		if depth == 0 {
			return i, nil
		}
	}
	return 0, io.ErrUnexpectedEOF
}

// pbTimestamp decodes and validates a google.protobuf.Timestamp.
func pbTimestamp(b []byte) (secs int64, nanos int32, err error) {
	for i := 0; i < len(b); {
		field, wt, next, err := pbTag(b, i, "Timestamp")
		if err != nil {
			return 0, 0, err
		}
		switch field {
		case 1, 2:
			name := "Seconds"
			if field == 2 {
				name = "Nanos"
			}
			if err := pbWireType(wt, 0, name); err != nil {
				return 0, 0, err
			}
			v, after, err := pbVarint(b, next)
			if err != nil {
				return 0, 0, err
			}
			if field == 1 {
				secs = int64(v) //nolint:gosec // two's complement, as in the generated code
			} else {
				nanos = int32(uint32(v)) //nolint:gosec // int32 field: low 32 bits, as in the generated code
			}
			i = after
		default:
			n, err := pbSkipTimestamp(b[i:])
			if err != nil {
				return 0, 0, err
			}
			if n < 0 || i+n < 0 {
				return 0, 0, errPBInvalidLength
			}
			if i+n > len(b) {
				return 0, 0, io.ErrUnexpectedEOF
			}
			i += n
		}
	}
	switch {
	case secs < minTimestampSeconds:
		return 0, 0, fmt.Errorf("timestamp: seconds %d before 0001-01-01", secs)
	case secs >= maxTimestampSeconds:
		return 0, 0, fmt.Errorf("timestamp: seconds %d after 10000-01-01", secs)
	case nanos < 0 || nanos >= 1e9:
		return 0, 0, fmt.Errorf("timestamp: nanos %d not in range [0, 1e9)", nanos)
	}
	return secs, nanos, nil
}

// pbDecoder holds one request's decode state. Strings are substrings of s,
// the body copied once; entries and metadata of all streams share backing
// arrays that only grow.
type pbDecoder struct {
	b       []byte
	s       string
	entries []entry
	labels  []label
	// firstErr is the first semantic error (bad labels, timestamp or
	// metadata) in stream order; it is reported only when the whole body
	// is well-formed protobuf, as when the generated code decoded first.
	firstErr error
}

// decodeProtobuf decodes an uncompressed protobuf push.PushRequest.
func decodeProtobuf(b []byte) ([]stream, error) {
	d := pbDecoder{b: b, s: string(b)}
	// Lines of the clients' pushes are about 100-200 bytes.
	d.entries = make([]entry, 0, len(b)/128+1)
	out, err := d.request()
	if err != nil {
		return nil, ingress.BadRequest("invalid protobuf push request: %v", err)
	}
	if d.firstErr != nil {
		return nil, d.firstErr
	}
	return out, nil
}

func (d *pbDecoder) request() ([]stream, error) {
	b := d.b
	var out []stream
	for i := 0; i < len(b); {
		field, wt, next, err := pbTag(b, i, "PushRequest")
		if err != nil {
			return nil, err
		}
		switch field {
		case 1:
			if err := pbWireType(wt, 2, "Streams"); err != nil {
				return nil, err
			}
			start, end, err := pbBytes(b, next)
			if err != nil {
				return nil, err
			}
			s, err := d.stream(start, end, len(out))
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			i = end
		case 2:
			if err := pbWireType(wt, 2, "Format"); err != nil {
				return nil, err
			}
			_, end, err := pbBytes(b, next)
			if err != nil {
				return nil, err
			}
			i = end
		default:
			if i, err = pbSkipField(b, i); err != nil {
				return nil, err
			}
		}
	}
	if out == nil {
		out = []stream{}
	}
	return out, nil
}

// stream decodes the Stream in b[lo:hi], the si-th of the request.
func (d *pbDecoder) stream(lo, hi, si int) (stream, error) {
	b := d.b[:hi]
	var s stream
	labels := ""
	first := len(d.entries)
	var entryErr error
	for i := lo; i < hi; {
		field, wt, next, err := pbTag(b, i, "StreamAdapter")
		if err != nil {
			return s, err
		}
		switch field {
		case 1:
			if err := pbWireType(wt, 2, "StructuredMetadata"); err != nil { // sic: the generated code's name
				return s, err
			}
			start, end, err := pbBytes(b, next)
			if err != nil {
				return s, err
			}
			labels = d.s[start:end]
			i = end
		case 2:
			if err := pbWireType(wt, 2, "Entries"); err != nil {
				return s, err
			}
			start, end, err := pbBytes(b, next)
			if err != nil {
				return s, err
			}
			if err := d.entry(start, end, si, len(d.entries)-first, &entryErr); err != nil {
				return s, err
			}
			i = end
		case 3:
			if err := pbWireType(wt, 0, "Hash"); err != nil {
				return s, err
			}
			if _, i, err = pbVarint(b, next); err != nil {
				return s, err
			}
		default:
			if i, err = pbSkipField(b, i); err != nil {
				return s, err
			}
		}
	}
	s.entries = d.entries[first:len(d.entries):len(d.entries)]
	if d.firstErr != nil {
		return s, nil
	}
	ls, err := parseLabels(labels)
	switch {
	case err != nil:
		d.firstErr = ingress.BadRequest("stream %d: invalid labels %q: %v", si, truncate(labels), err)
	case len(ls) == 0:
		d.firstErr = ingress.BadRequest("stream %d: at least one label pair is required per stream", si)
	default:
		d.firstErr = entryErr
	}
	s.labels = ls
	return s, nil
}

// entry decodes the Entry in d.b[lo:hi], entry ei of stream si, and
// appends it. A semantic error goes to *entryErr (the first one only).
func (d *pbDecoder) entry(lo, hi, si, ei int, entryErr *error) error {
	b := d.b[:hi]
	var (
		e            entry
		secs         int64
		nanos        int32
		haveTS       bool
		mdStart      = len(d.labels)
		emptyMDName  bool
		line         string
		err          error
		field        int32
		wt, next, st int
	)
	for i := lo; i < hi; {
		if field, wt, next, err = pbTag(b, i, "EntryAdapter"); err != nil {
			return err
		}
		switch field {
		case 1:
			if err := pbWireType(wt, 2, "Timestamp"); err != nil {
				return err
			}
			if st, i, err = pbBytes(b, next); err != nil {
				return err
			}
			if secs, nanos, err = pbTimestamp(b[st:i]); err != nil {
				return err
			}
			haveTS = true
		case 2:
			if err := pbWireType(wt, 2, "Line"); err != nil {
				return err
			}
			if st, i, err = pbBytes(b, next); err != nil {
				return err
			}
			line = d.s[st:i]
		case 3, 4:
			name := "StructuredMetadata"
			if field == 4 {
				name = "Parsed"
			}
			if err := pbWireType(wt, 2, name); err != nil {
				return err
			}
			if st, i, err = pbBytes(b, next); err != nil {
				return err
			}
			l, err := d.label(st, i)
			if err != nil {
				return err
			}
			if field == 3 {
				// Parsed labels are checked as the generated code checks
				// them, and dropped: Loki's distributor ignores them too.
				emptyMDName = emptyMDName || l.name == ""
				d.labels = append(d.labels, l)
			}
		default:
			if i, err = pbSkipField(b, i); err != nil {
				return err
			}
		}
	}
	e.line = line
	if *entryErr == nil {
		// time.Unix(secs, nanos).IsZero(): no timestamp or 0001-01-01.
		switch {
		case !haveTS || (secs == minTimestampSeconds && nanos == 0):
			*entryErr = ingress.BadRequest("stream %d, entry %d: missing timestamp", si, ei)
		case secs < 0 || secs > maxTimeSeconds || (secs == maxTimeSeconds && int64(nanos) > maxTimeNanos):
			*entryErr = ingress.BadRequest("stream %d, entry %d: timestamp %s is out of range", si, ei, time.Unix(secs, int64(nanos)).UTC().Format(time.RFC3339Nano))
		case emptyMDName:
			*entryErr = ingress.BadRequest("stream %d, entry %d: structured metadata: empty label name", si, ei)
		}
	}
	if haveTS && secs >= 0 {
		e.ts = secs*1e9 + int64(nanos)
	}
	if md := d.labels[mdStart:]; len(md) > 0 {
		n := 0
		for _, l := range md {
			if l.value != "" {
				md[n] = l
				n++
			}
		}
		e.metadata = md[:n:n]
		sortLabels(e.metadata)
		d.labels = d.labels[:mdStart+n]
	}
	d.entries = append(d.entries, e)
	return nil
}

// label decodes a LabelPairAdapter in d.b[lo:hi].
func (d *pbDecoder) label(lo, hi int) (label, error) {
	b := d.b[:hi]
	var l label
	for i := lo; i < hi; {
		field, wt, next, err := pbTag(b, i, "LabelPairAdapter")
		if err != nil {
			return l, err
		}
		switch field {
		case 1, 2:
			name := "Name"
			if field == 2 {
				name = "Value"
			}
			if err := pbWireType(wt, 2, name); err != nil {
				return l, err
			}
			st, end, err := pbBytes(b, next)
			if err != nil {
				return l, err
			}
			if field == 1 {
				l.name = d.s[st:end]
			} else {
				l.value = d.s[st:end]
			}
			i = end
		default:
			if i, err = pbSkipField(b, i); err != nil {
				return l, err
			}
		}
	}
	return l, nil
}
