package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// httpTarget posts to one base URL with the headers every request carries.
type httpTarget struct {
	client *http.Client
	base   string
	header http.Header
}

func newHTTPTarget(o Options, contentType string) (*httpTarget, error) {
	u, err := url.Parse(o.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: target %q: want a base URL http://host:port", o.Kind, o.Target)
	}
	h := http.Header{}
	h.Set("Content-Type", contentType)
	if o.Tenant != "" {
		h.Set("X-Scope-OrgID", o.Tenant)
	}
	if o.Token != "" {
		h.Set("Authorization", "Bearer "+o.Token)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = o.Workers
	return &httpTarget{client: &http.Client{Transport: tr}, base: strings.TrimSuffix(o.Target, "/"), header: h}, nil
}

// post sends body to base+pathAndQuery; a 2xx answer's body goes to resp.
func (h *httpTarget) post(ctx context.Context, pathAndQuery string, body []byte, extra http.Header, resp *[]byte) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+pathAndQuery, bytes.NewReader(body))
	if err != nil {
		return outcome{err: err}
	}
	req.Header = h.header.Clone()
	for k, v := range extra {
		req.Header[k] = v
	}
	r, err := h.client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer r.Body.Close()
	// Read whole: a connection is reused only once its body is drained.
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return outcome{err: err}
	}
	switch {
	case r.StatusCode >= 200 && r.StatusCode < 300:
		*resp = append((*resp)[:0], b...)
		return outcome{}
	case r.StatusCode == http.StatusTooManyRequests || r.StatusCode == http.StatusServiceUnavailable:
		return outcome{refused: true, retryAfter: retryAfter(r.Header.Get("Retry-After")), err: statusError(r.StatusCode, b)}
	}
	return outcome{err: statusError(r.StatusCode, b)}
}

func statusError(code int, body []byte) error {
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return fmt.Errorf("HTTP %d: %s", code, msg)
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func (h *httpTarget) close() { h.client.CloseIdleConnections() }
