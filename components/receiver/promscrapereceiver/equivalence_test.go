// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver/internal/metadata"
)

// The stock receiver's own scope name (its internal/metadata.ScopeName,
// which cannot be imported).
const stockScopeName = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"

const (
	// Short enough to keep the whole test a few seconds, long enough that
	// a loaded 2-core machine answers a small scrape well within the
	// timeout.
	equivInterval = 250 * time.Millisecond
	equivTimeout  = 200 * time.Millisecond

	contentTypeOM   = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	contentTypeText = "text/plain; version=0.0.4; charset=utf-8"
)

// expositionType is the Content-Type a target serves an exposition with.
func expositionType(openMetrics bool) string {
	if openMetrics {
		return contentTypeOM
	}
	return contentTypeText
}

// equivPage is what a target answers to one scrape.
type equivPage struct {
	// file is an exposition under testdata/equivalence; its extension
	// (.om or .txt) picks the Content-Type.
	file string
	// status, when set, is answered instead, with no body.
	status int
	// hang answers only after the scrape has timed out.
	hang bool
	// contentType, when set, replaces the one the extension picks; "-"
	// sends none.
	contentType string
	// malformed marks an exposition with a bad line in it.
	malformed bool
}

type equivCase struct {
	name string
	// pages[i] answers scrape i; the last one repeats.
	pages           []equivPage
	honorLabels     bool
	honorTimestamps *bool
	labels          map[string]string
	// maxPoints, when set, is our max_points_per_request.
	maxPoints int
	// chunk, when set, is how much of a body our receiver reads, packs and
	// parses at a time.
	chunk int
	// targets is how many targets the job has (one when 0), each in a
	// static_configs entry of its own with a label shard="<its index>",
	// all answering the same pages.
	targets int
}

func pages(files ...string) []equivPage {
	ps := make([]equivPage, len(files))
	for i, f := range files {
		ps[i] = equivPage{file: f}
	}
	return ps
}

// TestEquivalence scrapes the same expositions with our receiver and the
// stock prometheus receiver and requires the same pdata, scrape by scrape.
func TestEquivalence(t *testing.T) {
	no := false
	yes := true
	cases := []equivCase{}
	for _, ext := range []string{"om", "txt"} {
		cases = append(cases,
			equivCase{name: "python_client_" + ext, pages: pages("python_1."+ext, "python_2."+ext)},
			equivCase{name: "python_client_split_" + ext, pages: pages("python_1."+ext, "python_2."+ext), maxPoints: 3},
			// Bodies read and parsed in pieces smaller than a line, or
			// than a family, the stale series' text from the last one's.
			equivCase{name: "python_client_chunked_" + ext, pages: pages("python_1."+ext, "python_2."+ext), chunk: 61},
			equivCase{name: "stale_series_chunked_" + ext, pages: pages("stale_1."+ext, "stale_2."+ext, "stale_2."+ext, "stale_1."+ext), chunk: 23},
			equivCase{
				name:   "labels_" + ext,
				pages:  pages("labels." + ext),
				labels: map[string]string{"team": "gateway", "region": "eu-west"},
			},
			equivCase{
				name:        "labels_honored_" + ext,
				pages:       pages("labels." + ext),
				labels:      map[string]string{"team": "gateway", "region": "eu-west"},
				honorLabels: true,
			},
			equivCase{name: "special_values_" + ext, pages: pages("special_values." + ext)},
			equivCase{
				name:    "three_targets_" + ext,
				pages:   pages("python_1."+ext, "stale_1."+ext, "stale_2."+ext),
				targets: 3,
				labels:  map[string]string{"team": "gateway"},
			},
			equivCase{name: "timestamps_honored_" + ext, pages: pages("timestamps_1."+ext, "timestamps_2."+ext), honorTimestamps: &yes},
			equivCase{name: "timestamps_ignored_" + ext, pages: pages("timestamps_1."+ext, "timestamps_2."+ext), honorTimestamps: &no},
			// As gateway.yaml's promscrape/self scrapes the collector.
			equivCase{
				name:   "target_info_and_scope_" + ext,
				pages:  pages("collector_self." + ext),
				labels: map[string]string{"instance": "gateway-0"},
			},
			equivCase{name: "target_info_gone_" + ext, pages: pages("collector_self."+ext, "stale_1."+ext)},
			equivCase{name: "scope_info_" + ext, pages: pages("scope_info." + ext)},
			equivCase{name: "stale_series_" + ext, pages: pages("stale_1."+ext, "stale_2."+ext, "stale_2."+ext, "stale_1."+ext)},
			equivCase{
				name: "failed_scrapes_" + ext,
				pages: []equivPage{
					{file: "stale_1." + ext},
					{status: http.StatusInternalServerError},
					{file: "stale_1." + ext},
					{hang: true},
					{file: "stale_2." + ext},
				},
			},
		)
	}
	cases = append(cases,
		// Families larger than a request go out in parts.
		equivCase{name: "split_families", pages: pages("big.txt"), maxPoints: 7},
		equivCase{name: "split_families_chunked", pages: pages("big.txt"), maxPoints: 7, chunk: 300},
		equivCase{name: "exemplars_chunked_om", pages: pages("exemplars_1.om", "exemplars_2.om"), chunk: 17},
		equivCase{name: "duplicate_series", pages: pages("duplicates.txt")},
		equivCase{name: "empty_labels", pages: pages("empty_labels.txt")},
		equivCase{name: "odd_families", pages: pages("odd.txt")},
		// What client_golang sends a scraper that accepts escaping=allow-utf-8.
		equivCase{name: "utf8_names", pages: []equivPage{{file: "utf8_names.txt", contentType: "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"}}},
		equivCase{name: "malformed", pages: []equivPage{{file: "stale_1.txt"}, {file: "malformed.txt", malformed: true}, {file: "stale_1.txt"}}},
		equivCase{name: "exemplars_om", pages: pages("exemplars_1.om", "exemplars_2.om")},
		equivCase{name: "gaugehistogram_om", pages: pages("gaugehistogram.om")},
		// The stock receiver sets Prometheus's fallback_scrape_protocol to
		// text 0.0.4, so an answer without a usable Content-Type is read
		// as text.
		equivCase{name: "content_type_missing", pages: []equivPage{{file: "python_1.txt", contentType: "-"}}},
		equivCase{name: "content_type_wrong", pages: []equivPage{{file: "python_1.txt", contentType: "text/html; charset=utf-8"}}},
	)

	// Every case's receivers scrape at once, from the start, so the whole
	// test takes about as long as its longest case; each subtest then waits
	// for its own scrapes and compares them.
	runs := make([]*equivRun, len(cases))
	for i, c := range cases {
		runs[i] = startEquivalence(t, c)
	}
	for _, r := range runs {
		t.Run(r.c.name, r.check)
	}
}

// equivRun is one case's pair of receivers and targets.
type equivRun struct {
	c                         equivCase
	oursTargets, stockTargets []*equivTarget
	oursCfg                   *Config
	oursSink, stockSink       *consumertest.MetricsSink
	oursRcv, stockRcv         receiver.Metrics
	stopOnce                  sync.Once
	stopErr                   error
}

func startEquivalence(t *testing.T, c equivCase) *equivRun {
	t.Helper()
	r := &equivRun{
		c:         c,
		oursSink:  new(consumertest.MetricsSink),
		stockSink: new(consumertest.MetricsSink),
	}
	var oursAddrs, stockAddrs []string
	for range max(c.targets, 1) {
		r.oursTargets = append(r.oursTargets, newEquivTarget(t, c.pages))
		r.stockTargets = append(r.stockTargets, newEquivTarget(t, c.pages))
		oursAddrs = append(oursAddrs, r.oursTargets[len(r.oursTargets)-1].hostPort())
		stockAddrs = append(stockAddrs, r.stockTargets[len(r.stockTargets)-1].hostPort())
	}
	var stockCfg *prometheusreceiver.Config
	r.oursCfg, stockCfg = equivConfigs(t, c, oursAddrs, stockAddrs)
	var err error
	r.oursRcv, err = NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), r.oursCfg, r.oursSink)
	require.NoError(t, err, c.name)
	if c.chunk != 0 {
		for _, tgt := range r.oursRcv.(*promScrapeReceiver).targets {
			tgt.chunk = c.chunk
		}
	}
	stockFactory := prometheusreceiver.NewFactory()
	r.stockRcv, err = stockFactory.CreateMetrics(context.Background(), receivertest.NewNopSettings(stockFactory.Type()), stockCfg, r.stockSink)
	require.NoError(t, err, c.name)
	require.NoError(t, r.oursRcv.Start(context.Background(), componenttest.NewNopHost()), c.name)
	require.NoError(t, r.stockRcv.Start(context.Background(), componenttest.NewNopHost()), c.name)
	t.Cleanup(func() { require.NoError(t, r.stop(), c.name) })
	return r
}

func (r *equivRun) stop() error {
	r.stopOnce.Do(func() {
		r.stopErr = errors.Join(r.oursRcv.Shutdown(context.Background()), r.stockRcv.Shutdown(context.Background()))
	})
	return r.stopErr
}

func (r *equivRun) check(t *testing.T) {
	c := r.c
	// Compared: every page and the last one once more (an exposition that
	// stays the same must give the same again, no second stale marker).
	// Awaited: one scrape beyond, since once its `up` is in, every request
	// of the compared ones is.
	scrapes := len(c.pages) + 1
	deadline := time.Now().Add(time.Duration(scrapes+1)*equivInterval + 10*time.Second)
	for !r.scraped(scrapes + 1) {
		if time.Now().After(deadline) {
			require.NoError(t, r.stop())
			t.Fatalf("timed out waiting for %d scrapes of each target", scrapes+1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, r.stop())
	requireRequestsBounded(t, r.oursSink.AllMetrics(), r.oursCfg.MaxPointsPerRequest)

	for k := range r.oursTargets {
		oursTarget, stockTarget := r.oursTargets[k], r.stockTargets[k]
		oursTarget.requireAcceptPrefersOpenMetrics(t, "ours")
		stockTarget.requireAcceptPrefersOpenMetrics(t, "stock")
		oursTimes, oursScrapes := groupByScrape(r.requestsOf(r.oursSink, oursTarget))
		stockTimes, stockScrapes := groupByScrape(r.requestsOf(r.stockSink, stockTarget))
		if c.maxPoints != 0 {
			// Otherwise the case would not test merging a split scrape.
			require.Greater(t, len(oursScrapes[0]), 1, "max_points_per_request %d did not split the first scrape", c.maxPoints)
		}
		for i := range scrapes {
			want := canonicalScrape(stockScrapes[i], stockTimes[i], stockTarget.port())
			got := canonicalScrape(oursScrapes[i], oursTimes[i], oursTarget.port())
			onlyStock, onlyOurs := diffLines(want, got)
			if i < len(c.pages) && c.pages[i].malformed {
				onlyOurs = slices.DeleteFunc(onlyOurs, keptBeforeParseError)
			}
			if len(onlyStock)+len(onlyOurs) > 0 {
				t.Errorf("target %d, scrape %d (page %v) differs:\n  only stock (%d):\n    %s\n  only ours (%d):\n    %s", k, i+1,
					c.pages[min(i, len(c.pages)-1)], len(onlyStock), strings.Join(onlyStock, "\n    "),
					len(onlyOurs), strings.Join(onlyOurs, "\n    "))
			}
		}
	}
}

// scraped says whether both receivers have delivered n scrapes of each
// target.
func (r *equivRun) scraped(n int) bool {
	for k := range r.oursTargets {
		if len(scrapeTimes(r.requestsOf(r.oursSink, r.oursTargets[k]))) < n ||
			len(scrapeTimes(r.requestsOf(r.stockSink, r.stockTargets[k]))) < n {
			return false
		}
	}
	return true
}

// requestsOf returns what sink received of target tg: everything when
// the job has one target (a series that kept a scraped instance under
// honor_labels is in a resource of its own), else the resources of tg's
// instance.
func (r *equivRun) requestsOf(sink *consumertest.MetricsSink, tg *equivTarget) []pmetric.Metrics {
	all := sink.AllMetrics()
	if len(r.oursTargets) == 1 {
		return all
	}
	var out []pmetric.Metrics
	for _, md := range all {
		mine := pmetric.NewMetrics()
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			rm := md.ResourceMetrics().At(i)
			if id, _ := rm.Resource().Attributes().Get("service.instance.id"); id.AsString() == tg.hostPort() {
				rm.CopyTo(mine.ResourceMetrics().AppendEmpty())
			}
		}
		if mine.ResourceMetrics().Len() > 0 {
			out = append(out, mine)
		}
	}
	return out
}

// keptBeforeParseError says whether a line only ours has is a sample read
// before a bad line. Prometheus rolls back a scrape that fails to parse, so
// the stock receiver drops those samples; ours has handed them on by the
// time it reads the bad line, and keeps them rather than lose good data.
// Everything else of such a scrape (`up` 0, the report gauges, the stale
// markers of the series after the bad line) must still be the same.
func keptBeforeParseError(line string) bool {
	if !strings.Contains(line, " flags=0 ") {
		return false
	}
	for _, name := range reportNames {
		if strings.Contains(line, fmt.Sprintf(" metric{name=%q ", name)) {
			return false
		}
	}
	return true
}

// equivConfigs builds both receivers' configurations from one YAML job, as
// a collector would load them.
func equivConfigs(t *testing.T, c equivCase, oursTargets, stockTargets []string) (*Config, *prometheusreceiver.Config) {
	t.Helper()
	maxPoints := defaultMaxPointsPerRequest
	if c.maxPoints != 0 {
		maxPoints = c.maxPoints
	}
	ours := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"scrape_interval":        equivInterval.String(),
		"scrape_timeout":         equivTimeout.String(),
		"max_points_per_request": maxPoints,
		"scrape_configs":         jobYAML(t, c, oursTargets),
	}).Unmarshal(ours))
	require.NoError(t, ours.Validate())

	stockFactory := prometheusreceiver.NewFactory()
	stock := stockFactory.CreateDefaultConfig().(*prometheusreceiver.Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"config": map[string]any{
			"global": map[string]any{
				"scrape_interval": equivInterval.String(),
				"scrape_timeout":  equivTimeout.String(),
			},
			"scrape_configs": jobYAML(t, c, stockTargets),
		},
		// Otherwise the first scrape waits for the scrape manager's 5 s
		// reload tick.
		"discovery_reload_on_startup": true,
	}).Unmarshal(stock))
	// As the collector's validation of a loaded config does; this one also
	// sets the fallback scrape protocol.
	require.NoError(t, stock.Validate())
	require.NoError(t, stock.PrometheusConfig.Validate())
	return ours, stock
}

func jobYAML(t *testing.T, c equivCase, targets []string) []any {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "- job_name: app\n  scheme: http\n  metrics_path: /metrics\n  honor_labels: %t\n", c.honorLabels)
	if c.honorTimestamps != nil {
		fmt.Fprintf(&b, "  honor_timestamps: %t\n", *c.honorTimestamps)
	}
	b.WriteString("  static_configs:\n")
	for k, target := range targets {
		labels := maps.Clone(c.labels)
		if len(targets) > 1 {
			if labels == nil {
				labels = map[string]string{}
			}
			labels["shard"] = strconv.Itoa(k)
		}
		fmt.Fprintf(&b, "    - targets: [%q]\n", target)
		if len(labels) > 0 {
			b.WriteString("      labels:\n")
			for _, name := range slices.Sorted(maps.Keys(labels)) {
				fmt.Fprintf(&b, "        %s: %q\n", name, labels[name])
			}
		}
	}
	var jobs []any
	require.NoError(t, yaml.Unmarshal([]byte(b.String()), &jobs))
	return jobs
}

type equivTarget struct {
	pages  []equivPage
	bodies [][]byte
	srv    *httptest.Server

	mu      sync.Mutex
	served  int
	accepts []string
}

func newEquivTarget(t *testing.T, ps []equivPage) *equivTarget {
	t.Helper()
	tg := &equivTarget{pages: ps, bodies: make([][]byte, len(ps))}
	for i, p := range ps {
		if p.file == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", "equivalence", p.file))
		require.NoError(t, err)
		tg.bodies[i] = b
	}
	tg.srv = httptest.NewServer(tg)
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *equivTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tg.mu.Lock()
	i := min(tg.served, len(tg.pages)-1)
	tg.served++
	tg.accepts = append(tg.accepts, r.Header.Get("Accept"))
	tg.mu.Unlock()

	p := tg.pages[i]
	switch {
	case p.hang:
		select {
		case <-r.Context().Done():
		case <-time.After(3 * equivTimeout):
		}
	case p.status != 0:
		w.WriteHeader(p.status)
	default:
		ct := expositionType(strings.HasSuffix(p.file, ".om"))
		switch p.contentType {
		case "":
			w.Header().Set("Content-Type", ct)
		case "-":
			w.Header()["Content-Type"] = nil // no sniffing either
		default:
			w.Header().Set("Content-Type", p.contentType)
		}
		_, _ = w.Write(tg.bodies[i])
	}
}

func (tg *equivTarget) hostPort() string { return tg.srv.Listener.Addr().String() }

func (tg *equivTarget) port() string {
	_, port, _ := net.SplitHostPort(tg.hostPort())
	return port
}

// requireAcceptPrefersOpenMetrics checks the receiver asks for OpenMetrics
// first, so a target that can serve both gives it exemplars, units and
// _created lines.
func (tg *equivTarget) requireAcceptPrefersOpenMetrics(t *testing.T, who string) {
	t.Helper()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	require.NotEmpty(t, tg.accepts, "%s never scraped", who)
	for _, accept := range tg.accepts {
		best, bestQ := "", -1.0
		for _, part := range strings.Split(accept, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			require.NoError(t, err, "%s sent Accept %q", who, accept)
			q := 1.0
			if s, ok := params["q"]; ok {
				q, err = strconv.ParseFloat(s, 64)
				require.NoError(t, err, "%s sent Accept %q", who, accept)
			}
			if q > bestQ {
				best, bestQ = mt, q
			}
		}
		require.Equal(t, "application/openmetrics-text", best, "%s sent Accept %q", who, accept)
	}
}

// requireRequestsBounded checks max_points_per_request: a request holds at
// most that many points unless it is a single metric (metrics go whole).
func requireRequestsBounded(t *testing.T, reqs []pmetric.Metrics, maxPoints int) {
	t.Helper()
	for i, md := range reqs {
		if n := md.DataPointCount(); n > maxPoints {
			require.Equal(t, 1, md.MetricCount(), "request %d has %d points in %d metrics, more than max_points_per_request %d",
				i, n, md.MetricCount(), maxPoints)
		}
	}
}

// scrapeTimes returns the timestamps of the `up` points that record a
// scrape (not the stale `up` a shutdown may send), in order.
func scrapeTimes(reqs []pmetric.Metrics) []pcommon.Timestamp {
	var ts []pcommon.Timestamp
	for _, md := range reqs {
		forEachMetric(md, func(_ pmetric.ResourceMetrics, _ pmetric.ScopeMetrics, m pmetric.Metric) {
			if m.Name() != "up" || m.Type() != pmetric.MetricTypeGauge {
				return
			}
			for i := 0; i < m.Gauge().DataPoints().Len(); i++ {
				p := m.Gauge().DataPoints().At(i)
				if !p.Flags().NoRecordedValue() {
					ts = append(ts, p.Timestamp())
				}
			}
		})
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// groupByScrape merges the requests of each scrape. A request belongs to
// the latest scrape whose time one of its points carries; one carrying no
// scrape's time (only exposed timestamps) goes with the request before it,
// since a receiver hands a scrape's requests on one after another.
func groupByScrape(reqs []pmetric.Metrics) ([]pcommon.Timestamp, [][]pmetric.Metrics) {
	times := scrapeTimes(reqs)
	index := make(map[pcommon.Timestamp]int, len(times))
	for i, ts := range times {
		index[ts] = i
	}
	groups := make([][]pmetric.Metrics, len(times))
	prev := 0
	for _, md := range reqs {
		k := -1
		forEachPointTimestamp(md, func(ts pcommon.Timestamp) {
			if i, ok := index[ts]; ok && i > k {
				k = i
			}
		})
		if k < 0 {
			k = prev
		}
		if k < len(groups) {
			groups[k] = append(groups[k], md)
		}
		prev = k
	}
	return times, groups
}

func forEachMetric(md pmetric.Metrics, f func(pmetric.ResourceMetrics, pmetric.ScopeMetrics, pmetric.Metric)) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			for k := 0; k < sm.Metrics().Len(); k++ {
				f(rm, sm, sm.Metrics().At(k))
			}
		}
	}
}

func forEachPointTimestamp(md pmetric.Metrics, f func(pcommon.Timestamp)) {
	forEachMetric(md, func(_ pmetric.ResourceMetrics, _ pmetric.ScopeMetrics, m pmetric.Metric) {
		switch m.Type() {
		case pmetric.MetricTypeGauge:
			for i := 0; i < m.Gauge().DataPoints().Len(); i++ {
				f(m.Gauge().DataPoints().At(i).Timestamp())
			}
		case pmetric.MetricTypeSum:
			for i := 0; i < m.Sum().DataPoints().Len(); i++ {
				f(m.Sum().DataPoints().At(i).Timestamp())
			}
		case pmetric.MetricTypeHistogram:
			for i := 0; i < m.Histogram().DataPoints().Len(); i++ {
				f(m.Histogram().DataPoints().At(i).Timestamp())
			}
		case pmetric.MetricTypeExponentialHistogram:
			for i := 0; i < m.ExponentialHistogram().DataPoints().Len(); i++ {
				f(m.ExponentialHistogram().DataPoints().At(i).Timestamp())
			}
		case pmetric.MetricTypeSummary:
			for i := 0; i < m.Summary().DataPoints().Len(); i++ {
				f(m.Summary().DataPoints().At(i).Timestamp())
			}
		}
	})
}

// canonicalScrape renders one scrape as one line per data point, carrying
// everything compared, with only what legitimately differs normalized:
// the receiver's own scope name and version, the target's port, and
// timestamps equal to the scrape's time (the receivers scrape at different
// moments; a point timestamped otherwise, from the exposition or `_created`,
// is kept absolute). Order is not part of it: the lines are sorted.
func canonicalScrape(reqs []pmetric.Metrics, scrapeTs pcommon.Timestamp, port string) []string {
	var lines []string
	ts := func(v pcommon.Timestamp) string {
		if v == scrapeTs {
			return "@scrape"
		}
		return strconv.FormatUint(uint64(v), 10)
	}
	for _, md := range reqs {
		forEachMetric(md, func(rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, m pmetric.Metric) {
			res := canonicalResource(rm, port)
			scope := canonicalScope(sm)
			head := fmt.Sprintf("%s %s metric{name=%q desc=%q unit=%q type=%s%s meta=%s}",
				res, scope, m.Name(), m.Description(), m.Unit(), m.Type(), aggregation(m), canonicalMap(m.Metadata()))
			points := canonicalPoints(m, ts)
			if len(points) == 0 {
				lines = append(lines, head+" NO POINTS")
			}
			for _, p := range points {
				lines = append(lines, head+" "+p)
			}
		})
	}
	slices.Sort(lines)
	return lines
}

func canonicalResource(rm pmetric.ResourceMetrics, port string) string {
	attrs := pcommon.NewMap()
	rm.Resource().Attributes().CopyTo(attrs)
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch s := v.AsString(); {
		case s == port:
			attrs.PutStr(k, "PORT")
		case strings.HasSuffix(s, ":"+port):
			attrs.PutStr(k, strings.TrimSuffix(s, port)+"PORT")
		}
		return true
	})
	return fmt.Sprintf("resource{%s schema=%q}", canonicalMap(attrs), rm.SchemaUrl())
}

func canonicalScope(sm pmetric.ScopeMetrics) string {
	name, version := sm.Scope().Name(), sm.Scope().Version()
	if name == stockScopeName || name == metadata.ScopeName {
		name, version = "<receiver>", "<receiver version>"
	}
	return fmt.Sprintf("scope{name=%q version=%q attrs=%s schema=%q}", name, version, canonicalMap(sm.Scope().Attributes()), sm.SchemaUrl())
}

func aggregation(m pmetric.Metric) string {
	switch m.Type() {
	case pmetric.MetricTypeSum:
		return fmt.Sprintf(" temporality=%s monotonic=%t", m.Sum().AggregationTemporality(), m.Sum().IsMonotonic())
	case pmetric.MetricTypeHistogram:
		return fmt.Sprintf(" temporality=%s", m.Histogram().AggregationTemporality())
	case pmetric.MetricTypeExponentialHistogram:
		return fmt.Sprintf(" temporality=%s", m.ExponentialHistogram().AggregationTemporality())
	}
	return ""
}

func canonicalMap(m pcommon.Map) string {
	kv := make([]string, 0, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		kv = append(kv, fmt.Sprintf("%s=%s:%q", k, v.Type(), v.AsString()))
		return true
	})
	slices.Sort(kv)
	return "{" + strings.Join(kv, " ") + "}"
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func canonicalPoints(m pmetric.Metric, ts func(pcommon.Timestamp) string) []string {
	var out []string
	common := func(attrs pcommon.Map, start, t pcommon.Timestamp, flags pmetric.DataPointFlags, ex pmetric.ExemplarSlice) string {
		// A stock quirk not copied: Prometheus stale-marks a series'
		// OpenMetrics `_created` line too, and the stock receiver turns
		// that NaN into a start time, int64(NaN) seconds, which Go leaves
		// to the platform: 1<<63 ns on amd64. A stale point has no start
		// time.
		if flags.NoRecordedValue() && start == 1<<63 {
			start = 0
		}
		return fmt.Sprintf("point{attrs=%s start=%s ts=%s flags=%d exemplars=%s}", canonicalMap(attrs), ts(start), ts(t), flags, canonicalExemplars(ex, ts))
	}
	number := func(p pmetric.NumberDataPoint) string {
		v := "none"
		switch p.ValueType() {
		case pmetric.NumberDataPointValueTypeDouble:
			v = "double:" + fmtFloat(p.DoubleValue())
		case pmetric.NumberDataPointValueTypeInt:
			v = "int:" + strconv.FormatInt(p.IntValue(), 10)
		}
		// Its value is the scrape's own timing, not what was scraped.
		if m.Name() == "scrape_duration_seconds" && v != "none" {
			v = "<duration>"
		}
		return common(p.Attributes(), p.StartTimestamp(), p.Timestamp(), p.Flags(), p.Exemplars()) + " value=" + v
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for i := 0; i < m.Gauge().DataPoints().Len(); i++ {
			out = append(out, number(m.Gauge().DataPoints().At(i)))
		}
	case pmetric.MetricTypeSum:
		for i := 0; i < m.Sum().DataPoints().Len(); i++ {
			out = append(out, number(m.Sum().DataPoints().At(i)))
		}
	case pmetric.MetricTypeHistogram:
		for i := 0; i < m.Histogram().DataPoints().Len(); i++ {
			p := m.Histogram().DataPoints().At(i)
			s := common(p.Attributes(), p.StartTimestamp(), p.Timestamp(), p.Flags(), p.Exemplars()) +
				fmt.Sprintf(" count=%d sum=%s bounds=%v buckets=%v", p.Count(), optFloat(p.HasSum(), p.Sum()),
					floats(p.ExplicitBounds().AsRaw()), p.BucketCounts().AsRaw())
			if p.HasMin() || p.HasMax() {
				s += fmt.Sprintf(" min=%s max=%s", optFloat(p.HasMin(), p.Min()), optFloat(p.HasMax(), p.Max()))
			}
			out = append(out, s)
		}
	case pmetric.MetricTypeExponentialHistogram:
		for i := 0; i < m.ExponentialHistogram().DataPoints().Len(); i++ {
			p := m.ExponentialHistogram().DataPoints().At(i)
			out = append(out, common(p.Attributes(), p.StartTimestamp(), p.Timestamp(), p.Flags(), p.Exemplars())+
				fmt.Sprintf(" count=%d sum=%s scale=%d zero=%d/%s pos=%d%v neg=%d%v", p.Count(), optFloat(p.HasSum(), p.Sum()),
					p.Scale(), p.ZeroCount(), fmtFloat(p.ZeroThreshold()), p.Positive().Offset(), p.Positive().BucketCounts().AsRaw(),
					p.Negative().Offset(), p.Negative().BucketCounts().AsRaw()))
		}
	case pmetric.MetricTypeSummary:
		for i := 0; i < m.Summary().DataPoints().Len(); i++ {
			p := m.Summary().DataPoints().At(i)
			qs := make([]string, 0, p.QuantileValues().Len())
			for j := 0; j < p.QuantileValues().Len(); j++ {
				q := p.QuantileValues().At(j)
				qs = append(qs, fmtFloat(q.Quantile())+":"+fmtFloat(q.Value()))
			}
			out = append(out, common(p.Attributes(), p.StartTimestamp(), p.Timestamp(), p.Flags(), pmetric.NewExemplarSlice())+
				fmt.Sprintf(" count=%d sum=%s quantiles=%v", p.Count(), fmtFloat(p.Sum()), qs))
		}
	}
	return out
}

func optFloat(has bool, f float64) string {
	if !has {
		return "unset"
	}
	return fmtFloat(f)
}

func floats(fs []float64) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmtFloat(f)
	}
	return out
}

func canonicalExemplars(ex pmetric.ExemplarSlice, ts func(pcommon.Timestamp) string) string {
	out := make([]string, 0, ex.Len())
	for i := 0; i < ex.Len(); i++ {
		e := ex.At(i)
		v := "none"
		switch e.ValueType() {
		case pmetric.ExemplarValueTypeDouble:
			v = "double:" + fmtFloat(e.DoubleValue())
		case pmetric.ExemplarValueTypeInt:
			v = "int:" + strconv.FormatInt(e.IntValue(), 10)
		}
		out = append(out, fmt.Sprintf("{ts=%s value=%s trace=%s span=%s attrs=%s}", ts(e.Timestamp()), v,
			e.TraceID(), e.SpanID(), canonicalMap(e.FilteredAttributes())))
	}
	slices.Sort(out)
	return "[" + strings.Join(out, " ") + "]"
}

// diffLines returns the lines of each sorted list the other lacks,
// counting repeats.
func diffLines(a, b []string) (onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		default:
			onlyB = append(onlyB, b[j])
			j++
		}
	}
	return append(onlyA, a[i:]...), append(onlyB, b[j:]...)
}

// TestEquivalenceComparison checks the comparison itself: what it
// normalizes (scrape time, port, the receiver's own scope, order, the
// split into requests) does not count, and anything else does.
func TestEquivalenceComparison(t *testing.T) {
	const stockPort, oursPort = "41001", "42002"
	stockTs := pcommon.Timestamp(1_764_748_800_123 * 1e6)
	oursTs := stockTs + 37e6
	stock := equivSample(stockTs, stockPort, stockScopeName)
	canonical := func(reqs []pmetric.Metrics, port string) []string {
		times, scrapes := groupByScrape(reqs)
		require.Len(t, times, 1)
		return canonicalScrape(scrapes[0], times[0], port)
	}
	want := canonical([]pmetric.Metrics{stock}, stockPort)

	// The same scrape, later, from another port, under our scope name,
	// in two requests with the metrics in another order.
	ours := equivSample(oursTs, oursPort, metadata.ScopeName)
	second := pmetric.NewMetrics()
	ours.ResourceMetrics().CopyTo(second.ResourceMetrics())
	firstMetrics := ours.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	secondMetrics := second.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	n := 0
	firstMetrics.RemoveIf(func(pmetric.Metric) bool { n++; return n%2 == 0 })
	n = 0
	secondMetrics.RemoveIf(func(pmetric.Metric) bool { n++; return n%2 == 1 })
	onlyStock, onlyOurs := diffLines(want, canonical([]pmetric.Metrics{second, ours}, oursPort))
	require.Empty(t, onlyStock)
	require.Empty(t, onlyOurs)

	// The stock's start time of a stale point from a stale `_created`.
	quirk := equivSample(stockTs, stockPort, stockScopeName)
	findMetric(quirk, "depth").Gauge().DataPoints().At(1).SetStartTimestamp(1 << 63)
	onlyStock, onlyOurs = diffLines(canonical([]pmetric.Metrics{quirk}, stockPort),
		canonical([]pmetric.Metrics{equivSample(oursTs, oursPort, metadata.ScopeName)}, oursPort))
	require.Empty(t, onlyStock)
	require.Empty(t, onlyOurs)

	mutations := map[string]func(pmetric.Metrics){
		"start time of a live point at 1<<63": func(md pmetric.Metrics) {
			findMetric(md, "depth").Gauge().DataPoints().At(0).SetStartTimestamp(1 << 63)
		},
		"stale marker missing": func(md pmetric.Metrics) {
			findMetric(md, "depth").Gauge().DataPoints().At(1).SetFlags(pmetric.DefaultDataPointFlags)
		},
		"unit": func(md pmetric.Metrics) { findMetric(md, "wait_seconds").SetUnit("ms") },
		"description": func(md pmetric.Metrics) {
			findMetric(md, "jobs_total").SetDescription("Jobs.")
		},
		"prometheus.type": func(md pmetric.Metrics) {
			findMetric(md, "depth").Metadata().PutStr("prometheus.type", "unknown")
		},
		"monotonicity": func(md pmetric.Metrics) { findMetric(md, "jobs_total").Sum().SetIsMonotonic(false) },
		"exemplar trace id": func(md pmetric.Metrics) {
			findMetric(md, "jobs_total").Sum().DataPoints().At(0).Exemplars().At(0).SetTraceID(pcommon.TraceID{1})
		},
		"exemplar missing": func(md pmetric.Metrics) {
			findMetric(md, "wait_seconds").Histogram().DataPoints().At(0).Exemplars().RemoveIf(func(pmetric.Exemplar) bool { return true })
		},
		"exemplar attribute": func(md pmetric.Metrics) {
			findMetric(md, "jobs_total").Sum().DataPoints().At(0).Exemplars().At(0).FilteredAttributes().PutStr("user", "bob")
		},
		"start time": func(md pmetric.Metrics) {
			p := findMetric(md, "jobs_total").Sum().DataPoints().At(0)
			p.SetStartTimestamp(p.StartTimestamp() + 1e6)
		},
		"point time off the scrape's": func(md pmetric.Metrics) {
			p := findMetric(md, "depth").Gauge().DataPoints().At(0)
			p.SetTimestamp(p.Timestamp() + 1e6)
		},
		"value": func(md pmetric.Metrics) { findMetric(md, "depth").Gauge().DataPoints().At(0).SetDoubleValue(4) },
		"point attribute": func(md pmetric.Metrics) {
			findMetric(md, "depth").Gauge().DataPoints().At(0).Attributes().PutStr("queue", "z")
		},
		"bucket count": func(md pmetric.Metrics) {
			findMetric(md, "wait_seconds").Histogram().DataPoints().At(0).BucketCounts().SetAt(0, 2)
		},
		"quantile": func(md pmetric.Metrics) {
			findMetric(md, "rpc_seconds").Summary().DataPoints().At(0).QuantileValues().At(0).SetValue(0.3)
		},
		"duplicate point": func(md pmetric.Metrics) {
			dps := findMetric(md, "depth").Gauge().DataPoints()
			dps.At(0).CopyTo(dps.AppendEmpty())
		},
		"resource attribute": func(md pmetric.Metrics) {
			md.ResourceMetrics().At(0).Resource().Attributes().PutStr("service_name", "x")
		},
		"scope of the target": func(md pmetric.Metrics) {
			md.ResourceMetrics().At(0).ScopeMetrics().At(0).Scope().SetName("go.opentelemetry.io/collector/service")
		},
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			md := equivSample(oursTs, oursPort, metadata.ScopeName)
			mutate(md)
			onlyStock, onlyOurs := diffLines(want, canonical([]pmetric.Metrics{md}, oursPort))
			require.NotEmpty(t, append(onlyStock, onlyOurs...), "the comparison missed it")
		})
	}
}

// equivSample is one scrape as a receiver would emit it at scrapeTs.
func equivSample(scrapeTs pcommon.Timestamp, port, scope string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "app")
	rm.Resource().Attributes().PutStr("service.instance.id", "127.0.0.1:"+port)
	rm.Resource().Attributes().PutStr("server.port", port)
	rm.Resource().Attributes().PutStr("url.scheme", "http")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scope)
	sm.Scope().SetVersion("latest")
	newMetric := func(name, typ string) pmetric.Metric {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetDescription("About " + name + ".")
		m.Metadata().PutStr("prometheus.type", typ)
		return m
	}

	up := newMetric("up", "gauge").SetEmptyGauge().DataPoints().AppendEmpty()
	up.SetTimestamp(scrapeTs)
	up.SetDoubleValue(1)

	jobs := newMetric("jobs_total", "counter").SetEmptySum()
	jobs.SetIsMonotonic(true)
	jobs.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	p := jobs.DataPoints().AppendEmpty()
	p.SetStartTimestamp(1_764_748_000_500 * 1e6)
	p.SetTimestamp(scrapeTs)
	p.SetDoubleValue(7)
	p.Attributes().PutStr("queue", "a")
	e := p.Exemplars().AppendEmpty()
	e.SetTraceID(pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35})
	e.SetSpanID(pcommon.SpanID{0x00, 0xf0, 0x67})
	e.SetDoubleValue(1)
	e.SetTimestamp(1_764_748_800_500 * 1e6)
	e.FilteredAttributes().PutStr("user", "alice")

	depth := newMetric("depth", "gauge").SetEmptyGauge()
	live := depth.DataPoints().AppendEmpty()
	live.SetTimestamp(scrapeTs)
	live.SetDoubleValue(3)
	live.Attributes().PutStr("queue", "a")
	stale := depth.DataPoints().AppendEmpty()
	stale.SetTimestamp(scrapeTs)
	stale.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	stale.Attributes().PutStr("queue", "b")

	wait := newMetric("wait_seconds", "histogram")
	wait.SetUnit("s")
	h := wait.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	hp := h.DataPoints().AppendEmpty()
	hp.SetTimestamp(scrapeTs)
	hp.SetCount(2)
	hp.SetSum(3.5)
	hp.ExplicitBounds().FromRaw([]float64{1})
	hp.BucketCounts().FromRaw([]uint64{1, 1})
	he := hp.Exemplars().AppendEmpty()
	he.SetTimestamp(scrapeTs)
	he.SetDoubleValue(0.5)

	rpc := newMetric("rpc_seconds", "summary").SetEmptySummary().DataPoints().AppendEmpty()
	rpc.SetTimestamp(scrapeTs)
	rpc.SetCount(9)
	rpc.SetSum(2)
	q := rpc.QuantileValues().AppendEmpty()
	q.SetQuantile(0.5)
	q.SetValue(0.1)
	return md
}

// findMetric finds a metric by name in md, or returns an empty one.
func findMetric(md pmetric.Metrics, name string) pmetric.Metric {
	found := pmetric.NewMetric()
	forEachMetric(md, func(_ pmetric.ResourceMetrics, _ pmetric.ScopeMetrics, m pmetric.Metric) {
		if m.Name() == name {
			found = m
		}
	})
	return found
}
