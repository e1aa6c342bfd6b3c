// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in      string
		want    []label
		wantErr string
	}{
		{in: `{}`, want: nil},
		{in: ` { a = "1" , b="2", } `, want: []label{{"a", "1"}, {"b", "2"}}},
		{in: "{b=`raw\\n`, a=\"\"}", want: []label{{"b", `raw\n`}}},
		{in: `{a="\u00e9\n"}`, want: []label{{"a", "é\n"}}},
		{in: `{"a.b"="1"}`, want: []label{{"a.b", "1"}}},
		{in: ``, wantErr: "label set must be enclosed in braces"},
		{in: `{a="1"`, wantErr: "label set must be enclosed in braces"},
		{in: `{1a="1"}`, wantErr: `expected a label name at "1a=\"1\""`},
		{in: `{a}`, wantErr: `expected '=' after label name "a"`},
		{in: `{a!="1"}`, wantErr: `expected '=' after label name "a"`},
		{in: `{a="1" b="2"}`, wantErr: `expected ',' or '}' after label "a"`},
		{in: `{a="unterminated}`, wantErr: `bad quoted value for label "a"`},
		{in: `{""="x"}`, wantErr: "empty label name"},
		{in: `{a="1",a="1"}`, wantErr: `duplicate label name "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLabels(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
