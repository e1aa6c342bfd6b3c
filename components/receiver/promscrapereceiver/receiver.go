// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"

import (
	"context"
	"errors"
	"hash/fnv"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
)

// dataFormat is the receiver's data format in its obsreport metrics, the
// stock prometheus receiver's.
const dataFormat = "prometheus"

type promScrapeReceiver struct {
	cfg     *Config
	set     receiver.Settings
	next    consumer.Metrics
	obsrecv *receiverhelper.ObsReport
	client  *http.Client
	targets []*target

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Metrics) (*promScrapeReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	r := &promScrapeReceiver{cfg: cfg, set: set, next: next, obsrecv: obsrecv}
	for i := range cfg.ScrapeConfigs {
		sc := &cfg.ScrapeConfigs[i]
		for _, st := range sc.StaticConfigs {
			for _, addr := range st.Targets {
				r.targets = append(r.targets, newTarget(sc, cfg, addr, st.Labels, set.BuildInfo.Version, set.Logger))
			}
		}
	}
	return r, nil
}

func (r *promScrapeReceiver) Start(context.Context, component.Host) error {
	// The transport's own gzip handling asks for gzip and decodes it, as
	// Prometheus's enable_compression default does.
	r.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, t := range r.targets {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.run(ctx, t)
		}()
	}
	return nil
}

func (r *promScrapeReceiver) Shutdown(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	if r.client != nil {
		r.client.CloseIdleConnections()
	}
	return nil
}

// run scrapes t every interval. Like Prometheus, targets start at an
// offset within the interval that depends on the target alone, so many
// targets do not all scrape at the same instant.
func (r *promScrapeReceiver) run(ctx context.Context, t *target) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(t.job + "\xff" + t.url))
	offset := time.Duration(h.Sum64() % uint64(t.interval))
	timer := time.NewTimer(offset)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return
	case <-timer.C:
	}
	ticker := time.NewTicker(t.interval)
	defer ticker.Stop()
	for {
		r.scrapeOnce(ctx, t)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (r *promScrapeReceiver) scrapeOnce(ctx context.Context, t *target) {
	start := time.Now()
	body, contentType, err := t.fetch(ctx, r.client)
	duration := time.Since(start)
	if ctx.Err() != nil {
		return // shutting down: no stale markers for a scrape cut short
	}
	c := t.begin(start, r.cfg.MaxPointsPerRequest, r.emit(ctx, t))
	fetched := err == nil
	if fetched {
		err = c.parse(body, contentType)
	}
	if err != nil {
		r.set.Logger.Warn("Failed to scrape Prometheus endpoint",
			zap.String("job", t.job), zap.String("target", t.url), zap.Error(err))
	}
	c.finish(duration, fetched, err)
}

// emit returns how one scrape of t hands on each request.
func (r *promScrapeReceiver) emit(ctx context.Context, t *target) func(pmetric.Metrics) {
	return func(md pmetric.Metrics) {
		n := md.DataPointCount()
		opCtx := r.obsrecv.StartMetricsOp(ctx)
		err := r.next.ConsumeMetrics(opCtx, md)
		r.obsrecv.EndMetricsOp(opCtx, dataFormat, n, err)
		if err != nil && !errors.Is(err, context.Canceled) {
			r.set.Logger.Warn("Scraped metrics were refused", zap.String("job", t.job),
				zap.String("target", t.url), zap.Int("data_points", n), zap.Error(err))
		}
	}
}
