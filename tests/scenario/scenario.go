// Package scenario builds one realistic burst of GatewayZ telemetry, with
// every number the pipeline should derive from it known in advance. The
// shapes live in internal/loadgen, whose traces and logs are made of them;
// this package names them for the tests.
package scenario

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

// Scenario is one realistic burst of GatewayZ traffic: chat completions
// through the gateway, each calling an AI provider and a second
// instrumented service, which in turn calls Redis.
type Scenario = loadgen.Scenario

const (
	GatewayService = loadgen.GatewayService
	RouterService  = loadgen.RouterService
	ChatRoute      = loadgen.ChatRoute
	// ServerLatency is the duration of every gateway SERVER span.
	ServerLatency = loadgen.ServerLatency
	// SpansPerRequest: gateway SERVER, provider CLIENT, router CLIENT,
	// router SERVER, Redis CLIENT.
	SpansPerRequest = loadgen.SpansPerRequest
	// EdgesPerRequest are the service-graph edges of one request: the
	// virtual client "user" to the gateway, gateway to provider (a virtual
	// node), gateway to router, router to Redis.
	EdgesPerRequest = loadgen.EdgesPerRequest
)

// TraceID is request i's trace id.
func TraceID(i int) pcommon.TraceID { return loadgen.TraceID(i) }

// SpanID is the n-th span of request i.
func SpanID(i, n int) pcommon.SpanID { return loadgen.SpanID(i, n) }
