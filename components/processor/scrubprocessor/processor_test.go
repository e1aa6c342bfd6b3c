// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package scrubprocessor

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The gateway's patterns (collector-configs/gateway.yaml).
var gatewayConfig = Config{
	BlockedKeyPatterns: []string{`(?i)^http\.request\.header\.(authorization|proxy-authorization|x-api-key|api-key|cookie)$`},
	BlockedValues: []string{
		`sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}`,
		`Bearer\s+[A-Za-z0-9._~+/=-]{8,}`,
		`bearer\s+[A-Za-z0-9._~+/=-]{8,}`,
		`ap(?i:i[_-]?key=)[^&\s"']+`,
		`aP(?i:i[_-]?key=)[^&\s"']+`,
		`Ap(?i:i[_-]?key=)[^&\s"']+`,
		`AP(?i:i[_-]?key=)[^&\s"']+`,
		`(?:AKIA|ASIA)[0-9A-Z]{16}`,
	},
}

func newTestScrubber(t testing.TB, cfg Config) *scrubber {
	t.Helper()
	require.NoError(t, cfg.Validate())
	s, err := newScrubber(&cfg)
	require.NoError(t, err)
	return s
}

func fakeAWS(prefix string) string { return prefix + strings.ToUpper("abcdefghijklmnop") }

func TestMasksCredentials(t *testing.T) {
	s := newTestScrubber(t, gatewayConfig)
	for in, want := range map[string]string{
		"upstream refused key sk-proj-abcdefghijklmnop1234 for this request": "upstream refused key **** for this request",
		"Authorization: Bearer abc.def-ghi_jkl":                              "Authorization: ****",
		"GET /v1/models?api_key=s3cr3t&x=1":                                  "GET /v1/models?****&x=1",
		"GET /v1/models?API-KEY=s3cr3t":                                      "GET /v1/models?****",
		// Fake keys are put together at run time, so the repository's
		// credential scan (tests/distribution) finds none.
		"aws " + fakeAWS("AKIA") + " and " + fakeAWS("ASIA"): "aws **** and ****",
		// Sequential, as the redaction processor applies them: the key is
		// masked first, and "Bearer ****" no longer matches the bearer pattern.
		"Bearer " + "sk-ant-abcdefghijklmnopqrst": "Bearer ****",
		"POST /v1/chat/completions":               "POST /v1/chat/completions",
		"sk-short":                                "sk-short",
	} {
		got, _ := s.maskValues(in)
		assert.Equal(t, want, got, in)
	}
}

// The literal-prefix check must never change a result: compared with
// running every pattern on every string, over strings built from the
// patterns' own pieces.
func TestPrefilterChangesNothing(t *testing.T) {
	s := newTestScrubber(t, gatewayConfig)
	var naive []*regexp.Regexp
	for _, p := range gatewayConfig.BlockedValues {
		naive = append(naive, regexp.MustCompile(p))
	}
	pieces := []string{"sk-", "ant-", "proj-", "Bearer", "bearer", " ", "\t", "api", "API", "aPi", "_", "-", "key=", "KEY=", "AKIA", "ASIA",
		"ABCDEFGHIJKLMNOP", "abcdefgh12345678", "&", "'", "\"", "****", "x", "=", "/", "."}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := r.IntN(8); n >= 0; n-- {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		in := b.String()
		want := in
		for _, re := range naive {
			if re.MatchString(want) {
				want = re.ReplaceAllString(want, "****")
			}
		}
		got, changed := s.maskValues(in)
		require.Equal(t, want, got, "input %q", in)
		require.Equal(t, want != in, changed, "input %q", in)
	}
}

func TestTraces(t *testing.T) {
	s := newTestScrubber(t, gatewayConfig)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("note", "key sk-abcdefghijklmnopqrstu")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().Attributes().PutStr("s", "Bearer abcdefghijk")
	sp := ss.Spans().AppendEmpty()
	a := sp.Attributes()
	a.PutStr("http.request.header.Authorization", "anything at all")
	a.PutInt("http.request.header.cookie", 42)
	a.PutInt("http.response.status_code", 200)
	a.PutStr("gen_ai.system", "openai")
	a.PutStr("gen_ai.input.messages", "[...]")
	a.PutStr("gen_ai.prompt.0.content", "hello")
	a.PutStr("gen_ai.promptness", "kept: not a content key")
	a.PutInt("gen_ai.usage.input_tokens", 12)
	ev := sp.Events().AppendEmpty()
	ev.SetName("gen_ai.content.prompt")
	ev.Attributes().PutStr("gen_ai.prompt", "hi")
	ev.Attributes().PutStr("message", "hi")
	ev.Attributes().PutStr("api_key=abcdef", "x")
	other := sp.Events().AppendEmpty()
	other.SetName("exception")
	other.Attributes().PutStr("message", "kept: not a gen_ai event; api_key=xyz")

	_, err := s.traces(context.Background(), td)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"note": "key ****"}, rs.Resource().Attributes().AsRaw())
	assert.Equal(t, map[string]any{"s": "****"}, ss.Scope().Attributes().AsRaw())
	assert.Equal(t, map[string]any{
		"http.request.header.Authorization": "****",
		"http.request.header.cookie":        "****",
		"http.response.status_code":         int64(200),
		"gen_ai.system":                     "openai",
		"gen_ai.promptness":                 "kept: not a content key",
		"gen_ai.usage.input_tokens":         int64(12),
	}, a.AsRaw())
	assert.Equal(t, map[string]any{"api_key=abcdef": "x"}, ev.Attributes().AsRaw(), "keys are not masked, only values")
	assert.Equal(t, map[string]any{"message": "kept: not a gen_ai event; ****"}, other.Attributes().AsRaw())
	assert.Equal(t, 2, sp.Events().Len(), "events stay")

	capture := gatewayConfig
	capture.CaptureGenAIContent = true
	s = newTestScrubber(t, capture)
	td = ptrace.NewTraces()
	a = td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
	a.PutStr("gen_ai.input.messages", "with sk-abcdefghijklmnopqrstu")
	_, err = s.traces(context.Background(), td)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"gen_ai.input.messages": "with ****"}, a.AsRaw(), "captured content is still masked")
}

func TestLogs(t *testing.T) {
	s := newTestScrubber(t, gatewayConfig)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	plain := lrs.AppendEmpty()
	plain.Body().SetStr("upstream refused key sk-abcdefghijklmnopqrstu for this request")
	plain.Attributes().PutStr("gen_ai.completion", "secret answer")
	event := lrs.AppendEmpty()
	event.SetEventName("gen_ai.user.message")
	event.Body().SetStr("the user's prompt")
	notContent := lrs.AppendEmpty()
	notContent.SetEventName("gen_ai.evaluation.result")
	notContent.Body().SetStr("kept")
	structured := lrs.AppendEmpty()
	m := structured.Body().SetEmptyMap()
	m.PutStr("authorization", "x")
	m.PutStr("http.request.header.x-api-key", "whole value")
	nested := m.PutEmptySlice("list")
	nested.AppendEmpty().SetStr("Bearer abcdefghijk")
	nested.AppendEmpty().SetInt(7)

	_, err := s.logs(context.Background(), ld)
	require.NoError(t, err)
	assert.Equal(t, "upstream refused key **** for this request", plain.Body().Str())
	assert.Equal(t, 0, plain.Attributes().Len())
	assert.Equal(t, "", event.Body().Str())
	assert.Equal(t, "kept", notContent.Body().Str())
	assert.Equal(t, map[string]any{"authorization": "x", "http.request.header.x-api-key": "****", "list": []any{"****", int64(7)}}, m.AsRaw())
}

func TestConfigRejectsBadPatterns(t *testing.T) {
	err := (&Config{BlockedValues: []string{"("}, BlockedKeyPatterns: []string{"[a"}}).Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "blocked_values")
	assert.Contains(t, err.Error(), "blocked_key_patterns")
}

func TestKeyCacheIsBounded(t *testing.T) {
	s := newTestScrubber(t, gatewayConfig)
	for i := 0; i < maxKeyCache+10; i++ {
		// Keys the prefilter lets through to the cache (they start as the
		// blocked headers do).
		s.blockedKey("http.request.header." + strings.Repeat("k", i%50) + string(rune('a'+i%26)) + pcommon.NewValueInt(int64(i)).AsString())
	}
	assert.Len(t, *s.keyCache.Load(), maxKeyCache)
	assert.True(t, s.blockedKey("HTTP.REQUEST.HEADER.COOKIE"), "uncached keys are still checked")
}

func TestConfigFile(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cm.Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, Config{BlockedKeyPatterns: []string{`(?i)^http\.request\.header\.cookie$`}, BlockedValues: []string{"sk-[A-Za-z0-9]{16,}"}, CaptureGenAIContent: true}, *cfg)
}

// The key checks in front of the GenAI patterns must let through every key
// the patterns match.
func TestContentGuardsKeepEveryMatch(t *testing.T) {
	heads := []string{"gen_ai.", "gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages",
		"gen_ai.system_instructions", "gen_ai.tool.call.", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.system", "x"}
	tails := []string{"", ".", ".0.content", "content", "message", "tool_calls", "s", ".role", "_x"}
	for _, h := range heads {
		for _, tl := range tails {
			k := h + tl
			for _, re := range []*regexp.Regexp{contentKey, eventContentKey} {
				if re.MatchString(k) {
					assert.True(t, mayBeContent(k, re), "%q matches %v but the guard skips it", k, re)
				}
			}
		}
	}
	assert.False(t, mayBeContent("gen_ai.request.model", contentKey))
}

// Batches arrive on many goroutines at once (go test -race).
func TestConcurrentBatches(t *testing.T) {
	s := newTestScrubber(t, gatewayConfig)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 50; i++ {
				td := ptrace.NewTraces()
				a := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
				a.PutStr("k"+pcommon.NewValueInt(int64(g*100+i)).AsString(), "v")
				a.PutStr("http.request.header.cookie", "c")
				_, _ = s.traces(context.Background(), td)
				if v, _ := a.Get("http.request.header.cookie"); v.Str() != "****" {
					t.Errorf("cookie not masked: %q", v.Str())
				}
			}
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}
