// Package grafana checks the Grafana provisioning in grafana/: the generated
// dashboards, the datasources and their cross-signal links, and that every
// query names only what the otelcol-gatewayz pipeline produces.
package grafana

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

var (
	grafanaDir   = filepath.Join(harness.RepoRoot(), "grafana")
	dashboardDir = filepath.Join(grafanaDir, "provisioning", "dashboards")
	datasourceYA = filepath.Join(grafanaDir, "provisioning", "datasources", "datasources.yaml")
)

// dashboardFile is one provisioned dashboard, decoded loosely: the checks
// walk it as Grafana would read the JSON, not as the SDK builds it.
type dashboardFile struct {
	path   string // relative to dashboardDir
	folder string
	raw    []byte
	doc    map[string]any
}

func loadDashboards(t *testing.T) []dashboardFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dashboardDir, "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no dashboards under %s: run make dashboards", dashboardDir)
	}
	var out []dashboardFile
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		rel, _ := filepath.Rel(dashboardDir, p)
		out = append(out, dashboardFile{path: rel, folder: filepath.Dir(rel), raw: raw, doc: doc})
	}
	return out
}

// query is one query a dashboard sends to a datasource.
type query struct {
	where  string // dashboard file › panel title › refId, for messages
	panel  string // panel title ("" for a template variable)
	dsType string
	dsUID  string
	text   string // PromQL / LogQL / TraceQL / Pyroscope label selector
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func list(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

// panels returns every panel of a dashboard, rows' nested panels included.
func panels(doc map[string]any) []map[string]any {
	var out []map[string]any
	var walk func([]any)
	walk = func(ps []any) {
		for _, p := range ps {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			out = append(out, pm)
			walk(list(pm, "panels"))
		}
	}
	walk(list(doc, "panels"))
	return out
}

// queries returns every panel target of a dashboard, with the datasource
// the target (or, lacking one, its panel) names.
func queries(d dashboardFile) []query {
	var out []query
	for _, p := range panels(d.doc) {
		title := str(p, "title")
		pds := obj(p, "datasource")
		for _, tg := range list(p, "targets") {
			tm, _ := tg.(map[string]any)
			ds := obj(tm, "datasource")
			if ds == nil {
				ds = pds
			}
			q := query{
				where:  fmt.Sprintf("%s › %q › %s", d.path, title, str(tm, "refId")),
				panel:  title,
				dsType: str(ds, "type"),
				dsUID:  str(ds, "uid"),
			}
			switch q.dsType {
			case "prometheus", "loki":
				q.text = str(tm, "expr")
			case "tempo":
				q.text = str(tm, "query")
			case "grafana-pyroscope-datasource":
				q.text = str(tm, "labelSelector")
			}
			out = append(out, q)
		}
	}
	return out
}

// variable is one template variable of a dashboard.
type variable struct {
	name, typ, dsType, dsUID, query string
	// value is what the checks substitute for $name: what a fresh
	// dashboard sends, its current value (the allValue regular expression
	// when that is All) or a text box's default.
	value string
}

func variables(t *testing.T, d dashboardFile) []variable {
	t.Helper()
	var out []variable
	for _, v := range list(obj(d.doc, "templating"), "list") {
		vm, _ := v.(map[string]any)
		ds := obj(vm, "datasource")
		vr := variable{name: str(vm, "name"), typ: str(vm, "type"), dsType: str(ds, "type"), dsUID: str(ds, "uid"), query: str(vm, "query")}
		current := str(obj(vm, "current"), "value")
		switch {
		case vm["includeAll"] == true && current == "$__all":
			vr.value = str(vm, "allValue")
			if vr.value == "" {
				t.Errorf("%s: variable %s allows All without an allValue: Grafana would send a list of every value", d.path, vr.name)
			}
		case vr.typ == "textbox":
			vr.value = str(vm, "query")
		default:
			vr.value = current
		}
		out = append(out, vr)
	}
	return out
}

// Grafana's global variables, as a short dashboard time range gives them
// (the e2e data is only a minute or two old).
var globals = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__range":         "1h",
	"__auto":          "1m",
}

var varRef = regexp.MustCompile(`\$\{?(__[a-z_]+|[A-Za-z_][A-Za-z0-9_]*)\}?`)

// substitute replaces Grafana's $variables in a query as Grafana would
// before sending it, and fails on a variable the dashboard does not define.
func substitute(text string, vars []variable) (string, error) {
	var unknown []string
	out := varRef.ReplaceAllStringFunc(text, func(ref string) string {
		name := varRef.FindStringSubmatch(ref)[1]
		if v, ok := globals[name]; ok {
			return v
		}
		for _, vr := range vars {
			if vr.name == name {
				return vr.value
			}
		}
		unknown = append(unknown, ref)
		return ref
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("undefined variables %v in %q", unknown, text)
	}
	return out, nil
}

// labelValues splits Grafana's label_values(<selector>, <label>) variable
// query ("label_values(<label>)" for Loki) into its parts.
var labelValuesRe = regexp.MustCompile(`^label_values\((?:(.+),\s*)?([A-Za-z_][A-Za-z0-9_]*)\)$`)

func labelValues(q string) (selector, label string, ok bool) {
	m := labelValuesRe.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// datasourceFile is grafana/provisioning/datasources/datasources.yaml as
// Grafana reads it: environment variables expanded, `$$` turned into `$`.
type datasourceFile struct {
	Datasources []datasource `yaml:"datasources"`
}

type datasource struct {
	Name           string            `yaml:"name"`
	UID            string            `yaml:"uid"`
	Type           string            `yaml:"type"`
	URL            string            `yaml:"url"`
	IsDefault      bool              `yaml:"isDefault"`
	JSONData       map[string]any    `yaml:"jsonData"`
	SecureJSONData map[string]string `yaml:"secureJsonData"`
}

// provisioningVar is Grafana's interpolation in provisioning files:
// $$ is a literal $, $VAR and ${VAR} come from the environment.
var provisioningVar = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// expandProvisioning expands text as Grafana does, with env as the
// environment, and returns the variables it read.
func expandProvisioning(text string, env map[string]string) (string, []string) {
	var read []string
	out := provisioningVar.ReplaceAllStringFunc(text, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sm := provisioningVar.FindStringSubmatch(m)
		name := sm[1] + sm[2]
		read = append(read, name)
		return env[name]
	})
	return out, read
}

// dockerfileEnv is the ENV defaults of grafana/Dockerfile: what the
// provisioning files see unless the deployment overrides them.
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(grafanaDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "ENV" {
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("grafana/Dockerfile: ENV %q is not KEY=value", kv)
			}
			env[k] = v
		}
	}
	return env
}

func loadDatasources(t *testing.T) (datasourceFile, []string) {
	t.Helper()
	raw, err := os.ReadFile(datasourceYA)
	if err != nil {
		t.Fatal(err)
	}
	text, read := expandProvisioning(string(raw), dockerfileEnv(t))
	var f datasourceFile
	if err := yaml.Unmarshal([]byte(text), &f); err != nil {
		t.Fatalf("%s: %v", datasourceYA, err)
	}
	slices.Sort(read)
	return f, slices.Compact(read)
}

func (f datasourceFile) byUID() map[string]datasource {
	m := map[string]datasource{}
	for _, d := range f.Datasources {
		m[d.UID] = d
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
