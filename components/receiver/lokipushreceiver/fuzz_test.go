// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
)

// checkDecoded asserts the invariants every successful decode must meet,
// and that mapping the result neither panics nor loses or alters entries.
func checkDecoded(t *testing.T, streams []stream) {
	total := 0
	for si, s := range streams {
		require.NotEmpty(t, s.labels, "stream %d has no labels", si)
		for i, l := range s.labels {
			require.NotEmpty(t, l.name, "stream %d: empty label name", si)
			require.NotEmpty(t, l.value, "stream %d: empty label value", si)
			if i > 0 {
				require.Less(t, s.labels[i-1].name, l.name, "stream %d: labels not sorted and unique", si)
			}
		}
		for ei, e := range s.entries {
			require.GreaterOrEqual(t, e.ts, int64(0), "stream %d entry %d", si, ei)
			for i, l := range e.metadata {
				require.NotEmpty(t, l.name)
				if i > 0 {
					require.LessOrEqual(t, e.metadata[i-1].name, l.name)
				}
			}
		}
		total += len(s.entries)
	}
	m := mapper{serviceNameLabels: defaultServiceNameLabels}
	ld := m.toLogs(streams, 7)
	require.Equal(t, total, ld.LogRecordCount())
	rli := 0
	for _, s := range streams {
		if len(s.entries) == 0 {
			continue
		}
		lrs := ld.ResourceLogs().At(rli).ScopeLogs().At(0).LogRecords()
		rli++
		require.Equal(t, len(s.entries), lrs.Len())
		for i, e := range s.entries {
			lr := lrs.At(i)
			require.Equal(t, e.line, lr.Body().Str())
			require.Equal(t, pcommon.Timestamp(uint64(e.ts)), lr.Timestamp()) //nolint:gosec
			require.Equal(t, pcommon.Timestamp(7), lr.ObservedTimestamp())
		}
	}
}

func requireBadRequest(t *testing.T, streams []stream, err error) {
	re, ok := errors.AsType[*ingress.Error](err)
	require.True(t, ok, "error %v is %T, not *ingress.Error", err, err)
	require.Contains(t, []int{400, 413}, re.Status)
	require.NotEmpty(t, re.Msg)
	require.Nil(t, streams)
}

func FuzzDecodeJSON(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "clients", "python_logging_loki.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(pythonBody))
	f.Add([]byte(`{"streams":[{"stream":{"service_name":"checkout"},"values":[["1700000000000000001","{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}",{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","pod":"p"}],["1","x",null]]}]}`))
	f.Add([]byte(`{"streams": [{"labels": "{application=\"a\", severity=\"warning\"}", "entries": [{"ts": "2025-11-27T03:25:41.123456+00:00", "line": "x"}]}]}`))
	f.Add([]byte(`{"streams":[{"stream":{},"values":[["1","a"]]}]}`))
	f.Add([]byte(`{"streams":[{"stream":{"a":"b"},"values":[[1,"a"],["-1","b"]]}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`"\uD83D\uDE80 \u00e9 \n"`))
	// The loadgen's shape: escaped JSON lines with trace keys, and strings
	// the decoder handles a byte at a time (escapes, surrogates, invalid
	// UTF-8) at the end of the body.
	f.Add([]byte(`{"streams": [{"stream": {"application": "gatewayz-api", "severity": "info"}, "values": [["1764213941123456768", "{\"level\":\"info\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\"}"]]}]}`))
	f.Add([]byte("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"\xff\xfe \\ud83d\\u0041 \\u0022span_id\\\"\"]]}]}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		// unquoteJSON must agree with encoding/json on every string.
		q, err := json.Marshal(string(body))
		require.NoError(t, err)
		var want string
		require.NoError(t, json.Unmarshal(q, &want))
		got, ok := unquoteJSON(q)
		require.True(t, ok)
		require.Equal(t, want, got)
		// encoding/json hands the decoders string values without the
		// surrounding whitespace.
		if lit := bytes.TrimSpace(body); len(lit) > 0 && lit[0] == '"' && json.Valid(lit) {
			require.NoError(t, json.Unmarshal(lit, &want))
			got, ok = unquoteJSON(lit)
			require.True(t, ok)
			require.Equal(t, want, got)
		}

		// The fast path never disagrees with encoding/json's.
		requireSameAsStd(t, body)
		streams, err := decodeJSON(body)
		if err != nil {
			requireBadRequest(t, streams, err)
			return
		}
		checkDecoded(t, streams)
	})
}

func FuzzDecodeProtobuf(f *testing.F) {
	seeds := []*push.PushRequest{
		promtailRequest(),
		{Streams: []push.Stream{{Labels: `{job="a"}`}}},
		{Streams: []push.Stream{{Labels: `{"a.b"="c", d="\u00e9"}`, Entries: []push.Entry{{Timestamp: time.Unix(0, 1), Line: "x", StructuredMetadata: push.LabelsAdapter{{Name: "k", Value: "v"}}}}}}},
		{Streams: []push.Stream{{Labels: `{}`, Entries: []push.Entry{{Timestamp: time.Unix(-1, 0)}}}}},
		{Format: "f", Streams: []push.Stream{
			{Labels: `{a="b"}`, Hash: 7, Entries: []push.Entry{
				{Timestamp: time.Unix(1, 2), Line: "l", Parsed: push.LabelsAdapter{{Name: "p", Value: "q"}}, StructuredMetadata: push.LabelsAdapter{{Name: "k", Value: ""}, {Name: "b", Value: "2"}, {Name: "a", Value: "1"}}},
				{Line: "no timestamp"},
			}},
			{Labels: `{a="c"}`, Entries: []push.Entry{{Timestamp: time.Unix(0, 0), StructuredMetadata: push.LabelsAdapter{{Value: "v"}}}}},
		}},
	}
	for _, s := range seeds {
		b, err := s.Marshal()
		require.NoError(f, err)
		f.Add(b)
		f.Add(snappy.Encode(nil, b))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "clients", "promtail_push.pb.snappy")); err == nil {
		f.Add(b)
	}
	// Hand-made wire bytes: a repeated labels field (the last one wins), an
	// unknown varint, fixed64 and group field, and a Timestamp with an
	// unknown field and nanos out of range.
	f.Add([]byte("\x0a\x21\x0a\x07{a=\"b\"}\x0a\x07{a=\"c\"}\x28\x01\x31\x01\x02\x03\x04\x05\x06\x07\x08\x3b\x08\x01\x3c"))
	f.Add([]byte("\x0a\x13\x0a\x07{a=\"b\"}\x12\x08\x0a\x06\x08\x01\x18\x05\x10\x7f"))
	f.Add([]byte("\x0a\x15\x0a\x07{a=\"b\"}\x12\x0a\x0a\x08\x08\x01\x10\x80\x94\xeb\xdc\x03"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Raw protobuf.
		requireSameAsGenerated(t, data)
		streams, err := decodeProtobuf(data)
		if err != nil {
			requireBadRequest(t, streams, err)
		} else {
			checkDecoded(t, streams)
		}
		// The same bytes as a snappy body, as the handler sees it.
		decoded, err := snappyDecode(nil, data, 1<<20)
		if err != nil {
			requireBadRequest(t, nil, err)
			return
		}
		requireSameAsGenerated(t, decoded)
		streams, err = decodeProtobuf(decoded)
		if err != nil {
			requireBadRequest(t, streams, err)
			return
		}
		checkDecoded(t, streams)
	})
}

// requireSameAsGenerated checks decodeProtobuf against the decoder on the
// generated push types: the same bodies accepted, the same streams, and the
// same message for every error that is not a wire-format one.
func requireSameAsGenerated(t *testing.T, data []byte) {
	want, wantErr := refDecodeProtobuf(data)
	got, err := decodeProtobuf(data)
	require.Equal(t, wantErr == nil, err == nil, "generated: %v; ours: %v", wantErr, err)
	if wantErr != nil {
		requireBadRequest(t, got, err)
		if msg := wantErr.(*ingress.Error).Msg; !strings.HasPrefix(msg, "invalid protobuf push request") {
			require.Equal(t, msg, err.(*ingress.Error).Msg)
		}
		return
	}
	require.Equal(t, normStreams(want), normStreams(got))
}

// normStreams makes empty slices nil: the two decoders differ only there.
func normStreams(ss []stream) []stream {
	out := make([]stream, len(ss))
	for i, s := range ss {
		out[i].labels = s.labels
		if len(out[i].labels) == 0 {
			out[i].labels = nil
		}
		for _, e := range s.entries {
			if len(e.metadata) == 0 {
				e.metadata = nil
			}
			out[i].entries = append(out[i].entries, e)
		}
	}
	return out
}

// refDecodeProtobuf is the decoder on the generated push types that
// decodeProtobuf replaced, kept as the reference it must agree with.
func refDecodeProtobuf(b []byte) ([]stream, error) {
	var req push.PushRequest
	if err := req.Unmarshal(b); err != nil {
		return nil, ingress.BadRequest("invalid protobuf push request: %v", err)
	}
	out := make([]stream, 0, len(req.Streams))
	for si := range req.Streams {
		ps := &req.Streams[si]
		ls, err := parseLabels(ps.Labels)
		if err != nil {
			return nil, ingress.BadRequest("stream %d: invalid labels %q: %v", si, truncate(ps.Labels), err)
		}
		if len(ls) == 0 {
			return nil, ingress.BadRequest("stream %d: at least one label pair is required per stream", si)
		}
		s := stream{labels: ls, entries: make([]entry, len(ps.Entries))}
		for ei := range ps.Entries {
			pe := &ps.Entries[ei]
			if pe.Timestamp.IsZero() {
				return nil, ingress.BadRequest("stream %d, entry %d: missing timestamp", si, ei)
			}
			if pe.Timestamp.Before(time.Unix(0, 0)) || pe.Timestamp.After(maxTime) {
				return nil, ingress.BadRequest("stream %d, entry %d: timestamp %s is out of range", si, ei, pe.Timestamp.UTC().Format(time.RFC3339Nano))
			}
			e := &s.entries[ei]
			e.ts = pe.Timestamp.UnixNano()
			e.line = pe.Line
			if len(pe.StructuredMetadata) > 0 {
				e.metadata = make([]label, 0, len(pe.StructuredMetadata))
				for _, l := range pe.StructuredMetadata {
					if l.Name == "" {
						return nil, ingress.BadRequest("stream %d, entry %d: structured metadata: empty label name", si, ei)
					}
					if l.Value == "" {
						continue
					}
					e.metadata = append(e.metadata, label{name: l.Name, value: l.Value})
				}
				sortLabels(e.metadata)
			}
		}
		out = append(out, s)
	}
	return out, nil
}
