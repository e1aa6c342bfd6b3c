// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"errors"
	"fmt"
	"strings"
)

// maxNameLength bounds the `name` query parameter (app name plus labels).
const maxNameLength = 4096

// sessionIDLabel is the label pyroscope-go adds to every upload; it
// identifies one process run.
const sessionIDLabel = "__session_id__"

// appKey is a parsed Pyroscope application key: `app.name.suffix{k=v,...}`.
type appKey struct {
	// FullName is the application name as sent, including a profile-type
	// suffix if there is one (e.g. "myapp.cpu").
	FullName string
	// ServiceName is FullName without a recognised profile-type suffix.
	ServiceName string
	// Suffix is the recognised profile-type suffix ("cpu", "alloc_space", ...),
	// empty when the name carries none.
	Suffix string
	// Labels in the order they first appeared; a repeated key keeps its
	// first position and its last value. Labels with an empty value are
	// dropped (Pyroscope treats an empty value as "no label").
	Labels []label
}

// label is one name/value pair of the key's label set.
type label struct {
	name, value string
}

var errEmptyName = errors.New("application name is empty")

// parseAppKey parses the Pyroscope `name` query parameter, already
// URL-decoded: `app.name{key=value,key2=value2}`. The grammar follows
// pyroscope-go's flameql.ParseKey (app name runes [A-Za-z0-9_./-], label keys
// [A-Za-z0-9_.], whitespace around names, keys and values is trimmed) but is
// stricter about structure: unbalanced braces, text after the closing brace,
// a label without '=' and an empty label key are errors.
func parseAppKey(s string) (appKey, error) {
	var k appKey
	if len(s) > maxNameLength {
		return k, fmt.Errorf("name is longer than %d bytes", maxNameLength)
	}
	open := strings.IndexByte(s, '{')
	name := s
	var labelPart string
	hasLabels := false
	if open >= 0 {
		name = s[:open]
		rest := s[open+1:]
		closeIdx := strings.IndexByte(rest, '}')
		if closeIdx < 0 {
			return k, fmt.Errorf("unbalanced braces in name %q: missing '}'", s)
		}
		labelPart = rest[:closeIdx]
		hasLabels = true
		if strings.ContainsRune(labelPart, '{') {
			return k, fmt.Errorf("unbalanced braces in name %q: nested '{'", s)
		}
		if strings.TrimSpace(rest[closeIdx+1:]) != "" {
			return k, fmt.Errorf("unexpected text after '}' in name %q", s)
		}
	} else if strings.ContainsRune(s, '}') {
		return k, fmt.Errorf("unbalanced braces in name %q: missing '{'", s)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return k, errEmptyName
	}
	for _, r := range name {
		if !isAppNameRune(r) {
			return k, fmt.Errorf("invalid application name %q: character %q is not allowed", name, r)
		}
	}
	k.FullName = name
	k.ServiceName, k.Suffix = splitSuffix(name)

	if hasLabels && strings.TrimSpace(labelPart) != "" {
		index := map[string]int{}
		for _, pair := range strings.Split(labelPart, ",") {
			if strings.TrimSpace(pair) == "" {
				// Tolerate a trailing comma, as pyroscope-go's parser does.
				continue
			}
			eq := strings.IndexByte(pair, '=')
			if eq < 0 {
				return k, fmt.Errorf("invalid label %q in name: missing '='", strings.TrimSpace(pair))
			}
			key := strings.TrimSpace(pair[:eq])
			value := strings.TrimSpace(pair[eq+1:])
			if key == "" {
				return k, fmt.Errorf("invalid label %q in name: empty key", strings.TrimSpace(pair))
			}
			for _, r := range key {
				if !isLabelKeyRune(r) {
					return k, fmt.Errorf("invalid label key %q in name: character %q is not allowed", key, r)
				}
			}
			if key == "__name__" {
				return k, errors.New(`invalid label key "__name__" in name: reserved`)
			}
			if i, ok := index[key]; ok {
				k.Labels[i].value = value
				continue
			}
			index[key] = len(k.Labels)
			k.Labels = append(k.Labels, label{name: key, value: value})
		}
		// Drop empty values after resolving duplicates so that `a=x,a=`
		// removes the label like pyroscope-go's Key.Add does.
		kept := k.Labels[:0]
		for _, l := range k.Labels {
			if l.value != "" {
				kept = append(kept, l)
			}
		}
		k.Labels = kept
	}
	return k, nil
}

func isLabelKeyRune(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '_' || r == '.'
}

func isAppNameRune(r rune) bool {
	return r == '-' || r == '.' || r == '/' || isLabelKeyRune(r)
}

// splitSuffix strips a recognised profile-type suffix from an app name:
// "myapp.cpu" -> ("myapp", "cpu"). Unknown suffixes stay in the name.
func splitSuffix(name string) (string, string) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return name, ""
	}
	suffix := name[dot+1:]
	if _, ok := suffixTypes[suffix]; !ok {
		return name, ""
	}
	return name[:dot], suffix
}
