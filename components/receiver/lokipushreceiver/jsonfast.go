// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// decodeJSONFast decodes the push body every JSON client sends,
// {"streams":[{"stream":{...},"values":[["<ns>","<line>"(,{...})],...]}]},
// without encoding/json's reflection and its second pass to validate. It
// copies the body into one string and hands out substrings of it for every
// label, line and metadata value that needs no unescaping, so a request
// costs a handful of allocations instead of several per line (the body's
// bytes are pooled and reused; that string is not).
//
// ok is false for anything else: another shape (legacy "labels" and
// "entries", unknown or differently cased keys, nulls, numeric
// timestamps), a duplicate key, an empty label name, or malformed JSON.
// The caller then decodes with encoding/json, which gives the result and
// the error messages; whenever ok is true the result is the one
// encoding/json's path gives (FuzzDecodeJSON checks it).
func decodeJSONFast(body []byte) ([]stream, bool) {
	d := fastDecoder{b: body, s: string(body)}
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
	s string // the same bytes as b, shared by the decoded strings
	i int
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

// str consumes a string literal and returns its decoded content.
func (d *fastDecoder) str() (string, bool) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i
	plain := true
	j := d.i + 1
	for ; j < len(d.b); j++ {
		c := d.b[j]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			j++
			continue
		}
		if c < 0x20 {
			return "", false
		}
		if c >= utf8.RuneSelf {
			plain = false
		}
	}
	if j >= len(d.b) {
		return "", false
	}
	d.i = j + 1
	if plain {
		return d.s[start+1 : j], true
	}
	raw := d.b[start:d.i]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return d.s[start+1 : j], true
	}
	return unquoteJSON(raw)
}

// key consumes `"name":` and returns the name as written (keys this
// decoder knows have no escapes).
func (d *fastDecoder) key() (string, bool) {
	k, ok := d.str()
	if !ok || !d.tok(':') {
		return "", false
	}
	return k, true
}

func (d *fastDecoder) request() ([]stream, bool) {
	if !d.tok('{') {
		return nil, false
	}
	if k, ok := d.key(); !ok || k != "streams" {
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
		k, ok := d.key()
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
	es := make([]entry, 0, 16)
	if d.tok(']') {
		return es, true
	}
	for {
		e, ok := d.entry()
		if !ok {
			return nil, false
		}
		es = append(es, e)
		if d.tok(']') {
			return es, true
		}
		if !d.tok(',') {
			return nil, false
		}
	}
}

// entry consumes ["<ns>", "<line>"] or ["<ns>", "<line>", {metadata}].
func (d *fastDecoder) entry() (entry, bool) {
	var e entry
	if !d.tok('[') {
		return e, false
	}
	tsStr, ok := d.str()
	if !ok || tsStr == "" {
		return e, false
	}
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if err != nil || ts < 0 {
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
