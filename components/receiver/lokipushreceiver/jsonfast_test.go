// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireSameAsStd checks that whenever the fast decoder accepts a body,
// encoding/json's path accepts it too and decodes the same streams.
func requireSameAsStd(t *testing.T, body []byte) bool {
	fast, ok := decodeJSONFast(body)
	if !ok {
		return false
	}
	std, err := decodeJSONStd(body)
	require.NoError(t, err, "fast path accepted what encoding/json refuses: %q", body)
	require.Equal(t, std, fast, "body %q", body)
	return true
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
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			require.True(t, requireSameAsStd(t, body), "the fast path refused %s", name)
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
