package loadgen

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Scenario is one realistic burst of GatewayZ traffic: chat completions
// through the gateway, each calling an AI provider and a second
// instrumented service, which in turn calls Redis. The load generator's
// traces and logs are made of it, and tests send it (tests/scenario) with
// every number the pipeline should derive from it known in advance.
type Scenario struct {
	Requests int
	// Every FailEvery-th request (starting with the first) fails at the provider.
	FailEvery int
	Start     time.Time
	// IDBase offsets the trace and span ids, so several bursts can be told
	// apart: request i has TraceID(IDBase+i).
	IDBase int
}

const (
	GatewayService = "gatewayz-api"
	RouterService  = "gatewayz-router"
	ChatRoute      = "/v1/chat/completions"
	// ServerLatency is the duration of every gateway SERVER span.
	ServerLatency = 300 * time.Millisecond
)

// Provider is request i's AI provider and model.
func (s Scenario) Provider(i int) (system, model string) {
	if i%2 == 0 {
		return "openai", "gpt-4o"
	}
	return "anthropic", "claude-3-5-sonnet"
}

func (s Scenario) Failed(i int) bool { return i%s.FailEvery == 0 }

// InputTokens and OutputTokens are request i's token counts.
func (s Scenario) InputTokens(i int) int  { return 100 + i }
func (s Scenario) OutputTokens(i int) int { return 50 + i }

// SpansPerRequest: gateway SERVER, provider CLIENT, router CLIENT,
// router SERVER, Redis CLIENT.
const SpansPerRequest = 5

// EdgesPerRequest are the service-graph edges of one request: the virtual
// client "user" to the gateway (its SERVER span has no parent), gateway to
// provider (a virtual node), gateway to router, router to Redis.
const EdgesPerRequest = 4

// Tokens sums the input and output tokens of the requests to AI provider
// system (gen_ai.system), or of all requests if system is "".
func (s Scenario) Tokens(system string) (in, out int) {
	for i := 0; i < s.Requests; i++ {
		if p, _ := s.Provider(i); system == "" || p == system {
			in += s.InputTokens(i)
			out += s.OutputTokens(i)
		}
	}
	return in, out
}

// SpanCount is the number of spans Traces builds.
func (s Scenario) SpanCount() int { return s.Requests * SpansPerRequest }

// Failures is the number of failed requests.
func (s Scenario) Failures() (n int) {
	for i := 0; i < s.Requests; i++ {
		if s.Failed(i) {
			n++
		}
	}
	return n
}

// TraceID is request i's trace id.
func TraceID(i int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], 0x6761746577617a00) // "gatewaz\0"
	binary.BigEndian.PutUint64(id[8:], uint64(i+1))
	return id
}

// SpanID is the n-th span of request i.
func SpanID(i, n int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], uint64((i+1)<<8|n))
	return id
}

func setResource(rs pcommon.Resource, service string) {
	rs.Attributes().PutStr("service.name", service)
	rs.Attributes().PutStr("service.instance.id", service+"-0")
	rs.Attributes().PutStr("deployment.environment", "production")
}

// Traces builds the scenario's spans: one ResourceSpans per service.
func (s Scenario) Traces() ptrace.Traces {
	td := ptrace.NewTraces()
	gw := td.ResourceSpans().AppendEmpty()
	setResource(gw.Resource(), GatewayService)
	gwSpans := gw.ScopeSpans().AppendEmpty()
	gwSpans.Scope().SetName("opentelemetry.instrumentation.fastapi")
	rt := td.ResourceSpans().AppendEmpty()
	setResource(rt.Resource(), RouterService)
	rtSpans := rt.ScopeSpans().AppendEmpty()
	rtSpans.Scope().SetName("opentelemetry.instrumentation.fastapi")

	for i := 0; i < s.Requests; i++ {
		tid, id := TraceID(s.IDBase+i), s.IDBase+i
		t0 := s.Start.Add(time.Duration(i) * 10 * time.Millisecond)
		system, model := s.Provider(i)

		server := gwSpans.Spans().AppendEmpty()
		setSpan(server, tid, SpanID(id, 1), pcommon.SpanID{}, "POST "+ChatRoute, ptrace.SpanKindServer, t0, ServerLatency)
		server.Attributes().PutStr("http.request.method", "POST")
		server.Attributes().PutStr("http.route", ChatRoute)
		status := int64(200)
		if s.Failed(i) {
			status = 502
			server.Status().SetCode(ptrace.StatusCodeError)
		}
		server.Attributes().PutInt("http.response.status_code", status)

		llm := gwSpans.Spans().AppendEmpty()
		setSpan(llm, tid, SpanID(id, 2), SpanID(id, 1), "chat "+model, ptrace.SpanKindClient, t0.Add(20*time.Millisecond), 200*time.Millisecond)
		llm.Attributes().PutStr("gen_ai.system", system)
		llm.Attributes().PutStr("gen_ai.operation.name", "chat")
		llm.Attributes().PutStr("gen_ai.request.model", model)
		llm.Attributes().PutInt("gen_ai.usage.input_tokens", int64(s.InputTokens(i)))
		llm.Attributes().PutInt("gen_ai.usage.output_tokens", int64(s.OutputTokens(i)))
		llm.Attributes().PutStr("server.address", "api."+system+".com")
		if s.Failed(i) {
			llm.Status().SetCode(ptrace.StatusCodeError)
			llm.Status().SetMessage("upstream 502")
		}

		call := gwSpans.Spans().AppendEmpty()
		setSpan(call, tid, SpanID(id, 3), SpanID(id, 1), "POST /route", ptrace.SpanKindClient, t0.Add(5*time.Millisecond), 12*time.Millisecond)
		call.Attributes().PutStr("http.request.method", "POST")
		call.Attributes().PutStr("server.address", RouterService)

		routed := rtSpans.Spans().AppendEmpty()
		setSpan(routed, tid, SpanID(id, 4), SpanID(id, 3), "POST /route", ptrace.SpanKindServer, t0.Add(6*time.Millisecond), 10*time.Millisecond)
		routed.Attributes().PutStr("http.route", "/route")
		routed.Attributes().PutInt("http.response.status_code", 200)

		cache := rtSpans.Spans().AppendEmpty()
		setSpan(cache, tid, SpanID(id, 5), SpanID(id, 4), "GET", ptrace.SpanKindClient, t0.Add(7*time.Millisecond), 2*time.Millisecond)
		cache.Attributes().PutStr("db.system", "redis")
		cache.Attributes().PutStr("db.operation.name", "GET")
	}
	return td
}

func setSpan(sp ptrace.Span, tid pcommon.TraceID, id, parent pcommon.SpanID, name string, kind ptrace.SpanKind, start time.Time, d time.Duration) {
	sp.SetTraceID(tid)
	sp.SetSpanID(id)
	sp.SetParentSpanID(parent)
	sp.SetName(name)
	sp.SetKind(kind)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
}

// Logs builds one log line per request, carrying the request's trace and
// span ids, as the FastAPI backend's OTLP log handler would.
func (s Scenario) Logs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", GatewayService)
	rl.Resource().Attributes().PutStr("service.instance.id", GatewayService+"-0")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.routes.chat")
	for i := 0; i < s.Requests; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(s.Start.Add(time.Duration(i) * 10 * time.Millisecond)))
		lr.SetTraceID(TraceID(s.IDBase + i))
		lr.SetSpanID(SpanID(s.IDBase+i, 1))
		system, model := s.Provider(i)
		if s.Failed(i) {
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
		} else {
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
		}
		lr.Body().SetStr(fmt.Sprintf("chat completion via %s model=%s request=%d", system, model, i))
		lr.Attributes().PutStr("gen_ai.system", system)
	}
	return ld
}
