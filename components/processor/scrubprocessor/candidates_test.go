// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package scrubprocessor

import (
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

// candidatesByByte is the prefilter's first definition, kept as the
// reference: every byte of s looked up by itself, each start beginning
// with it compared there.
func (p *prefilter) candidatesByByte(s string) uint64 {
	found := p.always
	if found == p.all {
		return found
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if p.byFirst[c] == 0 {
			if p.onlyAnchored {
				return found
			}
			continue
		}
		m := p.byFirst[c]
		if i > 0 {
			if p.onlyAnchored {
				return found
			}
			m &^= p.anchored
		}
		for m != 0 {
			st := &p.starts[bits.TrailingZeros64(m)]
			m &= m - 1
			if found&st.patterns != st.patterns && strings.HasPrefix(s[i:], st.lit) {
				if found |= st.patterns; found == p.all {
					return found
				}
			}
		}
	}
	return found
}

// Pattern sets whose prefilters take every path: the gateway's, one with
// one-byte starts (classes), anchored and unanchored starts of the same
// text, patterns without starts, and keys (only anchored starts).
var candidateConfigs = [][]string{
	gatewayConfig.BlockedValues,
	prefilterPatterns,
	gatewayConfig.BlockedKeyPatterns,
	{`[ab]c*`, `^sk-\w+`, `sk-\w+`, `(?m)^k`},
	{`x*y`, `^Bearer \S+`},
}

// The bytes the starts are made of, and a few others, so that random
// strings hold starts, pieces of them and near misses at every offset.
func candidateAlphabet(p *prefilter) []byte {
	seen := map[byte]bool{'x': true, ' ': true, 0: true, 0xff: true}
	for _, st := range p.starts {
		for i := 0; i < len(st.lit); i++ {
			seen[st.lit[i]] = true
		}
	}
	var out []byte
	for c := range seen {
		out = append(out, c)
	}
	return out
}

func TestCandidatesMatchByteByByte(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, patterns := range candidateConfigs {
		p := newPrefilter(patterns)
		require.NotNil(t, p, patterns)
		alpha := candidateAlphabet(p)
		check := func(s string) {
			require.Equal(t, p.candidatesByByte(s), p.candidates(s), "patterns %q, input %q", patterns, s)
		}
		// Every length up to three words, every start at every offset
		// in a background of bytes that begin no start and of bytes
		// that do.
		for n := 0; n <= 25; n++ {
			for _, fill := range []byte{'x', alpha[0], alpha[len(alpha)-1]} {
				check(strings.Repeat(string(fill), n))
				for _, st := range p.starts {
					for off := 0; off+len(st.lit) <= n+len(st.lit); off++ {
						b := []byte(strings.Repeat(string(fill), n+len(st.lit)))
						copy(b[off:], st.lit)
						check(string(b))
						check(string(b[:len(b)-1])) // the start cut short at the end
					}
				}
			}
		}
		for i := 0; i < 20000; i++ {
			b := make([]byte, r.IntN(40))
			for j := range b {
				b[j] = alpha[r.IntN(len(alpha))]
			}
			for k := r.IntN(3); k > 0 && len(b) > 0 && len(p.starts) > 0; k-- {
				st := p.starts[r.IntN(len(p.starts))].lit
				copy(b[r.IntN(len(b)):], st)
			}
			check(string(b))
		}
	}
}

func FuzzCandidates(f *testing.F) {
	for _, p := range prefilterPieces {
		f.Add(p + "abcdefgh" + p)
	}
	var filters []*prefilter
	for _, patterns := range candidateConfigs {
		filters = append(filters, newPrefilter(patterns))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range filters {
			if got, want := p.candidates(s), p.candidatesByByte(s); got != want {
				t.Fatalf("input %q: candidates %b, byte by byte %b", s, got, want)
			}
		}
	})
}

// BenchmarkCandidates: the gateway's value prefilter on the load
// generator's log bodies (the Loki lines, JSON with model, route and trace
// id), with one line in twenty carrying a bearer token, as the reference
// and as shipped.
func BenchmarkCandidates(b *testing.B) {
	p := newPrefilter(gatewayConfig.BlockedValues)
	recs := loadgen.LogBatch(200).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	var bodies []string
	size := 0
	for i := 0; i < recs.Len(); i++ {
		body := recs.At(i).Body().Str()
		if i%20 == 7 {
			body = strings.Replace(body, `"msg":"`, `"msg":"auth Bearer abcdefgh12345678 `, 1)
		}
		bodies = append(bodies, body)
		size += len(body)
	}
	for _, v := range []struct {
		name string
		f    func(string) uint64
	}{{"byte", p.candidatesByByte}, {"pairs", p.candidates}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			var sink uint64
			for b.Loop() {
				for _, s := range bodies {
					sink |= v.f(s)
				}
			}
			if sink == 0 {
				b.Fatal("no candidate found in lines with a bearer token")
			}
		})
	}
}
