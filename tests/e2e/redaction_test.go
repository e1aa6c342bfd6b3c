package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// secrets are credential-shaped values built at run time, so that no
// literal in the repository looks like one (tests/distribution scans for
// them) while the gateway sees exactly what a leaking client would send.
type secrets struct {
	openAIKey, anthropicKey, bearer, awsKey string
	prompt, completion                      string
}

func newSecrets() secrets {
	suffix := fmt.Sprintf("%x", time.Now().UnixNano())
	return secrets{
		openAIKey:    "sk-" + "proj-" + strings.Repeat("Zq9", 10) + suffix,
		anthropicKey: "sk-" + "ant-" + "api03-" + strings.Repeat("Xw7", 12) + suffix,
		bearer:       "tok." + strings.Repeat("Rt5", 8) + suffix,
		awsKey:       "AK" + "IA" + strings.ToUpper(fmt.Sprintf("%016x", time.Now().UnixNano()))[:16],
		prompt:       "Tell me the secret recipe " + suffix,
		completion:   "The secret recipe is " + suffix,
	}
}

// credentials must never reach a sink; content only with capture on.
func (s secrets) credentials() []string {
	return []string{s.openAIKey, s.anthropicKey, s.bearer, s.awsKey}
}

func (s secrets) content() []string { return []string{s.prompt, s.completion} }

// TestRedaction sends a GenAI span, an OTLP log and a Loki push that leak
// API keys, a bearer token, an AWS key and prompt/completion text, and
// checks what Tempo's and Loki's sinks receive: credentials masked to ****
// in attributes and bodies, message content removed, unless
// CAPTURE_GENAI_CONTENT=true, which keeps the content (credentials are
// masked either way). Span metrics, service graph and token usage still
// count the span by provider and model.
func TestRedaction(t *testing.T) {
	for _, capture := range []bool{false, true} {
		t.Run(fmt.Sprintf("CAPTURE_GENAI_CONTENT=%v", capture), func(t *testing.T) {
			testRedaction(t, capture)
		})
	}
}

func testRedaction(t *testing.T, capture bool) {
	env := map[string]string{}
	if capture {
		env["CAPTURE_GENAI_CONTENT"] = "true"
	}
	gw := harness.StartGateway(t, harness.GatewayOptions{Prometheus: true, Env: env})
	s := newSecrets()
	const tenant = "redaction-tenant"

	// --- a GenAI client span, as an instrumented AI gateway emits it ---
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "gatewayz-api")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("chat gpt-4o")
	span.SetKind(ptrace.SpanKindClient)
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	now := time.Now()
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-300 * time.Millisecond)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	a := span.Attributes()
	a.PutStr("gen_ai.system", "openai")
	a.PutStr("gen_ai.request.model", "gpt-4o")
	a.PutInt("gen_ai.usage.input_tokens", 17)
	a.PutInt("gen_ai.usage.output_tokens", 23)
	a.PutStr("provider.api_key", s.openAIKey)
	a.PutStr("error.message", "upstream refused key "+s.anthropicKey+" for this request")
	a.PutStr("http.request.header.authorization", "Bearer "+s.bearer)
	a.PutStr("url.full", "https://api.example.invalid/v1/chat?api_key="+s.bearer+"&stream=false")
	a.PutStr("aws.access_key", s.awsKey)
	a.PutStr("gen_ai.prompt", s.prompt)
	a.PutStr("gen_ai.completion", s.completion)
	a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+s.prompt+`"}]}]`)
	a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"`+s.completion+`"}]}]`)
	a.PutStr("gen_ai.system_instructions", "Keep it short. "+s.prompt)
	ev := span.Events().AppendEmpty()
	ev.SetName("gen_ai.content.prompt")
	ev.Attributes().PutStr("gen_ai.prompt", s.prompt)
	ev = span.Events().AppendEmpty()
	ev.SetName("gen_ai.content.completion")
	ev.Attributes().PutStr("gen_ai.completion", s.completion)
	ev = span.Events().AppendEmpty()
	ev.SetName("gen_ai.client.inference.operation.details")
	ev.Attributes().PutStr("gen_ai.input.messages", s.prompt)
	ev.Attributes().PutStr("gen_ai.output.messages", s.completion)
	ev = span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.message", "401 for Bearer "+s.bearer)
	harness.SendTraces(t, gw.OTLPGRPC, tenant, td)

	// --- an OTLP log: a leaking application log line and a GenAI event ---
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "gatewayz-api")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lr := lrs.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	lr.Body().SetStr("calling openai with key " + s.openAIKey + " and header Authorization: Bearer " + s.bearer)
	lr.Attributes().PutStr("gen_ai.prompt", s.prompt)
	lr.Attributes().PutStr("provider_key", s.anthropicKey)
	lr = lrs.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
	lr.SetEventName("gen_ai.user.message")
	lr.Body().SetStr(s.prompt)
	lr.Attributes().PutStr("gen_ai.system", "openai")
	harness.SendLogs(t, gw.OTLPHTTP, tenant, ld)

	// --- a Loki push (python-logging-loki's JSON) ---
	push := map[string]any{"streams": []any{map[string]any{
		"stream": map[string]string{"service_name": "gatewayz-api"},
		"values": []any{[]any{
			fmt.Sprint(now.Add(2 * time.Millisecond).UnixNano()),
			"retrying with api_key=" + s.bearer + " key " + s.anthropicKey + " aws " + s.awsKey,
			map[string]string{"gen_ai.completion": s.completion, "authorization": "Bearer " + s.bearer},
		}},
	}}}
	body, err := json.Marshal(push)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, gw.LokiPush+"/loki/api/v1/push", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("Loki push answered %d, want 204", resp.StatusCode)
	}

	gw.Tempo.WaitSpans(t, 1, tenant)
	harness.Eventually(t, 30*time.Second, func() error {
		if n := gw.Loki.LogCount(); n != 3 {
			return fmt.Errorf("Loki sink has %d records, want 3", n)
		}
		return nil
	})

	var got ptrace.Span
	for _, r := range gw.Tempo.Requests() {
		got = r.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	}
	records := map[string]plog.LogRecord{}
	var payload strings.Builder
	for _, r := range gw.Tempo.Requests() {
		b, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(r.Traces)
		payload.Write(b)
	}
	for _, r := range gw.Loki.Requests() {
		b, _ := (&plog.JSONMarshaler{}).MarshalLogs(r.Logs)
		payload.Write(b)
		for i := 0; i < r.Logs.ResourceLogs().Len(); i++ {
			sls := r.Logs.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
					rec := sls.At(j).LogRecords().At(k)
					records[rec.Timestamp().AsTime().Format(time.RFC3339Nano)] = rec
				}
			}
		}
	}
	all := payload.String()
	for _, c := range s.credentials() {
		if strings.Contains(all, c) {
			t.Errorf("a sink received the credential %q", c)
		}
	}
	for _, c := range s.content() {
		if got := strings.Contains(all, c); got != capture {
			t.Errorf("a sink received the message content %q: %v, want %v", c, got, capture)
		}
	}

	// Masked in place, not dropped: the attribute still says a key was there.
	wantStr := map[string]string{
		"provider.api_key":                  "****",
		"error.message":                     "upstream refused key **** for this request",
		"http.request.header.authorization": "****",
		"url.full":                          "https://api.example.invalid/v1/chat?****&stream=false",
		"aws.access_key":                    "****",
		"gen_ai.system":                     "openai",
		"gen_ai.request.model":              "gpt-4o",
	}
	for k, want := range wantStr {
		v, ok := got.Attributes().Get(k)
		if !ok || v.AsString() != want {
			t.Errorf("span attribute %s = %q (present %v), want %q", k, v.AsString(), ok, want)
		}
	}
	if v, _ := got.Attributes().Get("gen_ai.usage.input_tokens"); v.Int() != 17 {
		t.Errorf("gen_ai.usage.input_tokens = %d, want 17", v.Int())
	}
	for _, k := range []string{"gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"} {
		if _, ok := got.Attributes().Get(k); ok != capture {
			t.Errorf("span attribute %s present: %v, want %v", k, ok, capture)
		}
	}
	if got.Events().Len() != 4 {
		t.Errorf("span has %d events, want all 4 (content is removed from them, not the events)", got.Events().Len())
	}
	if got.Events().Len() == 4 {
		if v, _ := got.Events().At(3).Attributes().Get("exception.message"); v.Str() != "401 for ****" {
			t.Errorf("exception.message = %q, want %q", v.Str(), "401 for ****")
		}
	}

	at := func(d time.Duration) plog.LogRecord {
		rec, ok := records[now.Add(d).UTC().Format(time.RFC3339Nano)]
		if !ok {
			t.Fatalf("no log record at %v (have %d)", now.Add(d), len(records))
		}
		return rec
	}
	if b := at(0).Body().Str(); b != "calling openai with key **** and header Authorization: ****" {
		t.Errorf("OTLP log body = %q", b)
	}
	if v, _ := at(0).Attributes().Get("provider_key"); v.Str() != "****" {
		t.Errorf("OTLP log attribute provider_key = %q, want ****", v.Str())
	}
	wantEventBody := ""
	if capture {
		wantEventBody = s.prompt
	}
	if b := at(time.Millisecond).Body().Str(); b != wantEventBody {
		t.Errorf("gen_ai.user.message event body = %q, want %q", b, wantEventBody)
	}
	loki := at(2 * time.Millisecond)
	if b := loki.Body().Str(); b != "retrying with **** key **** aws ****" {
		t.Errorf("Loki push line = %q", b)
	}
	if v, _ := loki.Attributes().Get("authorization"); v.Str() != "****" {
		t.Errorf("Loki push structured metadata authorization = %q, want ****", v.Str())
	}

	// What is derived from the span did not lose what it keys on.
	gw.Prometheus.WaitFor(t, 30*time.Second, harness.PromQL{
		`sum(gen_ai_client_token_usage_input_total{gen_ai_system="openai", gen_ai_request_model="gpt-4o"})`:  harness.Value(17),
		`sum(gen_ai_client_token_usage_output_total{gen_ai_system="openai", gen_ai_request_model="gpt-4o"})`: harness.Value(23),
		`sum(traces_spanmetrics_calls_total{gen_ai_system="openai", gen_ai_request_model="gpt-4o"})`:         harness.Value(1),
		`sum(traces_service_graph_request_total{client="gatewayz-api", server="openai"})`:                    harness.Value(1),
	})
}
