package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/internal/dockerfile"
)

// railwayService is one row of docs/railway.md's service table.
type railwayService struct {
	Root       string // relative to the repository, "" for its root
	HealthPath string
	Port       string
	VolumePath string
	Public     bool
}

// railwayServices reads docs/railway.md's service table by service name.
func railwayServices(t *testing.T) map[string]railwayService {
	t.Helper()
	doc := readRepoFile(t, "docs/railway.md")
	services := map[string]railwayService{}
	for _, row := range tableRows(section(t, doc, "What you will build")) {
		if len(row) < 6 {
			t.Fatalf("docs/railway.md service row %v: want service | root directory | health-check path | PORT | volume mount path | public", row)
		}
		for i := range row {
			row[i] = strings.Trim(row[i], "`")
		}
		if !strings.HasPrefix(row[1], "/") {
			t.Errorf("%s: Railway root directories are absolute in the repository (/...), got %q", row[0], row[1])
		}
		services[row[0]] = railwayService{
			Root:       strings.Trim(row[1], "/"),
			HealthPath: row[2],
			Port:       row[3],
			VolumePath: row[4],
			Public:     strings.HasPrefix(row[5], "yes"),
		}
	}
	return services
}

// TestRailwayGuideNamesEveryService: one Railway service per component,
// each with its folder, and every folder with a Dockerfile a service (so a
// new backend cannot be left out of the guide).
func TestRailwayGuideNamesEveryService(t *testing.T) {
	services := railwayServices(t)
	want := map[string]string{
		"collector": "",
		"mimir":     "backends/mimir",
		"loki":      "backends/loki",
		"tempo":     "backends/tempo",
		"pyroscope": "backends/pyroscope",
		"grafana":   "grafana",
	}
	backends, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "backends", "*", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, df := range backends {
		name := filepath.Base(filepath.Dir(df))
		if _, ok := want[name]; !ok {
			t.Errorf("backends/%s has a Dockerfile but no Railway service in this test or the guide", name)
		}
	}
	for name, root := range want {
		got, ok := services[name]
		if !ok {
			t.Errorf("docs/railway.md has no service %s", name)
		} else if got.Root != root {
			t.Errorf("docs/railway.md: %s's root directory is /%s, want /%s", name, got.Root, root)
		}
	}
	// The guide's health-check port, health path and volume for each
	// backend are the environment contract's defaults, and no backend is
	// public (they have no authentication).
	ports, dataDirs := backendContract(t, "HTTP_PORT"), backendContract(t, "DATA_DIR")
	for backend, port := range ports {
		s := services[backend]
		if s.Port != port || s.VolumePath != dataDirs[backend] || s.HealthPath != "/ready" || s.Public {
			t.Errorf("docs/railway.md: %s has PORT %q, volume %q, health check %q, public %v; want PORT %s, volume %s (its defaults in backends/README.md), /ready, not public",
				backend, s.Port, s.VolumePath, s.HealthPath, s.Public, port, dataDirs[backend])
		}
	}
	for name := range services {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/railway.md lists service %s that this test does not know", name)
		}
	}
	// The collector's health check is the one its image runs.
	root, err := dockerfile.Parse(filepath.Join(harness.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var probe []string
	for _, ins := range root.Final().Instructions {
		if ins.Cmd == "HEALTHCHECK" {
			probe = regexp.MustCompile(`http://127\.0\.0\.1:(\d+)(/\S*)`).FindStringSubmatch(ins.Rest)
		}
	}
	if c := services["collector"]; probe == nil || c.Port != probe[1] || c.HealthPath != probe[2] || !c.Public {
		t.Errorf("docs/railway.md: collector has PORT %q, health check %q, public %v; want the image's HEALTHCHECK port and path %v, and public (the ingress)", c.Port, c.HealthPath, c.Public, probe)
	}
	if !services["grafana"].Public {
		t.Error("docs/railway.md: grafana must be public")
	}
	doc := readRepoFile(t, "docs/railway.md")
	for name := range want {
		if !strings.Contains(doc, "### "+name+"\n") {
			t.Errorf("docs/railway.md has no variables section (### %s)", name)
		}
	}
	for _, backend := range []string{"mimir", "loki", "tempo", "pyroscope"} {
		if !strings.Contains(doc, "${{"+backend+".RAILWAY_PRIVATE_DOMAIN}}") {
			t.Errorf("docs/railway.md never addresses %s by its private domain (${{%s.RAILWAY_PRIVATE_DOMAIN}})", backend, backend)
		}
	}
	mapped := map[string]bool{}
	for _, row := range tableRows(section(t, doc, "The old stack's variables")) {
		if len(row) >= 3 && row[2] != "" {
			mapped[strings.Trim(row[0], "`")] = true
		}
	}
	for _, old := range []string{"MIMIR_INTERNAL_URL", "LOKI_URL", "TEMPO_INTERNAL_URL", "PYROSCOPE_INTERNAL_URL", "FASTAPI_TARGET"} {
		if !mapped[old] {
			t.Errorf("docs/railway.md's old-variables table has no row saying what the old stack's %s becomes", old)
		}
	}
}

// TestRailwayHasNoConfigAsCode: Railway's per-service railway.toml and
// railway.json are deprecated and stop being read on 2026-12-01; the guide
// is the configuration.
func TestRailwayHasNoConfigAsCode(t *testing.T) {
	root := harness.RepoRoot()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".tools" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.Name() == "railway.toml" || d.Name() == "railway.json" {
			rel, _ := filepath.Rel(root, p)
			t.Errorf("%s: Railway's config-as-code is deprecated (no longer read after 2026-12-01); put the settings in docs/railway.md", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRailwayDockerfiles: each Railway service's root directory builds on
// its own: its Dockerfile starts from pinned images, every file it copies
// is in that directory (and not excluded by its .dockerignore), and every
// variable the image reads (the Dockerfile's ARG, ENV and ${...}, and the
// configs and scripts it copies) is documented.
func TestRailwayDockerfiles(t *testing.T) {
	readme, railway := documentedVars(t)
	services := railwayServices(t)
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(harness.RepoRoot(), services[name].Root)
			f, err := dockerfile.Parse(filepath.Join(root, "Dockerfile"))
			if err != nil {
				t.Fatalf("Railway builds the Dockerfile in the root directory: %v", err)
			}
			for _, img := range f.BaseImages() {
				if err := dockerfile.Pinned(img.Ref); err != nil {
					t.Errorf("Dockerfile:%d: %v", img.Line, err)
				}
			}
			ignored := dockerignore(t, root)
			for _, src := range f.Sources() {
				matches, err := filepath.Glob(filepath.Join(root, src.Path))
				if err != nil || len(matches) == 0 {
					t.Errorf("Dockerfile:%d: COPY %s: no such file in /%s", src.Line, src.Path, services[name].Root)
					continue
				}
				if pattern := ignoredBy(ignored, src.Path); pattern != "" {
					t.Errorf("Dockerfile:%d: COPY %s, but .dockerignore excludes it (%s)", src.Line, src.Path, pattern)
				}
			}
			reads := map[string][]string{}
			for _, v := range f.Variables() {
				reads[v] = append(reads[v], "Dockerfile")
			}
			fromFiles, err := f.ReadsFromFiles(root)
			if err != nil {
				t.Fatal(err)
			}
			for file, vars := range fromFiles {
				for _, v := range vars {
					reads[v] = append(reads[v], file)
				}
			}
			var all []string
			for v := range reads {
				all = append(all, v)
			}
			sort.Strings(all)
			t.Logf("reads %v", all)
			if len(reads) == 0 {
				t.Errorf("the image reads no variable at all; a Railway service needs its listen ports and paths from variables")
			}
			for v, where := range reads {
				if !readme[v] && !railway[v] {
					slices.Sort(where)
					t.Errorf("%s (read by %v) is documented neither in the README's Environment variables table nor in docs/railway.md", v, slices.Compact(where))
				}
			}
		})
	}
}

// dockerignore reads the build context's .dockerignore patterns, if any.
func dockerignore(t *testing.T, root string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf("%s/.dockerignore: exception %q: this check does not handle exceptions; extend ignoredBy", root, l)
		}
		patterns = append(patterns, strings.Trim(l, "/"))
	}
	return patterns
}

// ignoredBy returns the pattern that excludes src or one of its parent
// folders.
func ignoredBy(patterns []string, src string) string {
	src = strings.Trim(filepath.Clean(src), "/")
	for _, p := range patterns {
		for dir := src; dir != "." && dir != "/" && dir != ""; dir = filepath.Dir(dir) {
			if ok, _ := filepath.Match(p, dir); ok {
				return p
			}
		}
	}
	return ""
}
