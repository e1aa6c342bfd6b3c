package main

import "fmt"

// inEnv keeps the series of a span-metric vector whose service runs in the
// selected environment: Mimir's OTLP translation puts a service's resource
// attributes (deployment.environment among them) on target_info, joined to
// its series by job and instance.
func inEnv(vec string) string {
	return vec + ` and on (job, instance) target_info{deployment_environment=~"$environment"}`
}

// series writes metric{sel}, or the bare name when there is no selector.
func series(metric, sel string) string {
	if sel == "" {
		return metric
	}
	return metric + "{" + sel + "}"
}

// rateOf is the per-second rate of a counter, summed by the given labels
// (none: one series) after the environment filter.
func rateOf(metric, sel, by string) string {
	return fmt.Sprintf(`sum%s (%s)`, byClause(by), inEnv(fmt.Sprintf(`rate(%s[$__rate_interval])`, series(metric, sel))))
}

// increaseOf is a counter's increase over window, summed like rateOf.
func increaseOf(metric, sel, by, window string) string {
	return fmt.Sprintf(`sum%s (%s)`, byClause(by), inEnv(fmt.Sprintf(`increase(%s[%s])`, series(metric, sel), window)))
}

// quantile is a latency quantile of the span-metric histogram.
func quantile(q float64, sel, by, window string) string {
	le := "le"
	if by != "" {
		le = "le, " + by
	}
	return fmt.Sprintf(`histogram_quantile(%g, sum by (%s) (%s))`, q, le,
		inEnv(fmt.Sprintf(`rate(traces_spanmetrics_latency_bucket{%s}[%s])`, sel, window)))
}

// errorRatio is the share of calls with an error status. A group without
// errors has no error series at all; `or <total> * 0` makes its ratio 0
// instead of leaving it out.
func errorRatio(sel, by, window string) string {
	num := increaseOf("traces_spanmetrics_calls_total", sel+", "+errSpans, by, window)
	den := increaseOf("traces_spanmetrics_calls_total", sel, by, window)
	return "(" + num + " or " + den + " * 0) / " + den
}

func byClause(by string) string {
	if by == "" {
		return ""
	}
	return " by (" + by + ")"
}
