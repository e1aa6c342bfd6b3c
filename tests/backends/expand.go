// Package backends checks the configs and Dockerfiles of the Grafana
// backends under backends/: each config expands and parses the way its
// backend would read it with -config.expand-env=true, carries the settings
// the stack depends on, and reads only documented variables.
package backends

import (
	"fmt"
	"regexp"
	"strings"
)

// syntax is how a backend's -config.expand-env=true spells a reference with
// a default.
type syntax int

const (
	// envsubst is drone/envsubst (Loki, Tempo, Pyroscope): ${VAR:-default}.
	envsubst syntax = iota
	// mimirExpand is Mimir's os.Expand with its own rule: ${VAR:default}.
	// ${VAR:-default} there yields "-default".
	mimirExpand
)

func (s syntax) String() string {
	if s == mimirExpand {
		return "Mimir ${VAR:default}"
	}
	return "drone/envsubst ${VAR:-default}"
}

var (
	envsubstRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)
	mimirRef    = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:([^}]*))?\}`)
)

// reference is one ${VAR...} in a config.
type reference struct {
	Name, Default string
}

// expand replaces every reference the way the backend does: the value from
// env if set and non-empty, else the default. It refuses what the backend
// would silently turn into something else: a reference without a default, a
// Mimir default starting with "-" (the envsubst spelling), and any other "$"
// (both expanders would eat it).
func expand(text string, s syntax, env map[string]string) (string, []reference, error) {
	re := envsubstRef
	if s == mimirExpand {
		re = mimirRef
	}
	var refs []reference
	var problems []string
	out := re.ReplaceAllStringFunc(text, func(m string) string {
		sub := re.FindStringSubmatch(m)
		name, hasDefault, def := sub[1], sub[2] != "", sub[3]
		refs = append(refs, reference{Name: name, Default: def})
		if !hasDefault {
			problems = append(problems, fmt.Sprintf("%s has no default", m))
		}
		if s == mimirExpand && strings.HasPrefix(def, "-") {
			problems = append(problems, fmt.Sprintf("%s: Mimir would use %q as the default", m, def))
		}
		if v := env[name]; v != "" {
			return v
		}
		return def
	})
	if i := strings.Index(out, "$"); i >= 0 {
		end := min(i+30, len(out))
		problems = append(problems, fmt.Sprintf("a %q the %s expander would rewrite: %q", "$", s, out[i:end]))
	}
	if len(problems) > 0 {
		return "", refs, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return out, refs, nil
}
