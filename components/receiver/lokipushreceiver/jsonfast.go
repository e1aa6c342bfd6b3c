// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"bytes"
	"math"
	"strconv"
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
	// another chunk.
	d.arena = make([]byte, 0, len(body))
	// Lines of the clients' pushes are about 100-250 bytes.
	d.entries = make([]entry, 0, len(body)/160+1)
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
	// entries backs the entries of every stream of the request.
	entries []entry
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

// str consumes a string literal and returns its decoded content, kept in
// the arena. A literal with escapes is found and unquoted in one pass.
func (d *fastDecoder) str() (string, bool) {
	d.ws()
	b := d.b
	if d.i >= len(b) || b[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	j := start
	for j < len(b) && plainJSONByte[b[j]] {
		j++
	}
	if j >= len(b) {
		return "", false
	}
	if b[j] == '"' {
		d.i = j + 1
		return d.keep(b[start:j], nil)
	}
	// Unquoting never lengthens valid UTF-8; a string the chunk cannot
	// hold moves to a chunk of its own as append grows it.
	if cap(d.arena) < 1<<10 {
		d.arena = make([]byte, 0, 16<<10)
	}
	a := append(d.arena, b[start:j]...)
	a, n, ok := appendUnquotedJSONUntilQuote(a, b[j:])
	if !ok || j+n >= len(b) {
		return "", false
	}
	d.i = j + n + 1
	return d.keep(nil, a)
}

// keep returns as a string either raw copied into the arena, or a, bytes
// just appended to the arena (at its start, so perhaps in a new array),
// and moves the arena past them. The arena is never grown in place over
// strings handed out: a chunk too small for raw is replaced.
func (d *fastDecoder) keep(raw, a []byte) (string, bool) {
	if raw != nil {
		if len(raw) == 0 {
			return "", true
		}
		if cap(d.arena) < len(raw) {
			d.arena = make([]byte, 0, max(len(raw), 16<<10))
		}
		a = append(d.arena, raw...)
	}
	if len(a) == 0 {
		return "", true
	}
	d.arena = a[len(a):]
	return unsafe.String(&a[0], len(a)), true
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
			if s.entries, ok = d.values(); !ok {
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

func (d *fastDecoder) values() ([]entry, bool) {
	if !d.tok('[') {
		return nil, false
	}
	first := len(d.entries)
	if !d.tok(']') {
		for {
			e, ok := d.entry()
			if !ok {
				return nil, false
			}
			d.entries = append(d.entries, e)
			if d.tok(']') {
				break
			}
			if !d.tok(',') {
				return nil, false
			}
		}
	}
	return d.entries[first:len(d.entries):len(d.entries)], true
}

// entry consumes ["<ns>", "<line>"] or ["<ns>", "<line>", {metadata}].
func (d *fastDecoder) entry() (entry, bool) {
	var e entry
	if !d.tok('[') {
		return e, false
	}
	tsStr, ok := d.view()
	if !ok || tsStr == "" {
		return e, false
	}
	ts, ok := parseUnixNanos(tsStr)
	if !ok {
		return e, false
	}
	e.ts = ts
	if !d.tok(',') {
		return e, false
	}
	if e.line, ok = d.str(); !ok {
		return e, false
	}
	if d.tok(',') {
		if !d.peek('{') {
			return e, false
		}
		if e.metadata, ok = d.labels(); !ok {
			return e, false
		}
	}
	if !d.tok(']') {
		return e, false
	}
	return e, true
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
