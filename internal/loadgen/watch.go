package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The queries of the live summary (make dev). They read the names the
// dashboards read, so a summary that shows data means Grafana would too.
const (
	QueryRequests    = `sum(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER", service="gatewayz-api"})`
	QueryFailed      = `sum(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER", service="gatewayz-api", status_code="STATUS_CODE_ERROR"})`
	QueryRequestRate = `sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER", service="gatewayz-api"}[1m]))`
	// The model is on the provider CLIENT span, so this is the provider
	// call's latency.
	QueryP95ByModel = `histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(traces_spanmetrics_latency_bucket{gen_ai_request_model!=""}[1m])))`
	QueryEdges      = `sum by (client, server) (traces_service_graph_request_total)`
	QueryEdgeFailed = `sum by (client, server) (traces_service_graph_request_failed_total)`
	QueryTokensIn   = `sum by (gen_ai_request_model) (gen_ai_client_token_usage_input_total)`
	QueryTokensOut  = `sum by (gen_ai_request_model) (gen_ai_client_token_usage_output_total)`
)

// Summary is the live view of what the pipeline derived so far.
type Summary struct {
	Requests, Failed float64 // gateway SERVER spans, all and failed
	RequestRate      float64 // per second over the last minute; NaN until Prometheus has two samples
	P95ByModel       map[string]float64
	Edges            []Edge // sorted by client, server
	TokensIn         map[string]float64
	TokensOut        map[string]float64
}

// Edge is one service-graph edge.
type Edge struct {
	Client, Server   string
	Requests, Failed float64
}

type promSample struct {
	labels map[string]string
	value  float64
}

// Summarize runs the summary's queries against the Prometheus API at
// promURL (base URL, as for /api/v1/query).
func Summarize(ctx context.Context, promURL string) (Summary, error) {
	s := Summary{RequestRate: math.NaN(), P95ByModel: map[string]float64{}, TokensIn: map[string]float64{}, TokensOut: map[string]float64{}}
	// The first failure ends the round: Prometheus is down or not up yet.
	var firstErr error
	q := func(query string) []promSample {
		if firstErr != nil {
			return nil
		}
		r, err := promQuery(ctx, promURL, query)
		if err != nil {
			firstErr = fmt.Errorf("%s: %w", query, err)
		}
		return r
	}
	one := func(query string, into *float64) {
		if r := q(query); len(r) == 1 {
			*into = r[0].value
		}
	}
	one(QueryRequests, &s.Requests)
	one(QueryFailed, &s.Failed)
	one(QueryRequestRate, &s.RequestRate)
	for _, r := range q(QueryP95ByModel) {
		if !math.IsNaN(r.value) {
			s.P95ByModel[r.labels["gen_ai_request_model"]] = r.value
		}
	}
	failed := map[[2]string]float64{}
	for _, r := range q(QueryEdgeFailed) {
		failed[[2]string{r.labels["client"], r.labels["server"]}] = r.value
	}
	for _, r := range q(QueryEdges) {
		c, sv := r.labels["client"], r.labels["server"]
		s.Edges = append(s.Edges, Edge{Client: c, Server: sv, Requests: r.value, Failed: failed[[2]string{c, sv}]})
	}
	slices.SortFunc(s.Edges, func(a, b Edge) int {
		return strings.Compare(a.Client+"\x00"+a.Server, b.Client+"\x00"+b.Server)
	})
	for _, r := range q(QueryTokensIn) {
		s.TokensIn[r.labels["gen_ai_request_model"]] = r.value
	}
	for _, r := range q(QueryTokensOut) {
		s.TokensOut[r.labels["gen_ai_request_model"]] = r.value
	}
	return s, firstErr
}

func promQuery(ctx context.Context, base, query string) ([]promSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(base, "/")+"/api/v1/query?"+url.Values{"query": {query}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("%s", out.Error)
	}
	samples := make([]promSample, 0, len(out.Data.Result))
	for _, r := range out.Data.Result {
		v, err := strconv.ParseFloat(fmt.Sprint(r.Value[1]), 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %w", r.Value[1], err)
		}
		samples = append(samples, promSample{labels: r.Metric, value: v})
	}
	return samples, nil
}

// String is the summary as a few lines for a terminal.
func (s Summary) String() string {
	var b strings.Builder
	rate := "-"
	if !math.IsNaN(s.RequestRate) {
		rate = fmt.Sprintf("%.1f/s", s.RequestRate)
	}
	errPct := 0.0
	if s.Requests > 0 {
		errPct = 100 * s.Failed / s.Requests
	}
	fmt.Fprintf(&b, "requests %.0f (%s)  errors %.0f (%.1f%%)\n", s.Requests, rate, s.Failed, errPct)
	b.WriteString("  p95 by model:")
	if len(s.P95ByModel) == 0 {
		b.WriteString(" -")
	}
	for _, m := range sortedKeys(s.P95ByModel) {
		fmt.Fprintf(&b, " %s %s", m, time.Duration(s.P95ByModel[m]*float64(time.Second)).Round(time.Millisecond))
	}
	b.WriteString("\n  edges:")
	if len(s.Edges) == 0 {
		b.WriteString(" -")
	}
	for _, e := range s.Edges {
		fmt.Fprintf(&b, " %s->%s %.0f", e.Client, e.Server, e.Requests)
		if e.Failed > 0 {
			fmt.Fprintf(&b, " (%.0f failed)", e.Failed)
		}
	}
	b.WriteString("\n  tokens in/out:")
	if len(s.TokensIn) == 0 && len(s.TokensOut) == 0 {
		b.WriteString(" -")
	}
	models := sortedKeys(s.TokensIn)
	for _, m := range sortedKeys(s.TokensOut) {
		if _, ok := s.TokensIn[m]; !ok {
			models = append(models, m)
		}
	}
	for _, m := range models {
		fmt.Fprintf(&b, " %s %.0f/%.0f", m, s.TokensIn[m], s.TokensOut[m])
	}
	return b.String()
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
