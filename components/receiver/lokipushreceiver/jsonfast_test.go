// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireSameAsStd checks that whenever the fast decoder accepts a body,
// encoding/json's path accepts it too and decodes the same streams, and
// that the fast decoder's trace-key hints change nothing but the work.
func requireSameAsStd(t *testing.T, body []byte) bool {
	fast, ok := decodeJSONFast(body)
	if !ok {
		return false
	}
	std, err := decodeJSONStd(body)
	require.NoError(t, err, "fast path accepted what encoding/json refuses: %q", body)
	requireSoundTraceKeyHints(t, fast)
	m := mapper{serviceNameLabels: defaultServiceNameLabels}
	hinted := m.toLogs(fast, 7)
	require.Equal(t, std, withoutHints(fast), "body %q", body)
	require.Equal(t, m.toLogs(std, 7), hinted, "the hints changed the logs of %q", body)
	return true
}

// requireSoundTraceKeyHints checks that the fast decoder gave every entry a
// hint and said "absent" only of lines without the trace keys' names.
func requireSoundTraceKeyHints(t *testing.T, streams []stream) {
	for _, s := range streams {
		require.Len(t, s.lifts, len(s.entries))
		for i, e := range s.entries {
			lift := s.lifts[i]
			require.NotEqual(t, traceKeysUnknown, lift.traceKeys, "line %q", e.line)
			switch lift.traceKeys {
			case traceKeysAbsent:
				require.False(t, strings.Contains(e.line, `"trace`) || strings.Contains(e.line, `"span`), "line %q holds a trace key", e.line)
			case traceKeysLifted:
				tid, sid, tok, sok := traceContextFromLine(e.line, true, true)
				require.Equal(t, []any{tid, sid, tok, sok}, []any{lift.traceID, lift.spanID, lift.hasTraceID, lift.hasSpanID}, "line %q", e.line)
			}
		}
	}
}

// withoutHints is streams without what the fast decoder lifted, as
// encoding/json's path leaves them.
func withoutHints(streams []stream) []stream {
	out := make([]stream, len(streams))
	for i, s := range streams {
		out[i] = stream{labels: s.labels, entries: s.entries}
	}
	return out
}

func TestDecodeJSONFastTakesClientBodies(t *testing.T) {
	py, err := os.ReadFile(filepath.Join("testdata", "clients", "python_logging_loki.json"))
	require.NoError(t, err)
	bodies := map[string][]byte{
		"python-logging-loki": py,
		"bench":               benchJSON(t, benchRequest(100)),
		"metadata":            []byte(`{"streams":[{"stream":{"service_name":"checkout","empty":""},"values":[["1700000000000000001","{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}",{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","pod":"p","blank":""}],["2","zo\u00eb \ud83d\ude80 tab\t"],["3","x",{}]]}]}`),
		"values-first":        []byte(` {"streams" : [ {"values":[["5","a"]] , "stream":{"job":"a"}} , {"stream":{"job":"b"},"values":[]} ] } `),
		"no-streams":          []byte(`{"streams":[]}`),
		"escaped quotes":      []byte(`{"streams":[{"stream":{"job":"a\\"},"values":[["1","{\"k\":\"v \\\\\"}"],["2","end \\\\"],["3","é \"q\""]]}]}`),
	}
	// Strings of every length around the decoder's 8-byte steps, with an
	// escape, a multi-byte character or invalid UTF-8 at each offset, up
	// to the body's last bytes.
	for _, special := range []string{``, `\"`, `\\`, `\u00e9`, `\ud83d\ude80`, "\u00e9", "é", "\xff"} {
		var vals []string
		for n := 0; n <= 24; n++ {
			for at := 0; at <= n; at++ {
				vals = append(vals, fmt.Sprintf(`["%d","%s%s%s"]`, n, strings.Repeat("a", at), special, strings.Repeat("b", n-at)))
			}
		}
		bodies["lengths "+special] = []byte(`{"streams":[{"stream":{"job":"x"},"values":[` + strings.Join(vals, ",") + `]}]}`)
		bodies["at the end "+special] = []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1","` + special + `"]]}]}`)
	}
	// Invalid UTF-8 grows when decoded (each byte becomes U+FFFD's 3):
	// enough of it makes the decoder take new chunks mid-string.
	bad := strings.Repeat("\xff", 40000)
	bodies["invalid UTF-8 outgrows the arena"] = []byte(`{"streams":[{"stream":{"job":"x","bad":"` + bad + `"},"values":[["1","` + bad + `\"q\"` + bad + `"],["2","after"]]}]}`)
	// Only those bytes check the arena's room: the steps around them
	// (whole words, escaped quotes, plain tail bytes) rely on the room
	// they leave. Runs of each kind after runs of invalid bytes of every
	// length put each step at the very end of a chunk.
	var mixed strings.Builder
	for n := 1; n < 40; n++ {
		mixed.WriteString(strings.Repeat("\xff", n*97) + strings.Repeat("w", n%11) + `\"` + strings.Repeat("\xfe", n) + `\\` + strings.Repeat("é", n%3))
	}
	bodies["invalid UTF-8 among words and escapes"] = []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1","` + mixed.String() + `"],["2","` + mixed.String() + `"]]}]}`)
	// Surrogates: a pair, a lone high or low one, a high one before a
	// non-surrogate escape or a plain character.
	bodies["surrogates"] = []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1","\ud83d\ude80 \ud83d \ude80 \ud83d\u0041 \ud83dx \ude80\ud83d \ud83d\ud83d\ude80"]]}]}`)
	// A huge line, escaped all through.
	bodies["huge line"] = []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1","` + strings.Repeat(`{\"k\":\"v\\n\"},`, 50000) + `"]]}]}`)
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			require.True(t, requireSameAsStd(t, body), "the fast path refused %s", name)
		})
	}
}

func TestTraceKeyHints(t *testing.T) {
	for _, tt := range []struct {
		name, line string // line as a JSON string literal
		want       traceKeysHint
		lifted     bool
	}{
		{"escaped quotes", `"{\"msg\":\"hi\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}"`, traceKeysLifted, true},
		{"span only", `"{\"spanId\":\"00f067aa0ba902b7\"}"`, traceKeysLifted, false},
		{"key spelled with \\u", `"{\u0022trace_id\u0022:\"4bf92f3577b34da6a3ce929d0e0e4736\"}"`, traceKeysLifted, true},
		{"letter spelled with \\u", `"{\"\u0074race_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}"`, traceKeysLifted, true},
		{"no trace keys", `"{\"msg\":\"a trace\",\"status\":200}"`, traceKeysAbsent, false},
		{"names without their quote", `"trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7"`, traceKeysAbsent, false},
		{"a longer key is still looked at", `"{\"tracer\":\"x\"}"`, traceKeysLifted, false},
		{"plain", `"plain line"`, traceKeysAbsent, false},
		{"the name of a value", `"{\"msg\":\"traced\"}"`, traceKeysLifted, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"streams":[{"stream":{"job":"\"trace"},"values":[["1",` + tt.line + `]]}]}`)
			require.True(t, requireSameAsStd(t, body))
			streams, _ := decodeJSONFast(body)
			e := streams[0].entries[0]
			require.Equal(t, tt.want, streams[0].lifts[0].traceKeys, "line %q", e.line)
			m := mapper{serviceNameLabels: defaultServiceNameLabels}
			lr := m.toLogs(streams, 1).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			require.Equal(t, tt.lifted, !lr.TraceID().IsEmpty())
		})
	}
}

func TestDecodeJSONFastLeavesTheRestToEncodingJSON(t *testing.T) {
	for name, body := range map[string]string{
		"legacy shape":          `{"streams": [{"labels": "{application=\"a\"}", "entries": [{"ts": "1", "line": "x"}]}]}`,
		"numeric timestamp":     `{"streams":[{"stream":{"a":"b"},"values":[[1,"a"]]}]}`,
		"null metadata":         `{"streams":[{"stream":{"a":"b"},"values":[["1","a",null]]}]}`,
		"duplicate label":       `{"streams":[{"stream":{"a":"b","a":"c"},"values":[["1","a"]]}]}`,
		"other case":            `{"Streams":[{"stream":{"a":"b"},"values":[["1","a"]]}]}`,
		"unknown key":           `{"streams":[{"stream":{"a":"b"},"values":[["1","a"]]}],"x":1}`,
		"empty label name":      `{"streams":[{"stream":{"":"b"},"values":[["1","a"]]}]}`,
		"no labels":             `{"streams":[{"stream":{},"values":[["1","a"]]}]}`,
		"negative timestamp":    `{"streams":[{"stream":{"a":"b"},"values":[["-1","a"]]}]}`,
		"control character":     "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"a\x01\"]]}]}",
		"control after UTF-8":   "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"\xc3\xa9\x01\"]]}]}",
		"control after escape":  "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"\\\\n\x01\"]]}]}",
		"escaped closing quote": `{"streams":[{"stream":{"a":"b"},"values":[["1","a\"]]}]}`,
		"trailing garbage":      `{"streams":[]} x`,
		"truncated":             `{"streams":[{"stream":{"a":"b"},"values":[["1","a`,
	} {
		t.Run(name, func(t *testing.T) {
			_, ok := decodeJSONFast([]byte(body))
			require.False(t, ok)
		})
	}
}

func TestParseUnixNanosMatchesParseInt(t *testing.T) {
	for _, s := range []string{
		"0", "1", "1764213941000000000", "9223372036854775807", "9223372036854775808", "9999999999999999999",
		"09223372036854775807", "00000000000000000001", "+5", "-1", "-0", "1_000", "12a", "", " 1", "1.5",
	} {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := parseUnixNanos(s)
		require.Equal(t, err == nil && want >= 0, ok, s)
		if ok {
			require.Equal(t, want, got, s)
		}
	}
}

func TestUnquoteStopMaskFindsTheFirstByteToLookAt(t *testing.T) {
	requireStopMask(t, unquoteStopMask, func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }, 'a')
}

// requireStopMask checks that mask flags the first byte of a word that
// special says a scan must look at: every byte at every place of a word,
// after plain bytes and before each kind of byte (a borrow from a flagged
// byte must not hide it).
func requireStopMask(t *testing.T, mask func(uint64) uint64, special func(byte) bool, plain ...byte) {
	t.Helper()
	for _, before := range plain {
		for _, after := range []byte{'a', 0, '"', 0xff, ' '} {
			for at := 0; at < 8; at++ {
				for c := 0; c < 256; c++ {
					var w [8]byte
					for i := range w {
						w[i] = before
						if i > at {
							w[i] = after
						}
					}
					w[at] = byte(c)
					first := 8
					for i, b := range w {
						if special(b) {
							first = i
							break
						}
					}
					got := 8
					if m := mask(binary.LittleEndian.Uint64(w[:])); m != 0 {
						got = bits.TrailingZeros64(m) >> 3
					}
					require.Equal(t, first, got, "word %q", w)
				}
			}
		}
	}
}
