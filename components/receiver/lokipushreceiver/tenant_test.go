// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// pushWithTenants sends pythonBody (or body) with one X-Scope-OrgID header
// line per tenant through the full confighttp chain.
func pushWithTenants(h http.Handler, body string, tenants ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, pushPath, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	for _, tn := range tenants {
		req.Header.Add("X-Scope-OrgID", tn)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestInvalidTenantRejected(t *testing.T) {
	long151 := strings.Repeat("t", 151)
	tests := []struct {
		name     string
		body     string
		tenants  []string
		wantBody string
	}{
		{
			name: "multi-tenant", tenants: []string{"a|b"},
			wantBody: `invalid X-Scope-OrgID "a|b": '|' separates several tenants, a write goes to exactly one`,
		},
		{
			name: "151 characters", tenants: []string{long151},
			wantBody: `invalid X-Scope-OrgID "` + long151[:64] + `...": 151 characters, at most 150 are allowed`,
		},
		{name: "dot", tenants: []string{"."}, wantBody: `invalid X-Scope-OrgID ".": "." and ".." are not allowed`},
		{name: "dot dot", tenants: []string{".."}, wantBody: `invalid X-Scope-OrgID "..": "." and ".." are not allowed`},
		{
			name: "unsupported character", tenants: []string{"team/a"},
			wantBody: `invalid X-Scope-OrgID "team/a": unsupported character "/" at byte 4: only A-Z, a-z, 0-9 and !-_.*'() are allowed`,
		},
		{
			name: "several headers", tenants: []string{"tenant-a", "tenant-b"},
			wantBody: "2 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once",
		},
		{
			name: "several identical headers", tenants: []string{"tenant-a", "tenant-a"},
			wantBody: "2 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once",
		},
		{
			// The tenant is checked before the body is read.
			name: "checked before the body", body: `{"streams": [`, tenants: []string{"a|b"},
			wantBody: `invalid X-Scope-OrgID "a|b": '|' separates several tenants, a write goes to exactly one`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			_, h := newTestHandler(t, sink, func(c *Config) { c.IncludeMetadata = true })
			body := tt.body
			if body == "" {
				body = pythonBody
			}
			rec := pushWithTenants(h, body, tt.tenants...)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Equal(t, tt.wantBody, strings.TrimSuffix(rec.Body.String(), "\n"))
			assert.Equal(t, 0, sink.LogRecordCount(), "nothing may be consumed from a rejected request")
			assert.Empty(t, sink.AllLogs())
		})
	}
}

func TestValidTenantAccepted(t *testing.T) {
	long150 := strings.Repeat("t", 150)
	tests := []struct {
		name    string
		tenants []string
		want    []string // X-Scope-OrgID in the consumer's client metadata
	}{
		{name: "150 characters", tenants: []string{long150}, want: []string{long150}},
		{name: "every allowed character", tenants: []string{"Ab0!-_.*'()"}, want: []string{"Ab0!-_.*'()"}},
		{name: "absent", tenants: nil, want: nil},
		// An empty value is dropped so that headers_setter falls back to its
		// default tenant instead of sending an empty one.
		{name: "empty", tenants: []string{""}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			_, h := newTestHandler(t, sink, func(c *Config) { c.IncludeMetadata = true })
			rec := pushWithTenants(h, pythonBody, tt.tenants...)
			require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
			require.Equal(t, 2, sink.LogRecordCount())
			md := client.FromContext(sink.Contexts()[0]).Metadata
			assert.Equal(t, tt.want, md.Get("X-Scope-OrgID"))
			assert.Equal(t, []string{"application/json"}, md.Get("Content-Type"), "the other headers stay")
		})
	}
}

// Without include_metadata the header is not passed on, so it cannot break
// an export: like a single-tenant Loki, the receiver ignores it.
func TestTenantIgnoredWithoutIncludeMetadata(t *testing.T) {
	for _, tenants := range [][]string{{"a|b"}, {"a", "b"}, {"."}} {
		sink := new(consumertest.LogsSink)
		_, h := newTestHandler(t, sink, nil)
		rec := pushWithTenants(h, pythonBody, tenants...)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		assert.Equal(t, 2, sink.LogRecordCount())
		assert.Nil(t, client.FromContext(sink.Contexts()[0]).Metadata.Get("X-Scope-OrgID"))
	}
}
