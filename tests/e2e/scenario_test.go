package e2e

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// scenario is one realistic burst of GatewayZ traffic: chat completions
// through the gateway, each calling an AI provider and a second
// instrumented service, which in turn calls Redis.
type scenario struct {
	requests int
	// every failEvery-th request fails at the provider.
	failEvery int
	start     time.Time
}

const (
	gatewayService = "gatewayz-api"
	routerService  = "gatewayz-router"
	chatRoute      = "/v1/chat/completions"
	serverLatency  = 300 * time.Millisecond
)

func (s scenario) provider(i int) (system, model string) {
	if i%2 == 0 {
		return "openai", "gpt-4o"
	}
	return "anthropic", "claude-3-5-sonnet"
}

func (s scenario) failed(i int) bool      { return i%s.failEvery == 0 }
func (s scenario) inputTokens(i int) int  { return 100 + i }
func (s scenario) outputTokens(i int) int { return 50 + i }

// spansPerRequest: gateway SERVER, provider CLIENT, router CLIENT,
// router SERVER, Redis CLIENT.
const spansPerRequest = 5

func (s scenario) spanCount() int { return s.requests * spansPerRequest }

func (s scenario) failures() (n int) {
	for i := 0; i < s.requests; i++ {
		if s.failed(i) {
			n++
		}
	}
	return n
}

func traceID(i int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], 0x6761746577617a00) // "gatewaz\0"
	binary.BigEndian.PutUint64(id[8:], uint64(i+1))
	return id
}

func spanID(i, n int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], uint64((i+1)<<8|n))
	return id
}

func resource(rs pcommon.Resource, service string) {
	rs.Attributes().PutStr("service.name", service)
	rs.Attributes().PutStr("service.instance.id", service+"-0")
	rs.Attributes().PutStr("deployment.environment", "production")
}

// traces builds the scenario's spans: one ResourceSpans per service.
func (s scenario) traces() ptrace.Traces {
	td := ptrace.NewTraces()
	gw := td.ResourceSpans().AppendEmpty()
	resource(gw.Resource(), gatewayService)
	gwSpans := gw.ScopeSpans().AppendEmpty()
	gwSpans.Scope().SetName("opentelemetry.instrumentation.fastapi")
	rt := td.ResourceSpans().AppendEmpty()
	resource(rt.Resource(), routerService)
	rtSpans := rt.ScopeSpans().AppendEmpty()
	rtSpans.Scope().SetName("opentelemetry.instrumentation.fastapi")

	for i := 0; i < s.requests; i++ {
		tid := traceID(i)
		t0 := s.start.Add(time.Duration(i) * 10 * time.Millisecond)
		system, model := s.provider(i)

		server := gwSpans.Spans().AppendEmpty()
		setSpan(server, tid, spanID(i, 1), pcommon.SpanID{}, "POST "+chatRoute, ptrace.SpanKindServer, t0, serverLatency)
		server.Attributes().PutStr("http.request.method", "POST")
		server.Attributes().PutStr("http.route", chatRoute)
		status := int64(200)
		if s.failed(i) {
			status = 502
			server.Status().SetCode(ptrace.StatusCodeError)
		}
		server.Attributes().PutInt("http.response.status_code", status)

		llm := gwSpans.Spans().AppendEmpty()
		setSpan(llm, tid, spanID(i, 2), spanID(i, 1), "chat "+model, ptrace.SpanKindClient, t0.Add(20*time.Millisecond), 200*time.Millisecond)
		llm.Attributes().PutStr("gen_ai.system", system)
		llm.Attributes().PutStr("gen_ai.operation.name", "chat")
		llm.Attributes().PutStr("gen_ai.request.model", model)
		llm.Attributes().PutInt("gen_ai.usage.input_tokens", int64(s.inputTokens(i)))
		llm.Attributes().PutInt("gen_ai.usage.output_tokens", int64(s.outputTokens(i)))
		llm.Attributes().PutStr("server.address", "api."+system+".com")
		if s.failed(i) {
			llm.Status().SetCode(ptrace.StatusCodeError)
			llm.Status().SetMessage("upstream 502")
		}

		call := gwSpans.Spans().AppendEmpty()
		setSpan(call, tid, spanID(i, 3), spanID(i, 1), "POST /route", ptrace.SpanKindClient, t0.Add(5*time.Millisecond), 12*time.Millisecond)
		call.Attributes().PutStr("http.request.method", "POST")
		call.Attributes().PutStr("server.address", routerService)

		routed := rtSpans.Spans().AppendEmpty()
		setSpan(routed, tid, spanID(i, 4), spanID(i, 3), "POST /route", ptrace.SpanKindServer, t0.Add(6*time.Millisecond), 10*time.Millisecond)
		routed.Attributes().PutStr("http.route", "/route")
		routed.Attributes().PutInt("http.response.status_code", 200)

		cache := rtSpans.Spans().AppendEmpty()
		setSpan(cache, tid, spanID(i, 5), spanID(i, 4), "GET", ptrace.SpanKindClient, t0.Add(7*time.Millisecond), 2*time.Millisecond)
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

// logs builds one log line per request, carrying the request's trace and
// span ids, as the FastAPI backend's OTLP log handler would.
func (s scenario) logs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", gatewayService)
	rl.Resource().Attributes().PutStr("service.instance.id", gatewayService+"-0")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app.routes.chat")
	for i := 0; i < s.requests; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(s.start.Add(time.Duration(i) * 10 * time.Millisecond)))
		lr.SetTraceID(traceID(i))
		lr.SetSpanID(spanID(i, 1))
		system, model := s.provider(i)
		if s.failed(i) {
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
