// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package shutdownlimitextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/shutdownlimitextension"

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"
)

// limiter is the extension. It implements extensioncapabilities.
// PipelineWatcher: the service calls NotReady as the first step of a
// shutdown, before any pipeline stops; and extensioncapabilities.
// ConfigSnapshotWatcher, to learn the unit each exporter's queue counts in.
type limiter struct {
	cfg    *Config
	logger *zap.Logger
	exit   func()

	mu    sync.Mutex
	timer *time.Timer
	// units is each exporter's queue unit by exporter id ("items",
	// "requests", "bytes"), from the collector's effective config.
	units map[string]string
}

// NotifyConfigSnapshot reads each exporter's queue unit: its
// sending_queue's `sizer` (exporterhelper's default is requests, and an
// exporter with a queue of its own, as prometheus_remote_write's
// remote_write_queue, is read as counting requests). It reads the config
// as written: at v0.158.0 the effective config loses the sizer (it
// marshals as `{}`, see `print-config`), so the effective one is only the
// fallback for a sizer given as ${env:...}.
func (l *limiter) NotifyConfigSnapshot(_ context.Context, snap extensioncapabilities.ConfigSnapshot) error {
	written, effective := exporterConfigs(snap.Unexpanded()), exporterConfigs(snap.Effective())
	units := map[string]string{}
	for id, cfg := range written {
		unit, set := sizer(cfg)
		if !knownUnit(unit) {
			unit, _ = sizer(effective[id])
		}
		switch {
		case knownUnit(unit):
		case set:
			unit = "" // given, but not readable here: logged without a unit
		default:
			unit = "requests"
		}
		units[id] = unit
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.units = units
	return nil
}

func exporterConfigs(conf *confmap.Conf) map[string]any {
	if conf == nil {
		return nil
	}
	exporters, _ := conf.ToStringMap()["exporters"].(map[string]any)
	return exporters
}

// sizer returns an exporter config's sending_queue sizer, and whether one
// is set at all.
func sizer(exporterConfig any) (string, bool) {
	cfg, _ := exporterConfig.(map[string]any)
	queue, _ := cfg["sending_queue"].(map[string]any)
	v, set := queue["sizer"]
	unit, _ := v.(string)
	return unit, set && v != nil
}

func knownUnit(u string) bool { return u == "items" || u == "bytes" || u == "requests" }

func newLimiter(cfg *Config, logger *zap.Logger, exit func()) *limiter {
	return &limiter{cfg: cfg, logger: logger, exit: exit}
}

func (l *limiter) Start(context.Context, component.Host) error { return nil }

// Shutdown runs once every pipeline has stopped: the stop made it in time.
// The timer must not outlive this instance, since a config reload shuts the
// old service down and goes on running.
func (l *limiter) Shutdown(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	return nil
}

func (l *limiter) Ready() error { return nil }

// NotReady starts the clock of the shutdown.
func (l *limiter) NotReady() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer == nil {
		l.timer = time.AfterFunc(l.cfg.Timeout, l.giveUp)
	}
	return nil
}

func (l *limiter) giveUp() {
	queued, err := l.queueSizes()
	if err != nil {
		l.logger.Warn("Cannot read the exporters' queue sizes", zap.Error(err))
	}
	names := make([]string, 0, len(queued))
	for name := range queued {
		names = append(names, name)
	}
	sort.Strings(names)
	l.mu.Lock()
	units := l.units
	l.mu.Unlock()
	for _, name := range names {
		if queued[name] > 0 {
			unit, known := units[name]
			field := "queued_" + unit
			switch {
			case !known:
				field = "queued_requests" // no config seen: exporterhelper's default
			case unit == "":
				field = "queued"
			}
			l.logger.Error("Shutdown timed out: exporter still holds queued data; an in-memory queue loses it, an on-disk queue keeps it for the next start",
				zap.String("exporter", name), zap.Int64(field, queued[name]))
		}
	}
	l.logger.Error("Shutdown did not finish in time: exiting", zap.Duration("timeout", l.cfg.Timeout))
	l.exit()
}

// exporterLabel finds the exporter a queue-size sample belongs to.
var exporterLabel = regexp.MustCompile(`[{,]exporter="([^"]*)"`)

// queueSizes reads otelcol_exporter_queue_size by exporter (in the queue's
// own unit: its sizer's) from the collector's own Prometheus endpoint, the
// one place the exporters publish it.
func (l *limiter) queueSizes() (map[string]int64, error) {
	if l.cfg.MetricsURL == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.cfg.MetricsURL, http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseQueueSizes(resp.Body)
}

func parseQueueSizes(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_exporter_queue_size{") {
			continue
		}
		m := exporterLabel.FindStringSubmatch(line)
		fields := strings.Fields(line)
		if m == nil || len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			continue
		}
		out[m[1]] += int64(v)
	}
	return out, sc.Err()
}
