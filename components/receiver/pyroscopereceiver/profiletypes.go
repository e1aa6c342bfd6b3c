// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"strings"
)

// valueType is a pprof-style (type, unit) pair.
type valueType struct {
	Type string
	Unit string
}

// foldedType describes how collapsed-stack values of one profile kind are
// turned into sample types. The folded value is the first sample type.
// When timed is set the value is a sample count taken at sampleRate Hz and
// a second sample type (Time, nanoseconds) is added with value count ×
// period (period = 1e9/sampleRate, truncated as Pyroscope does), like a Go
// CPU profile carries both samples/count and cpu/nanoseconds. For wall time
// only the nanoseconds are kept, as Pyroscope's /ingest stores them; for CPU
// translatePprof sends the counts alone and Pyroscope derives the time.
type foldedType struct {
	Sample valueType
	Period valueType
	// Timed: values are sample counts at sampleRate Hz.
	Timed bool
	// Time is the type of the derived nanoseconds sample type ("cpu", "wall").
	Time string
	// FixedPeriod is used as period when not timed (0: 1).
	FixedPeriod int64
}

var (
	cpuFolded = foldedType{
		Sample: valueType{"samples", "count"}, Period: valueType{"cpu", "nanoseconds"},
		Timed: true, Time: "cpu",
	}
	wallFolded = foldedType{
		Sample: valueType{"samples", "count"}, Period: valueType{"wall", "nanoseconds"},
		Timed: true, Time: "wall",
	}
)

// suffixTypes maps the app-name suffixes Pyroscope SDKs use to the sample
// type Pyroscope stores them as (Go runtime/pprof names where they exist).
var suffixTypes = map[string]foldedType{
	"cpu":            cpuFolded,
	"itimer":         cpuFolded,
	"wall":           wallFolded,
	"alloc_objects":  {Sample: valueType{"alloc_objects", "count"}, Period: valueType{"space", "bytes"}},
	"alloc_space":    {Sample: valueType{"alloc_space", "bytes"}, Period: valueType{"space", "bytes"}},
	"inuse_objects":  {Sample: valueType{"inuse_objects", "count"}, Period: valueType{"space", "bytes"}},
	"inuse_space":    {Sample: valueType{"inuse_space", "bytes"}, Period: valueType{"space", "bytes"}},
	"goroutines":     {Sample: valueType{"goroutine", "count"}, Period: valueType{"goroutine", "count"}, FixedPeriod: 1},
	"mutex_count":    {Sample: valueType{"contentions", "count"}, Period: valueType{"contentions", "count"}},
	"mutex_duration": {Sample: valueType{"delay", "nanoseconds"}, Period: valueType{"contentions", "count"}},
	"block_count":    {Sample: valueType{"contentions", "count"}, Period: valueType{"contentions", "count"}},
	"block_duration": {Sample: valueType{"delay", "nanoseconds"}, Period: valueType{"contentions", "count"}},
	"lock_count":     {Sample: valueType{"contentions", "count"}, Period: valueType{"contentions", "count"}},
	"lock_duration":  {Sample: valueType{"delay", "nanoseconds"}, Period: valueType{"contentions", "count"}},
	"exceptions":     {Sample: valueType{"exceptions", "count"}, Period: valueType{"exceptions", "count"}},

	"alloc_in_new_tlab_objects":  {Sample: valueType{"alloc_in_new_tlab_objects", "count"}, Period: valueType{"space", "bytes"}},
	"alloc_in_new_tlab_bytes":    {Sample: valueType{"alloc_in_new_tlab_bytes", "bytes"}, Period: valueType{"space", "bytes"}},
	"alloc_outside_tlab_objects": {Sample: valueType{"alloc_outside_tlab_objects", "count"}, Period: valueType{"space", "bytes"}},
	"alloc_outside_tlab_bytes":   {Sample: valueType{"alloc_outside_tlab_bytes", "bytes"}, Period: valueType{"space", "bytes"}},
}

// foldedTypeFor picks the sample type of a folded upload: the name suffix
// wins; without one the `units` (and `aggregationType`) parameters decide,
// as in Pyroscope's legacy ingestion; the default is CPU.
func foldedTypeFor(suffix, units, aggregation string) foldedType {
	if t, ok := suffixTypes[suffix]; ok {
		return t
	}
	average := strings.EqualFold(aggregation, "average")
	switch strings.ToLower(units) {
	case "objects":
		if average {
			return suffixTypes["inuse_objects"]
		}
		return suffixTypes["alloc_objects"]
	case "bytes":
		if average {
			return suffixTypes["inuse_space"]
		}
		return suffixTypes["alloc_space"]
	case "goroutines":
		return suffixTypes["goroutines"]
	case "lock_samples":
		return suffixTypes["mutex_count"]
	case "lock_nanoseconds":
		return suffixTypes["mutex_duration"]
	}
	return cpuFolded
}
