// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAppKey(t *testing.T) {
	tests := []struct {
		in      string
		full    string
		service string
		suffix  string
		labels  []label
		wantErr string
	}{
		{in: "myapp", full: "myapp", service: "myapp"},
		{in: "myapp.cpu", full: "myapp.cpu", service: "myapp", suffix: "cpu"},
		{in: "my.dotted.app.alloc_space", full: "my.dotted.app.alloc_space", service: "my.dotted.app", suffix: "alloc_space"},
		{in: "myapp.inuse_objects{}", full: "myapp.inuse_objects", service: "myapp", suffix: "inuse_objects"},
		{in: "myapp.goroutines", full: "myapp.goroutines", service: "myapp", suffix: "goroutines"},
		{in: "myapp.mutex_duration", full: "myapp.mutex_duration", service: "myapp", suffix: "mutex_duration"},
		{in: "myapp.lock_count", full: "myapp.lock_count", service: "myapp", suffix: "lock_count"},
		{in: "myapp.itimer", full: "myapp.itimer", service: "myapp", suffix: "itimer"},
		{in: "myapp.wall", full: "myapp.wall", service: "myapp", suffix: "wall"},
		{in: "myapp.exceptions", full: "myapp.exceptions", service: "myapp", suffix: "exceptions"},
		{in: "myapp.v2", full: "myapp.v2", service: "myapp.v2"},
		{in: ".cpu", full: ".cpu", service: ".cpu"},
		{in: "my/service-name.cpu", full: "my/service-name.cpu", service: "my/service-name", suffix: "cpu"},
		{
			in: "myapp.cpu{env=prod,region=eu-west-1}", full: "myapp.cpu", service: "myapp", suffix: "cpu",
			labels: []label{{"env", "prod"}, {"region", "eu-west-1"}},
		},
		{
			in: " myapp { env = prod , version = 1.2.3 , } ", full: "myapp", service: "myapp",
			labels: []label{{"env", "prod"}, {"version", "1.2.3"}},
		},
		{
			in: "myapp{__session_id__=abc,a=1,a=2,b=}", full: "myapp", service: "myapp",
			labels: []label{{"__session_id__", "abc"}, {"a", "2"}},
		},
		{in: "myapp{a=x,a=}", full: "myapp", service: "myapp", labels: []label{}},
		{in: "myapp{k.with.dots=v=w}", full: "myapp", service: "myapp", labels: []label{{"k.with.dots", "v=w"}}},
		{in: "", wantErr: "application name is empty"},
		{in: "   ", wantErr: "application name is empty"},
		{in: "{env=prod}", wantErr: "application name is empty"},
		{in: "myapp{env=prod", wantErr: `unbalanced braces in name "myapp{env=prod": missing '}'`},
		{in: "myapp}", wantErr: `unbalanced braces in name "myapp}": missing '{'`},
		{in: "myapp{a={b}}", wantErr: "nested '{'"},
		{in: "myapp{a=b}x", wantErr: `unexpected text after '}' in name "myapp{a=b}x"`},
		{in: "myapp{env}", wantErr: `invalid label "env" in name: missing '='`},
		{in: "myapp{=prod}", wantErr: `invalid label "=prod" in name: empty key`},
		{in: "myapp{bad-key=1}", wantErr: `invalid label key "bad-key" in name: character '-' is not allowed`},
		{in: "myapp{__name__=x}", wantErr: `invalid label key "__name__" in name: reserved`},
		{in: "my app", wantErr: `invalid application name "my app": character ' ' is not allowed`},
		{in: "app;x", wantErr: `character ';' is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, err := parseAppKey(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.full, k.FullName)
			assert.Equal(t, tt.service, k.ServiceName)
			assert.Equal(t, tt.suffix, k.Suffix)
			if tt.labels == nil {
				assert.Empty(t, k.Labels)
			} else {
				assert.ElementsMatch(t, tt.labels, k.Labels)
				assert.Len(t, k.Labels, len(tt.labels))
			}
		})
	}
}

func TestParseAppKeyURLEncoded(t *testing.T) {
	// What pyroscope-go sends: url.Values.Encode of the normalized name.
	raw := url.Values{"name": {"checkout.cpu{__session_id__=0a1b2c3d4e5f6071,env=prod,pod=checkout-7d9f}"}}.Encode()
	assert.Equal(t, "name=checkout.cpu%7B__session_id__%3D0a1b2c3d4e5f6071%2Cenv%3Dprod%2Cpod%3Dcheckout-7d9f%7D", raw)
	q, err := url.ParseQuery(raw)
	require.NoError(t, err)
	k, err := parseAppKey(q.Get("name"))
	require.NoError(t, err)
	assert.Equal(t, "checkout", k.ServiceName)
	assert.Equal(t, "cpu", k.Suffix)
	assert.Equal(t, []label{{"__session_id__", "0a1b2c3d4e5f6071"}, {"env", "prod"}, {"pod", "checkout-7d9f"}}, k.Labels)
}

func TestParseAppKeyTooLong(t *testing.T) {
	long := make([]byte, maxNameLength+1)
	for i := range long {
		long[i] = 'a'
	}
	_, err := parseAppKey(string(long))
	require.EqualError(t, err, "name is longer than 4096 bytes")
}

func TestFoldedTypeFor(t *testing.T) {
	assert.Equal(t, cpuFolded, foldedTypeFor("", "", ""))
	assert.Equal(t, cpuFolded, foldedTypeFor("", "samples", "sum"))
	assert.Equal(t, cpuFolded, foldedTypeFor("cpu", "bytes", ""), "suffix wins over units")
	assert.Equal(t, wallFolded, foldedTypeFor("wall", "", ""))
	assert.Equal(t, valueType{"alloc_objects", "count"}, foldedTypeFor("", "objects", "sum").Sample)
	assert.Equal(t, valueType{"inuse_objects", "count"}, foldedTypeFor("", "objects", "average").Sample)
	assert.Equal(t, valueType{"alloc_space", "bytes"}, foldedTypeFor("", "bytes", "").Sample)
	assert.Equal(t, valueType{"inuse_space", "bytes"}, foldedTypeFor("", "bytes", "average").Sample)
	assert.Equal(t, valueType{"goroutine", "count"}, foldedTypeFor("", "goroutines", "average").Sample)
	assert.Equal(t, valueType{"contentions", "count"}, foldedTypeFor("", "lock_samples", "").Sample)
	assert.Equal(t, valueType{"delay", "nanoseconds"}, foldedTypeFor("", "lock_nanoseconds", "").Sample)
	assert.Equal(t, valueType{"delay", "nanoseconds"}, foldedTypeFor("block_duration", "", "").Sample)
}
