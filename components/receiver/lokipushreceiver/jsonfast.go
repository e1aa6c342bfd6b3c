// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// decodeJSONFast decodes the push body every JSON client sends,
// {"streams":[{"stream":{...},"values":[["<ns>","<line>"(,{...})],...]}]},
// without encoding/json's reflection and its second pass to validate. Every
// label, line and metadata value is written, unescaped, into one arena per
// request and handed out as a string over it, so a request costs a handful
// of allocations instead of several per line, and what the batch keeps is
// about one copy of the body (the body's own bytes are pooled and reused).
//
// ok is false for anything else: another shape (legacy "labels" and
// "entries", unknown or differently cased keys, nulls, numeric
// timestamps), a duplicate key, an empty label name, or malformed JSON.
// The caller then decodes with encoding/json, which gives the result and
// the error messages; whenever ok is true the result is the one
// encoding/json's path gives (FuzzDecodeJSON checks it).
func decodeJSONFast(body []byte) ([]stream, bool) {
	d := fastDecoder{b: body}
	// Unescaping never lengthens valid UTF-8, so the arena holds every
	// string of the body unless invalid bytes (3 bytes each as U+FFFD) need
	// another chunk (8 more bytes let str store whole words up to the end).
	d.arena = make([]byte, 0, len(body)+8)
	// Lines of the clients' pushes are about 100-250 bytes.
	d.entries = make([]entry, 0, len(body)/160+1)
	d.lifts = make([]traceLift, 0, cap(d.entries))
	out, ok := d.request()
	if !ok {
		return nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	return out, true
}

type fastDecoder struct {
	b []byte
	i int
	// arena is the free part of the chunk the decoded strings are written
	// to (always of length 0): the strings handed out lie before it and
	// never change.
	arena []byte
	// entries and lifts back the entries of every stream of the request
	// and what was lifted of their trace context.
	entries []entry
	lifts   []traceLift
	// What str saw of the last string it decoded: traceKeys, that it may
	// hold a trace key's name; quotes, where its '"' are, and simple, that
	// those are all it holds of '"', '\\' and control characters (what a
	// JSON scan of it must look at), so the scan can skip from quote to
	// quote.
	traceKeys bool
	simple    bool
	quotes    []int
}

func (d *fastDecoder) ws() {
	for d.i < len(d.b) && isJSONSpace(d.b[d.i]) {
		d.i++
	}
}

// tok skips whitespace and consumes c.
func (d *fastDecoder) tok(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// peek skips whitespace and reports whether the next byte is c, without
// consuming it.
func (d *fastDecoder) peek(c byte) bool {
	d.ws()
	return d.i < len(d.b) && d.b[d.i] == c
}

// plainJSONByte marks the bytes a string literal may hold as they are:
// printable ASCII other than the quote and the backslash.
var plainJSONByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// lit consumes a string literal and returns the bounds of its content in
// d.b; plain is true when that content is its own decoded value
// (printable ASCII, no escapes). A literal that is not plain is not
// checked here: the caller must unquote it with unquoteJSON or
// appendUnquotedJSON, which refuse what JSON does not allow.
func (d *fastDecoder) lit() (start, end int, plain, ok bool) {
	d.ws()
	b := d.b
	if d.i >= len(b) || b[d.i] != '"' {
		return 0, 0, false, false
	}
	start = d.i + 1
	j := start
	for j+8 <= len(b) {
		if m := unquoteStopMask(binary.LittleEndian.Uint64(b[j : j+8])); m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			break
		}
		j += 8
	}
	for j < len(b) && plainJSONByte[b[j]] {
		j++
	}
	if j < len(b) && b[j] == '"' {
		d.i = j + 1
		return start, j, true, true
	}
	// The closing quote is the first one after an even run of
	// backslashes. Control characters and bad escapes inside are left to
	// the unquoting that follows, which refuses them.
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, 0, false, false
		}
		j += k
		n := 0
		for n < j-start && b[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			break
		}
		j++
	}
	d.i = j + 1
	return start, j, false, true
}

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// unquoteStopMask flags (in the top bit of each byte) the bytes of w, eight
// bytes of a string literal read little-endian, that unquoting must look
// at: '"', '\\', the control characters below 0x20 and non-ASCII bytes.
// Only the lowest flag is certain (a borrow may flag a byte above it), so
// callers use just that: the first byte to look at is at
// bits.TrailingZeros64(mask)/8.
func unquoteStopMask(w uint64) uint64 {
	q := w ^ (swarLo * '"')
	e := w ^ (swarLo * '\\')
	return ((w-swarLo*0x20) & ^w | (q-swarLo) & ^q | (e-swarLo) & ^e | w) & swarHi
}

// str consumes a string literal and returns its decoded content, kept in
// the arena. It finds the literal's end and unquotes it in one pass,
// eight bytes at a time between the bytes that need a look (quote,
// backslash, control and non-ASCII bytes): each word is stored to the
// arena before it is looked at, which is harmless because the arena's
// free part holds nothing yet. No step writes more bytes than it reads
// but the one for a byte of invalid UTF-8 (U+FFFD takes 3), and the arena
// starts as large as the body, so only such bytes can make a string move
// to a new chunk.
//
// When the content may hold `"trace` or `"span` (the keys the trace
// context is lifted from), d.traceKeys is set; it is never left unset when
// the content holds them.
func (d *fastDecoder) str() (string, bool) {
	d.ws()
	b := d.b
	if d.i >= len(b) || b[d.i] != '"' {
		return "", false
	}
	i := d.i + 1
	a := d.arena[:cap(d.arena)]
	j := 0
	d.simple, d.quotes = true, d.quotes[:0]
	for {
		if i+8 <= len(b) && j+8 <= len(a) {
			w := binary.LittleEndian.Uint64(b[i : i+8])
			binary.LittleEndian.PutUint64(a[j:j+8], w)
			m := unquoteStopMask(w)
			if m == 0 {
				i += 8
				j += 8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			i += k
			j += k
		}
		// An escaped quote first, without the switch below: a JSON line
		// has dozens.
		if i+2 < len(b) && binary.LittleEndian.Uint16(b[i:i+2]) == '\\'|'"'<<8 {
			if (b[i+2] == 't' || b[i+2] == 's') && traceKeyAt(b[i+2:]) {
				d.traceKeys = true
			}
			d.quotes = append(d.quotes, j)
			a[j] = '"'
			i += 2
			j++
			continue
		}
		if i >= len(b) {
			return "", false
		}
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			d.arena = a[j:j]
			if j == 0 {
				return "", true
			}
			return unsafe.String(&a[0], j), true
		case c == '\\':
			if i+1 >= len(b) {
				return "", false
			}
			switch b[i+1] {
			case '"':
				if i+2 < len(b) && (b[i+2] == 't' || b[i+2] == 's') && traceKeyAt(b[i+2:]) {
					d.traceKeys = true
				}
				d.quotes = append(d.quotes, j)
				a[j] = '"'
			case '/':
				a[j] = '/'
			case '\\':
				d.simple = false
				a[j] = '\\'
			case 'b':
				d.simple = false
				a[j] = '\b'
			case 'f':
				d.simple = false
				a[j] = '\f'
			case 'n':
				d.simple = false
				a[j] = '\n'
			case 'r':
				d.simple = false
				a[j] = '\r'
			case 't':
				d.simple = false
				a[j] = '\t'
			case 'u':
				// Any escaped character may spell a key or be a quote.
				d.traceKeys, d.simple = true, false
				r, ok := hex4(b[i+2:])
				if !ok {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
						if r2, ok := hex4(b[i+2:]); ok {
							if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
								j += utf8.EncodeRune(a[j:], dec)
								i += 6
								continue
							}
						}
					}
					r = unicode.ReplacementChar
				}
				j += utf8.EncodeRune(a[j:], r)
				continue
			default:
				return "", false
			}
			i += 2
			j++
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			// A plain byte of the tail, too short for a word.
			a[j] = c
			i++
			j++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				// The one step that writes more than it reads: every
				// other one keeps the free arena at least as long as
				// the rest of the body, so only this one needs a check.
				if len(a)-j < len(b)-i+2 {
					a = growArena(a[:j], len(b)-i)
				}
				j += utf8.EncodeRune(a[j:], utf8.RuneError)
			} else {
				j += copy(a[j:], b[i:i+size])
			}
			i += size
		}
	}
}

// growArena returns a new chunk holding the string begun in s, with room
// for the rest of the body (rest bytes) as long as no more of it grows.
func growArena(s []byte, rest int) []byte {
	a := make([]byte, max(16<<10, len(s)+rest+16))
	copy(a, s)
	return a
}

// traceKeyAt reports whether s starts with the name of a key the trace
// context is lifted from, after its quote.
func traceKeyAt(s []byte) bool {
	return len(s) >= 5 && string(s[:5]) == "trace" || len(s) >= 4 && string(s[:4]) == "span"
}

// view consumes a string literal that is only compared or parsed, never
// kept, and returns it without copying when it is plain. The result must
// not outlive the body.
func (d *fastDecoder) view() (string, bool) {
	start, end, plain, ok := d.lit()
	if !ok {
		return "", false
	}
	if plain {
		return unsafe.String(unsafe.SliceData(d.b[start:end]), end-start), true
	}
	return unquoteJSON(d.b[start-1 : end+1])
}

// key consumes `"name":` and returns the name, kept.
func (d *fastDecoder) key() (string, bool) {
	k, ok := d.str()
	if !ok || !d.tok(':') {
		return "", false
	}
	return k, true
}

// keyView is key for a name that is only compared.
func (d *fastDecoder) keyView() (string, bool) {
	k, ok := d.view()
	if !ok || !d.tok(':') {
		return "", false
	}
	return k, true
}

func (d *fastDecoder) request() ([]stream, bool) {
	if !d.tok('{') {
		return nil, false
	}
	if k, ok := d.keyView(); !ok || k != "streams" {
		return nil, false
	}
	if !d.tok('[') {
		return nil, false
	}
	var out []stream
	if !d.tok(']') {
		for {
			s, ok := d.stream()
			if !ok {
				return nil, false
			}
			out = append(out, s)
			if d.tok(']') {
				break
			}
			if !d.tok(',') {
				return nil, false
			}
		}
	}
	if !d.tok('}') {
		return nil, false
	}
	if out == nil {
		out = []stream{}
	}
	return out, true
}

func (d *fastDecoder) stream() (stream, bool) {
	var s stream
	if !d.tok('{') {
		return s, false
	}
	var haveLabels, haveValues bool
	for {
		k, ok := d.keyView()
		if !ok {
			return s, false
		}
		switch {
		case k == "stream" && !haveLabels:
			if s.labels, ok = d.labels(); !ok || len(s.labels) == 0 {
				return s, false
			}
			haveLabels = true
		case k == "values" && !haveValues:
			if s.entries, s.lifts, ok = d.values(); !ok {
				return s, false
			}
			haveValues = true
		default:
			return s, false
		}
		if d.tok('}') {
			break
		}
		if !d.tok(',') {
			return s, false
		}
	}
	return s, haveLabels && haveValues
}

// labels consumes an object of string values into a sorted label set,
// dropping empty values as labelsFromMap does.
func (d *fastDecoder) labels() ([]label, bool) {
	if !d.tok('{') {
		return nil, false
	}
	ls := make([]label, 0, 8)
	if !d.tok('}') {
		for {
			k, ok := d.key()
			if !ok || k == "" {
				return nil, false
			}
			v, ok := d.str()
			if !ok {
				return nil, false
			}
			if v != "" {
				ls = append(ls, label{name: k, value: v})
			} else {
				// Still a key encoding/json would see: keep it for the
				// duplicate check.
				ls = append(ls, label{name: k})
			}
			if d.tok('}') {
				break
			}
			if !d.tok(',') {
				return nil, false
			}
		}
	}
	sortLabels(ls)
	n := 0
	for i := range ls {
		if i > 0 && ls[i].name == ls[i-1].name {
			// encoding/json keeps the last of duplicate keys.
			return nil, false
		}
		if ls[i].value != "" {
			ls[n] = ls[i]
			n++
		}
	}
	return ls[:n], true
}

func (d *fastDecoder) values() ([]entry, []traceLift, bool) {
	if !d.tok('[') {
		return nil, nil, false
	}
	first := len(d.entries)
	if !d.tok(']') {
		for {
			e, lift, ok := d.entry()
			if !ok {
				return nil, nil, false
			}
			d.entries = append(d.entries, e)
			d.lifts = append(d.lifts, lift)
			if d.tok(']') {
				break
			}
			if !d.tok(',') {
				return nil, nil, false
			}
		}
	}
	n := len(d.entries)
	return d.entries[first:n:n], d.lifts[first:n:n], true
}

// entry consumes ["<ns>", "<line>"] or ["<ns>", "<line>", {metadata}].
func (d *fastDecoder) entry() (e entry, lift traceLift, ok bool) {
	if !d.tok('[') {
		return e, lift, false
	}
	tsStr, ok := d.view()
	if !ok || tsStr == "" {
		return e, lift, false
	}
	if e.ts, ok = parseUnixNanos(tsStr); !ok {
		return e, lift, false
	}
	if !d.tok(',') {
		return e, lift, false
	}
	d.traceKeys = false
	if e.line, ok = d.str(); !ok {
		return e, lift, false
	}
	// Lift the trace context now, while the quotes are known; the
	// mapping takes what the metadata does not give.
	lift.traceKeys = traceKeysAbsent
	if d.traceKeys {
		var quotes []int
		if d.simple {
			quotes = d.quotes
		}
		lift.traceKeys = traceKeysLifted
		lift.traceID, lift.spanID, lift.hasTraceID, lift.hasSpanID = liftTraceContextQuoted(e.line, quotes)
	}
	if d.tok(',') {
		if !d.peek('{') {
			return e, lift, false
		}
		if e.metadata, ok = d.labels(); !ok {
			return e, lift, false
		}
	}
	if !d.tok(']') {
		return e, lift, false
	}
	return e, lift, true
}

// parseUnixNanos parses a non-negative decimal int64 as strconv.ParseInt
// does, with a loop for the up to 19 plain digits every client sends.
func parseUnixNanos(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		ts, err := strconv.ParseInt(s, 10, 64)
		return ts, err == nil && ts >= 0
	}
	var v uint64 // 19 digits fit
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			// A sign, or not a number: ParseInt decides.
			ts, err := strconv.ParseInt(s, 10, 64)
			return ts, err == nil && ts >= 0
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true //nolint:gosec // checked above
}
