// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package tenant

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		wantErr string // exact message; "" means valid
	}{
		{name: "simple", id: "tenant-a"},
		{name: "every allowed character", id: "ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz_0123456789!.*'()"},
		{name: "single character", id: "a"},
		{name: "single special character", id: "*"},
		{name: "dots inside a longer id", id: "..."},
		{name: "leading dot", id: ".a"},
		{name: "150 characters", id: strings.Repeat("a", 150)},
		{
			name:    "151 characters",
			id:      strings.Repeat("a", 151),
			wantErr: `invalid X-Scope-OrgID "` + strings.Repeat("a", 64) + `...": 151 characters, at most 150 are allowed`,
		},
		{name: "dot", id: ".", wantErr: `invalid X-Scope-OrgID ".": "." and ".." are not allowed`},
		{name: "dot dot", id: "..", wantErr: `invalid X-Scope-OrgID "..": "." and ".." are not allowed`},
		{name: "empty", id: "", wantErr: `invalid X-Scope-OrgID "": empty`},
		{name: "multi-tenant", id: "a|b", wantErr: `invalid X-Scope-OrgID "a|b": '|' separates several tenants, a write goes to exactly one`},
		{name: "same tenant twice", id: "a|a", wantErr: `invalid X-Scope-OrgID "a|a": '|' separates several tenants, a write goes to exactly one`},
		{name: "trailing separator", id: "a|", wantErr: `invalid X-Scope-OrgID "a|": '|' separates several tenants, a write goes to exactly one`},
		{
			name:    "multi-tenant wins over other problems",
			id:      strings.Repeat("a", 151) + "|b c",
			wantErr: `invalid X-Scope-OrgID "` + strings.Repeat("a", 64) + `...": '|' separates several tenants, a write goes to exactly one`,
		},
		{name: "space", id: "a b", wantErr: `invalid X-Scope-OrgID "a b": unsupported character " " at byte 1: only A-Z, a-z, 0-9 and !-_.*'() are allowed`},
		{name: "subtenant colon", id: "123:k6", wantErr: `invalid X-Scope-OrgID "123:k6": unsupported character ":" at byte 3: only A-Z, a-z, 0-9 and !-_.*'() are allowed`},
		{name: "slash", id: "a/b", wantErr: `invalid X-Scope-OrgID "a/b": unsupported character "/" at byte 1: only A-Z, a-z, 0-9 and !-_.*'() are allowed`},
		{name: "double quote", id: `a"`, wantErr: `invalid X-Scope-OrgID "a\"": unsupported character "\"" at byte 1: only A-Z, a-z, 0-9 and !-_.*'() are allowed`},
		{name: "non-ASCII letter", id: "café", wantErr: `invalid X-Scope-OrgID "café": unsupported character "é" at byte 3: only A-Z, a-z, 0-9 and !-_.*'() are allowed`},
		{name: "invalid UTF-8", id: "a\xff", wantErr: `invalid X-Scope-OrgID "a\xff": unsupported character "\xff" at byte 1: only A-Z, a-z, 0-9 and !-_.*'() are allowed`},
		{name: "control character", id: "a\tb", wantErr: `invalid X-Scope-OrgID "a\tb": unsupported character "\t" at byte 1: only A-Z, a-z, 0-9 and !-_.*'() are allowed`},
		{
			// As in dskit, the character set is checked before the length.
			name:    "bad character in an over-long id",
			id:      strings.Repeat("a", 200) + "/",
			wantErr: `invalid X-Scope-OrgID "` + strings.Repeat("a", 64) + `...": unsupported character "/" at byte 200: only A-Z, a-z, 0-9 and !-_.*'() are allowed`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.id)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tt.wantErr)
		})
	}
}

// TestValidateCharacterSet checks every byte value against dskit's set.
func TestValidateCharacterSet(t *testing.T) {
	allowed := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!-_.*'()"
	for b := 0; b < 256; b++ {
		id := "x" + string([]byte{byte(b)})
		err := Validate(id)
		if strings.IndexByte(allowed, byte(b)) >= 0 {
			assert.NoError(t, err, "byte %#x", b)
		} else {
			assert.Error(t, err, "byte %#x", b)
		}
	}
}

func TestFromValues(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    string
		wantErr string
	}{
		{name: "absent", values: nil},
		{name: "empty slice", values: []string{}},
		{name: "empty value", values: []string{""}},
		{name: "one tenant", values: []string{"tenant-a"}, want: "tenant-a"},
		{name: "150 characters", values: []string{strings.Repeat("b", 150)}, want: strings.Repeat("b", 150)},
		{name: "invalid", values: []string{"a|b"}, wantErr: `invalid X-Scope-OrgID "a|b": '|' separates several tenants, a write goes to exactly one`},
		{name: "two values", values: []string{"a", "b"}, wantErr: "2 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once"},
		{name: "the same value twice", values: []string{"a", "a"}, wantErr: "2 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once"},
		{name: "two empty values", values: []string{"", ""}, wantErr: "2 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once"},
		{name: "three values", values: []string{"a", "", "b"}, wantErr: "3 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromValues(tt.values)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFromHeader(t *testing.T) {
	h := http.Header{}
	got, err := FromHeader(h)
	require.NoError(t, err)
	assert.Empty(t, got)

	h.Set("x-scope-orgid", "tenant-a") // canonicalised by Set, as by the server
	got, err = FromHeader(h)
	require.NoError(t, err)
	assert.Equal(t, "tenant-a", got)

	h.Add("X-Scope-OrgID", "tenant-b")
	_, err = FromHeader(h)
	assert.EqualError(t, err, "2 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once")

	h.Set("X-Scope-OrgID", "..")
	_, err = FromHeader(h)
	assert.EqualError(t, err, `invalid X-Scope-OrgID "..": "." and ".." are not allowed`)
}

func TestCheckClientMetadata(t *testing.T) {
	addr := &net.IPAddr{IP: net.IPv4(192, 0, 2, 1)}
	withMetadata := func(md map[string][]string) context.Context {
		return client.NewContext(context.Background(), client.Info{Addr: addr, Metadata: client.NewMetadata(md)})
	}

	t.Run("no client info", func(t *testing.T) {
		ctx := context.Background()
		got, err := CheckClientMetadata(ctx)
		require.NoError(t, err)
		assert.Equal(t, ctx, got)
	})

	t.Run("valid tenant is kept", func(t *testing.T) {
		ctx := withMetadata(map[string][]string{"X-Scope-Orgid": {"tenant-a"}, "Content-Type": {"application/json"}})
		got, err := CheckClientMetadata(ctx)
		require.NoError(t, err)
		assert.Equal(t, ctx, got)
		assert.Equal(t, []string{"tenant-a"}, client.FromContext(got).Metadata.Get(Header))
	})

	t.Run("empty tenant is removed, the rest kept", func(t *testing.T) {
		ctx := withMetadata(map[string][]string{"X-Scope-Orgid": {""}, "Content-Type": {"application/json"}, "Host": {"gw:3100"}})
		got, err := CheckClientMetadata(ctx)
		require.NoError(t, err)
		info := client.FromContext(got)
		assert.Nil(t, info.Metadata.Get(Header))
		assert.Equal(t, []string{"application/json"}, info.Metadata.Get("Content-Type"))
		assert.Equal(t, []string{"gw:3100"}, info.Metadata.Get("Host"))
		assert.Equal(t, addr, info.Addr)
	})

	t.Run("invalid tenant", func(t *testing.T) {
		_, err := CheckClientMetadata(withMetadata(map[string][]string{"X-Scope-Orgid": {"a|b"}}))
		assert.EqualError(t, err, `invalid X-Scope-OrgID "a|b": '|' separates several tenants, a write goes to exactly one`)
	})

	t.Run("several values", func(t *testing.T) {
		_, err := CheckClientMetadata(withMetadata(map[string][]string{"X-Scope-Orgid": {"a", "b"}}))
		assert.EqualError(t, err, "2 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once")
	})
}
