// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver/internal/metadata"
	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

// BenchmarkScrape scrapes the load generator's exposition (the FastAPI
// backend's families) into a discarding consumer: the receiver's own cost
// per scraped sample, and what it keeps per series between scrapes.
func BenchmarkScrape(b *testing.B) {
	for _, series := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("series=%d", series), func(b *testing.B) {
			srv := httptest.NewServer(loadgen.MetricsHandler(series))
			defer srv.Close()
			cfg := createDefaultConfig().(*Config)
			cfg.ScrapeConfigs = []ScrapeConfig{{JobName: "app", ScrapeInterval: time.Hour,
				StaticConfigs: []StaticConfig{{Targets: []string{strings.TrimPrefix(srv.URL, "http://")}}}}}
			r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			r.client = srv.Client()
			tgt := r.targets[0]
			ctx := context.Background()
			r.scrapeOnce(ctx, tgt) // the first scrape learns every series
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				r.scrapeOnce(ctx, tgt)
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*series), "ns/sample")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*series), "alloc-B/sample")
			b.ReportMetric(float64(after.HeapAlloc)/float64(series), "heap-B/series")
			runtime.KeepAlive(tgt)
		})
	}
}
