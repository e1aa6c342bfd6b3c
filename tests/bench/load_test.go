package bench

import (
	"context"
	"time"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

// The bench drives the collector through this narrow interface, so the
// search and measurement logic can be tested with a stub sender.

type loadKind = loadgen.Kind

const (
	kindTraces    = loadgen.Traces
	kindLogs      = loadgen.Logs
	kindLokiJSON  = loadgen.LokiJSON
	kindLokiProto = loadgen.LokiProto
	kindPyroscope = loadgen.Pyroscope
	kindProfiles  = loadgen.Profiles
)

type loadOptions struct {
	Kind     loadKind
	Target   string
	Rate     float64
	Duration time.Duration
	Workers  int
	Batch    int // items per request; 0 = the kind's default
}

// loadCounts are in items; Refused are retryable refusals (429/503,
// UNAVAILABLE/RESOURCE_EXHAUSTED), Failed any other error.
type loadCounts = loadgen.Counts

type loader func(ctx context.Context, o loadOptions) (loadCounts, error)

func runLoad(ctx context.Context, o loadOptions) (loadCounts, error) {
	return loadgen.Run(ctx, loadgen.Options{Kind: o.Kind, Target: o.Target, Rate: o.Rate, Duration: o.Duration, Workers: o.Workers, BatchSize: o.Batch}, nil)
}

// metricsHandler serves a Prometheus exposition of `series` series whose
// values move on every scrape.
var metricsHandler = loadgen.MetricsHandler
