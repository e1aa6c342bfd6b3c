// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package scrubprocessor // import "github.com/gatewayz/otelcol-gatewayz/components/processor/scrubprocessor"

import (
	"context"
	"math/bits"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const mask = "****"

// The GenAI content the gateway never stores unless told to: current
// attribute names and the deprecated ones (gen_ai.prompt,
// gen_ai.completion, OpenLLMetry's gen_ai.prompt.0.content ...). Each
// pattern only matches keys or names starting with "gen_ai.", so that
// prefix is checked first.
var (
	contentKey = regexp.MustCompile(`^gen_ai\.(prompt|completion|input\.messages|output\.messages|system_instructions|tool\.call\.(arguments|result))($|\.)`)
	// Attributes of gen_ai.* span events: the same keys, and the
	// deprecated per-message events' content, message and tool_calls.
	eventContentKey = regexp.MustCompile(`^(gen_ai\.(prompt|completion|input\.messages|output\.messages|system_instructions|tool\.call\.(arguments|result))($|\.)|content$|message$|tool_calls$)`)
	// GenAI events sent as log records carry the message as the body.
	contentEvent = regexp.MustCompile(`^gen_ai\.(user\.message|system\.message|assistant\.message|tool\.message|choice|content\.prompt|content\.completion|client\.inference\.operation\.details)$`)
)

const genAIPrefix = "gen_ai."

type valuePattern struct {
	re *regexp.Regexp
	// literal starts every match (regexp.LiteralPrefix): a string without
	// it cannot match, and is not searched at all.
	literal string
}

type scrubber struct {
	values      []valuePattern
	keyPatterns []*regexp.Regexp
	// valueFilter and keyFilter find, in one scan of a string, the
	// patterns that can match it (prefix.go); nil with more than 64
	// patterns, which are then each searched for their literal prefix.
	valueFilter, keyFilter *prefilter
	capture                bool
	// Attribute keys repeat in every batch: whether one is a blocked key
	// is remembered, up to maxKeyCache keys, in a map that is replaced, not
	// changed, so reading it needs no lock.
	keyCache atomic.Pointer[map[string]bool]
	mu       sync.Mutex
	// What the patterns make of "": the redaction processor masks the
	// text of non-string values as "" too (and writes the result back if a
	// pattern matched the empty string).
	emptyMasked  string
	emptyChanged bool
}

const maxKeyCache = 1000

func newScrubber(cfg *Config) (*scrubber, error) {
	s := &scrubber{capture: cfg.CaptureGenAIContent}
	s.keyCache.Store(&map[string]bool{})
	for _, p := range cfg.BlockedValues {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, err
		}
		lit, _ := re.LiteralPrefix()
		s.values = append(s.values, valuePattern{re: re, literal: lit})
	}
	for _, p := range cfg.BlockedKeyPatterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, err
		}
		s.keyPatterns = append(s.keyPatterns, re)
	}
	s.valueFilter = newPrefilter(cfg.BlockedValues)
	s.keyFilter = newPrefilter(cfg.BlockedKeyPatterns)
	s.emptyMasked, s.emptyChanged = s.maskValues("")
	return s, nil
}

func (s *scrubber) traces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		s.attrs(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			s.attrs(ss.Scope().Attributes())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				s.attrs(span.Attributes())
				events := span.Events()
				for e := 0; e < events.Len(); e++ {
					s.attrs(events.At(e).Attributes())
				}
				if s.capture {
					continue
				}
				removeContent(span.Attributes(), contentKey)
				for e := 0; e < events.Len(); e++ {
					if ev := events.At(e); strings.HasPrefix(ev.Name(), genAIPrefix) {
						removeContent(ev.Attributes(), eventContentKey)
					}
				}
			}
		}
	}
	return td, nil
}

func (s *scrubber) logs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		s.attrs(rl.Resource().Attributes())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			s.attrs(sl.Scope().Attributes())
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				s.attrs(lr.Attributes())
				s.body(lr.Body())
				if s.capture {
					continue
				}
				removeContent(lr.Attributes(), contentKey)
				if name := lr.EventName(); strings.HasPrefix(name, genAIPrefix) && contentEvent.MatchString(name) {
					lr.Body().SetStr("")
				}
			}
		}
	}
	return ld, nil
}

// removeContent deletes the keys re matches; every key it can match starts
// with "gen_ai." or (event attributes) ends with one of three words, so
// other keys are not searched.
func removeContent(m pcommon.Map, re *regexp.Regexp) {
	found := false
	for k := range m.All() {
		if mayBeContent(k, re) && re.MatchString(k) {
			found = true
			break
		}
	}
	if found {
		m.RemoveIf(func(k string, _ pcommon.Value) bool { return mayBeContent(k, re) && re.MatchString(k) })
	}
}

func mayBeContent(k string, re *regexp.Regexp) bool {
	if rest, ok := strings.CutPrefix(k, genAIPrefix); ok && contentStart(rest) {
		return true
	}
	return re == eventContentKey && (strings.HasSuffix(k, "content") || strings.HasSuffix(k, "message") || strings.HasSuffix(k, "tool_calls"))
}

// contentStart: what follows "gen_ai." in every key contentKey matches.
// GenAI spans carry several other gen_ai.* keys (system, request.model,
// usage.*), which this keeps from the regular expression.
func contentStart(rest string) bool {
	for _, p := range [...]string{"prompt", "completion", "input.messages", "output.messages", "system_instructions", "tool.call."} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

// attrs masks one attribute map as the redaction processor does with
// allow_all_keys: a blocked key's value becomes **** whatever it was; any
// other string value has every match of each blocked pattern, in order,
// replaced by ****.
func (s *scrubber) attrs(m pcommon.Map) {
	for k, v := range m.All() {
		if s.blockedKey(k) {
			v.SetStr(mask)
			continue
		}
		if str := v.Str(); str != "" {
			if masked, changed := s.maskValues(str); changed {
				v.SetStr(masked)
			}
		} else if s.emptyChanged {
			v.SetStr(s.emptyMasked)
		}
	}
}

// body masks a log body: strings (and other scalars, as text), and map and
// slice bodies value by value, where a blocked key's value becomes ****.
func (s *scrubber) body(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		for k, e := range v.Map().All() {
			if s.blockedKey(k) {
				e.SetStr(mask)
				continue
			}
			s.body(e)
		}
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			s.body(sl.At(i))
		}
	default:
		str := v.AsString()
		if masked, changed := s.maskValues(str); changed {
			v.SetStr(masked)
		}
	}
}

// maskValues applies the patterns in order, each to what the ones before
// left. Patterns the prefilter rules out are not run; after a replacement
// the rest are looked for again in the new string.
func (s *scrubber) maskValues(str string) (string, bool) {
	if s.valueFilter == nil {
		return s.maskValuesEach(str)
	}
	changed := false
	for cand := s.valueFilter.candidates(str); cand != 0; {
		j := bits.TrailingZeros64(cand)
		cand &= cand - 1
		if re := s.values[j].re; re.MatchString(str) {
			str = re.ReplaceAllLiteralString(str, mask)
			changed = true
			cand = s.valueFilter.candidates(str) &^ (uint64(2)<<j - 1)
		}
	}
	return str, changed
}

func (s *scrubber) maskValuesEach(str string) (string, bool) {
	changed := false
	for _, p := range s.values {
		if p.literal != "" && !strings.Contains(str, p.literal) {
			continue
		}
		if p.re.MatchString(str) {
			str = p.re.ReplaceAllLiteralString(str, mask)
			changed = true
		}
	}
	return str, changed
}

func (s *scrubber) blockedKey(k string) bool {
	if len(s.keyPatterns) == 0 || s.keyFilter != nil && s.keyFilter.candidates(k) == 0 {
		return false
	}
	if v, ok := (*s.keyCache.Load())[k]; ok {
		return v
	}
	blocked := false
	for _, re := range s.keyPatterns {
		if re.MatchString(k) {
			blocked = true
			break
		}
	}
	s.mu.Lock()
	if old := *s.keyCache.Load(); len(old) < maxKeyCache {
		next := make(map[string]bool, len(old)+1)
		for key, v := range old {
			next[key] = v
		}
		next[strings.Clone(k)] = blocked
		s.keyCache.Store(&next)
	}
	s.mu.Unlock()
	return blocked
}
