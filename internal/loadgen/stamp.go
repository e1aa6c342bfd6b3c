package loadgen

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"
)

// A template is a request body built once, with the places its timestamps
// and trace ids sit in, so that each send only overwrites those bytes.
//
// Protobuf bodies are marshalled from pdata holding sentinel values, then
// scanned for them: a timestamp (fixed64) is markTime<<40 | (offset +
// timeBias), an offset in ns from the send time; a trace id starts with
// the 8 bytes of markTraceID and ends with its slot number. The markers
// are byte sequences no string, id or number of ours contains, and every
// template checks it found exactly as many places as it holds items.
type template struct {
	body   []byte
	times  []timeSite
	traces []traceSite
	slots  int // distinct trace ids
}

type siteEnc uint8

const (
	encFixed64  siteEnc = iota // protobuf fixed64, little endian
	encDecimal                 // 19 ASCII digits (Loki JSON ns)
	encBinaryID                // 16 bytes
	encHexID                   // 32 lowercase hex digits
)

type timeSite struct {
	at     int
	offset int64 // ns relative to the send time
	enc    siteEnc
}

type traceSite struct {
	at, slot int
	enc      siteEnc
}

const (
	markTime = 0xF1E2D3
	timeBias = int64(1) << 39 // offsets within ±9 minutes
	// markTraceID is the first half of every template trace id.
	markTraceID = uint64(0xF1E2D3C4B5A69788)
)

// sentinelTime is what a template holds for a timestamp offset from the
// send time.
func sentinelTime(offset time.Duration) uint64 {
	return markTime<<40 | uint64(int64(offset)+timeBias)
}

// sentinelTraceID is trace id slot of a template.
func sentinelTraceID(slot int) [16]byte {
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], markTraceID)
	binary.BigEndian.PutUint64(id[8:], uint64(slot))
	return id
}

// scanProto finds the sentinels in a marshalled protobuf body and checks
// their numbers.
func scanProto(body []byte, wantTimes, wantTraceIDs int) (*template, error) {
	t := &template{body: body}
	var mark [8]byte
	binary.BigEndian.PutUint64(mark[:], markTraceID)
	slots := map[int]bool{}
	for i := 0; i+8 <= len(body); i++ {
		v := binary.LittleEndian.Uint64(body[i:])
		if v>>40 == markTime {
			t.times = append(t.times, timeSite{at: i, offset: int64(v&(1<<40-1)) - timeBias, enc: encFixed64})
			i += 7
			continue
		}
		if i+16 <= len(body) && [8]byte(body[i:i+8]) == mark {
			slot := int(binary.BigEndian.Uint64(body[i+8:]))
			t.traces = append(t.traces, traceSite{at: i, slot: slot, enc: encBinaryID})
			slots[slot] = true
			i += 15
		}
	}
	t.slots = len(slots)
	if len(t.times) != wantTimes || len(t.traces) != wantTraceIDs {
		return nil, fmt.Errorf("template: found %d timestamps and %d trace ids, want %d and %d", len(t.times), len(t.traces), wantTimes, wantTraceIDs)
	}
	return t, nil
}

// clone gives a worker its own body to stamp.
func (t *template) clone() *template {
	c := *t
	c.body = append([]byte(nil), t.body...)
	return &c
}

// stamp writes the send time and fresh trace ids into the body.
func (t *template) stamp(now time.Time, ids *idSource) {
	ns := now.UnixNano()
	for _, s := range t.times {
		v := ns + s.offset
		switch s.enc {
		case encFixed64:
			binary.LittleEndian.PutUint64(t.body[s.at:], uint64(v))
		case encDecimal:
			putDecimal19(t.body[s.at:s.at+19], v)
		}
	}
	if len(t.traces) == 0 {
		return
	}
	first := ids.next(t.slots)
	for _, s := range t.traces {
		id := ids.id(first + uint64(s.slot))
		switch s.enc {
		case encBinaryID:
			copy(t.body[s.at:], id[:])
		case encHexID:
			hex.Encode(t.body[s.at:s.at+32], id[:])
		}
	}
}

func putDecimal19(dst []byte, v int64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// idSource hands out trace ids no other run of the generator uses: a
// random half per process, a counter per trace.
type idSource struct {
	prefix uint64
	n      atomic.Uint64
}

func newIDSource() *idSource {
	var b [8]byte
	_, _ = rand.Read(b[:])
	s := &idSource{prefix: binary.BigEndian.Uint64(b[:])}
	// Never the template's marker, and never all zero (an invalid id).
	if s.prefix == markTraceID || s.prefix == 0 {
		s.prefix ^= 1 << 63
	}
	return s
}

// next reserves n consecutive ids and returns the first.
func (s *idSource) next(n int) uint64 { return s.n.Add(uint64(n)) - uint64(n) + 1 }

func (s *idSource) id(n uint64) [16]byte {
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], s.prefix)
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}
