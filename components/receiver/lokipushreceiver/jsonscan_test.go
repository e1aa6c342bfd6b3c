// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"encoding/json"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestUnquoteJSONMatchesEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`""`, `"plain"`, `"ünïcödé 🚀"`, `"esc \" \\ \/ \b \f \n \r \t"`,
		`"\u00e9\u2014\uD83D\uDE80"`, `"lone \uD83D surrogate"`, `"lone low \uDE80"`, `"pair then lone \uD83D\uDE80\uD83D"`,
		"\"bad utf8 \xff\xfe\"", `"\u0000 nul"`, `"\uD83D\u0041"`,
	} {
		t.Run(raw, func(t *testing.T) {
			var want string
			require.NoError(t, json.Unmarshal([]byte(raw), &want))
			got, ok := unquoteJSON([]byte(raw))
			require.True(t, ok)
			assert.Equal(t, want, got)
		})
	}
	for _, bad := range []string{``, `"`, `x"`, `"a\"`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"ctl \x01\"", `"a"b"`} {
		_, ok := unquoteJSON([]byte(bad))
		assert.False(t, ok, bad)
	}
}

func TestScanTopLevelStrings(t *testing.T) {
	obj := `{"a":"1", "nested":{"trace_id":"x","arr":["}",{"b":"2"}]}, "n": -1.5e3 ,"t":true,"z":null,"e":"with \"esc\" }","arr":[1,2],"last":"ok"}`
	require.True(t, json.Valid([]byte(obj)))
	got := map[string]string{}
	scanTopLevelStrings(obj, func(k, v string) { got[k] = v })
	assert.Equal(t, map[string]string{"a": `"1"`, "e": `"with \"esc\" }"`, "last": `"ok"`}, got)
}

func TestScanLineTraceFields(t *testing.T) {
	obj := `{"a":"1", "nested":{"trace_id":"x","arr":["}",{"b":"2"}]}, "n": -1.5e3 ,"t":true,"z":null,"e":"with \"esc\" }","arr":[1,2],` +
		`"trace_id":"first","span_id":5,"traceId":"c","trace_id":"last","spanID":"s"}`
	require.True(t, json.Valid([]byte(obj)))
	var f lineTraceFields
	require.True(t, scanLineTraceFields(obj, nil, &f))
	assert.Equal(t, lineTraceFields{traceSnake: `"last"`, traceCamel: `"c"`, spanCamel: `"s"`}, f)

	deep := strings.Repeat("[", maxJSONDepth-1)
	for _, line := range []string{
		`{}`, ` {"a":[]} `, `{"a":{}}`, `{"a":[1,-0,0.5,1e5,1E+2,-3e-4,true,false,null,"x\u00e9\n"]}`,
		`{"a":"\xff ok"}`, "{\"a\":\"\xff\xfe\"}",
		`{"a":` + deep + strings.Repeat("]", maxJSONDepth-1) + `}`,     // at the limit
		`{"a":` + deep + `[` + strings.Repeat("]", maxJSONDepth) + `}`, // one over
		`{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`,
		`{"a":tru}`, `{"a":truex}`, `{"a":"\x"}`, `{"a":"\u12g4"}`, "{\"a\":\"\x01\"}", `{"a":1}x`, `{"a":1} {}`,
		`{"a":[1 2]}`, `{"a":[1,]}`, `{"a" 1}`, `{'a':1}`, `[1]`, `"s"`, ``, ` `,
	} {
		var f lineTraceFields
		got := scanLineTraceFields(line, nil, &f)
		want := json.Valid([]byte(line)) && strings.HasPrefix(strings.TrimLeft(line, " \t\r\n"), "{")
		assert.Equal(t, want, got, "%.60q", line)
		requireSameWithQuotes(t, line)
	}
	for _, line := range []string{obj, `{"a":"1","trace_id":"t","b":[1,"x",{"c":"d"}]}`, `{"a":"1}`, `{"a":"1"}"`, `{"a":1,"b":"}`, `{""`, `{"a" :"x" , "":""}`} {
		requireSameWithQuotes(t, line)
	}
}

func TestStringStopMaskFindsTheFirstByteToLookAt(t *testing.T) {
	// Plain bytes ASCII or not: this scan passes over both.
	requireStopMask(t, stringStopMask, func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }, 'a', 0xc3, 0xff)
}

// TestScanLineStringEnds puts each kind of byte a string scan stops at (or
// must not stop at) at every offset from a word boundary, in strings long
// enough for the eight-byte skip and too short for it, and checks the
// scan against json.Valid.
func TestScanLineStringEnds(t *testing.T) {
	for _, stop := range []string{``, `\"`, `\\`, `\/`, `\n`, `\u00e9`, `\uD83D\uDE80`, `\x`, `\u12g4`, "\x01", "\x1f", "\x7f", "é", "\xff", `}`, `"`} {
		for pre := 0; pre < 20; pre++ {
			for post := 0; post < 12; post += 3 {
				lit := `"` + strings.Repeat("p", pre) + stop + strings.Repeat("q", post) + `"`
				for _, line := range []string{`{"k":` + lit + `}`, `{` + lit + `:1,"trace_id":` + lit + `}`, `{"k":[` + lit + `,` + lit + `]}`} {
					var f lineTraceFields
					got := scanLineTraceFields(line, nil, &f)
					want := json.Valid([]byte(line))
					require.Equal(t, want, got, "%q", line)
				}
			}
		}
	}
	// An unterminated string ends the scan at every length.
	for n := 0; n < 20; n++ {
		var f lineTraceFields
		require.False(t, scanLineTraceFields(`{"k":"`+strings.Repeat("p", n), nil, &f))
	}
}

// requireSameWithQuotes checks, for a line the quote-skipping scan may be
// given (no '\\', no control characters), that it agrees with the full
// scan.
func requireSameWithQuotes(t *testing.T, line string) {
	var quotes []int
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' || line[i] < 0x20 {
			return
		}
		if line[i] == '"' {
			quotes = append(quotes, i)
		}
	}
	if quotes == nil {
		quotes = []int{}
	}
	var want, got lineTraceFields
	require.Equal(t, scanLineTraceFields(line, nil, &want), scanLineTraceFields(line, quotes, &got), "%.60q", line)
	require.Equal(t, want, got, "%.60q", line)
}

// FuzzTraceContextFromLine checks the one-pass scanner against the
// json.Valid-based reference it replaced.
func FuzzTraceContextFromLine(f *testing.F) {
	for _, s := range []string{
		`{"msg":"hi","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
		`  {"traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"} `,
		`{"trace_id":"4bf92f3577b34da6a3ce929d0e0e473\u0036","n":[1,{"span_id":"x"}],"e":-1.5e+3}`,
		`{"trace_id":12,"span_id":"00f067aa0ba902b7","x":null,"y":true,"z":false}`,
		`{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`,
		`trace_id=4bf92f3577b34da6a3ce929d0e0e4736`,
	} {
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, line string, wantTrace, wantSpan bool) {
		tid, sid, tok, sok := traceContextFromLine(line, wantTrace, wantSpan)
		rtid, rsid, rtok, rsok := refTraceContextFromLine(line, wantTrace, wantSpan)
		require.Equal(t, rtok, tok)
		require.Equal(t, rsok, sok)
		require.Equal(t, rtid, tid)
		require.Equal(t, rsid, sid)
		var fields lineTraceFields
		wantValid := json.Valid([]byte(line)) && strings.HasPrefix(strings.TrimLeft(line, " \t\r\n"), "{")
		require.Equal(t, wantValid, scanLineTraceFields(line, nil, &fields))
		requireSameWithQuotes(t, line)
	})
}

// refTraceContextFromLine is the json.Valid-based version traceContextFromLine
// replaced, kept as the reference it must agree with. It lifts trace_id/traceId/traceID and
// span_id/spanId/spanID from the top level of a line that is a JSON object.
// Lines that are not valid JSON, non-string values and ids that are not
// valid hex of the right length are left alone.
func refTraceContextFromLine(line string, wantTrace, wantSpan bool) (tid pcommon.TraceID, sid pcommon.SpanID, tok, sok bool) {
	i := 0
	for i < len(line) && isJSONSpace(line[i]) {
		i++
	}
	if i == len(line) || line[i] != '{' {
		return tid, sid, false, false
	}
	// Cheap pre-check before validating the whole line.
	if !strings.Contains(line, `"trace`) && !strings.Contains(line, `"span`) {
		return tid, sid, false, false
	}
	// json.Valid only reads its argument: view the string's bytes without
	// copying.
	if !json.Valid(unsafe.Slice(unsafe.StringData(line), len(line))) {
		return tid, sid, false, false
	}
	var traceSnake, traceCamel, spanSnake, spanCamel string
	scanTopLevelStrings(line[i:], func(key, rawVal string) {
		switch key {
		case "trace_id":
			traceSnake = rawVal
		case "traceId", "traceID":
			traceCamel = rawVal
		case "span_id":
			spanSnake = rawVal
		case "spanId", "spanID":
			spanCamel = rawVal
		}
	})
	if wantTrace {
		for _, raw := range []string{traceSnake, traceCamel} {
			if raw != "" {
				if tid, tok = parseTraceID(unquoteJSONString(raw)); tok {
					break
				}
			}
		}
	}
	if wantSpan {
		for _, raw := range []string{spanSnake, spanCamel} {
			if raw != "" {
				if sid, sok = parseSpanID(unquoteJSONString(raw)); sok {
					break
				}
			}
		}
	}
	return tid, sid, tok, sok
}

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
