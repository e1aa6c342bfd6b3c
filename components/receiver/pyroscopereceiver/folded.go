// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

const defaultSampleRate = 100

var errEmptyFolded = errors.New("folded profile is empty: no stack lines")

// decodeFolded parses collapsed-stack text ("root;child;leaf 42" per line,
// the value after the last space) into a pprof profile whose sample types
// come from ft. Frames are root first in the text and leaf first in the
// result, as pprof orders them. Identical stacks are summed; blank lines are
// skipped; "\r\n" line ends are accepted.
func decodeFolded(data []byte, ft foldedType, sampleRate int64) (*profile.Profile, error) {
	if sampleRate <= 0 {
		sampleRate = defaultSampleRate
	}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: ft.Sample.Type, Unit: ft.Sample.Unit}},
		PeriodType: &profile.ValueType{Type: ft.Period.Type, Unit: ft.Period.Unit},
		// Pyroscope's OTLP ingestion names a profile after its period
		// type only when the period is non-zero; without a name it is
		// refused.
		Period: max(ft.FixedPeriod, 1),
	}
	if ft.Timed {
		p.SampleType = append(p.SampleType, &profile.ValueType{Type: ft.Time, Unit: "nanoseconds"})
		// Pyroscope's /ingest scales folded counts by this truncated
		// period; the nanoseconds below are count × period so that the
		// OTLP form can carry the counts alone (see derivedCPUType).
		p.Period = 1e9 / sampleRate
	}

	locs := map[string]*profile.Location{}
	samples := map[string]*profile.Sample{}
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		lineNo++
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		sp := bytes.LastIndexByte(line, ' ')
		if sp < 0 {
			return nil, fmt.Errorf("folded line %d: missing value (expected \"frame;frame value\")", lineNo)
		}
		stackText := string(bytes.TrimSpace(line[:sp]))
		valueText := string(line[sp+1:])
		v, err := strconv.ParseInt(valueText, 10, 64)
		if err != nil || v < 0 || valueText[0] < '0' || valueText[0] > '9' {
			return nil, fmt.Errorf("folded line %d: invalid value %q (expected a non-negative integer)", lineNo, truncate(valueText, 64))
		}
		if stackText == "" {
			return nil, fmt.Errorf("folded line %d: empty stack", lineNo)
		}
		if s, ok := samples[stackText]; ok {
			if s.Value[0] > math.MaxInt64-v {
				return nil, fmt.Errorf("folded line %d: value overflows int64", lineNo)
			}
			s.Value[0] += v
			continue
		}
		frames := strings.Split(stackText, ";")
		s := &profile.Sample{Value: make([]int64, len(p.SampleType)), Location: make([]*profile.Location, 0, len(frames))}
		s.Value[0] = v
		// Leaf first.
		for i := len(frames) - 1; i >= 0; i-- {
			name := frames[i]
			loc, ok := locs[name]
			if !ok {
				fn := &profile.Function{ID: uint64(len(p.Function) + 1), Name: name, SystemName: name}
				p.Function = append(p.Function, fn)
				loc = &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn}}}
				p.Location = append(p.Location, loc)
				locs[name] = loc
			}
			s.Location = append(s.Location, loc)
		}
		samples[stackText] = s
		p.Sample = append(p.Sample, s)
	}
	if len(p.Sample) == 0 {
		return nil, errEmptyFolded
	}
	if ft.Timed {
		for _, s := range p.Sample {
			ns, ok := mulDiv(s.Value[0], p.Period, 1)
			if !ok {
				return nil, fmt.Errorf("folded value %d at sampleRate %d overflows int64 nanoseconds", s.Value[0], sampleRate)
			}
			s.Value[1] = ns
		}
		if ft.Time != "cpu" {
			// Pyroscope's /ingest keeps folded wall time as nanoseconds
			// only; the counts would show as a second "wall" type.
			p.SampleType = p.SampleType[1:]
			for _, s := range p.Sample {
				s.Value = s.Value[1:]
			}
		}
	}
	return p, nil
}

// mulDiv returns v*m/d rounded down, reporting overflow.
func mulDiv(v, m, d int64) (int64, bool) {
	if v == 0 {
		return 0, true
	}
	if v > math.MaxInt64/m {
		return 0, false
	}
	return v * m / d, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
