// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/tenant"
)

// Which tenants are refused, and with what message, is pinned by
// components/internal/tenant; this is the wiring: with include_metadata a
// bad tenant is refused with tenant's message before the query and the body
// are looked at, and without it the header is not passed on, so it cannot
// break an export and is ignored, as by a single-tenant Pyroscope. That a
// good tenant reaches the consumer is TestTenantMetadataInContext.
func TestTenantChecked(t *testing.T) {
	const bad = "a|b"
	_, wantErr := tenant.FromValues([]string{bad})
	require.Error(t, wantErr)

	t.Run("include_metadata", func(t *testing.T) {
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink, func(c *Config) { c.IncludeMetadata = true })
		rec := tr.do(t, http.MethodPost, "format=jfr", "", strings.NewReader("not a profile"), "X-Scope-OrgID", bad)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, wantErr.Error()+"\n", rec.Body.String())
		assert.Empty(t, sink.AllProfiles(), "nothing consumed on rejection")
	})
	t.Run("without include_metadata", func(t *testing.T) {
		sink := new(consumertest.ProfilesSink)
		tr := newTestReceiver(t, sink)
		rec := tr.do(t, http.MethodPost, "name=app", "", strings.NewReader("main;work 7\n"), "X-Scope-OrgID", bad)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Len(t, sink.AllProfiles(), 1)
		assert.Nil(t, client.FromContext(sink.Contexts()[0]).Metadata.Get("X-Scope-OrgID"))
	})
}
