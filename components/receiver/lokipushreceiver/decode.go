// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
)

// stream is a decoded Loki stream: a label set and its entries. It is the
// common form of the JSON and protobuf payloads.
type stream struct {
	labels  []label // sorted by name, non-empty
	entries []entry
	// lifts, if not nil, is what the decoder did about each entry's
	// trace context (the JSON decoder lifts it while it knows the line's
	// quotes), so the mapping need not scan the lines again. Kept apart
	// from the entries, which other decoders fill and the GC scans.
	lifts []traceLift
}

// entry is one decoded log line.
type entry struct {
	ts       int64 // Unix epoch nanoseconds, >= 0
	line     string
	metadata []label // structured metadata, sorted by name
}

// traceLift is what a decoder did about a line's trace context: with
// traceKeysLifted, the ids are what traceContextFromLine gives for both.
type traceLift struct {
	traceKeys             traceKeysHint
	hasTraceID, hasSpanID bool
	traceID               pcommon.TraceID
	spanID                pcommon.SpanID
}

// traceKeysHint says what is known of a line's trace keys.
type traceKeysHint uint8

const (
	traceKeysUnknown traceKeysHint = iota // not looked: the mapping lifts
	traceKeysAbsent                       // it holds neither `"trace` nor `"span`
	traceKeysLifted                       // lifted by the decoder
)

// maxTime is the latest instant whose Unix nanoseconds fit in an int64.
var maxTime = time.Unix(0, math.MaxInt64)

// ---- JSON ----

// jsonPushRequest is the JSON body of POST /loki/api/v1/push.
type jsonPushRequest struct {
	Streams []jsonStream `json:"streams"`
}

// jsonStream accepts both the current shape ("stream" object + "values")
// and the legacy one ("labels" string + "entries", Loki < 0.4 and
// python-logging-loki's version "0" emitter).
type jsonStream struct {
	Stream  map[string]string   `json:"stream"`
	Values  [][]json.RawMessage `json:"values"`
	Labels  *string             `json:"labels"`
	Entries []jsonLegacyEntry   `json:"entries"`
}

type jsonLegacyEntry struct {
	TS   json.RawMessage `json:"ts"`
	Line *string         `json:"line"`
}

// decodeJSON decodes a JSON push request. Any malformed stream or entry
// rejects the whole request.
func decodeJSON(body []byte) ([]stream, error) {
	if streams, ok := decodeJSONFast(body); ok {
		return streams, nil
	}
	return decodeJSONStd(body)
}

// decodeJSONStd is decodeJSON with encoding/json: every shape the push API
// allows, and the error messages.
func decodeJSONStd(body []byte) ([]stream, error) {
	var req jsonPushRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, ingress.BadRequest("invalid JSON push request: %v", err)
	}
	out := make([]stream, 0, len(req.Streams))
	for si := range req.Streams {
		js := &req.Streams[si]
		var s stream
		var err error
		switch {
		case js.Stream != nil:
			if s.labels, err = labelsFromMap(js.Stream); err != nil {
				return nil, ingress.BadRequest("stream %d: invalid labels: %v", si, err)
			}
		case js.Labels != nil:
			if s.labels, err = parseLabels(*js.Labels); err != nil {
				return nil, ingress.BadRequest("stream %d: invalid labels %q: %v", si, truncate(*js.Labels), err)
			}
		}
		if len(s.labels) == 0 {
			return nil, ingress.BadRequest("stream %d: at least one label pair is required per stream", si)
		}
		s.entries = make([]entry, 0, len(js.Values)+len(js.Entries))
		for ei, v := range js.Values {
			e, err := decodeJSONValue(v)
			if err != nil {
				return nil, ingress.BadRequest("stream %d, entry %d: %v", si, ei, err)
			}
			s.entries = append(s.entries, e)
		}
		for ei, le := range js.Entries {
			e, err := decodeJSONLegacyEntry(le)
			if err != nil {
				return nil, ingress.BadRequest("stream %d, entry %d: %v", si, ei, err)
			}
			s.entries = append(s.entries, e)
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeJSONValue decodes ["<unix ns>", "<line>"(, {structured metadata})].
func decodeJSONValue(v []json.RawMessage) (entry, error) {
	var e entry
	if len(v) != 2 && len(v) != 3 {
		return e, fmt.Errorf("expected [timestamp, line] or [timestamp, line, {structured metadata}], got %d elements", len(v))
	}
	ts, err := parseJSONTimestamp(v[0])
	if err != nil {
		return e, err
	}
	e.ts = ts
	if e.line, err = decodeJSONString(v[1]); err != nil {
		return e, fmt.Errorf("log line must be a JSON string, got %s", truncate(string(v[1])))
	}
	if len(v) == 3 && !isJSONNull(v[2]) {
		var md map[string]string
		if err := json.Unmarshal(v[2], &md); err != nil {
			return e, fmt.Errorf("structured metadata must be a JSON object of string values: %v", err)
		}
		if e.metadata, err = labelsFromMap(md); err != nil {
			return e, fmt.Errorf("structured metadata: %v", err)
		}
	}
	return e, nil
}

func decodeJSONLegacyEntry(le jsonLegacyEntry) (entry, error) {
	var e entry
	if len(le.TS) == 0 || isJSONNull(le.TS) {
		return e, errors.New("missing timestamp \"ts\"")
	}
	if le.Line == nil {
		return e, errors.New("missing log line \"line\"")
	}
	e.line = *le.Line
	// Legacy entries carry an RFC 3339 time; accept epoch nanoseconds too.
	s, err := decodeJSONString(le.TS)
	if err == nil {
		if t, perr := time.Parse(time.RFC3339Nano, s); perr == nil {
			if t.Before(time.Unix(0, 0)) || t.After(maxTime) {
				return e, fmt.Errorf("timestamp %q is out of range", s)
			}
			e.ts = t.UnixNano()
			return e, nil
		}
	}
	if e.ts, err = parseJSONTimestamp(le.TS); err != nil {
		return e, fmt.Errorf("invalid timestamp %s: must be an RFC 3339 time or Unix epoch nanoseconds", truncate(string(le.TS)))
	}
	return e, nil
}

// parseJSONTimestamp parses a Unix epoch nanosecond timestamp given as a
// JSON string of digits (what Loki documents and clients send) or as a
// JSON integer.
func parseJSONTimestamp(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var err error
		if s, err = decodeJSONString(raw); err != nil {
			return 0, fmt.Errorf("invalid timestamp %s", truncate(string(raw)))
		}
	}
	if s == "" || s == "null" {
		return 0, errors.New("missing timestamp")
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ts < 0 {
		return 0, fmt.Errorf("invalid timestamp %q: must be a string of Unix epoch nanoseconds", truncate(s))
	}
	return ts, nil
}

// decodeJSONString decodes a JSON string value.
func decodeJSONString(raw json.RawMessage) (string, error) {
	if s, ok := unquoteJSON(raw); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

func isJSONNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// ---- protobuf ----

// snappyDecode decodes a snappy block-format body, refusing before any
// allocation when the declared decoded length exceeds maxSize.
func snappyDecode(dst, body []byte, maxSize int64) ([]byte, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, ingress.BadRequest("invalid snappy-compressed body: %v", err)
	}
	if int64(n) > maxSize {
		return nil, ingress.TooLarge("decompressed body of %d bytes exceeds max_request_body_size of %d bytes", n, maxSize)
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	out, err := snappy.Decode(dst[:n], body)
	if err != nil {
		return nil, ingress.BadRequest("invalid snappy-compressed body: %v", err)
	}
	return out, nil
}
