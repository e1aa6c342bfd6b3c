// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

// A small JSON scanner for the two hot paths where encoding/json would
// allocate or pass over every line more than once: unquoting string
// literals (decoding) and validating a log line that is a JSON object while
// finding its top-level trace and span members (lifting trace context while
// mapping). Both agree with encoding/json; the tests and fuzz targets check
// that.

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// unquoteJSONString is unquoteJSON for a string, "" when raw is not a
// JSON string literal.
func unquoteJSONString(raw string) string {
	s, _ := unquoteJSON(unsafe.Slice(unsafe.StringData(raw), len(raw)))
	return s
}

// unquoteJSON decodes the JSON string literal raw (quotes included) the way
// encoding/json does: invalid UTF-8 and unpaired surrogates become U+FFFD.
// A literal without escapes that is valid UTF-8 is its own content, byte
// for byte. ok is false when raw is not a well-formed string literal.
func unquoteJSON(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		for _, c := range s {
			if c < 0x20 || c == '"' {
				return "", false
			}
		}
		return string(s), true
	}
	b, ok := appendUnquotedJSON(make([]byte, 0, len(s)), s)
	if !ok {
		return "", false
	}
	if len(b) == 0 {
		return "", true
	}
	// b is never written again: the string can share its bytes.
	return unsafe.String(&b[0], len(b)), true
}

// appendUnquotedJSON appends the decoded content of a JSON string literal
// without its quotes, s, to b: escapes resolved, invalid UTF-8 and
// unpaired surrogates as U+FFFD, as encoding/json does. The result is at
// most 3*len(s) bytes longer than b. ok is false for a malformed literal.
func appendUnquotedJSON(b, s []byte) ([]byte, bool) {
	b, n, ok := appendUnquotedJSONUntilQuote(b, s)
	return b, ok && n == len(s)
}

// appendUnquotedJSONUntilQuote is appendUnquotedJSON for the content of a
// literal that runs up to the first unescaped '"' in s, or to its end: n is
// the index of that quote, or len(s). It lets a decoder find a string's
// end and unquote it in one pass.
func appendUnquotedJSONUntilQuote(b, s []byte) (out []byte, n int, ok bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return b, i, true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, 0, false
			}
			switch s[i+1] {
			case '"', '\\', '/':
				b = append(b, s[i+1])
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(s[i+2:])
				if !ok {
					return nil, 0, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s[i+2:]); ok {
							if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
								b = utf8.AppendRune(b, dec)
								i += 6
								continue
							}
						}
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return nil, 0, false
			}
			i += 2
		case c < 0x20:
			return nil, 0, false
		case c < utf8.RuneSelf:
			// Copy the run of plain ASCII up to the next escape at once.
			j := i + 1
			for j < len(s) && plainJSONByte[s[j]] {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return b, len(s), true
}

// hex4 decodes the 4 hex digits at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// maxJSONDepth is encoding/json's nesting limit: json.Valid refuses a
// document nested deeper.
const maxJSONDepth = 10000

// jsonStringStop marks the bytes a string scan must look at: the closing
// quote, an escape and the control characters JSON forbids unescaped.
// encoding/json does not check UTF-8 when validating, so neither do we.
var jsonStringStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// stringStopMask is unquoteStopMask for a scan that does not check UTF-8:
// it flags '"', '\\' and the control characters below 0x20, and no byte
// at or above 0x80. As there, only the lowest flag is certain.
func stringStopMask(w uint64) uint64 {
	q := w ^ (swarLo * '"')
	e := w ^ (swarLo * '\\')
	return ((w-swarLo*0x20) & ^w | (q-swarLo) & ^q | (e-swarLo) & ^e) & swarHi
}

// lineTraceFields are the raw string values (quotes included, "" if
// absent) of the top-level trace and span keys of a JSON object line; for
// a key given twice, the last one, as encoding/json keeps.
type lineTraceFields struct {
	traceSnake, traceCamel, spanSnake, spanCamel string
}

// scanLineTraceFields reports whether line is valid JSON (exactly as
// json.Valid) whose value is an object, and collects its top-level trace and
// span fields in the same pass. Keys are matched as written: a key spelled
// with escapes matches nothing. It replaces json.Valid plus a second scan,
// which cost a sixth of a Loki push's CPU.
//
// quotes, if not nil, are the positions of every '"' in line, which then
// holds no '\\' and no control character (its decoder saw to that): each
// string ends at the next quote, without a look at the bytes between.
func scanLineTraceFields(line string, quotes []int, f *lineTraceFields) bool {
	p := lineScanner{s: line, quotes: quotes}
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return false
	}
	if !p.topObject(f) {
		return false
	}
	p.ws()
	return p.i == len(p.s)
}

// lineScanner is a recursive-descent JSON validator over a string; it
// accepts exactly what encoding/json's scanner accepts.
type lineScanner struct {
	s     string
	i     int
	depth int
	// quotes and the next one's index, see scanLineTraceFields.
	quotes []int
	qi     int
}

func (p *lineScanner) ws() {
	for p.i < len(p.s) && isJSONSpace(p.s[p.i]) {
		p.i++
	}
}

// str consumes the string literal at p.s[p.i] == '"'.
func (p *lineScanner) str() bool {
	end, ok := p.strEnd(p.i)
	p.i = end
	return ok
}

// strEnd returns the index after the string literal at p.s[i] == '"'.
func (p *lineScanner) strEnd(i int) (int, bool) {
	if p.quotes != nil {
		// Every quote before i was consumed as a string's, so this is
		// the next one, and the string ends at the one after.
		if p.qi+1 >= len(p.quotes) || p.quotes[p.qi] != i {
			return i, false
		}
		p.qi += 2
		return p.quotes[p.qi-1] + 1, true
	}
	return skipJSONString(p.s, i)
}

// skipJSONString returns the index after the string literal at s[i] == '"',
// and false when it is not a valid one.
func skipJSONString(s string, i int) (int, bool) {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i++
	for {
		// Eight bytes at a time up to the first byte to look at: a line
		// that is not its decoder's JSON (Promtail's protobuf lines) has
		// long runs of plain text between its quotes.
		if i+8 <= len(b) {
			m := stringStopMask(binary.LittleEndian.Uint64(b[i : i+8]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(s) && !jsonStringStop[s[i]] {
				i++
			}
			if i >= len(s) {
				return i, false
			}
		}
		switch s[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(s) {
				return i, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHexDigit(s[i+2]) || !isHexDigit(s[i+3]) || !isHexDigit(s[i+4]) || !isHexDigit(s[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default: // control character
			return i, false
		}
	}
}

func skipJSONSpace(s string, i int) int {
	for i < len(s) && isJSONSpace(s[i]) {
		i++
	}
	return i
}

// topObject is object for the top level, f not nil, with the position
// (and the next quote's index) in locals: string members, what log lines
// hold, take no call.
func (p *lineScanner) topObject(f *lineTraceFields) bool {
	s, qs, qi := p.s, p.quotes, p.qi
	p.depth++
	i := skipJSONSpace(s, p.i+1)
	if i < len(s) && s[i] == '}' {
		p.i = i + 1
		p.depth--
		return true
	}
	var ok bool
	for {
		if i >= len(s) || s[i] != '"' {
			return false
		}
		kStart := i
		if qs != nil {
			if qi+1 >= len(qs) || qs[qi] != i {
				return false
			}
			i, qi = qs[qi+1]+1, qi+2
		} else if i, ok = skipJSONString(s, i); !ok {
			return false
		}
		key := s[kStart+1 : i-1]
		i = skipJSONSpace(s, i)
		if i >= len(s) || s[i] != ':' {
			return false
		}
		i = skipJSONSpace(s, i+1)
		if i >= len(s) {
			return false
		}
		if vStart := i; s[i] == '"' {
			if qs != nil {
				if qi+1 >= len(qs) || qs[qi] != i {
					return false
				}
				i, qi = qs[qi+1]+1, qi+2
			} else if i, ok = skipJSONString(s, i); !ok {
				return false
			}
			raw := s[vStart:i]
			switch key {
			case "trace_id":
				f.traceSnake = raw
			case "traceId", "traceID":
				f.traceCamel = raw
			case "span_id":
				f.spanSnake = raw
			case "spanId", "spanID":
				f.spanCamel = raw
			}
		} else {
			p.i, p.qi = i, qi
			if !p.value() {
				return false
			}
			i, qi = p.i, p.qi
		}
		i = skipJSONSpace(s, i)
		if i >= len(s) {
			return false
		}
		switch s[i] {
		case ',':
			i = skipJSONSpace(s, i+1)
		case '}':
			p.i, p.qi = i+1, qi
			p.depth--
			return true
		default:
			return false
		}
	}
}

func (p *lineScanner) value() bool {
	if p.i >= len(p.s) {
		return false
	}
	switch p.s[p.i] {
	case '"':
		return p.str()
	case '{':
		return p.object()
	case '[':
		return p.array()
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	}
	return p.number()
}

func (p *lineScanner) literal(lit string) bool {
	if len(p.s)-p.i < len(lit) || p.s[p.i:p.i+len(lit)] != lit {
		return false
	}
	p.i += len(lit)
	return true
}

// number consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; the
// caller checks what follows.
func (p *lineScanner) number() bool {
	s, i := p.s, p.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	p.i = i
	return true
}

// object consumes a nested object at p.s[p.i] == '{' (topObject reads
// the top level's members).
func (p *lineScanner) object() bool {
	if p.depth++; p.depth > maxJSONDepth {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		p.depth--
		return true
	}
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return false
		}
		if !p.str() {
			return false
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return false
		}
		p.i++
		p.ws()
		if !p.value() {
			return false
		}
		p.ws()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.ws()
		case '}':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

// array consumes the array at p.s[p.i] == '['.
func (p *lineScanner) array() bool {
	if p.depth++; p.depth > maxJSONDepth {
		return false
	}
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.depth--
		return true
	}
	for {
		if !p.value() {
			return false
		}
		p.ws()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
