// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate ../../../.tools/bin/mdatagen metadata.yaml

// Package ingestauthextension is the gateway's server authenticator: with a
// token configured, every request must carry `Authorization: Bearer <token>`
// and, unless allow_tenant_override is set, a sender's own X-Scope-OrgID is
// dropped from its client metadata so the default tenant applies. With no
// token it lets every request through unchanged, so one environment variable
// turns ingress authentication on or off; bearertokenauth refuses an empty
// token at config validation, and collector v0.158.0 has no pass-through
// authenticator to stand in for it.
package ingestauthextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/ingestauthextension"
