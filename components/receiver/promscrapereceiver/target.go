// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	conventions "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.uber.org/zap"
)

// acceptHeader is what Prometheus's default scrape_protocols ask for,
// OpenMetrics first: its `_created` lines give counters, histograms and
// summaries their start times.
const acceptHeader = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
	"application/openmetrics-text;version=0.0.1;q=0.5," +
	"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4," +
	"text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

// target is one scraped endpoint and what is kept of it between scrapes.
type target struct {
	job, instance   string
	url             string
	scheme          string
	interval        time.Duration
	timeout         time.Duration
	honorLabels     bool
	honorTimestamps bool
	// labels are the target's labels as Prometheus puts them on every
	// series: job, instance and the static ones, sorted.
	labels       labels.Labels
	staticLabels int
	resource     pcommon.Resource
	version      string

	// chunk is how much of the body is read and parsed at a time.
	chunk int
	// prevBody is the last scrape's exposition, where the series it had
	// and this one may lack are.
	prevBody packedBody
	logger   *zap.Logger
	// series is every series of the last scrape, by the hash of its text
	// as exposed.
	series seriesTable
	gen    uint32
	// lastAppended is the last scrape's gen.
	lastAppended uint32
	// meta is the metadata (TYPE, HELP, UNIT) of the last scrape, for the
	// stale markers of a family that is gone from this one.
	meta map[string]familyMeta
	// targetInfo is what the last scrape's `target_info` said.
	targetInfo labels.Labels
	// scopes holds, by scopeKey, the labels of a series in that scope.
	scopes map[string]labels.Labels
	// report are the series of Prometheus's report gauges, in reportNames'
	// order.
	report []*seriesEntry
	groups []group
	// labelsOnly keeps every series' labels, never its text: the fuzz
	// test's reference for reading in place.
	labelsOnly bool
}

func newTarget(sc *ScrapeConfig, cfg *Config, addr string, static map[string]string, version string, logger *zap.Logger) *target {
	b := labels.NewBuilder(labels.EmptyLabels())
	names := make([]string, 0, len(static))
	for n := range static {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.Set(n, static[n])
	}
	b.Set(model.JobLabel, sc.JobName)
	if b.Get(model.InstanceLabel) == "" {
		b.Set(model.InstanceLabel, addr)
	}
	ls := b.Labels()
	t := &target{
		job:             sc.JobName,
		instance:        ls.Get(model.InstanceLabel),
		url:             sc.scheme() + "://" + addr + sc.metricsPath(),
		scheme:          sc.scheme(),
		interval:        sc.interval(cfg),
		timeout:         sc.timeout(cfg),
		honorLabels:     sc.HonorLabels,
		honorTimestamps: sc.honorTimestamps(),
		labels:          ls,
		version:         version,
		logger:          logger,
		meta:            map[string]familyMeta{},
		chunk:           defaultChunk,
	}
	t.resource = newResource(t.job, t.instance, t.scheme)
	for _, name := range reportNames {
		b.Set(model.MetricNameLabel, name)
		t.report = append(t.report, &seriesEntry{slow: &slowSeries{ls: b.Labels(), name: name}})
	}
	t.staticLabels = ls.Len() - 2 // all but job and instance
	return t
}

// newResource is the stock prometheus receiver's resource for a target.
func newResource(job, instance, scheme string) pcommon.Resource {
	host, port, err := net.SplitHostPort(instance)
	if err != nil {
		host = instance
	}
	res := pcommon.NewResource()
	attrs := res.Attributes()
	attrs.PutStr(string(conventions.ServiceNameKey), job)
	if discernibleHost(host) {
		attrs.PutStr(string(conventions.ServerAddressKey), host)
	}
	attrs.PutStr(string(conventions.ServiceInstanceIDKey), instance)
	attrs.PutStr(string(conventions.ServerPortKey), port)
	attrs.PutStr(string(conventions.URLSchemeKey), scheme)
	return res
}

// discernibleHost says whether host names a machine: not a loopback or
// unspecified address, not "localhost".
func discernibleHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return !ip.IsLoopback() && !ip.IsUnspecified()
	}
	return host != "localhost"
}

// fetch GETs the target's exposition, packed as it is read.
func (t *target) fetch(ctx context.Context, client *http.Client) (packedBody, string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, http.NoBody)
	if err != nil {
		return packedBody{}, "", err
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "otelcol-gatewayz/"+t.version)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(t.timeout.Seconds(), 'f', -1, 64))
	resp, err := client.Do(req)
	if err != nil {
		return packedBody{}, "", err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return packedBody{}, "", fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	// About the last body's size: a scrape's body packs alike.
	body := packedBody{packed: make([]byte, 0, len(t.prevBody.packed)+len(t.prevBody.packed)/16)}
	if err := body.readFrom(resp.Body, t.chunk, t.prevBody.n); err != nil {
		return packedBody{}, "", fmt.Errorf("reading the response: %w", err)
	}
	return body, resp.Header.Get("Content-Type"), nil
}
