// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

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
// bad tenant is refused with tenant's message before the body is read, and
// without it the header is not passed on, so it cannot break an export and
// is ignored, as by a single-tenant Loki. That a good tenant reaches the
// consumer is TestTenantMetadataReachesConsumer.
func TestTenantChecked(t *testing.T) {
	const bad = "a|b"
	_, wantErr := tenant.FromValues([]string{bad})
	require.Error(t, wantErr)
	headers := map[string]string{"Content-Type": "application/json", "X-Scope-OrgID": bad}

	t.Run("include_metadata", func(t *testing.T) {
		sink := new(consumertest.LogsSink)
		_, h := newTestHandler(t, sink, func(c *Config) { c.IncludeMetadata = true })
		rec := do(h, http.MethodPost, pushPath, []byte(`{"streams": [`), headers)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, wantErr.Error(), strings.TrimSuffix(rec.Body.String(), "\n"))
		assert.Empty(t, sink.AllLogs(), "nothing may be consumed from a rejected request")
	})
	t.Run("without include_metadata", func(t *testing.T) {
		sink := new(consumertest.LogsSink)
		_, h := newTestHandler(t, sink, nil)
		rec := do(h, http.MethodPost, pushPath, []byte(pythonBody), headers)
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		assert.Equal(t, 2, sink.LogRecordCount())
		assert.Nil(t, client.FromContext(sink.Contexts()[0]).Metadata.Get("X-Scope-OrgID"))
	})
}
