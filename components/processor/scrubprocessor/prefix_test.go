// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package scrubprocessor

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Patterns with every construct literalStarts looks into (case folding,
// alternations, classes, repeats, anchors, captures) and some it does not.
var prefilterPatterns = append(append([]string{}, gatewayConfig.BlockedValues...),
	`(?i)token=\w+`,
	`[Xx]-Api-Key:\s*\S+`,
	`(?:foo|bar)+baz`,
	`^Basic [A-Za-z0-9+/=]+`,
	`(?m)^pass(word)?:.*`,
	`(?i)^http\.request\.header\.(authorization|cookie)$`,
	`\bjwt\.[a-z]{3}`,
	`x*y`,
	`(ab|cd){2,}`,
	`é(?i:ß)`,
)

var prefilterPieces = []string{"sk-", "ant-", "proj-", "Bearer", "bearer", "BEARER", " ", "\t", "\n", "api", "API", "aPi", "_", "-", "key=", "KEY=",
	"AKIA", "ASIA", "ABCDEFGHIJKLMNOP", "abcdefgh12345678", "&", "'", "\"", "****", "x", "y", "=", "/", ".", "token=", "TOKEN=", "ToKeN=",
	"X-Api-Key:", "x-Api-Key: ", "foo", "bar", "baz", "Basic ", "pass", "password:", "http.request.header.", "HTTP.Request.Header.",
	"cookie", "Authorization", "jwt.", "abc", "ab", "cd", "é", "ß", "ẞ", "ss"}

// runNaive is the redaction processor's rule: every pattern, in order, on
// what the ones before left.
func runNaive(res []*regexp.Regexp, in string) string {
	for _, re := range res {
		if re.MatchString(in) {
			in = re.ReplaceAllLiteralString(in, mask)
		}
	}
	return in
}

func checkAgainstNaive(t *testing.T, s *scrubber, res []*regexp.Regexp, in string) {
	t.Helper()
	want := runNaive(res, in)
	got, changed := s.maskValues(in)
	require.Equal(t, want, got, "input %q", in)
	require.Equal(t, want != in, changed, "input %q", in)
	for j, re := range res {
		if re.MatchString(in) {
			require.NotZero(t, s.valueFilter.candidates(in)&(1<<j), "pattern %q matches %q but the prefilter rules it out", re, in)
		}
	}
}

func newPrefilterScrubber(t testing.TB) (*scrubber, []*regexp.Regexp) {
	s := newTestScrubber(t, Config{BlockedValues: prefilterPatterns})
	require.NotNil(t, s.valueFilter)
	var res []*regexp.Regexp
	for _, p := range prefilterPatterns {
		res = append(res, regexp.MustCompile(p))
	}
	return s, res
}

// The prefilter must never change a result: compared with running every
// pattern on every string, over strings built from the patterns' pieces.
func TestPrefilterMatchesNaive(t *testing.T) {
	s, res := newPrefilterScrubber(t)
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50000; i++ {
		var b strings.Builder
		for n := r.IntN(8); n >= 0; n-- {
			b.WriteString(prefilterPieces[r.IntN(len(prefilterPieces))])
		}
		checkAgainstNaive(t, s, res, b.String())
	}
}

func FuzzPrefilter(f *testing.F) {
	for _, p := range prefilterPieces {
		f.Add(p + "abcdefghijklmnopqrstuvwxyz012345")
	}
	s, res := newPrefilterScrubber(f)
	f.Fuzz(func(t *testing.T, in string) { checkAgainstNaive(t, s, res, in) })
}

func TestLiteralStarts(t *testing.T) {
	for pattern, want := range map[string][]string{
		`sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}`: {"sk-"},
		`Bearer\s+[A-Za-z0-9._~+/=-]{8,}`:      {"Bearer"},
		`ap(?i:i[_-]?key=)[^&\s"']+`:           {"api", "apI"},
		`(?:AKIA|ASIA)[0-9A-Z]{16}`:            {"AKIA", "ASIA"},
		`(?i)^http\.request`:                   {"ht", "hT", "Ht", "HT"},
	} {
		got, _, ok := literalStarts(pattern)
		assert.True(t, ok, pattern)
		assert.ElementsMatch(t, want, got, pattern)
	}
	for _, pattern := range []string{`x*y`, `.+`, `(?i)[a-z]+`, `a|`} {
		_, _, ok := literalStarts(pattern)
		assert.False(t, ok, "%s has no literal start", pattern)
	}
	_, anchored, _ := literalStarts(`(?i)^http`)
	assert.True(t, anchored)
	_, anchored, _ = literalStarts(`(?m)^pass`)
	assert.False(t, anchored, "(?m)^ matches after every newline")
}

// Key patterns go through the same prefilter: a key it rules out is never
// blocked, whatever the cache holds.
func TestKeyPrefilter(t *testing.T) {
	s := newTestScrubber(t, gatewayConfig)
	require.NotNil(t, s.keyFilter)
	re := regexp.MustCompile(gatewayConfig.BlockedKeyPatterns[0])
	for _, k := range []string{"http.request.header.authorization", "HTTP.REQUEST.HEADER.COOKIE", "Http.Request.Header.X-Api-Key",
		"xhttp.request.header.cookie", "gen_ai.system", "http.route", "", "h", "ht"} {
		assert.Equal(t, re.MatchString(k), s.blockedKey(k), k)
	}
}
