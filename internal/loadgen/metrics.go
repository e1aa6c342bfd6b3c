package loadgen

import (
	"bufio"
	"fmt"
	"net/http"
	"sync"
)

// Metric families MetricsHandler serves, named like the FastAPI backend's.
const (
	RequestsMetric = "gatewayz_http_requests_total"           // counter
	InflightMetric = "gatewayz_provider_inflight_requests"    // gauge
	LatencyMetric  = "gatewayz_http_request_duration_seconds" // histogram
)

// latencyBuckets are the histogram's upper bounds; each labelled
// histogram is len+1 bucket series (with +Inf), _sum and _count.
var latencyBuckets = []string{"0.05", "0.1", "0.25", "0.5", "1", "2.5"}

// MetricsHandler serves Prometheus text exposition with `series` series
// (counters, gauges, a histogram family) whose values move on every
// scrape: a quarter of the series (in whole histograms) are the latency
// histogram, the rest split between the counter and the gauge.
func MetricsHandler(series int) http.Handler {
	perHist := len(latencyBuckets) + 3
	hists := series / 4 / perHist
	rest := series - hists*perHist
	return &metricsHandler{counters: rest - rest/2, gauges: rest / 2, hists: hists}
}

type metricsHandler struct {
	counters, gauges, hists int
	mu                      sync.Mutex
	scrapes                 int64
}

// labels names series i of a family: model and route vary first, so even
// few series look like the backend's.
func seriesLabels(i int) string {
	sc := Scenario{}
	_, model := sc.Provider(i)
	return fmt.Sprintf(`model=%q,route="/v1/route/%d"`, model, i)
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	h.scrapes++
	n := h.scrapes
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriterSize(w, 64<<10)
	defer b.Flush()
	if h.counters > 0 {
		fmt.Fprintf(b, "# HELP %s Requests served.\n# TYPE %s counter\n", RequestsMetric, RequestsMetric)
		for i := range h.counters {
			// Counters only grow: i+1 more on every scrape.
			fmt.Fprintf(b, "%s{%s} %d\n", RequestsMetric, seriesLabels(i), n*int64(i%10+1))
		}
	}
	if h.gauges > 0 {
		fmt.Fprintf(b, "# HELP %s Requests in flight to a provider.\n# TYPE %s gauge\n", InflightMetric, InflightMetric)
		for i := range h.gauges {
			fmt.Fprintf(b, "%s{%s} %d\n", InflightMetric, seriesLabels(i), (n+int64(i))%17)
		}
	}
	if h.hists > 0 {
		fmt.Fprintf(b, "# HELP %s Request latency.\n# TYPE %s histogram\n", LatencyMetric, LatencyMetric)
		for i := range h.hists {
			l := seriesLabels(i)
			// Every scrape adds one observation per bucket boundary.
			for j, le := range latencyBuckets {
				fmt.Fprintf(b, "%s_bucket{%s,le=%q} %d\n", LatencyMetric, l, le, n*int64(j+1))
			}
			count := n * int64(len(latencyBuckets)+1)
			fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %d\n", LatencyMetric, l, count)
			fmt.Fprintf(b, "%s_sum{%s} %g\n", LatencyMetric, l, float64(n)*4.4)
			fmt.Fprintf(b, "%s_count{%s} %d\n", LatencyMetric, l, count)
		}
	}
}
