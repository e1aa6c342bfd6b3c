// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestLegacyJSONShape(t *testing.T) {
	// python-logging-loki's version "0" emitter / Loki < 0.4.
	body := `{"streams": [{"labels": "{application=\"gatewayz-api\", severity=\"warning\", logger=\"app\"}", "entries": [{"ts": "2025-11-27T03:25:41.123456+00:00", "line": "disk almost full"}, {"ts": "1764213941123456789", "line": "second"}]}]}`
	recs := pushRecords(t, legacyPushPath, []byte(body), jsonHeaders)
	require.Len(t, recs, 2)
	assert.Equal(t, map[string]any{
		"service.name": "gatewayz-api",
		"application":  "gatewayz-api",
		"severity":     "warning",
		"logger":       "app",
	}, recs[0].resource)
	assert.Equal(t, pcommon.Timestamp(time.Date(2025, 11, 27, 3, 25, 41, 123456000, time.UTC).UnixNano()), recs[0].record.Timestamp())
	assert.Equal(t, "disk almost full", recs[0].record.Body().Str())
	assert.Equal(t, plog.SeverityNumberWarn, recs[0].record.SeverityNumber())
	assert.Equal(t, pcommon.Timestamp(1764213941123456789), recs[1].record.Timestamp())
}

func TestStructuredMetadataJSON(t *testing.T) {
	body := `{"streams":[{"stream":{"service_name":"checkout"},"values":[` +
		`["1700000000000000001","with metadata",{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","pod":"checkout-7d9f","detected_level":"debug"}],` +
		`["1700000000000000002","null metadata",null],` +
		`["1700000000000000003","no metadata"]]}]}`
	recs := pushRecords(t, pushPath, []byte(body), jsonHeaders)
	require.Len(t, recs, 3)
	assert.Equal(t, map[string]any{"service.name": "checkout"}, recs[0].resource)

	lr := recs[0].record
	assert.Equal(t, map[string]any{"pod": "checkout-7d9f", "detected_level": "debug"}, lr.Attributes().AsRaw())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lr.TraceID().String())
	assert.Equal(t, "debug", lr.SeverityText())
	assert.Equal(t, plog.SeverityNumberDebug, lr.SeverityNumber())

	for _, r := range recs[1:] {
		assert.Equal(t, 0, r.record.Attributes().Len())
		assert.Empty(t, r.record.SeverityText())
	}
}

func TestExactTimestampsAndLines(t *testing.T) {
	lines := []string{
		"ünïcödé — 日本語のログ 🚀",
		"  leading and trailing spaces  ",
		"tab\there, CR\r, NUL\x00 and a backslash \\",
		"",
		`{"already":"json","n":1.50}`,
	}
	timestamps := []int64{0, 1, 1764213941123456789, 9223372036854775807, 1000000000000000000}

	t.Run("json", func(t *testing.T) {
		var vals []string
		for i, l := range lines {
			q, err := jsonMarshalString(l)
			require.NoError(t, err)
			vals = append(vals, fmt.Sprintf(`["%d",%s]`, timestamps[i], q))
		}
		body := `{"streams":[{"stream":{"job":"t"},"values":[` + strings.Join(vals, ",") + `]}]}`
		recs := pushRecords(t, pushPath, []byte(body), jsonHeaders)
		require.Len(t, recs, len(lines))
		for i := range lines {
			assert.Equal(t, lines[i], recs[i].record.Body().Str())
			assert.Equal(t, uint64(timestamps[i]), uint64(recs[i].record.Timestamp()))
		}
	})
	t.Run("protobuf", func(t *testing.T) {
		// protobuf strings may even hold invalid UTF-8: kept as is.
		pl := append(append([]string{}, lines...), "bad utf8 \xff\xfe")
		pts := append(append([]int64{}, timestamps...), 42)
		pts[0] = 1 // a zero protobuf timestamp means "missing"
		s := push.Stream{Labels: `{job="t"}`}
		for i := range pl {
			s.Entries = append(s.Entries, push.Entry{Timestamp: time.Unix(0, pts[i]), Line: pl[i]})
		}
		recs := pushRecords(t, pushPath, snappyProto(t, &push.PushRequest{Streams: []push.Stream{s}}), protoHeaders)
		require.Len(t, recs, len(pl))
		for i := range pl {
			assert.Equal(t, []byte(pl[i]), []byte(recs[i].record.Body().Str()))
			assert.Equal(t, uint64(pts[i]), uint64(recs[i].record.Timestamp()))
		}
	})
}

// jsonMarshalString quotes s as a JSON string.
func jsonMarshalString(s string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}
