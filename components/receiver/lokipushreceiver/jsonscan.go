// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

// A small JSON scanner for the two hot paths where encoding/json would
// allocate for every line: unquoting a string literal that has no escapes
// (decoding) and finding the top-level string members of a log line that is
// a JSON object (lifting trace context while mapping). Both agree with
// encoding/json; the tests and fuzz targets check that.

import (
	"bytes"
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
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return "", false
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
					return "", false
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
				return "", false
			}
			i += 2
		case c < 0x20 || c == '"':
			return "", false
		case c < utf8.RuneSelf:
			// Copy the run of plain ASCII up to the next escape at once.
			j := i + 1
			for j < len(s) && s[j] >= 0x20 && s[j] < utf8.RuneSelf && s[j] != '\\' && s[j] != '"' {
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
	if len(b) == 0 {
		return "", true
	}
	// b is never written again: the string can share its bytes.
	return unsafe.String(&b[0], len(b)), true
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

// scanTopLevelStrings calls fn(key, rawValue) for each member of the JSON
// object obj whose value is a string; rawValue keeps its quotes. Keys are
// compared unescaped only when they contain no escapes (a key spelled with
// \u escapes is passed through as written, without its quotes). obj must be
// valid JSON starting with '{'; on anything else the scan stops early but
// never panics.
func scanTopLevelStrings(obj string, fn func(key, rawVal string)) {
	i := 1
	for i < len(obj) {
		for i < len(obj) && (isJSONSpace(obj[i]) || obj[i] == ',') {
			i++
		}
		if i >= len(obj) || obj[i] != '"' {
			return // '}' or malformed
		}
		kEnd := jsonStringEnd(obj, i)
		key := obj[i+1 : max(i+1, kEnd-1)]
		i = kEnd
		for i < len(obj) && isJSONSpace(obj[i]) {
			i++
		}
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		i++
		for i < len(obj) && isJSONSpace(obj[i]) {
			i++
		}
		if i >= len(obj) {
			return
		}
		if obj[i] == '"' {
			vEnd := jsonStringEnd(obj, i)
			fn(key, obj[i:vEnd])
			i = vEnd
			continue
		}
		i = jsonValueEnd(obj, i)
	}
}

// jsonStringEnd returns the index just past the string literal starting at
// s[i] == '"'.
func jsonStringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// jsonValueEnd returns the index just past the non-string value starting
// at s[i]: an object or array (skipping nested strings), or a literal.
func jsonValueEnd(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '"':
			i = jsonStringEnd(s, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		default:
			if depth == 0 && isJSONSpace(c) {
				return i
			}
		}
		i++
	}
	return i
}
