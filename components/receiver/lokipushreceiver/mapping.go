// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

const serviceNameAttr = "service.name"

// indexedLabelAttributes maps the underscored Loki label names of the
// resource attributes that Loki's native OTLP ingestion turns into index
// labels by default back to their dotted OpenTelemetry names, so a stream
// labelled {k8s_namespace_name="x"} is indexed by Loki under the same label
// after the OTLP round trip. service.name is handled by service_name_labels.
var indexedLabelAttributes = map[string]string{
	"service_namespace":           "service.namespace",
	"service_instance_id":         "service.instance.id",
	"deployment_environment":      "deployment.environment",
	"deployment_environment_name": "deployment.environment.name",
	"cloud_region":                "cloud.region",
	"cloud_availability_zone":     "cloud.availability_zone",
	"container_name":              "container.name",
	"k8s_cluster_name":            "k8s.cluster.name",
	"k8s_container_name":          "k8s.container.name",
	"k8s_cronjob_name":            "k8s.cronjob.name",
	"k8s_daemonset_name":          "k8s.daemonset.name",
	"k8s_deployment_name":         "k8s.deployment.name",
	"k8s_job_name":                "k8s.job.name",
	"k8s_namespace_name":          "k8s.namespace.name",
	"k8s_pod_name":                "k8s.pod.name",
	"k8s_replicaset_name":         "k8s.replicaset.name",
	"k8s_statefulset_name":        "k8s.statefulset.name",
}

// severityKeys are the label / structured metadata names that carry the
// level of a line, in order of precedence.
var severityKeys = []string{"level", "severity", "detected_level"}

// mapper turns decoded streams into plog.Logs.
type mapper struct {
	serviceNameLabels []string
}

// toLogs builds one ResourceLogs per stream that has entries. observed is
// the receive time, set as every record's ObservedTimestamp.
func (m *mapper) toLogs(streams []stream, observed pcommon.Timestamp) plog.Logs {
	ld := plog.NewLogs()
	rls := ld.ResourceLogs()
	n := 0
	for i := range streams {
		if len(streams[i].entries) > 0 {
			n++
		}
	}
	rls.EnsureCapacity(n)
	for i := range streams {
		s := &streams[i]
		if len(s.entries) == 0 {
			continue
		}
		rl := rls.AppendEmpty()
		m.putResource(rl.Resource().Attributes(), s.labels)
		streamSevText, streamSevNum := severityFrom(s.labels)
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		lrs.EnsureCapacity(len(s.entries))
		for j := range s.entries {
			var lift *traceLift
			if s.lifts != nil {
				lift = &s.lifts[j]
			}
			putRecord(lrs.AppendEmpty(), &s.entries[j], lift, observed, streamSevText, streamSevNum)
		}
	}
	return ld
}

// serviceLabel returns the index in ls of the label that provides
// service.name, or -1.
func (m *mapper) serviceLabel(ls []label) int {
	for _, name := range m.serviceNameLabels {
		for i := range ls {
			if ls[i].name == name {
				return i
			}
		}
	}
	return -1
}

// putResource maps a stream label set to resource attributes:
//   - the first label named in service_name_labels becomes service.name
//     (and, unless it is service_name itself, is also kept under its own
//     name so the original label set stays recoverable);
//   - labels named after a default Loki OTLP index label in underscore form
//     get the dotted OpenTelemetry name;
//   - every other label is kept under its own name.
func (m *mapper) putResource(attrs pcommon.Map, ls []label) {
	attrs.EnsureCapacity(len(ls) + 1)
	svc := m.serviceLabel(ls)
	for i := range ls {
		l := &ls[i]
		if i == svc && l.name == "service_name" {
			continue
		}
		if dotted, ok := indexedLabelAttributes[l.name]; ok {
			attrs.PutStr(dotted, l.value)
			continue
		}
		attrs.PutStr(l.name, l.value)
	}
	if svc >= 0 {
		attrs.PutStr(serviceNameAttr, ls[svc].value)
	}
}

// putRecord fills lr from e; lift, if not nil, is what the decoder did
// about e's trace context.
func putRecord(lr plog.LogRecord, e *entry, lift *traceLift, observed pcommon.Timestamp, sevText string, sevNum plog.SeverityNumber) {
	lr.SetTimestamp(pcommon.Timestamp(uint64(e.ts))) //nolint:gosec // decoders guarantee e.ts >= 0
	lr.SetObservedTimestamp(observed)
	lr.Body().SetStr(e.line)

	if t, n, ok := severityFromMetadata(e.metadata); ok {
		sevText, sevNum = t, n
	}
	if sevText != "" {
		lr.SetSeverityText(sevText)
		lr.SetSeverityNumber(sevNum)
	}

	traceIdx, spanIdx := -1, -1
	var haveTrace, haveSpan bool
	for i := range e.metadata {
		switch e.metadata[i].name {
		case "trace_id", "traceId", "traceID":
			if !haveTrace {
				if tid, ok := parseTraceID(e.metadata[i].value); ok {
					lr.SetTraceID(tid)
					haveTrace, traceIdx = true, i
				}
			}
		case "span_id", "spanId", "spanID":
			if !haveSpan {
				if sid, ok := parseSpanID(e.metadata[i].value); ok {
					lr.SetSpanID(sid)
					haveSpan, spanIdx = true, i
				}
			}
		}
	}
	if !haveTrace || !haveSpan {
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		var tok, sok bool
		switch {
		case lift == nil || lift.traceKeys == traceKeysUnknown:
			tid, sid, tok, sok = traceContextFromLine(e.line, !haveTrace, !haveSpan)
		case lift.traceKeys == traceKeysLifted:
			tid, sid, tok, sok = lift.traceID, lift.spanID, lift.hasTraceID, lift.hasSpanID
		}
		if tok && !haveTrace {
			lr.SetTraceID(tid)
		}
		if sok && !haveSpan {
			lr.SetSpanID(sid)
		}
	}

	if len(e.metadata) > 0 {
		attrs := lr.Attributes()
		attrs.EnsureCapacity(len(e.metadata))
		for i := range e.metadata {
			if i == traceIdx || i == spanIdx {
				// Lifted into TraceID/SpanID; Loki stores those back as
				// structured metadata trace_id / span_id.
				continue
			}
			attrs.PutStr(e.metadata[i].name, e.metadata[i].value)
		}
	}
}

func severityFrom(ls []label) (string, plog.SeverityNumber) {
	for _, k := range severityKeys {
		for i := range ls {
			if ls[i].name == k {
				return ls[i].value, severityNumber(ls[i].value)
			}
		}
	}
	return "", plog.SeverityNumberUnspecified
}

func severityFromMetadata(md []label) (string, plog.SeverityNumber, bool) {
	if len(md) == 0 {
		return "", plog.SeverityNumberUnspecified, false
	}
	t, n := severityFrom(md)
	return t, n, t != ""
}

// severityNumber maps common level names (Python logging, Go slog/zap,
// syslog, Loki's detected_level) to an OpenTelemetry severity number.
func severityNumber(level string) plog.SeverityNumber {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "trace", "trc":
		return plog.SeverityNumberTrace
	case "debug", "dbg", "d":
		return plog.SeverityNumberDebug
	case "info", "information", "informational", "inf", "i":
		return plog.SeverityNumberInfo
	case "notice":
		return plog.SeverityNumberInfo2
	case "warn", "warning", "wrn", "w":
		return plog.SeverityNumberWarn
	case "error", "err", "eror", "e":
		return plog.SeverityNumberError
	case "critical", "crit", "alert":
		return plog.SeverityNumberFatal
	case "fatal", "panic", "emerg", "emergency", "dpanic":
		return plog.SeverityNumberFatal
	}
	return plog.SeverityNumberUnspecified
}

// parseTraceID accepts exactly 32 hex digits that are not all zero.
func parseTraceID(s string) (pcommon.TraceID, bool) {
	var id pcommon.TraceID
	if len(s) != 2*len(id) || !decodeHex(id[:], s) || id.IsEmpty() {
		return pcommon.TraceID{}, false
	}
	return id, true
}

// parseSpanID accepts exactly 16 hex digits that are not all zero.
func parseSpanID(s string) (pcommon.SpanID, bool) {
	var id pcommon.SpanID
	if len(s) != 2*len(id) || !decodeHex(id[:], s) || id.IsEmpty() {
		return pcommon.SpanID{}, false
	}
	return id, true
}

// hexValue is each hex digit's value, and 0xff for any other byte.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte(0); c < 10; c++ {
		t['0'+c] = c
	}
	for c := byte(0); c < 6; c++ {
		t['a'+c], t['A'+c] = 10+c, 10+c
	}
	return t
}()

// decodeHex decodes the 2*len(dst) hex digits of s into dst, as
// hex.Decode does, with one table look-up a digit and a single check at
// the end: a line's ids are decoded once per record.
func decodeHex(dst []byte, s string) bool {
	s = s[:2*len(dst)]
	var bad byte
	for i := range dst {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo
	}
	return bad < 0x10
}

// traceContextFromLine lifts trace_id/traceId/traceID and
// span_id/spanId/spanID from the top level of a line that is a JSON object.
// Lines that are not valid JSON, non-string values and ids that are not
// valid hex of the right length are left alone.
func traceContextFromLine(line string, wantTrace, wantSpan bool) (tid pcommon.TraceID, sid pcommon.SpanID, tok, sok bool) {
	// Cheap pre-checks before validating the whole line.
	if !startsAnObject(line) {
		return tid, sid, false, false
	}
	if !strings.Contains(line, `"trace`) && !strings.Contains(line, `"span`) {
		return tid, sid, false, false
	}
	var f lineTraceFields
	if !scanLineTraceFields(line, nil, &f) {
		return tid, sid, false, false
	}
	return traceContextFromFields(&f, wantTrace, wantSpan)
}

// liftTraceContextQuoted is traceContextFromLine for both ids of a line
// its decoder found may hold their keys. quotes, if not nil, are the
// positions of every '"' of the line, which then holds no '\\' and no
// control character: the scan skips from quote to quote.
func liftTraceContextQuoted(line string, quotes []int) (tid pcommon.TraceID, sid pcommon.SpanID, tok, sok bool) {
	var f lineTraceFields
	if !startsAnObject(line) || !scanLineTraceFields(line, quotes, &f) {
		return tid, sid, false, false
	}
	return traceContextFromFields(&f, true, true)
}

func startsAnObject(line string) bool {
	i := 0
	for i < len(line) && isJSONSpace(line[i]) {
		i++
	}
	return i < len(line) && line[i] == '{'
}

func traceContextFromFields(f *lineTraceFields, wantTrace, wantSpan bool) (tid pcommon.TraceID, sid pcommon.SpanID, tok, sok bool) {
	if wantTrace {
		for _, raw := range []string{f.traceSnake, f.traceCamel} {
			if raw != "" {
				if tid, tok = parseTraceID(rawJSONStringContent(raw)); tok {
					break
				}
			}
		}
	}
	if wantSpan {
		for _, raw := range []string{f.spanSnake, f.spanCamel} {
			if raw != "" {
				if sid, sok = parseSpanID(rawJSONStringContent(raw)); sok {
					break
				}
			}
		}
	}
	return tid, sid, tok, sok
}

// rawJSONStringContent is the content of the string literal raw. Without
// escapes that is raw minus its quotes, shared rather than copied: an id
// parses from it as from the unquoted copy (bytes that are not valid UTF-8
// fail the hex check either way).
func rawJSONStringContent(raw string) string {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	return unquoteJSONString(raw)
}
