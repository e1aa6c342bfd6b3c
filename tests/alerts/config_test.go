package alerts

import (
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// Test recipients on the reserved .test domain (RFC 2606): not deliverable,
// and different from the template's defaults, so a test sees the
// environment reach the config.
const testDomain = "gatewayz.test"

func testAddr(box string) string { return box + "@" + testDomain }

// deploymentEnv is what a deployment sets: every variable of the template.
func deploymentEnv(smarthost, password string) map[string]string {
	return map[string]string{
		"ALERT_SMTP_SMARTHOST":   smarthost,
		"ALERT_SMTP_FROM":        "GatewayZ Alerts <" + testAddr("alertmanager") + ">",
		"ALERT_SMTP_USERNAME":    "alerts",
		"ALERT_SMTP_PASSWORD":    password,
		"ALERT_SMTP_REQUIRE_TLS": "false",
		"ALERT_EMAIL_ONCALL":     testAddr("oncall"),
		"ALERT_EMAIL_OPS":        testAddr("ops"),
		"ALERT_EMAIL_PROVIDERS":  testAddr("providers"),
	}
}

// A password YAML would break on unescaped.
const trickyPassword = `p"a\ss: {w0rd} #1`

func alertmanagerTemplate(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), harness.AlertmanagerConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func renderTo(t *testing.T, env map[string]string) string {
	t.Helper()
	cfg, err := harness.RenderAlertmanagerConfig(alertmanagerTemplate(t), env)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alertmanager.yaml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAlertmanagerConfigPassesAmtool runs `amtool check-config` on the
// file rendered as a deployment renders it, and on the file as it stands
// (what Mimir loads when nothing renders it).
func TestAlertmanagerConfigPassesAmtool(t *testing.T) {
	amtool := harness.RequireBinary(t, "AMTOOL_BIN", ".tools/bin/amtool")
	for name, path := range map[string]string{
		"rendered": renderTo(t, deploymentEnv("smtp.gatewayz.test:587", trickyPassword)),
		"as is":    filepath.Join(harness.RepoRoot(), harness.AlertmanagerConfigFile),
	} {
		t.Run(name, func(t *testing.T) {
			out := run(t, amtool, "check-config", path)
			for _, want := range []string{"SUCCESS", "3 receivers", "1 inhibit rules"} {
				if !strings.Contains(out, want) {
					t.Errorf("amtool check-config: no %q in\n%s", want, out)
				}
			}
		})
	}
}

// TestAlertmanagerRoutes pins, with `amtool config routes test`, where
// every alert of the rule files goes: provider error-rate spikes to the
// provider receiver, other critical alerts to on-call, warnings to ops; and
// anything unlabelled to ops.
func TestAlertmanagerRoutes(t *testing.T) {
	amtool := harness.RequireBinary(t, "AMTOOL_BIN", ".tools/bin/amtool")
	cfg := renderTo(t, deploymentEnv("smtp.gatewayz.test:587", "x"))
	route := func(t *testing.T, want string, labels ...string) {
		t.Helper()
		args := append([]string{"config", "routes", "test", "--config.file=" + cfg, "--verify.receivers=" + want}, labels...)
		if out, err := runErr(amtool, args...); err != nil {
			t.Errorf("labels %v: want receiver %s: %v\n%s", labels, want, err, out)
		}
	}
	receivers := map[string]int{}
	for _, r := range alertRules(t) {
		want := map[string]string{"critical": "oncall", "warning": "ops"}[r.Labels["severity"]]
		if r.Alert == "GatewayZProviderHighErrorRate" {
			want = "providers"
		}
		receivers[want]++
		labels := []string{"alertname=" + r.Alert, "gen_ai_system=openai"}
		for k, v := range r.Labels {
			if strings.Contains(v, "{{") {
				v = "openai" // a templated label: any value routes the same
			}
			labels = append(labels, k+"="+v)
		}
		route(t, want, labels...)
	}
	for _, rcv := range []string{"oncall", "ops", "providers"} {
		if receivers[rcv] == 0 {
			t.Errorf("no alert routes to %s", rcv)
		}
	}
	// The routes match on labels, not names: a new critical alert pages.
	route(t, "oncall", "alertname=SomethingNew", "severity=critical")
	route(t, "ops", "alertname=SomethingNew", "severity=warning")
	route(t, "ops", "alertname=SomethingNew")
	route(t, "providers", "alertname=GatewayZProviderHighErrorRate", "severity=critical")
}

// TestAlertmanagerConfigEnvironment checks the file's variables: each has
// a row in the README's table with the file's value as its default, the
// defaults are safe (no deliverable address, no credentials), and
// rendering puts each value, escaped, exactly where it belongs.
func TestAlertmanagerConfigEnvironment(t *testing.T) {
	tmpl := alertmanagerTemplate(t)
	vars, err := harness.AlertmanagerConfigVars(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	env := deploymentEnv("smtp.gatewayz.test:587", trickyPassword)
	if len(vars) != len(env) {
		t.Errorf("template reads %d variables, the test's deployment sets %d: %v", len(vars), len(env), vars)
	}

	readme, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if _, ok := env[v.Name]; !ok {
			t.Errorf("%s is not set by the test's deployment", v.Name)
		}
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(v.Name) + "` \\| ([^|]*) \\|")
		m := row.FindSubmatch(readme)
		if m == nil {
			t.Errorf("%s has no row in README.md's Environment variables table", v.Name)
			continue
		}
		wantCell := "`" + v.Default + "`"
		if v.Default == "" {
			wantCell = "empty"
		}
		if cell := strings.TrimSpace(string(m[1])); !strings.HasPrefix(cell, wantCell) {
			t.Errorf("%s: README default %q, template default %q", v.Name, cell, v.Default)
		}
		if strings.Contains(v.Default, "@") && !strings.HasSuffix(v.Default, ".invalid") {
			t.Errorf("%s: default %q is not on the reserved .invalid domain", v.Name, v.Default)
		}
	}

	var cfg struct {
		Global struct {
			Smarthost  string `yaml:"smtp_smarthost"`
			From       string `yaml:"smtp_from"`
			Username   string `yaml:"smtp_auth_username"`
			Password   string `yaml:"smtp_auth_password"`
			RequireTLS bool   `yaml:"smtp_require_tls"`
		} `yaml:"global"`
		Receivers []struct {
			Name   string `yaml:"name"`
			Emails []struct {
				To string `yaml:"to"`
			} `yaml:"email_configs"`
		} `yaml:"receivers"`
	}
	parse := func(env map[string]string) {
		t.Helper()
		b, err := harness.RenderAlertmanagerConfig(tmpl, env)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Receivers = nil
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("rendered config: %v\n%s", err, b)
		}
	}
	to := func() map[string]string {
		out := map[string]string{}
		for _, r := range cfg.Receivers {
			if len(r.Emails) != 1 {
				t.Fatalf("receiver %s: %d email configs, want 1", r.Name, len(r.Emails))
			}
			out[r.Name] = r.Emails[0].To
		}
		return out
	}

	parse(env)
	g := cfg.Global
	if g.Smarthost != env["ALERT_SMTP_SMARTHOST"] || g.From != env["ALERT_SMTP_FROM"] || g.Username != "alerts" ||
		g.Password != trickyPassword || g.RequireTLS {
		t.Errorf("rendered global section %+v does not hold the environment's values", g)
	}
	got := to()
	for rcv, v := range map[string]string{"oncall": "ALERT_EMAIL_ONCALL", "ops": "ALERT_EMAIL_OPS", "providers": "ALERT_EMAIL_PROVIDERS"} {
		if got[rcv] != env[v] {
			t.Errorf("receiver %s mails %q, want $%s = %q", rcv, got[rcv], v, env[v])
		}
	}

	parse(map[string]string{})
	if cfg.Global.Password != "" || cfg.Global.Username != "" || !cfg.Global.RequireTLS {
		t.Errorf("defaults: username %q, password set %v, require TLS %v; want no credentials and TLS required",
			cfg.Global.Username, cfg.Global.Password != "", cfg.Global.RequireTLS)
	}
	for rcv, addr := range to() {
		a, err := mail.ParseAddress(addr)
		if err != nil || !strings.HasSuffix(a.Address, ".invalid") {
			t.Errorf("receiver %s: default address %q is not a placeholder on .invalid (%v)", rcv, addr, err)
		}
	}

	for name, bad := range map[string]map[string]string{
		"a line break":               {"ALERT_SMTP_PASSWORD": "a\nb"},
		"YAML in a plain value":      {"ALERT_SMTP_REQUIRE_TLS": "false # x"},
		"a flow value in plain form": {"ALERT_SMTP_REQUIRE_TLS": "[true]"},
	} {
		if _, err := harness.RenderAlertmanagerConfig(tmpl, bad); err == nil {
			t.Errorf("a value with %s was rendered", name)
		}
	}
	if _, err := harness.AlertmanagerConfigVars([]byte("a: {x: 1} # env TYPO\n")); err == nil {
		t.Error("a malformed # env line was accepted")
	}
}
