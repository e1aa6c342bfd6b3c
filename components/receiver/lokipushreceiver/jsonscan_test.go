// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
