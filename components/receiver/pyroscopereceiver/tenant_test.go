// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// uploadWithTenants posts body to base's /ingest with one X-Scope-OrgID
// header line per tenant.
func uploadWithTenants(t *testing.T, base, query, body string, tenants ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/ingest?"+query, strings.NewReader(body))
	require.NoError(t, err)
	for _, tn := range tenants {
		req.Header.Add("X-Scope-OrgID", tn)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode, string(b)
}

func TestInvalidTenantRejected(t *testing.T) {
	sink := new(consumertest.ProfilesSink)
	_, base := startReceiver(t, sink, func(c *Config) { c.IncludeMetadata = true })
	long151 := strings.Repeat("t", 151)
	tests := []struct {
		name    string
		query   string
		body    string
		tenants []string
		msg     string
	}{
		{
			name: "multi-tenant", tenants: []string{"a|b"},
			msg: `invalid X-Scope-OrgID "a|b": '|' separates several tenants, a write goes to exactly one`,
		},
		{
			name: "151 characters", tenants: []string{long151},
			msg: `invalid X-Scope-OrgID "` + long151[:64] + `...": 151 characters, at most 150 are allowed`,
		},
		{name: "dot", tenants: []string{"."}, msg: `invalid X-Scope-OrgID ".": "." and ".." are not allowed`},
		{name: "dot dot", tenants: []string{".."}, msg: `invalid X-Scope-OrgID "..": "." and ".." are not allowed`},
		{
			name: "subtenant", tenants: []string{"123:k6"},
			msg: `invalid X-Scope-OrgID "123:k6": unsupported character ":" at byte 3: only A-Z, a-z, 0-9 and !-_.*'() are allowed`,
		},
		{
			name: "several headers", tenants: []string{"team-a", "team-b"},
			msg: "2 X-Scope-OrgID headers: a write goes to exactly one tenant, send the header once",
		},
		{
			// The tenant is checked before the query and the body.
			name: "checked before the request is parsed", query: "format=jfr", body: "not a profile", tenants: []string{"a|b"},
			msg: `invalid X-Scope-OrgID "a|b": '|' separates several tenants, a write goes to exactly one`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			query, body := tt.query, tt.body
			if query == "" {
				query = "name=app"
			}
			if body == "" {
				body = "main;work 7\n"
			}
			status, msg := uploadWithTenants(t, base, query, body, tt.tenants...)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, tt.msg+"\n", msg)
			assert.Empty(t, sink.AllProfiles(), "nothing consumed on rejection")
			assert.Zero(t, sink.SampleCount())
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
			sink := new(consumertest.ProfilesSink)
			_, base := startReceiver(t, sink, func(c *Config) { c.IncludeMetadata = true })
			status, msg := uploadWithTenants(t, base, "name=app", "main;work 7\n", tt.tenants...)
			require.Equal(t, http.StatusOK, status, msg)
			require.Len(t, sink.AllProfiles(), 1)
			md := client.FromContext(sink.Contexts()[0]).Metadata
			assert.Equal(t, tt.want, md.Get("X-Scope-OrgID"))
			assert.NotEmpty(t, md.Get("Host"), "the other headers stay")
		})
	}
}

// Without include_metadata the header is not passed on, so it cannot break
// an export: like a single-tenant Pyroscope, the receiver ignores it.
func TestTenantIgnoredWithoutIncludeMetadata(t *testing.T) {
	sink := new(consumertest.ProfilesSink)
	_, base := startReceiver(t, sink)
	for i, tenants := range [][]string{{"a|b"}, {"a", "b"}, {"."}} {
		status, msg := uploadWithTenants(t, base, "name=app", "main;work 7\n", tenants...)
		require.Equal(t, http.StatusOK, status, msg)
		require.Len(t, sink.AllProfiles(), i+1)
		assert.Nil(t, client.FromContext(sink.Contexts()[i]).Metadata.Get("X-Scope-OrgID"))
	}
}
