package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/internal/dockerfile"
)

const renderScript = "backends/mimir/render-alertmanager.sh"

// render runs the Mimir image's renderer with env as its whole
// environment (plus PATH), as the image's entrypoint does.
func render(t *testing.T, tmpl []byte, env map[string]string) ([]byte, string, error) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "alertmanager.yaml"), filepath.Join(dir, "out.yaml")
	if err := os.WriteFile(in, tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", filepath.Join(harness.RepoRoot(), renderScript), in, out)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if _, statErr := os.Stat(out); statErr == nil {
			t.Errorf("the renderer failed but left %s for Mimir to read", out)
		}
		return nil, stderr.String(), err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b, stderr.String(), nil
}

// syntheticTemplate has the shapes the repository's template may grow: list
// items, tabs, trailing blanks, escapes in a default, a plain value.
const syntheticTemplate = "a:\n" +
	"  - to: \"x@example.invalid\" # env SYN_LIST   \n" +
	"\tkey:\t\"q\\\"d\"\t#\tenv SYN_TAB\n" +
	"  flag: true #env SYN_PLAIN\n" +
	"  port: 25 # env SYN_UNSET\n" +
	"  # a comment about env vars, no marker\n"

// TestComposeRendersTheAlertmanagerConfigLikeTheHarness: the renderer the
// compose stack runs before Mimir produces exactly what
// harness.RenderAlertmanagerConfig (the rendering the alert tests send
// through a real Alertmanager) produces, from the repository's template and
// from one with every shape a line may take.
func TestComposeRendersTheAlertmanagerConfigLikeTheHarness(t *testing.T) {
	for tmplName, tmpl := range map[string][]byte{
		"repository": []byte(readRepoFile(t, harness.AlertmanagerConfigFile)),
		"synthetic":  []byte(syntheticTemplate),
	} {
		vars, err := harness.AlertmanagerConfigVars(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if len(vars) == 0 {
			t.Fatalf("%s template has no variables; nothing to render", tmplName)
		}
		all := map[string]string{}
		var firstQuoted, lastQuoted string
		for _, v := range vars {
			if !v.Quoted {
				all[v.Name] = "false"
				continue
			}
			// Characters the YAML string must escape, and ones sed-style
			// renderers get wrong.
			all[v.Name] = `a"b\c&d/e|f $X ` + v.Name
			if firstQuoted == "" {
				firstQuoted = v.Name
			}
			lastQuoted = v.Name
		}
		cases := map[string]map[string]string{
			"defaults":      nil,
			"all set":       all,
			"set but empty": {firstQuoted: ""},
			"one set":       {lastQuoted: "only-this"},
			"blanks":        {firstQuoted: " lead and trail "},
		}
		for name, env := range cases {
			t.Run(tmplName+"/"+name, func(t *testing.T) {
				want, err := harness.RenderAlertmanagerConfig(tmpl, env)
				if err != nil {
					t.Fatal(err)
				}
				got, stderr, err := render(t, tmpl, env)
				if err != nil {
					t.Fatalf("renderer failed: %v\n%s", err, stderr)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("renderer output differs from harness.RenderAlertmanagerConfig\n got: %q\nwant: %q", got, want)
				}
				if name != "defaults" && name != "set but empty" && bytes.Equal(got, tmpl) {
					t.Error("nothing was replaced; the case tests nothing")
				}
			})
		}
	}
}

func TestComposeAlertmanagerRendererRefusesBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		tmpl string
		env  map[string]string
		says string
	}{
		"line break":          {"to: \"x\" # env X\n", map[string]string{"X": "a\nb"}, "X holds a line break"},
		"unfit plain value":   {"tls: true # env X\n", map[string]string{"X": "yes please"}, "X does not fit the plain value"},
		"two words":           {"to: x y # env X\n", nil, "want `key:"},
		"unterminated string": {"to: \"x # env X\n", nil, "want `key:"},
		"no key":              {"  # env X\n", nil, "want `key:"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := harness.RenderAlertmanagerConfig([]byte(c.tmpl), c.env); err == nil {
				t.Fatalf("harness.RenderAlertmanagerConfig accepts this; the case is wrong")
			}
			_, stderr, err := render(t, []byte(c.tmpl), c.env)
			if err == nil {
				t.Fatal("renderer succeeded")
			}
			if !strings.Contains(stderr, c.says) {
				t.Errorf("renderer's message %q does not say %q", stderr, c.says)
			}
		})
	}
}

// The Mimir image's start path: entrypoint.sh renders the template the
// Dockerfile copies to imageTemplate into imageRendered, then runs Mimir.
const (
	mimirDir      = "backends/mimir"
	imageTemplate = "/etc/mimir/alertmanager.yaml"
	imageRendered = "/tmp/alertmanager.yaml"
	imageScripts  = "/usr/local/bin/"
)

// TestMimirImageRendersTheAlertmanagerConfig: the image copies the template
// and both scripts where entrypoint.sh looks, starts through entrypoint.sh,
// and Mimir's fallback config defaults to the rendered file; the
// entrypoint itself (its image paths mapped to a temp dir) renders the
// variables and then runs Mimir with the image's arguments, or refuses
// to start Mimir on a bad value; compose passes every variable.
func TestMimirImageRendersTheAlertmanagerConfig(t *testing.T) {
	df, err := dockerfile.Parse(filepath.Join(harness.RepoRoot(), mimirDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	copied := map[string]string{} // image path -> context path
	var entrypoint []string
	for _, ins := range df.Final().Instructions {
		switch ins.Cmd {
		case "COPY":
			if ins.Flags["from"] != "" {
				continue
			}
			dst := ins.Args[len(ins.Args)-1]
			for _, src := range ins.Args[:len(ins.Args)-1] {
				if strings.HasSuffix(dst, "/") {
					copied[dst+filepath.Base(src)] = src
				} else {
					copied[dst] = src
				}
			}
		case "ENTRYPOINT":
			entrypoint = ins.Args
		}
	}
	want := map[string]string{
		imageTemplate:                           "alertmanager.yaml",
		imageScripts + "entrypoint.sh":          "entrypoint.sh",
		imageScripts + "render-alertmanager.sh": "render-alertmanager.sh",
	}
	for dst, src := range want {
		if copied[dst] != src {
			t.Errorf("the Mimir image must copy %s to %s, copies %q there", src, dst, copied[dst])
		}
	}
	if len(entrypoint) != 2 || entrypoint[1] != imageScripts+"entrypoint.sh" {
		t.Fatalf("the Mimir image must start through %sentrypoint.sh, ENTRYPOINT is %v", imageScripts, entrypoint)
	}
	if cfg := readRepoFile(t, mimirDir+"/mimir.yaml"); !strings.Contains(cfg, "fallback_config_file: ${MIMIR_ALERTMANAGER_CONFIG:"+imageRendered+"}") {
		t.Errorf("mimir.yaml's fallback_config_file must default to the rendered %s", imageRendered)
	}

	dir := t.TempDir()
	script := readRepoFile(t, mimirDir+"/entrypoint.sh")
	for image, host := range map[string]string{
		imageScripts + "render-alertmanager.sh": filepath.Join(harness.RepoRoot(), mimirDir, "render-alertmanager.sh"),
		imageTemplate:                           filepath.Join(harness.RepoRoot(), harness.AlertmanagerConfigFile),
		imageRendered:                           filepath.Join(dir, "rendered.yaml"),
		"exec /bin/mimir":                       "exec sh " + filepath.Join(dir, "mimir"),
	} {
		if !strings.Contains(script, image) {
			t.Fatalf("entrypoint.sh does not use %s", image)
		}
		script = strings.ReplaceAll(script, image, host)
	}
	if err := os.WriteFile(filepath.Join(dir, "mimir"), []byte(`echo "mimir $*"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(env ...string) (string, error) {
		cmd := exec.Command("sh", "-c", script, "entrypoint.sh", "-config.file=/etc/mimir/mimir.yaml")
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("ALERT_EMAIL_ONCALL=pager@corp.test")
	if err != nil || !strings.Contains(out, "mimir -config.file=/etc/mimir/mimir.yaml") {
		t.Fatalf("the entrypoint did not run Mimir with its arguments: %v\n%s", err, out)
	}
	if rendered := readFile(t, filepath.Join(dir, "rendered.yaml")); !strings.Contains(rendered, `to: "pager@corp.test" # env ALERT_EMAIL_ONCALL`) {
		t.Errorf("the entrypoint did not render ALERT_EMAIL_ONCALL:\n%s", rendered)
	}
	if out, err := run("ALERT_EMAIL_ONCALL=a\nb"); err == nil || strings.Contains(out, "mimir -config") {
		t.Errorf("a value with a line break must stop the entrypoint before Mimir starts, got %v\n%s", err, out)
	}

	p, _ := mustLoadCompose(t)
	vars, err := harness.AlertmanagerConfigVars([]byte(readRepoFile(t, harness.AlertmanagerConfigFile)))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if _, ok := p.Services["mimir"].Environment[v.Name]; !ok {
			t.Errorf("compose does not pass %s to mimir", v.Name)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
