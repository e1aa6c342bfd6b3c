// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package ingestauthextension

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/config/configopaque"
)

func token(s string) *configopaque.String {
	v := configopaque.String(s)
	return &v
}

func ctxWithTenant(t string) context.Context {
	return client.NewContext(context.Background(), client.Info{
		Metadata: client.NewMetadata(map[string][]string{"X-Scope-OrgID": {t}, "User-Agent": {"test"}}),
	})
}

func TestNoTokenLetsEverythingThrough(t *testing.T) {
	a := newAuthenticator(&Config{})
	ctx, err := a.Authenticate(ctxWithTenant("team-a"), map[string][]string{})
	require.NoError(t, err)
	assert.Equal(t, []string{"team-a"}, client.FromContext(ctx).Metadata.Get("X-Scope-OrgID"))
}

func TestTokenRequired(t *testing.T) {
	a := newAuthenticator(&Config{Token: token("s3cret")})
	for name, sources := range map[string]map[string][]string{
		"none":         {},
		"wrong":        {"Authorization": {"Bearer nope"}},
		"prefix":       {"Authorization": {"Bearer s3cre"}},
		"basic":        {"Authorization": {"Basic s3cret"}},
		"bare":         {"Authorization": {"s3cret"}},
		"empty bearer": {"Authorization": {"Bearer "}},
		"twice":        {"Authorization": {"Bearer s3cret", "Bearer s3cret"}},
	} {
		_, err := a.Authenticate(context.Background(), sources)
		assert.Error(t, err, name)
	}
	for name, sources := range map[string]map[string][]string{
		"http": {"Authorization": {"Bearer s3cret"}},
		"grpc": {"authorization": {"bearer s3cret"}},
	} {
		_, err := a.Authenticate(context.Background(), sources)
		assert.NoError(t, err, name)
	}
}

func TestTenantOverride(t *testing.T) {
	ok := map[string][]string{"Authorization": {"Bearer s3cret"}}

	ctx, err := newAuthenticator(&Config{Token: token("s3cret")}).Authenticate(ctxWithTenant("other"), ok)
	require.NoError(t, err)
	md := client.FromContext(ctx).Metadata
	assert.Nil(t, md.Get("X-Scope-OrgID"), "a spoofed tenant must be dropped")
	assert.Equal(t, []string{"test"}, md.Get("User-Agent"), "other metadata is kept")

	ctx, err = newAuthenticator(&Config{Token: token("s3cret"), AllowTenantOverride: true}).Authenticate(ctxWithTenant("other"), ok)
	require.NoError(t, err)
	assert.Equal(t, []string{"other"}, client.FromContext(ctx).Metadata.Get("X-Scope-OrgID"))
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, (&Config{}).Validate())
	assert.NoError(t, (&Config{Token: token("")}).Validate())
	assert.NoError(t, (&Config{Token: token("abc-DEF_123.~+/=")}).Validate())
	assert.Error(t, (&Config{Token: token(" abc")}).Validate())
	assert.Error(t, (&Config{Token: token("a b")}).Validate())
	assert.Error(t, (&Config{Token: token("é")}).Validate())
}

func TestClientSendsTokenOnlyWhenSet(t *testing.T) {
	creds, err := newAuthenticator(&Config{}).PerRPCCredentials()
	require.NoError(t, err)
	md, err := creds.GetRequestMetadata(context.Background())
	require.NoError(t, err)
	assert.Empty(t, md)

	creds, err = newAuthenticator(&Config{Token: token("s3cret")}).PerRPCCredentials()
	require.NoError(t, err)
	md, err = creds.GetRequestMetadata(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"authorization": "Bearer s3cret"}, md)
	// What the client sends, the server accepts.
	_, err = newAuthenticator(&Config{Token: token("s3cret")}).Authenticate(context.Background(), map[string][]string{"authorization": {md["authorization"]}})
	assert.NoError(t, err)

	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	for _, tok := range []string{"", "s3cret"} {
		rt, err := newAuthenticator(&Config{Token: token(tok)}).RoundTripper(http.DefaultTransport)
		require.NoError(t, err)
		resp, err := (&http.Client{Transport: rt}).Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
	}
	assert.Equal(t, []string{"", "Bearer s3cret"}, got)
}
