// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config of the spanderive connector. Each part mirrors the stock component
// it replaces, under that component's option names.
type Config struct {
	// InstanceID is written as collector.instance.id (Prometheus label
	// collector_instance_id) on every series, so several gateways writing
	// the same series to Mimir stay apart.
	InstanceID string `mapstructure:"instance_id"`

	SpanMetrics  SpanMetricsConfig  `mapstructure:"span_metrics"`
	ServiceGraph ServiceGraphConfig `mapstructure:"service_graph"`
	Tokens       TokensConfig       `mapstructure:"tokens"`
}

// Dimension is a span (then resource) attribute that becomes a label.
// Without a default, a span lacking it has no such label.
type Dimension struct {
	Name    string  `mapstructure:"name"`
	Default *string `mapstructure:"default"`
}

// SpanMetricsConfig: traces.spanmetrics.calls and traces.spanmetrics.latency.
type SpanMetricsConfig struct {
	Dimensions []Dimension `mapstructure:"dimensions"`
	// Buckets of the latency histogram, written in seconds.
	Buckets   []time.Duration `mapstructure:"buckets"`
	Exemplars ExemplarsConfig `mapstructure:"exemplars"`
	// AggregationCardinalityLimit is the number of series per resource and
	// metric; spans of further series are counted in one series labelled
	// otel.metric.overflow=true. 0: no limit.
	AggregationCardinalityLimit int           `mapstructure:"aggregation_cardinality_limit"`
	MetricsFlushInterval        time.Duration `mapstructure:"metrics_flush_interval"`
	// MetricsExpiration drops a resource (service) not seen this long;
	// SeriesExpiration drops one series not updated this long. 0: never.
	MetricsExpiration time.Duration `mapstructure:"metrics_expiration"`
	SeriesExpiration  time.Duration `mapstructure:"series_expiration"`
	// ResourceMetricsCacheSize bounds the resources kept; the least
	// recently seen goes first.
	ResourceMetricsCacheSize int `mapstructure:"resource_metrics_cache_size"`
}

// ExemplarsConfig: trace and span ids of up to MaxPerDataPoint spans per
// series and flush.
type ExemplarsConfig struct {
	Enabled         bool `mapstructure:"enabled"`
	MaxPerDataPoint int  `mapstructure:"max_per_data_point"`
}

// ServiceGraphConfig: traces_service_graph_* (request_total,
// request_failed_total, request_server and request_client histograms).
type ServiceGraphConfig struct {
	// Dimensions are read from the resource, then the span, of each side,
	// and written as client_<name> and server_<name>.
	Dimensions []string        `mapstructure:"dimensions"`
	Buckets    []time.Duration `mapstructure:"latency_histogram_buckets"`
	// VirtualNodePeerAttributes name the server of a CLIENT span whose
	// SERVER half never arrived: the first one the span has. Empty: no
	// virtual nodes.
	VirtualNodePeerAttributes []string `mapstructure:"virtual_node_peer_attributes"`
	// DatabaseNameAttributes make a CLIENT span an edge to a database at
	// once (connection_type database).
	DatabaseNameAttributes []string      `mapstructure:"database_name_attributes"`
	Store                  StoreConfig   `mapstructure:"store"`
	MetricsFlushInterval   time.Duration `mapstructure:"metrics_flush_interval"`
	// StoreExpirationLoop is how often waiting edges are expired.
	StoreExpirationLoop time.Duration `mapstructure:"store_expiration_loop"`
	// StaleSeries drops a service-graph series not updated this long
	// (checked every CacheLoop).
	StaleSeries time.Duration `mapstructure:"stale_series"`
	CacheLoop   time.Duration `mapstructure:"cache_loop"`
}

// StoreConfig: edges waiting for their other half.
type StoreConfig struct {
	TTL      time.Duration `mapstructure:"ttl"`
	MaxItems int           `mapstructure:"max_items"`
}

// TokensConfig: cumulative token counters from GenAI spans.
type TokensConfig struct {
	// InputAttribute and OutputAttribute hold the span's token counts;
	// a span without one is not counted in that metric.
	InputAttribute  string `mapstructure:"input_attribute"`
	OutputAttribute string `mapstructure:"output_attribute"`
	// Attributes label the counters; every one needs a default, so that
	// no span is left out for lacking it.
	Attributes []TokenAttribute `mapstructure:"attributes"`
	// MaxStale drops a counter not updated this long (it restarts from 0).
	MaxStale time.Duration `mapstructure:"max_stale"`
}

// TokenAttribute is a span attribute that labels the token counters.
type TokenAttribute struct {
	Key          string `mapstructure:"key"`
	DefaultValue string `mapstructure:"default_value"`
}

// Validate reports the first setting the connector cannot work with.
func (c *Config) Validate() error {
	var errs []error
	if !slices.IsSorted(c.SpanMetrics.Buckets) {
		errs = append(errs, errors.New("span_metrics.buckets must be in increasing order"))
	}
	if !slices.IsSorted(c.ServiceGraph.Buckets) {
		errs = append(errs, errors.New("service_graph.latency_histogram_buckets must be in increasing order"))
	}
	if c.SpanMetrics.MetricsFlushInterval <= 0 {
		errs = append(errs, errors.New("span_metrics.metrics_flush_interval must be positive"))
	}
	if c.ServiceGraph.MetricsFlushInterval <= 0 {
		errs = append(errs, errors.New("service_graph.metrics_flush_interval must be positive"))
	}
	if c.ServiceGraph.Store.TTL <= 0 || c.ServiceGraph.Store.MaxItems <= 0 {
		errs = append(errs, errors.New("service_graph.store.ttl and max_items must be positive"))
	}
	if c.ServiceGraph.StoreExpirationLoop <= 0 || c.ServiceGraph.CacheLoop <= 0 {
		errs = append(errs, errors.New("service_graph.store_expiration_loop and cache_loop must be positive"))
	}
	if c.SpanMetrics.AggregationCardinalityLimit < 0 {
		errs = append(errs, errors.New("span_metrics.aggregation_cardinality_limit must not be negative"))
	}
	if c.SpanMetrics.ResourceMetricsCacheSize <= 0 {
		errs = append(errs, errors.New("span_metrics.resource_metrics_cache_size must be positive"))
	}
	if c.SpanMetrics.Exemplars.Enabled && c.SpanMetrics.Exemplars.MaxPerDataPoint <= 0 {
		errs = append(errs, errors.New("span_metrics.exemplars.max_per_data_point must be positive"))
	}
	if c.Tokens.InputAttribute == "" || c.Tokens.OutputAttribute == "" {
		errs = append(errs, errors.New("tokens.input_attribute and tokens.output_attribute must be set"))
	}
	for _, a := range c.Tokens.Attributes {
		if a.Key == "" || a.DefaultValue == "" {
			errs = append(errs, fmt.Errorf("tokens.attributes: %q needs a key and a default_value", a.Key))
		}
	}
	for _, d := range c.SpanMetrics.Dimensions {
		if d.Name == "" {
			errs = append(errs, errors.New("span_metrics.dimensions: a dimension has no name"))
		}
	}
	return errors.Join(errs...)
}
