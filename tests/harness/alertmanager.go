package harness

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// AlertmanagerConfigFile is the repository's Alertmanager config: Mimir's
// fallback config, valid as it stands, with lines a deployment fills from
// the environment (see RenderAlertmanagerConfig).
const AlertmanagerConfigFile = "backends/mimir/alertmanager.yaml"

// envLine is a config line whose value a variable may replace:
// `key: "value" # env NAME` (a double-quoted value) or `key: value # env
// NAME` (a plain one: a boolean, a number).
var envLine = regexp.MustCompile(`^(\s*(?:-\s+)?[A-Za-z_][A-Za-z0-9_]*:\s+)("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.:-]+)(\s+#\s*env\s+([A-Z][A-Z0-9_]*))\s*$`)

// envMarker is what makes a line look like one, well-formed or not.
var envMarker = regexp.MustCompile(`#\s*env\s+\S+\s*$`)

// plainValue is what a plain (unquoted) value may be replaced with: no
// YAML syntax can come in with it.
var plainValue = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// ConfigVar is one environment variable of a config template.
type ConfigVar struct {
	Name string
	// Default is the value the file holds when the variable is unset.
	Default string
	// Quoted tells whether the value is a double-quoted string.
	Quoted bool
}

// AlertmanagerConfigVars lists the variables of a config template (lines
// ending in "# env NAME") in the order they appear; a line that looks like
// one but is not well-formed is an error, since rendering would skip it
// silently.
func AlertmanagerConfigVars(tmpl []byte) ([]ConfigVar, error) {
	var vars []ConfigVar
	for i, line := range strings.Split(string(tmpl), "\n") {
		m := envLine.FindStringSubmatch(line)
		if m == nil {
			if envMarker.MatchString(line) {
				return nil, fmt.Errorf("line %d: %q: want `key: \"value\" # env NAME` or `key: value # env NAME`", i+1, line)
			}
			continue
		}
		v := ConfigVar{Name: m[4], Default: m[2]}
		if strings.HasPrefix(m[2], `"`) {
			unq, err := strconv.Unquote(m[2])
			if err != nil {
				return nil, fmt.Errorf("line %d: value %s: %w", i+1, m[2], err)
			}
			v.Default, v.Quoted = unq, true
		}
		vars = append(vars, v)
	}
	return vars, nil
}

// RenderAlertmanagerConfig fills a config template the way the deployment
// does before Alertmanager (or Mimir) reads it: on each line ending in
// "# env NAME", the value becomes NAME's value in env when that is set and
// not empty; otherwise the line keeps the file's value, a safe default.
// Values are escaped for the YAML double-quoted strings they replace, so a
// password may hold `"` or `\`. A value with a line break, or one that does
// not fit a plain (unquoted) value, is an error.
func RenderAlertmanagerConfig(tmpl []byte, env map[string]string) ([]byte, error) {
	if _, err := AlertmanagerConfigVars(tmpl); err != nil {
		return nil, err
	}
	lines := strings.Split(string(tmpl), "\n")
	var errs []string
	for i, line := range lines {
		m := envLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v := env[m[4]]
		switch {
		case v == "":
			continue
		case strings.ContainsAny(v, "\r\n"):
			errs = append(errs, m[4]+" holds a line break")
		case strings.HasPrefix(m[2], `"`):
			lines[i] = m[1] + `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"` + m[3]
		case !plainValue.MatchString(v):
			errs = append(errs, fmt.Sprintf("%s=%q does not fit the plain value it replaces", m[4], v))
		default:
			lines[i] = m[1] + v + m[3]
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("rendering the Alertmanager config: %s", strings.Join(errs, "; "))
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// Alertmanager is a running Prometheus Alertmanager ($ALERTMANAGER_BIN).
type Alertmanager struct {
	// URL is its base URL; give it to PrometheusOptions.AlertmanagerURL.
	URL  string
	logs *lockedBuffer
}

// StartAlertmanager runs the Alertmanager with config (a rendered config,
// see RenderAlertmanagerConfig) on a loopback port, clustering off, and
// waits until it is ready.
func StartAlertmanager(t testing.TB, config []byte) *Alertmanager {
	t.Helper()
	bin := RequireBinary(t, "ALERTMANAGER_BIN", ".tools/bin/alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yaml")
	if err := os.WriteFile(cfg, config, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	am := &Alertmanager{URL: "http://" + addr}
	am.logs = startServer(t, "alertmanager", bin, []string{
		"--config.file=" + cfg,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		// An empty cluster address turns the gossip mesh off; it would
		// otherwise listen on every interface.
		"--cluster.listen-address=",
		"--log.level=info",
	}, am.URL+"/-/ready", 30*time.Second)
	return am
}

// Logs is everything the Alertmanager printed so far.
func (a *Alertmanager) Logs() string { return a.logs.String() }

// ReceivedAlert is one alert as the Alertmanager's API lists it.
type ReceivedAlert struct {
	Labels    map[string]string `json:"labels"`
	Receivers []struct {
		Name string `json:"name"`
	} `json:"receivers"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

// Alerts lists the alerts the Alertmanager holds (GET /api/v2/alerts).
func (a *Alertmanager) Alerts() ([]ReceivedAlert, error) {
	resp, err := http.Get(a.URL + "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v2/alerts: status %d", resp.StatusCode)
	}
	var alerts []ReceivedAlert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		return nil, fmt.Errorf("GET /api/v2/alerts: %w", err)
	}
	return alerts, nil
}
