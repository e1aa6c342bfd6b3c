package grafana

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// promql is Prometheus's parser with no experimental feature: what a stock
// Mimir accepts.
var promql = parser.NewParser(parser.Options{})

// TestDashboardsAreGenerated runs the dashboards program into a temporary
// directory: the committed JSON must be exactly what it writes now.
func TestDashboardsAreGenerated(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./grafana/dashboards", "-out", out)
	cmd.Dir = harness.RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./grafana/dashboards: %v\n%s", err, b)
	}
	generated, _ := filepath.Glob(filepath.Join(out, "*", "*.json"))
	committed := loadDashboards(t)
	if len(generated) != len(committed) {
		t.Errorf("the program writes %d dashboards, %d are committed: run make dashboards", len(generated), len(committed))
	}
	byPath := map[string][]byte{}
	for _, d := range committed {
		byPath[d.path] = d.raw
	}
	for _, g := range generated {
		rel, _ := filepath.Rel(out, g)
		want, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := byPath[rel]
		switch {
		case !ok:
			t.Errorf("%s is generated but not committed: run make dashboards", rel)
		case !bytes.Equal(got, want):
			t.Errorf("%s is stale: run make dashboards", rel)
		}
	}
}

// TestDashboardsDecodeIntoSDK decodes each dashboard into the Foundation
// SDK's Dashboard type and encodes it again: nothing may be lost, so the
// JSON is one the SDK (and Grafana's schema) understands.
func TestDashboardsDecodeIntoSDK(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	uids := map[string]string{}
	for _, d := range loadDashboards(t) {
		var db dashboard.Dashboard
		if err := json.Unmarshal(d.raw, &db); err != nil {
			t.Errorf("%s does not decode into dashboard.Dashboard: %v", d.path, err)
			continue
		}
		// Compared as JSON values: a query type the SDK holds as a map
		// comes back with its keys in another order.
		again, err := json.Marshal(db)
		if err != nil {
			t.Fatal(err)
		}
		var before, after any
		if err := json.Unmarshal(d.raw, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(again, &after); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("%s changes when decoded into dashboard.Dashboard and encoded again", d.path)
		}
		if db.Uid == nil || *db.Uid == "" {
			t.Errorf("%s has no uid", d.path)
			continue
		}
		if other, dup := uids[*db.Uid]; dup {
			t.Errorf("%s and %s share uid %s", d.path, other, *db.Uid)
		}
		uids[*db.Uid] = d.path
	}
}

// TestEveryFolderIsProvisioned: each dashboard directory has a provider
// in dashboards.yaml with the path the Dockerfile copies it to, and the
// folders are the ones the issue names.
func TestEveryFolderIsProvisioned(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dashboardDir, "dashboards.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Providers []struct {
			Folder  string `yaml:"folder"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	folderOf := map[string]string{}
	for _, p := range cfg.Providers {
		dir, ok := strings.CutPrefix(p.Options.Path, "/etc/grafana/provisioning/dashboards/")
		if !ok || p.Type != "file" {
			t.Errorf("provider %q: path %q is not under /etc/grafana/provisioning/dashboards/ (where the Dockerfile copies them)", p.Folder, p.Options.Path)
		}
		folderOf[dir] = p.Folder
	}
	seen := map[string]bool{}
	for _, d := range loadDashboards(t) {
		seen[d.folder] = true
		if _, ok := folderOf[d.folder]; !ok {
			t.Errorf("%s: no provider in dashboards.yaml serves directory %s", d.path, d.folder)
		}
	}
	want := []string{"Executive Overview", "Four Golden Signals", "Model Performance", "Logs", "Traces", "Long-term (Mimir)", "Collector", "Profiles", "Backend Services"}
	var got []string
	for dir, f := range folderOf {
		got = append(got, f)
		if !seen[dir] {
			t.Errorf("folder %q (%s) has no dashboard", f, dir)
		}
	}
	for _, f := range want {
		if !strings.Contains(strings.Join(got, "\x00")+"\x00", f+"\x00") {
			t.Errorf("folder %q is not provisioned (have %v)", f, got)
		}
	}
}

// TestPanelsAreDescribed: every panel says what it shows, and every
// numeric panel has a unit.
func TestPanelsAreDescribed(t *testing.T) {
	for _, d := range loadDashboards(t) {
		for _, p := range panels(d.doc) {
			title := str(p, "title")
			if strings.TrimSpace(str(p, "description")) == "" {
				t.Errorf("%s › %q has no description", d.path, title)
			}
			switch str(p, "type") {
			case "timeseries", "stat", "bargauge":
				if str(obj(obj(p, "fieldConfig"), "defaults"), "unit") == "" {
					t.Errorf("%s › %q has no unit", d.path, title)
				}
			}
		}
	}
}

// TestDashboardDatasourcesAreProvisioned: every datasource a panel, a
// target or a variable names is provisioned with that UID and type.
func TestDashboardDatasourcesAreProvisioned(t *testing.T) {
	f, _ := loadDatasources(t)
	byUID := f.byUID()
	names := map[string]bool{}
	for _, ds := range f.Datasources {
		names[ds.Name] = true
	}
	check := func(where, typ, uid string) {
		ds, ok := byUID[uid]
		switch {
		case uid == "":
			t.Errorf("%s names no datasource uid (Grafana would use whatever is default)", where)
		case !ok:
			t.Errorf("%s uses datasource uid %q, which is not provisioned (have %v)", where, uid, sortedKeys(byUID))
		case ds.Type != typ:
			t.Errorf("%s uses %q as type %q, provisioned as %q", where, uid, typ, ds.Type)
		}
	}
	for _, d := range loadDashboards(t) {
		for _, p := range panels(d.doc) {
			if ds := obj(p, "datasource"); ds != nil {
				check(d.path+" › "+str(p, "title"), str(ds, "type"), str(ds, "uid"))
			}
			if am := str(obj(p, "options"), "alertmanager"); str(p, "type") == "alertGroups" && !names[am] {
				t.Errorf("%s › %q reads Alertmanager datasource %q, which is not provisioned", d.path, str(p, "title"), am)
			}
		}
		for _, q := range queries(d) {
			check(q.where, q.dsType, q.dsUID)
		}
		for _, v := range variables(t, d) {
			if v.typ == "query" {
				check(d.path+" › variable "+v.name, v.dsType, v.dsUID)
			}
		}
	}
}

// TestPromQLParses parses every PromQL panel query and variable query with
// Prometheus's own parser, after substituting Grafana's variables.
func TestPromQLParses(t *testing.T) {
	n := 0
	for _, d := range loadDashboards(t) {
		vars := variables(t, d)
		for _, q := range queries(d) {
			if q.dsType != "prometheus" {
				continue
			}
			n++
			expr, err := substitute(q.text, vars)
			if err != nil {
				t.Errorf("%s: %v", q.where, err)
				continue
			}
			if _, err := promql.ParseExpr(expr); err != nil {
				t.Errorf("%s: %v\n  %s", q.where, err, expr)
			}
		}
		for _, v := range vars {
			if v.typ != "query" || v.dsType != "prometheus" {
				continue
			}
			sel, _, ok := labelValues(v.query)
			if !ok || sel == "" {
				t.Errorf("%s variable %s: %q is not label_values(<selector>, <label>)", d.path, v.name, v.query)
				continue
			}
			expr, err := substitute(sel, vars)
			if err == nil {
				_, err = promql.ParseExpr(expr)
			}
			if err != nil {
				t.Errorf("%s variable %s: %v", d.path, v.name, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no PromQL queries found")
	}
}

// TestLogQLAndTraceQLParse parses every LogQL and TraceQL query of the
// dashboards and of the datasources' links with Grafana's own grammars.
func TestLogQLAndTraceQLParse(t *testing.T) {
	var in []lezerInput
	var where []string
	for _, d := range loadDashboards(t) {
		vars := variables(t, d)
		for _, q := range queries(d) {
			lang := map[string]string{"loki": "logql", "tempo": "traceql"}[q.dsType]
			if lang == "" || q.text == "" {
				continue
			}
			text, err := substitute(q.text, vars)
			if err != nil {
				t.Errorf("%s: %v", q.where, err)
				continue
			}
			in = append(in, lezerInput{lang, text})
			where = append(where, q.where)
		}
	}
	for _, l := range linkQueries(t) {
		if l.lang != "promql" {
			in = append(in, lezerInput{l.lang, l.query})
			where = append(where, l.where)
		}
	}
	langs := map[string]int{}
	for i, errs := range parseWithLezer(t, in) {
		langs[in[i].Lang]++
		if len(errs) > 0 {
			t.Errorf("%s: %s does not parse: %v\n  %s", where[i], in[i].Lang, errs, in[i].Query)
		}
	}
	if langs["logql"] == 0 || langs["traceql"] == 0 {
		t.Errorf("queries checked per language %v: want both LogQL and TraceQL", langs)
	}
}

// linkQuery is a query inside a datasource's cross-signal link, with the
// link's own placeholders filled in as Grafana fills them for a span of
// the scenario's gateway service.
type linkQuery struct {
	where, lang, query string
}

func linkQueries(t *testing.T) []linkQuery {
	t.Helper()
	f, _ := loadDatasources(t)
	tempo, ok := f.byUID()["grafana_tempo"]
	if !ok {
		t.Fatal("grafana_tempo is not provisioned")
	}
	fill := strings.NewReplacer(
		// tracesToLogsV2 tags map service.name to Loki's service_name,
		// tracesToMetrics to the span metrics' service.
		"${__tags}", `service_name="gatewayz-api"`,
		"${__trace.traceId}", "6761746577617a000000000000000001",
		"${__span.spanId}", "0000000000000101",
	)
	var out []linkQuery
	logs := obj(tempo.JSONData, "tracesToLogsV2")
	if q := str(logs, "query"); q != "" {
		out = append(out, linkQuery{"grafana_tempo tracesToLogsV2", "logql", fill.Replace(q)})
	}
	for _, m := range list(obj(tempo.JSONData, "tracesToMetrics"), "queries") {
		mm, _ := m.(map[string]any)
		q := strings.ReplaceAll(str(mm, "query"), "$__tags", `service="gatewayz-api"`)
		out = append(out, linkQuery{"grafana_tempo tracesToMetrics " + str(mm, "name"), "promql", q})
	}
	return out
}

// TestDatasourceLinks checks every datasource and cross-signal link the
// issue lists, each pointing at a provisioned UID of the right type.
func TestDatasourceLinks(t *testing.T) {
	f, read := loadDatasources(t)
	byUID := f.byUID()
	env := dockerfileEnv(t)
	want := map[string]string{
		"grafana_mimir":        "prometheus",
		"grafana_prometheus":   "prometheus",
		"grafana_loki":         "loki",
		"grafana_tempo":        "tempo",
		"grafana_pyroscope":    "grafana-pyroscope-datasource",
		"grafana_alertmanager": "alertmanager",
	}
	for uid, typ := range want {
		if ds, ok := byUID[uid]; !ok || ds.Type != typ {
			t.Errorf("datasource %s: provisioned %+v, want type %s", uid, ds, typ)
		}
	}
	for _, v := range []string{"MIMIR_INTERNAL_URL", "LOKI_URL", "TEMPO_INTERNAL_URL", "PYROSCOPE_INTERNAL_URL", "TENANT_ID"} {
		if !strings.Contains(strings.Join(read, " ")+" ", v+" ") {
			t.Errorf("datasources.yaml does not read %s (it reads %v)", v, read)
		}
	}
	for _, v := range read {
		if env[v] == "" {
			t.Errorf("datasources.yaml reads %s, which grafana/Dockerfile gives no default", v)
		}
	}

	defaults := 0
	for _, ds := range f.Datasources {
		if ds.IsDefault {
			defaults++
			if ds.UID != "grafana_mimir" {
				t.Errorf("default datasource is %s, want grafana_mimir", ds.UID)
			}
		}
		if str(ds.JSONData, "httpHeaderName1") != "X-Scope-OrgID" || ds.SecureJSONData["httpHeaderValue1"] != env["TENANT_ID"] {
			t.Errorf("%s does not send X-Scope-OrgID from TENANT_ID (httpHeaderName1 %q, httpHeaderValue1 %q)", ds.UID, str(ds.JSONData, "httpHeaderName1"), ds.SecureJSONData["httpHeaderValue1"])
		}
		// Whatever else links anywhere must link to something provisioned.
		walkUIDs(ds.JSONData, ds.UID+".jsonData", func(where, uid string) {
			if _, ok := byUID[uid]; !ok {
				t.Errorf("%s points at %q, which is not provisioned", where, uid)
			}
		})
	}
	if defaults != 1 {
		t.Errorf("%d default datasources, want exactly one", defaults)
	}

	mimir, prom := byUID["grafana_mimir"], byUID["grafana_prometheus"]
	if !strings.HasSuffix(mimir.URL, "/prometheus") || prom.URL != mimir.URL || str(mimir.JSONData, "prometheusType") != "Mimir" {
		t.Errorf("grafana_mimir (%s) and grafana_prometheus (%s) must both be Mimir's /prometheus API", mimir.URL, prom.URL)
	}
	typeOf := func(uid string) string { return byUID[uid].Type }
	linksTo := func(where string, m map[string]any, typ string) {
		t.Helper()
		if uid := str(m, "datasourceUid"); typeOf(uid) != typ {
			t.Errorf("%s links to %q (type %q), want a %s datasource", where, uid, typeOf(uid), typ)
		}
	}
	for _, uid := range []string{"grafana_mimir", "grafana_prometheus"} {
		found := false
		for _, e := range list(byUID[uid].JSONData, "exemplarTraceIdDestinations") {
			em, _ := e.(map[string]any)
			// Mimir's OTLP translation labels exemplars trace_id.
			if str(em, "name") == "trace_id" {
				found = true
				linksTo(uid+" exemplar trace_id", em, "tempo")
			}
		}
		if !found {
			t.Errorf("%s has no exemplar link on label trace_id", uid)
		}
	}

	var label, regex bool
	for _, df := range list(byUID["grafana_loki"].JSONData, "derivedFields") {
		dm, _ := df.(map[string]any)
		linksTo("grafana_loki derived field "+str(dm, "name"), dm, "tempo")
		if str(dm, "url") != "${__value.raw}" {
			t.Errorf("derived field %s: url %q, want ${__value.raw} (written $${__value.raw})", str(dm, "name"), str(dm, "url"))
		}
		switch str(dm, "matcherType") {
		case "label":
			label = label || str(dm, "matcherRegex") == "trace_id"
		case "regex":
			re, err := regexp.Compile(str(dm, "matcherRegex"))
			if err != nil {
				t.Errorf("derived field %s: %v", str(dm, "name"), err)
				continue
			}
			const id = "6761746577617a000000000000000001"
			for _, line := range []string{`{"level":"error","trace_id":"` + id + `","msg":"x"}`, `{"traceId": "` + id + `"}`} {
				m := re.FindStringSubmatch(line)
				if len(m) != 2 || m[1] != id {
					t.Errorf("derived field %s does not capture the trace id of %s (got %q)", str(dm, "name"), line, m)
				}
			}
			regex = true
		}
	}
	if !label || !regex {
		t.Errorf("grafana_loki derived fields: structured-metadata trace_id %v, trace id in a JSON line %v; want both", label, regex)
	}

	tj := byUID["grafana_tempo"].JSONData
	logs := obj(tj, "tracesToLogsV2")
	linksTo("tracesToLogsV2", logs, "loki")
	if logs["customQuery"] != true || !strings.Contains(str(logs, "query"), "${__trace.traceId}") || !strings.Contains(str(logs, "query"), "${__tags}") {
		t.Errorf("tracesToLogsV2 must query by trace id and service: %v", logs)
	}
	if !hasTag(logs, "service.name", "service_name") {
		t.Errorf("tracesToLogsV2 tags %v must map service.name to Loki's service_name", logs["tags"])
	}
	metrics := obj(tj, "tracesToMetrics")
	linksTo("tracesToMetrics", metrics, "prometheus")
	if !hasTag(metrics, "service.name", "service") || len(list(metrics, "queries")) == 0 {
		t.Errorf("tracesToMetrics must map service.name to the span metrics' service and have queries: %v", metrics)
	}
	for _, l := range linkQueries(t) {
		if l.lang == "promql" {
			if _, err := promql.ParseExpr(l.query); err != nil {
				t.Errorf("%s: %v", l.where, err)
			}
		}
	}
	profiles := obj(tj, "tracesToProfiles")
	linksTo("tracesToProfiles", profiles, "grafana-pyroscope-datasource")
	if str(profiles, "profileTypeId") != "process_cpu:cpu:nanoseconds:cpu:nanoseconds" || profiles["customQuery"] != false || !hasTag(profiles, "service.name", "service_name") {
		t.Errorf("tracesToProfiles must open the service's CPU profile: %v", profiles)
	}
	linksTo("serviceMap", obj(tj, "serviceMap"), "prometheus")
	if obj(tj, "nodeGraph")["enabled"] != true {
		t.Error("Tempo's node graph is not enabled")
	}

	am := byUID["grafana_alertmanager"]
	if str(am.JSONData, "implementation") != "mimir" || am.URL+"/prometheus" != mimir.URL {
		t.Errorf("alertmanager datasource: implementation %q, URL %q; want mimir at Mimir's base URL (%s without /prometheus)", str(am.JSONData, "implementation"), am.URL, mimir.URL)
	}
}

func hasTag(m map[string]any, key, value string) bool {
	for _, tg := range list(m, "tags") {
		tm, _ := tg.(map[string]any)
		if str(tm, "key") == key && str(tm, "value") == value {
			return true
		}
	}
	return false
}

// walkUIDs calls f for every datasourceUid value anywhere under v.
func walkUIDs(v any, where string, f func(where, uid string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "datasourceUid" {
				f(where+"."+k, s)
				continue
			}
			walkUIDs(e, where+"."+k, f)
		}
	case []any:
		for _, e := range x {
			walkUIDs(e, where+"[]", f)
		}
	}
}

// TestGrafanaSettings: the image refuses to start without an admin
// password, keeps anonymous access and sign-up off, and every variable a
// deployment sets has a row in the README's table.
func TestGrafanaSettings(t *testing.T) {
	env := dockerfileEnv(t)
	if env["GF_AUTH_ANONYMOUS_ENABLED"] != "false" || env["GF_USERS_ALLOW_SIGN_UP"] != "false" {
		t.Errorf("grafana/Dockerfile: GF_AUTH_ANONYMOUS_ENABLED=%q GF_USERS_ALLOW_SIGN_UP=%q, want both false", env["GF_AUTH_ANONYMOUS_ENABLED"], env["GF_USERS_ALLOW_SIGN_UP"])
	}
	home, ok := strings.CutPrefix(env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"], "/etc/grafana/provisioning/dashboards/")
	if _, err := os.Stat(filepath.Join(dashboardDir, home)); !ok || err != nil {
		t.Errorf("home dashboard %q is not a provisioned dashboard", env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
	}
	if _, ok := env["GF_SECURITY_ADMIN_PASSWORD"]; ok {
		t.Error("grafana/Dockerfile must not set an admin password")
	}
	dockerfile, err := os.ReadFile(filepath.Join(grafanaDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^FROM grafana/grafana:\d+\.\d+\.\d+\s*$`).Match(dockerfile) {
		t.Error("grafana/Dockerfile must start from grafana/grafana pinned to a release")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(sh, filepath.Join(grafanaDir, "require-admin-password.sh"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "GF_SECURITY_ADMIN_PASSWORD") {
		t.Errorf("the entrypoint started without an admin password (err %v): %s", err, b)
	}

	readme, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Only the one table counts, not a mention elsewhere.
	_, table, _ := bytes.Cut(readme, []byte("\n## Environment variables\n"))
	table, _, _ = bytes.Cut(table, []byte("\n## "))
	_, read := loadDatasources(t)
	for _, v := range append(read, "GF_SECURITY_ADMIN_PASSWORD") {
		if !bytes.Contains(table, []byte("\n| `"+v+"` |")) {
			t.Errorf("README's environment table has no row for %s", v)
		}
	}
}

// TestCitedAlertsExist: an alert a panel description names (its threshold
// is drawn on the panel) is a rule in backends/mimir/rules.
func TestCitedAlertsExist(t *testing.T) {
	rules, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "backends", "mimir", "rules", "*", "*.yaml"))
	if err != nil || len(rules) == 0 {
		t.Fatalf("no alert rules under backends/mimir/rules (%v)", err)
	}
	defined := map[string]bool{}
	for _, r := range rules {
		raw, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^\s*-?\s*alert:\s*(\S+)`).FindAllStringSubmatch(string(raw), -1) {
			defined[m[1]] = true
		}
	}
	cited := regexp.MustCompile(`\bGatewayZ[A-Z][A-Za-z0-9]+`)
	n := 0
	for _, d := range loadDashboards(t) {
		for _, p := range panels(d.doc) {
			for _, name := range cited.FindAllString(str(p, "description"), -1) {
				n++
				if !defined[name] {
					t.Errorf("%s › %q cites alert %s, which no rule defines", d.path, str(p, "title"), name)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no panel cites an alert rule")
	}
}
