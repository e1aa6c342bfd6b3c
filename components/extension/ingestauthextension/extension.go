// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package ingestauthextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/ingestauthextension"

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"google.golang.org/grpc/credentials"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/tenant"
)

var (
	errMissing = errors.New("missing bearer token: send Authorization: Bearer <INGEST_TOKEN>")
	errInvalid = errors.New("invalid bearer token")
)

type authenticator struct {
	component.StartFunc
	component.ShutdownFunc

	token         []byte
	allowOverride bool
}

var (
	_ extension.Extension      = (*authenticator)(nil)
	_ extensionauth.Server     = (*authenticator)(nil)
	_ extensionauth.GRPCClient = (*authenticator)(nil)
	_ extensionauth.HTTPClient = (*authenticator)(nil)
)

func newAuthenticator(cfg *Config) *authenticator {
	return &authenticator{token: []byte(cfg.token()), allowOverride: cfg.AllowTenantOverride}
}

// Authenticate is called by confighttp and configgrpc after they put the
// request's client metadata (include_metadata) into ctx, so the context it
// returns is the one the receiver, the batch processor and headers_setter see.
func (a *authenticator) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	if len(a.token) == 0 {
		return ctx, nil
	}
	got, ok := bearer(sources)
	if !ok {
		return ctx, errMissing
	}
	if subtle.ConstantTimeCompare([]byte(got), a.token) != 1 {
		return ctx, errInvalid
	}
	if a.allowOverride {
		return ctx, nil
	}
	return dropTenant(ctx), nil
}

// bearer returns the token of the request's Authorization header. HTTP
// headers arrive canonicalised, gRPC metadata lower-case.
func bearer(sources map[string][]string) (string, bool) {
	var values []string
	for k, v := range sources {
		if strings.EqualFold(k, "Authorization") {
			values = append(values, v...)
		}
	}
	if len(values) != 1 {
		return "", false
	}
	scheme, tok, found := strings.Cut(values[0], " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

func dropTenant(ctx context.Context) context.Context {
	info := client.FromContext(ctx)
	if len(info.Metadata.Get(tenant.Header)) == 0 {
		return ctx
	}
	md := make(map[string][]string)
	for k := range info.Metadata.Keys() {
		if !strings.EqualFold(k, tenant.Header) {
			md[k] = info.Metadata.Get(k)
		}
	}
	info.Metadata = client.NewMetadata(md)
	return client.NewContext(ctx, info)
}

// PerRPCCredentials lets an agent send the token to the gateways (through
// headers_setter's additional_auth, as an exporter takes one authenticator):
// the header is added only when a token is set, so an agent without one
// talks to an open gateway exactly as before.
func (a *authenticator) PerRPCCredentials() (credentials.PerRPCCredentials, error) {
	return perRPC{a.token}, nil
}

type perRPC struct{ token []byte }

func (p perRPC) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if len(p.token) == 0 {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + string(p.token)}, nil
}

// RequireTransportSecurity is false: agents reach the gateways over a
// private network in plaintext by default (GATEWAY_INSECURE).
func (perRPC) RequireTransportSecurity() bool { return false }

// RoundTripper is PerRPCCredentials for HTTP exporters.
func (a *authenticator) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	if len(a.token) == 0 {
		return base, nil
	}
	return roundTripper{base: base, authorization: "Bearer " + string(a.token)}, nil
}

type roundTripper struct {
	base          http.RoundTripper
	authorization string
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", rt.authorization)
	return rt.base.RoundTrip(req)
}
