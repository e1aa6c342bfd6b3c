// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package scrubprocessor // import "github.com/gatewayz/otelcol-gatewayz/components/processor/scrubprocessor"

import (
	"math/bits"
	"regexp/syntax"
	"strings"
	"unicode"
)

// maxStarts bounds the literal starts kept per pattern: each one found at
// a position is one more prefix comparison there.
const maxStarts = 4

// literalStarts returns strings such that every match of the pattern
// begins with one of them; ok false: no such set is known (the pattern
// must be tried on every string). It only ever shortens what it cannot
// keep exactly, so the property holds for any pattern.
// anchored: every match begins at the start of the text (^ without (?m)).
func literalStarts(pattern string) (starts []string, anchored, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false, false
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	anchored = re.Op == syntax.OpConcat && len(re.Sub) > 0 && re.Sub[0].Op == syntax.OpBeginText
	s, _ := startsOf(re)
	for _, x := range s {
		if x == "" {
			return nil, false, false
		}
	}
	return s, anchored, len(s) > 0
}

// startsOf: every match of re begins with one of the returned strings;
// exact: every match is exactly one of them. nil: unknown.
func startsOf(re *syntax.Regexp) (starts []string, exact bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return literal(re.Rune, re.Flags&syntax.FoldCase != 0)
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) == maxStarts {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		return out, true
	case syntax.OpCapture:
		return startsOf(re.Sub[0])
	case syntax.OpPlus:
		s, _ := startsOf(re.Sub[0])
		return s, false
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil, false
		}
		s, _ := startsOf(re.Sub[0])
		return s, false
	case syntax.OpAlternate:
		var out []string
		exact := true
		for _, sub := range re.Sub {
			s, e := startsOf(sub)
			if s == nil || len(out)+len(s) > maxStarts {
				return nil, false
			}
			out = append(out, s...)
			exact = exact && e
		}
		return out, exact
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			switch sub.Op {
			case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
				continue // zero width: the match starts with what follows
			}
			s, e := startsOf(sub)
			if s == nil || len(out)*len(s) > maxStarts {
				return out, false
			}
			next := make([]string, 0, len(out)*len(s))
			for _, a := range out {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			out = next
			if !e {
				return out, false
			}
		}
		return out, true
	}
	return nil, false
}

// literal spells a literal, in every case it matches if fold; a prefix of
// it when that would be more than maxStarts strings.
func literal(runes []rune, fold bool) ([]string, bool) {
	out := []string{""}
	for i, r := range runes {
		variants := []rune{r}
		if fold {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				variants = append(variants, f)
			}
		}
		if len(out)*len(variants) > maxStarts {
			if i == 0 {
				return nil, false
			}
			return out, false
		}
		next := make([]string, 0, len(out)*len(variants))
		for _, a := range out {
			for _, v := range variants {
				next = append(next, a+string(v))
			}
		}
		out = next
	}
	return out, true
}

// prefilter tells, in one scan of a string, which of up to 64 patterns
// can match it: those with a literal start in it, and those without any
// known start. Every pattern it rules out cannot match.
type prefilter struct {
	// byFirst[c]: the starts (bits into starts) beginning with byte c;
	// rest[c]: those of them that count after position 0 (not anchored).
	// bySecond[c]: the starts whose second byte is c, and every one-byte
	// start. A position is compared only if the bytes there and after it
	// can begin a start: in log text the first bytes of the gateway's
	// starts (a, s, b, A, B) are common, and each a cost four prefix
	// comparisons; their first two bytes are rare (BenchmarkCandidates).
	byFirst, rest, bySecond [256]uint64
	short                   uint64 // one-byte starts
	// anchored: the starts that count only at position 0; onlyAnchored:
	// all of them do, and no pattern lacks starts.
	anchored     uint64
	onlyAnchored bool
	starts       []start
	always       uint64 // patterns without known starts
	all          uint64
}

type start struct {
	lit      string
	patterns uint64
}

// newPrefilter: nil when there are too many patterns or starts for one
// 64-bit mask (the caller then tries every pattern).
func newPrefilter(patterns []string) *prefilter {
	if len(patterns) > 64 {
		return nil
	}
	p := &prefilter{}
	for j, pat := range patterns {
		bit := uint64(1) << j
		p.all |= bit
		lits, anchored, ok := literalStarts(pat)
		if !ok {
			p.always |= bit
			continue
		}
	next:
		for _, lit := range lits {
			for i := range p.starts {
				if p.starts[i].lit == lit && p.anchored&(1<<i) != 0 == anchored {
					p.starts[i].patterns |= bit
					continue next
				}
			}
			if len(p.starts) == 64 {
				return nil
			}
			sbit := uint64(1) << len(p.starts)
			p.byFirst[lit[0]] |= sbit
			if anchored {
				p.anchored |= sbit
			} else {
				p.rest[lit[0]] |= sbit
			}
			if len(lit) == 1 {
				p.short |= sbit
				for c := range p.bySecond {
					p.bySecond[c] |= sbit
				}
			} else {
				p.bySecond[lit[1]] |= sbit
			}
			p.starts = append(p.starts, start{lit: lit, patterns: bit})
		}
	}
	p.onlyAnchored = p.always == 0 && p.anchored == 1<<len(p.starts)-1
	return p
}

// candidates: bit j set if pattern j may match s.
func (p *prefilter) candidates(s string) uint64 {
	found := p.always
	if found == p.all || len(s) == 0 {
		return found
	}
	if found = p.at(s, 0, p.byFirst[s[0]]&p.next(s, 0), found); found == p.all || p.onlyAnchored {
		return found
	}
	last := len(s) - 1
	i := 1
	// Eight positions per branch: in most words of log text no pair
	// begins a start.
	for ; i+8 < len(s); i += 8 {
		w := s[i : i+9]
		if p.rest[w[0]]&p.bySecond[w[1]]|p.rest[w[1]]&p.bySecond[w[2]]|p.rest[w[2]]&p.bySecond[w[3]]|p.rest[w[3]]&p.bySecond[w[4]]|
			p.rest[w[4]]&p.bySecond[w[5]]|p.rest[w[5]]&p.bySecond[w[6]]|p.rest[w[6]]&p.bySecond[w[7]]|p.rest[w[7]]&p.bySecond[w[8]] == 0 {
			continue
		}
		for j := i; j < i+8; j++ {
			if m := p.rest[s[j]] & p.bySecond[s[j+1]]; m != 0 {
				if found = p.at(s, j, m, found); found == p.all {
					return found
				}
			}
		}
	}
	for ; i < last; i++ {
		if m := p.rest[s[i]] & p.bySecond[s[i+1]]; m != 0 {
			if found = p.at(s, i, m, found); found == p.all {
				return found
			}
		}
	}
	if last > 0 {
		found = p.at(s, last, p.rest[s[last]]&p.short, found)
	}
	return found
}

// next: the starts that s[i+1] (none past the end) allows at i.
func (p *prefilter) next(s string, i int) uint64 {
	if i+1 < len(s) {
		return p.bySecond[s[i+1]]
	}
	return p.short
}

// at adds the patterns of the starts in m found at s[i:].
func (p *prefilter) at(s string, i int, m, found uint64) uint64 {
	for m != 0 {
		st := &p.starts[bits.TrailingZeros64(m)]
		m &= m - 1
		if found&st.patterns != st.patterns && strings.HasPrefix(s[i:], st.lit) {
			found |= st.patterns
		}
	}
	return found
}
