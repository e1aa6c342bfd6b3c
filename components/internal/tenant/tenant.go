// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

// Package tenant checks the X-Scope-OrgID a receiver is about to pass on as
// client metadata. The gateway's exporters send that value to Loki, Tempo,
// Mimir and Pyroscope as the tenant; a value they refuse fails the export
// permanently, after the client was told its data was accepted. Refusing it
// up front with a 400 keeps that promise.
//
// The character set, the length limit and the ban on "." and ".." are those
// of Grafana dskit's tenant.ValidTenantID, which those backends use. Any '|'
// is refused, although dskit's tenant.TenantID lets "a|a" through as "a":
// the gateway batches and labels by the raw value, where "a|a" would be a
// tenant of its own. A ':' suffix (newer dskit's subtenant or tenant
// metadata) is refused too, as backends on older dskit refuse it.
package tenant // import "github.com/gatewayz/otelcol-gatewayz/components/internal/tenant"

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/client"
)

const (
	// Header is the HTTP header (and client metadata key) carrying the tenant.
	Header = "X-Scope-OrgID"

	// MaxLength is dskit's MaxTenantIDLength, in bytes. Only ASCII passes
	// the character check, so it is also the length in characters.
	MaxLength = 150

	// separator joins tenants in a multi-tenant read ("a|b"); the backends'
	// write paths take exactly one tenant.
	separator = '|'

	// quoteLimit bounds how much of a rejected value is echoed back: the
	// header can be as large as the server's header limit.
	quoteLimit = 64
)

var validChars [256]bool

func init() {
	for c := 'a'; c <= 'z'; c++ {
		validChars[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		validChars[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		validChars[c] = true
	}
	for _, c := range "!-_.*'()" {
		validChars[c] = true
	}
}

// Validate returns an error naming the problem if id is not a tenant ID the
// backends accept for a write. The empty string is refused: a request
// without a tenant is expressed by leaving the header out (see FromValues).
func Validate(id string) error {
	if id == "" {
		return invalid(id, "empty")
	}
	// Checked before the character set so that a multi-tenant value gets a
	// message saying what it is rather than "unsupported character '|'".
	if strings.IndexByte(id, separator) >= 0 {
		return invalid(id, "'|' separates several tenants, a write goes to exactly one")
	}
	for i := 0; i < len(id); i++ {
		if !validChars[id[i]] {
			_, size := utf8.DecodeRuneInString(id[i:])
			ch := id[i : i+size]
			return invalid(id, fmt.Sprintf("unsupported character %q at byte %d: only A-Z, a-z, 0-9 and !-_.*'() are allowed", ch, i))
		}
	}
	if len(id) > MaxLength {
		return invalid(id, fmt.Sprintf("%d characters, at most %d are allowed", len(id), MaxLength))
	}
	if id == "." || id == ".." {
		return invalid(id, `"." and ".." are not allowed`)
	}
	return nil
}

func invalid(id, reason string) error {
	shown := id
	if len(shown) > quoteLimit {
		shown = shown[:quoteLimit] + "..."
	}
	return fmt.Errorf("invalid %s %q: %s", Header, shown, reason)
}

// FromValues returns the tenant carried by the values of the X-Scope-OrgID
// header. No value, or a single empty one, means no tenant: it returns "" and
// the gateway's default tenant applies.
func FromValues(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", nil
	case 1:
		if values[0] == "" {
			return "", nil
		}
		if err := Validate(values[0]); err != nil {
			return "", err
		}
		return values[0], nil
	default:
		// headers_setter refuses to pick one of several values, so the
		// export would fail.
		return "", fmt.Errorf("%d %s headers: a write goes to exactly one tenant, send the header once", len(values), Header)
	}
}

// FromHeader is FromValues for the X-Scope-OrgID values of h.
func FromHeader(h http.Header) (string, error) {
	return FromValues(h.Values(Header))
}

// CheckClientMetadata validates the X-Scope-OrgID in ctx's client metadata,
// that is, what include_metadata will pass on; without include_metadata there
// is none and any header is ignored, as by a single-tenant backend. A single
// empty value is removed from the returned context's metadata: headers_setter
// would otherwise send it as an empty tenant, which the backends refuse,
// instead of its default.
func CheckClientMetadata(ctx context.Context) (context.Context, error) {
	info := client.FromContext(ctx)
	values := info.Metadata.Get(Header)
	if _, err := FromValues(values); err != nil {
		return ctx, err
	}
	if len(values) != 1 || values[0] != "" {
		return ctx, nil
	}
	md := make(map[string][]string)
	for k := range info.Metadata.Keys() {
		if !strings.EqualFold(k, Header) {
			md[k] = info.Metadata.Get(k)
		}
	}
	info.Metadata = client.NewMetadata(md)
	return client.NewContext(ctx, info), nil
}
