package harness

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// PromQL is a table of checks: each query must return what its PromWant
// says. A map, so the table needs no field names and a repeated query does
// not compile; rows are checked and reported in query order.
type PromQL map[string]PromWant

// PromWant is what a query must return; build it with Value, Approx or
// Series.
type PromWant struct {
	series bool    // compare the number of series, not a value
	approx bool    // compare within floating-point summation error
	value  float64 // the value, or the number of series
}

// Value wants exactly one sample, equal to v.
func Value(v float64) PromWant { return PromWant{value: v} }

// Approx wants exactly one sample within a relative 1e-6 of v: sums of
// float durations differ from the exact product in the last digits.
func Approx(v float64) PromWant { return PromWant{value: v, approx: true} }

// Series wants n series, whatever their values.
func Series(n int) PromWant { return PromWant{value: float64(n), series: true} }

func (w PromWant) String() string {
	switch {
	case w.series:
		return fmt.Sprintf("%v series", w.value)
	case w.approx:
		return fmt.Sprintf("≈ %v", w.value)
	}
	return fmt.Sprint(w.value)
}

// Check runs query and says how its result differs from want (nil if not).
func (p *Prometheus) Check(query string, want PromWant) error {
	s, err := p.Query(query)
	if err != nil {
		return err
	}
	if want.series {
		if float64(len(s)) != want.value {
			return fmt.Errorf("%s returned %d series, want %s: %v", query, len(s), want, s)
		}
		return nil
	}
	if len(s) != 1 {
		return fmt.Errorf("%s returned %d samples, want one of %s: %v", query, len(s), want, s)
	}
	v := s[0].Value
	if v == want.value || want.approx && math.Abs(v-want.value) <= 1e-6*math.Max(1, math.Abs(want.value)) {
		return nil
	}
	return fmt.Errorf("%s = %v, want %s", query, v, want)
}

// check runs every row and returns the failures in query order.
func (p *Prometheus) check(table PromQL) []error {
	var failed []error
	for _, q := range slices.Sorted(maps.Keys(table)) {
		if err := p.Check(q, table[q]); err != nil {
			failed = append(failed, err)
		}
	}
	return failed
}

// ExpectWait is how long Expect waits for a table to hold: derived metrics
// are flushed every second in tests, and a loaded machine delays that.
const ExpectWait = 30 * time.Second

// Expect checks the table, waiting up to ExpectWait for rows that do not
// hold yet, and reports every row that never did.
func (p *Prometheus) Expect(t testing.TB, table PromQL) {
	t.Helper()
	deadline := time.Now().Add(ExpectWait)
	for {
		failed := p.check(table)
		if len(failed) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, err := range failed {
				t.Error(err)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitFor waits up to timeout for the table to hold and fails the test
// now with the rows that did not: for a test's preconditions.
func (p *Prometheus) WaitFor(t testing.TB, timeout time.Duration, table PromQL) {
	t.Helper()
	Eventually(t, timeout, func() error { return errors.Join(p.check(table)...) })
}

// MetricNames is every metric name Prometheus has stored.
func (p *Prometheus) MetricNames() ([]string, error) {
	var out struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := p.get("/api/v1/label/__name__/values", url.Values{}, &out); err != nil {
		return nil, err
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("metric names: %s", out.Error)
	}
	return out.Data, nil
}

// promqlParser accepts everything a current Prometheus can be told to
// accept, so a dashboard query is never refused for a feature flag.
var promqlParser = parser.NewParser(parser.Options{
	EnableExperimentalFunctions:  true,
	ExperimentalDurationExpr:     true,
	EnableExtendedRangeSelectors: true,
	EnableBinopFillModifiers:     true,
})

// SelectedMetricNames parses expr (plain PromQL: substitute Grafana's
// $variables first) and returns, sorted, the metric names its selectors
// select: a name written in the query whether or not it is stored, and
// for a regular-expression or negated name matcher the stored names it
// matches. A selector with no name matcher at all is an error, since it
// selects by labels alone.
func (p *Prometheus) SelectedMetricNames(expr string) ([]string, error) {
	ast, err := promqlParser.ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", expr, err)
	}
	var selectors []*parser.VectorSelector
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			selectors = append(selectors, vs)
		}
		return nil
	})
	names := map[string]bool{}
	var stored []string
	for _, vs := range selectors {
		var nameMatchers []*labels.Matcher
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName {
				nameMatchers = append(nameMatchers, m)
			}
		}
		if len(nameMatchers) == 0 {
			return nil, fmt.Errorf("%q: selector %s has no metric name", expr, vs)
		}
		if len(nameMatchers) == 1 && nameMatchers[0].Type == labels.MatchEqual {
			names[nameMatchers[0].Value] = true
			continue
		}
		if stored == nil {
			if stored, err = p.MetricNames(); err != nil {
				return nil, err
			}
		}
		for _, name := range stored {
			if matchesAll(nameMatchers, name) {
				names[name] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(names)), nil
}

func matchesAll(ms []*labels.Matcher, v string) bool {
	return !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches(v) })
}
