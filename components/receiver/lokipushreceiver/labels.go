// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lokipushreceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/lokipushreceiver"

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// label is one name/value pair of a stream's label set or of an entry's
// structured metadata.
type label struct {
	name, value string
}

// sortLabels orders labels by name; the decoders keep label sets sorted so
// the mapping is deterministic.
func sortLabels(ls []label) {
	slices.SortFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
}

// labelsFromMap turns a JSON label object into a sorted label set. Labels
// with an empty value are dropped, as in Prometheus and Loki, where an empty
// value means "no such label".
func labelsFromMap(m map[string]string) ([]label, error) {
	ls := make([]label, 0, len(m))
	for k, v := range m {
		if k == "" {
			return nil, errors.New("empty label name")
		}
		if v == "" {
			continue
		}
		ls = append(ls, label{name: k, value: v})
	}
	sortLabels(ls)
	return ls, nil
}

// parseLabels parses a Prometheus-style label set such as
// `{job="varlogs", filename="/var/log/syslog"}`: what Promtail puts in the
// protobuf Stream.Labels field and the legacy JSON "labels" field. Names are
// Prometheus identifiers or quoted strings (UTF-8 names); values are quoted
// with ", ' or ` using Go/PromQL escapes. A trailing comma is accepted.
// The result is sorted by name; duplicate names are an error, and labels
// with an empty value are dropped.
func parseLabels(s string) ([]label, error) {
	p := strings.TrimSpace(s)
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, errors.New("label set must be enclosed in braces, like {job=\"app\"}")
	}
	p = p[1 : len(p)-1]
	var ls []label
	for {
		p = strings.TrimLeft(p, " \t\r\n")
		if p == "" {
			break
		}
		var name string
		if isQuote(p[0]) {
			q, err := strconv.QuotedPrefix(p)
			if err != nil {
				return nil, fmt.Errorf("bad quoted label name at %q", truncate(p))
			}
			name, _ = strconv.Unquote(q)
			p = p[len(q):]
		} else {
			n := 0
			for n < len(p) && isLabelNameChar(p[n], n == 0) {
				n++
			}
			if n == 0 {
				return nil, fmt.Errorf("expected a label name at %q", truncate(p))
			}
			name = p[:n]
			p = p[n:]
		}
		if name == "" {
			return nil, errors.New("empty label name")
		}
		p = strings.TrimLeft(p, " \t\r\n")
		if p == "" || p[0] != '=' {
			return nil, fmt.Errorf("expected '=' after label name %q", name)
		}
		p = strings.TrimLeft(p[1:], " \t\r\n")
		if p == "" || !isQuote(p[0]) {
			return nil, fmt.Errorf("expected a quoted value for label %q", name)
		}
		q, err := strconv.QuotedPrefix(p)
		if err != nil {
			return nil, fmt.Errorf("bad quoted value for label %q", name)
		}
		value, err := strconv.Unquote(q)
		if err != nil {
			return nil, fmt.Errorf("bad quoted value for label %q", name)
		}
		p = strings.TrimLeft(p[len(q):], " \t\r\n")
		if value != "" {
			ls = append(ls, label{name: name, value: value})
		}
		if p == "" {
			break
		}
		if p[0] != ',' {
			return nil, fmt.Errorf("expected ',' or '}' after label %q", name)
		}
		p = p[1:]
	}
	sortLabels(ls)
	for i := 1; i < len(ls); i++ {
		if ls[i].name == ls[i-1].name {
			return nil, fmt.Errorf("duplicate label name %q", ls[i].name)
		}
	}
	return ls, nil
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func isLabelNameChar(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func truncate(s string) string {
	const maxLen = 32
	if len(s) > maxLen {
		return s[:maxLen] + "..."
	}
	return s
}
