// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
)

const (
	formatPprof  = "pprof"
	formatFolded = "folded"

	partProfile          = "profile"
	partPrevProfile      = "prev_profile"
	partSampleTypeConfig = "sample_type_config"

	// defaultWindow is the profile duration assumed when `from` is absent.
	defaultWindow = 10 * time.Second
	maxSampleRate = 1_000_000_000
	// maxWindowInversion is how far "from" may be after "until" before the
	// request is rejected (see parseParams).
	maxWindowInversion = time.Minute
)

// ingestParams are the query parameters of POST /ingest.
type ingestParams struct {
	key             appKey
	fromNanos       int64
	untilNanos      int64
	sampleRate      int64
	spyName         string
	units           string
	aggregationType string
	format          string // formatPprof or formatFolded
}

// errClientGone: the client left while its upload waited for a decode
// slot; there is no one to answer.
var errClientGone = errors.New("client gone before its upload was decoded")

type decoded struct {
	profiles pprofile.Profiles
	format   string
}

// decodeRequest reads and decodes an upload. Its errors are *ingress.Error
// (a wrong format or a size limit) or the decoders' own (400).
func (r *pyroscopeReceiver) decodeRequest(req *http.Request) (*decoded, error) {
	params, err := r.parseParams(req)
	if err != nil {
		return nil, err
	}
	limit := r.cfg.maxBodySize()
	bodyBuf, rawBuf := getBuf(), getBuf()
	defer putBuf(bodyBuf)
	defer putBuf(rawBuf)
	body, err := readBody(bodyBuf, req.Body, req.ContentLength, limit)
	if err != nil {
		return nil, err
	}

	parts := map[string][]byte{partProfile: body}
	if mt, mparams, mErr := mime.ParseMediaType(req.Header.Get("Content-Type")); mErr == nil && mt == "multipart/form-data" {
		partsBuf := getBuf()
		defer putBuf(partsBuf)
		parts, err = readMultipart(partsBuf, body, mparams["boundary"], limit)
		if err != nil {
			return nil, err
		}
	}

	select {
	case r.decodeSlots <- struct{}{}:
		defer func() { <-r.decodeSlots }()
	case <-req.Context().Done():
		return nil, errClientGone
	}

	res := resourceInfo{Key: params.key, SpyName: params.spyName}
	var p *profile.Profile
	switch params.format {
	case formatFolded:
		data, gzErr := gunzipInto(rawBuf, parts[partProfile], limit, "folded profile")
		if gzErr != nil {
			return nil, gzErr
		}
		ft := foldedTypeFor(params.key.Suffix, params.units, params.aggregationType)
		p, err = decodeFolded(data, ft, params.sampleRate)
		if err != nil {
			return nil, err
		}
	default:
		if prev, ok := parts[partPrevProfile]; !ok || len(prev) == 0 {
			pd, err := translatePprofData(rawBuf, parts[partProfile], limit, res, r.scope, params.fromNanos, params.untilNanos-params.fromNanos)
			if err != nil {
				return nil, err
			}
			return &decoded{profiles: pd, format: params.format}, nil
		}
		p, err = decodePprofParts(parts, limit)
		if err != nil {
			return nil, err
		}
	}

	pd := translatePprof(p, res, r.scope, params.fromNanos, params.untilNanos-params.fromNanos)
	return &decoded{profiles: pd, format: params.format}, nil
}

func (r *pyroscopeReceiver) parseParams(req *http.Request) (ingestParams, error) {
	var ip ingestParams
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return ip, ingress.BadRequest("invalid query string: %v", err)
	}
	name := q.Get("name")
	if name == "" {
		return ip, ingress.BadRequest(`missing required query parameter "name" (e.g. name=myapp.cpu{env=prod})`)
	}
	ip.key, err = parseAppKey(name)
	if err != nil {
		return ip, ingress.BadRequest("invalid name: %v", err)
	}

	now := r.now().UnixNano()
	ip.untilNanos = now
	if s := q.Get("until"); s != "" {
		if ip.untilNanos, err = parseTimestamp(s); err != nil {
			return ip, ingress.BadRequest(`invalid "until": %v`, err)
		}
	}
	ip.fromNanos = ip.untilNanos - int64(defaultWindow)
	if s := q.Get("from"); s != "" {
		if ip.fromNanos, err = parseTimestamp(s); err != nil {
			return ip, ingress.BadRequest(`invalid "from": %v`, err)
		}
	}
	if ip.fromNanos > ip.untilNanos {
		// pyroscope-go's Flush ends the window at now truncated to the
		// upload rate, which can be before the start of the window (the
		// previous tick). Tolerate such small inversions as an empty window.
		if ip.fromNanos-ip.untilNanos > int64(maxWindowInversion) {
			return ip, ingress.BadRequest(`"from" (%s) is after "until" (%s)`, q.Get("from"), q.Get("until"))
		}
		ip.fromNanos = ip.untilNanos
	}

	ip.sampleRate = defaultSampleRate
	if s := q.Get("sampleRate"); s != "" {
		v, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || v < 0 || v > maxSampleRate {
			return ip, ingress.BadRequest(`invalid "sampleRate" %q: want an integer between 0 and %d`, truncate(s, 32), maxSampleRate)
		}
		// pyroscope-go sends sampleRate=0 for goroutine, mutex and block
		// profiles: 0 means "not given".
		if v > 0 {
			ip.sampleRate = v
		}
	}
	ip.spyName = q.Get("spyName")
	ip.units = q.Get("units")
	ip.aggregationType = q.Get("aggregationType")

	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	f := strings.ToLower(q.Get("format"))
	if f == "" {
		// Pyroscope also reads the format from "binary/octet-stream+<format>".
		if rest, ok := strings.CutPrefix(mt, "binary/octet-stream+"); ok {
			f = rest
		}
	}
	switch f {
	case formatPprof:
		ip.format = formatPprof
	case formatFolded, "groups":
		ip.format = formatFolded
	case "":
		// Like Pyroscope: a multipart form is pprof, anything else folded.
		if mt == "multipart/form-data" {
			ip.format = formatPprof
		} else {
			ip.format = formatFolded
		}
	case "jfr":
		return ip, ingress.UnsupportedMediaType(`format "jfr" is not supported by this receiver: send pprof (format=pprof) or collapsed stacks (format=folded)`)
	default:
		return ip, ingress.UnsupportedMediaType("format %q is not supported by this receiver: send pprof (format=pprof) or collapsed stacks (format=folded)", truncate(f, 32))
	}
	return ip, nil
}

// parseTimestamp parses a unix timestamp in seconds; values too large for
// seconds are taken as milliseconds, microseconds or nanoseconds
// (pyroscope-go sends nanoseconds, most other SDKs seconds).
func parseTimestamp(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a non-negative integer unix timestamp", truncate(s, 32))
	}
	switch {
	case v < 1e11: // seconds (until year 5138)
		return v * 1e9, nil
	case v < 1e14: // milliseconds
		return v * 1e6, nil
	case v < 1e17: // microseconds
		return v * 1e3, nil
	default: // nanoseconds
		return v, nil
	}
}

// maxPreGrow bounds the buffer a request's Content-Length reserves before
// its body arrives.
const maxPreGrow = 1 << 20

// readBody reads at most limit bytes into buf; more is a 413. size is
// the request's Content-Length (-1: unknown).
func readBody(buf *bytes.Buffer, body io.Reader, size, limit int64) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	if size > 0 {
		// A claimed length is not trusted beyond maxPreGrow.
		buf.Grow(int(min(size, limit, maxPreGrow)) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, tooLarge("request body", min(mb.Limit, limit))
		}
		return nil, fmt.Errorf("cannot read request body: %w", err)
	}
	b := buf.Bytes()
	if int64(len(b)) > limit {
		return nil, tooLarge("request body", limit)
	}
	return b, nil
}

// readMultipart reads the parts of a multipart/form-data body by form field
// name, as pyroscope-go sends them: "profile" (required), "prev_profile" and
// "sample_type_config" (optional). Other parts are ignored. The parts are
// read into buf, one after another: each is a piece of body
// (quoted-printable decoding only shrinks it), so buf, sized once, holds
// them all. (io.ReadAll per part allocated a fifth of the bytes of a
// pyroscope-go upload.)
func readMultipart(buf *bytes.Buffer, body []byte, boundary string, limit int64) (map[string][]byte, error) {
	if boundary == "" {
		return nil, errors.New("multipart/form-data Content-Type without boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	parts := map[string][]byte{}
	buf.Grow(len(body) + bytes.MinRead)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid multipart body: %w", err)
		}
		name := part.FormName()
		start := buf.Len()
		_, err = buf.ReadFrom(io.LimitReader(part, limit+1))
		_ = part.Close()
		if err != nil {
			return nil, fmt.Errorf("invalid multipart body: part %q: %w", name, err)
		}
		// Should buf have grown after all, it moved: earlier parts keep the
		// old array, which nothing writes to again.
		data := buf.Bytes()[start:buf.Len():buf.Len()]
		if int64(len(data)) > limit {
			return nil, tooLarge(fmt.Sprintf("multipart part %q", name), limit)
		}
		switch name {
		case partProfile, partPrevProfile, partSampleTypeConfig:
			if _, dup := parts[name]; dup {
				return nil, fmt.Errorf("invalid multipart body: duplicate part %q", name)
			}
			parts[name] = data
		}
	}
	if _, ok := parts[partProfile]; !ok {
		return nil, fmt.Errorf("invalid multipart body: no %q part", partProfile)
	}
	return parts, nil
}

// sampleTypeConfig is the JSON pyroscope-go sends in "sample_type_config":
// per pprof sample type, display name, units, aggregation and whether the
// values are cumulative.
type sampleTypeConfig map[string]struct {
	Units       string `json:"units,omitempty"`
	Aggregation string `json:"aggregation,omitempty"`
	DisplayName string `json:"display-name,omitempty"`
	Sampled     bool   `json:"sampled,omitempty"`
	Cumulative  bool   `json:"cumulative,omitempty"`
}

// decodePprofParts parses "profile" and, when present, subtracts
// "prev_profile" from the cumulative sample types. Which sample types are
// cumulative comes from "sample_type_config" when sent, else from
// defaultCumulative.
func decodePprofParts(parts map[string][]byte, limit int64) (*profile.Profile, error) {
	p, err := parsePprof(parts[partProfile], limit, "profile")
	if err != nil {
		return nil, err
	}
	prevData, hasPrev := parts[partPrevProfile]
	if !hasPrev || len(prevData) == 0 {
		return p, nil
	}
	cumulative := func(t string) bool { return defaultCumulative[t] }
	if cfgData, ok := parts[partSampleTypeConfig]; ok && len(bytes.TrimSpace(cfgData)) > 0 {
		var stc sampleTypeConfig
		if err = json.Unmarshal(cfgData, &stc); err != nil {
			return nil, fmt.Errorf("invalid sample_type_config: %w", err)
		}
		cumulative = func(t string) bool { c, ok := stc[t]; return ok && c.Cumulative }
	}
	prev, err := parsePprof(prevData, limit, "prev_profile")
	if err != nil {
		return nil, err
	}
	if err = subtractPrevious(p, prev, cumulative); err != nil {
		return nil, err
	}
	return p, nil
}
