package deploy

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
	"github.com/gatewayz/otelcol-gatewayz/tests/internal/dockerfile"
)

const composeFile = "compose/docker-compose.yaml"

// requiredEnv is what a user must set before `make up`: the Grafana admin
// password has no default on purpose (no password lives in the repo).
var requiredEnv = map[string]string{"GF_SECURITY_ADMIN_PASSWORD": "only-for-this-test"}

// loadCompose loads the stack as `docker compose up` would with env as the
// whole environment (never the developer's own, so the test sees the
// defaults), and returns the variables interpolation looked up.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, []string, error) {
	t.Helper()
	return loadComposeFiles(t, env, composeFile)
}

// loadComposeFiles is loadCompose for several files, later ones overriding
// earlier ones, as `docker compose -f A -f B` merges them.
func loadComposeFiles(t *testing.T, env map[string]string, files ...string) (*types.Project, []string, error) {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(harness.RepoRoot(), f)
	}
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	var mu sync.Mutex
	read := map[string]bool{}
	opts, err := cli.NewProjectOptions(
		paths,
		cli.WithEnv(kv),
		cli.WithResolvedPaths(true),
		cli.WithLoadOptions(func(o *loader.Options) {
			// Reading the files runs the options too, before interpolation
			// is set up; only the load proper interpolates.
			if o.Interpolate == nil {
				return
			}
			lookup := o.Interpolate.LookupValue
			o.Interpolate.LookupValue = func(name string) (string, bool) {
				mu.Lock()
				read[name] = true
				mu.Unlock()
				return lookup(name)
			}
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := opts.LoadProject(ctx)
	var names []string
	for n := range read {
		names = append(names, n)
	}
	sort.Strings(names)
	return p, names, err
}

func mustLoadCompose(t *testing.T) (*types.Project, []string) {
	t.Helper()
	p, vars, err := loadCompose(t, requiredEnv)
	if err != nil {
		t.Fatalf("docker compose would refuse %s: %v", composeFile, err)
	}
	return p, vars
}

// buildDockerfile is the Dockerfile compose builds a service from.
func buildDockerfile(s types.ServiceConfig) string {
	df := s.Build.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if !filepath.IsAbs(df) {
		df = filepath.Join(s.Build.Context, df)
	}
	return df
}

func sortedServices(p *types.Project) []types.ServiceConfig {
	var out []types.ServiceConfig
	for _, name := range p.ServiceNames() {
		out = append(out, p.Services[name])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func TestComposeRunsTheWholeStack(t *testing.T) {
	p, _ := mustLoadCompose(t)
	root := harness.RepoRoot()
	want := map[string]string{ // service → the folder it is built from
		"collector": ".",
		"mimir":     "backends/mimir",
		"loki":      "backends/loki",
		"tempo":     "backends/tempo",
		"pyroscope": "backends/pyroscope",
		"grafana":   "grafana",
	}
	for name, dir := range want {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("service %s is missing", name)
			continue
		}
		if s.Build == nil || s.Build.Context != filepath.Join(root, dir) {
			t.Errorf("%s: want it built from %s (the folder Railway builds too), got %+v", name, dir, s.Build)
		}
	}
	re, ok := p.Services["redis-exporter"]
	if !ok || !strings.HasPrefix(re.Image, "oliver006/redis_exporter:") {
		t.Errorf("want service redis-exporter (the collector's default REDIS_EXPORTER_TARGET host) running oliver006/redis_exporter, got %q", re.Image)
	}
}

func TestComposeNeedsTheGrafanaPassword(t *testing.T) {
	_, _, err := loadCompose(t, nil)
	if err == nil || !strings.Contains(err.Error(), "GF_SECURITY_ADMIN_PASSWORD") {
		t.Fatalf("without GF_SECURITY_ADMIN_PASSWORD compose must refuse with a message naming it, got %v", err)
	}
}

// TestComposeFilesExist: every build context, Dockerfile and bind-mounted
// file the stack uses is in the repository.
func TestComposeFilesExist(t *testing.T) {
	p, _ := mustLoadCompose(t)
	for _, s := range sortedServices(p) {
		if s.Build != nil {
			if _, err := os.Stat(buildDockerfile(s)); err != nil {
				t.Errorf("%s: Dockerfile: %v", s.Name, err)
			}
		}
		for _, v := range s.Volumes {
			switch v.Type {
			case types.VolumeTypeBind:
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("%s: bind mount %s: %v", s.Name, v.Source, err)
				}
			case types.VolumeTypeVolume:
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("%s: volume %q is not declared", s.Name, v.Source)
				}
			}
		}
	}
}

// TestComposeImagesArePinned: every image the stack pulls, directly or as a
// base image of what it builds, is pinned to an exact release tag.
func TestComposeImagesArePinned(t *testing.T) {
	p, _ := mustLoadCompose(t)
	for _, s := range sortedServices(p) {
		switch {
		case s.Build != nil:
			f, err := dockerfile.Parse(buildDockerfile(s))
			if err != nil {
				t.Errorf("%s: %v", s.Name, err)
				continue
			}
			for _, img := range f.BaseImages() {
				if err := dockerfile.Pinned(img.Ref); err != nil {
					t.Errorf("%s: %s:%d: %v", s.Name, f.Path, img.Line, err)
				}
			}
		case s.Image != "":
			if err := dockerfile.Pinned(s.Image); err != nil {
				t.Errorf("%s: %v", s.Name, err)
			}
		default:
			t.Errorf("%s has neither an image nor a build", s.Name)
		}
	}
}

var (
	// ${NAME followed by anything but a default (:- or -) or a required
	// marker (:? or ?), or a bare $NAME; $$ is an escaped dollar.
	bracedVar = regexp.MustCompile(`(^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?`)
	bareVar   = regexp.MustCompile(`(^|[^$])\$([A-Za-z_][A-Za-z0-9_]*)`)
)

// TestComposeVariablesAreDocumented: every variable compose reads has a
// default (or, for the Grafana password, a message saying it must be set)
// and a row in the README's Environment variables table.
func TestComposeVariablesAreDocumented(t *testing.T) {
	_, read := mustLoadCompose(t)
	if len(read) == 0 {
		t.Fatal("interpolation read no variable; the lookup hook is not working")
	}
	readme, _ := documentedVars(t)
	for _, name := range read {
		if !readme[name] {
			t.Errorf("compose reads %s, which has no row in the README's Environment variables table", name)
		}
	}
	text := readRepoFile(t, composeFile)
	for i, line := range strings.Split(text, "\n") {
		code, _, _ := strings.Cut(line, " #")
		if strings.HasPrefix(strings.TrimSpace(code), "#") {
			continue
		}
		for _, m := range bracedVar.FindAllStringSubmatch(code, -1) {
			if m[3] == "" || m[3] == "-" || m[3] == "?" {
				t.Errorf("%s:%d: ${%s...} must use :- with a default (or :? with a message)", composeFile, i+1, m[2])
			}
			if m[3] == ":?" && m[2] != "GF_SECURITY_ADMIN_PASSWORD" {
				t.Errorf("%s:%d: %s is required; only a secret may have no default", composeFile, i+1, m[2])
			}
		}
		for _, m := range bareVar.FindAllStringSubmatch(code, -1) {
			t.Errorf("%s:%d: $%s has no default; write ${%s:-default}", composeFile, i+1, m[2], m[2])
		}
	}
}

// stackPort is one published port: host port → service's container port.
type stackPort struct {
	Host      int
	Service   string
	Container int
}

func (p stackPort) String() string {
	return fmt.Sprintf("%d → %s:%d", p.Host, p.Service, p.Container)
}

// TestComposePortsMatchTheReadme: the host ports compose publishes are
// exactly the README's stack ports table, and none is published twice.
func TestComposePortsMatchTheReadme(t *testing.T) {
	p, _ := mustLoadCompose(t)
	var published []stackPort
	seen := map[int]string{}
	for _, s := range sortedServices(p) {
		for _, port := range s.Ports {
			host, err := strconv.Atoi(port.Published)
			if err != nil {
				t.Errorf("%s: publish a fixed host port, not %q", s.Name, port.Published)
				continue
			}
			if other, dup := seen[host]; dup {
				t.Errorf("host port %d is published by both %s and %s", host, other, s.Name)
			}
			seen[host] = s.Name
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d is published on %q by default; the backends have no auth, so default to 127.0.0.1", s.Name, host, port.HostIP)
			}
			published = append(published, stackPort{host, s.Name, int(port.Target)})
		}
	}
	var documented []stackPort
	for _, row := range tableRows(section(t, readRepoFile(t, "README.md"), "Stack ports (compose)")) {
		if len(row) < 3 {
			t.Errorf("README stack ports row %v: want host port | service | container port | what", row)
			continue
		}
		host, err1 := strconv.Atoi(strings.Trim(row[0], "`"))
		container, err2 := strconv.Atoi(strings.Trim(row[2], "`"))
		if err1 != nil || err2 != nil {
			t.Errorf("README stack ports row %v: ports must be numbers", row)
			continue
		}
		documented = append(documented, stackPort{host, strings.Trim(row[1], "`"), container})
	}
	less := func(a, b stackPort) int { return a.Host - b.Host }
	slices.SortFunc(published, less)
	slices.SortFunc(documented, less)
	if !slices.Equal(published, documented) {
		t.Errorf("published ports differ from the README's stack ports table\ncompose: %v\nREADME:  %v", published, documented)
	}
	// The collector owns the ports applications send to.
	for _, owned := range []int{4317, 4318, 3100, 4040, 13133} {
		if seen[owned] != "collector" {
			t.Errorf("host port %d must be the collector's, is %q", owned, seen[owned])
		}
	}
}

// TestComposeHealthChecks: every long-running service has a health check
// that runs without a shell (several images are distroless), everything
// waits for what it depends on to be healthy, and the backends' known
// start-up and shutdown behaviour is allowed for.
func TestComposeHealthChecks(t *testing.T) {
	p, _ := mustLoadCompose(t)
	oneShot := map[string]bool{}
	for _, s := range sortedServices(p) {
		if s.Restart == types.RestartPolicyNo {
			oneShot[s.Name] = true
		}
	}
	for _, s := range sortedServices(p) {
		if oneShot[s.Name] {
			if s.HealthCheck != nil && !s.HealthCheck.Disable {
				t.Errorf("%s runs once; a health check would never pass", s.Name)
			}
			continue
		}
		if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
			t.Errorf("%s: restart is %q, want unless-stopped", s.Name, s.Restart)
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Errorf("%s has no health check", s.Name)
			continue
		}
		if hc.Test[0] != "CMD" {
			t.Errorf("%s: health check %v needs a shell; use the exec form [\"CMD\", ...]", s.Name, hc.Test)
		}
		if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil || hc.StartPeriod == nil {
			t.Errorf("%s: health check must set interval, timeout, retries and start_period", s.Name)
		}
		if bin := hc.Test[1]; strings.HasPrefix(bin, "/probe/") {
			mounted := slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
				return v.Target == "/probe" && v.Source == "probe"
			})
			if !mounted || s.DependsOn["probe"].Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("%s: its health check runs %s, so it must mount volume probe at /probe and wait for service probe to complete", s.Name, bin)
			}
		}
		for dep, d := range s.DependsOn {
			want := types.ServiceConditionHealthy
			if oneShot[dep] {
				want = types.ServiceConditionCompletedSuccessfully
			}
			if d.Condition != want {
				t.Errorf("%s depends on %s with condition %q, want %q", s.Name, dep, d.Condition, want)
			}
		}
	}
	if sp := p.Services["loki"].HealthCheck; sp == nil || sp.StartPeriod == nil || time.Duration(*sp.StartPeriod) < 20*time.Second {
		t.Error("loki answers 503 for ~20 s after start: give its health check a start_period of at least 20s")
	}
	if g := p.Services["tempo"].StopGracePeriod; g == nil || time.Duration(*g) <= 0 {
		t.Error("tempo hangs on SIGTERM: set stop_grace_period")
	}
	for _, backend := range []string{"mimir", "loki", "tempo", "pyroscope"} {
		for _, dependent := range []string{"collector", "grafana"} {
			if _, ok := p.Services[dependent].DependsOn[backend]; !ok {
				t.Errorf("%s must wait for %s to be healthy", dependent, backend)
			}
		}
	}
}

// TestComposeDataLivesInVolumes: each backend's data directory (its
// <BACKEND>_DATA_DIR default from backends/README.md) and the collector's
// storage directory (COLLECTOR_STORAGE_DIR in its image) are named volumes,
// so `make down` and a rebuild keep the data.
func TestComposeDataLivesInVolumes(t *testing.T) {
	p, _ := mustLoadCompose(t)
	dataDirs := backendContract(t, "DATA_DIR")
	root, err := dockerfile.Parse(filepath.Join(harness.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ins := range root.Final().Instructions {
		if ins.Cmd == "ENV" {
			if _, v, ok := strings.Cut(ins.Rest, "COLLECTOR_STORAGE_DIR="); ok {
				dataDirs["collector"] = strings.Fields(v)[0]
			}
		}
	}
	dataDirs["grafana"] = "/var/lib/grafana" // GF_PATHS_DATA of the stock image
	for service, dir := range dataDirs {
		s, ok := p.Services[service]
		if !ok {
			t.Errorf("no service %s", service)
			continue
		}
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Target == dir && !v.ReadOnly
		}) {
			t.Errorf("%s: its data directory %s is not a named volume", service, dir)
		}
	}
}

// TestComposeCollectorReachesTheBackends: every address the collector is
// given names a compose service (or the host, for the API and Redis the
// developer runs), on a port that service's image exposes.
func TestComposeCollectorReachesTheBackends(t *testing.T) {
	p, _ := mustLoadCompose(t)
	c := p.Services["collector"]
	if !slices.Contains(c.ExtraHosts["host.docker.internal"], "host-gateway") {
		t.Error("collector: FASTAPI_TARGET's default host.docker.internal needs extra_hosts host.docker.internal:host-gateway")
	}
	checked := 0
	for name, value := range c.Environment {
		if value == nil || !regexp.MustCompile(`_(URL|ENDPOINT|TARGET)$`).MatchString(name) {
			continue
		}
		addr := *value
		if strings.Contains(addr, "://") {
			u, err := url.Parse(addr)
			if err != nil {
				t.Errorf("collector %s=%q: %v", name, addr, err)
				continue
			}
			addr = u.Host
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("collector %s=%q: want host:port or a URL with a port: %v", name, addr, err)
			continue
		}
		checked++
		if host == "host.docker.internal" {
			continue
		}
		s, ok := p.Services[host]
		if !ok {
			t.Errorf("collector %s=%q: %s is not a compose service", name, *value, host)
			continue
		}
		if s.Build == nil {
			continue // a pulled image: nothing in the repo says what it exposes
		}
		f, err := dockerfile.Parse(buildDockerfile(s))
		if err != nil {
			t.Fatal(err)
		}
		var exposed []string
		for _, ins := range f.Final().Instructions {
			if ins.Cmd == "EXPOSE" {
				exposed = append(exposed, ins.Args...)
			}
		}
		if len(exposed) > 0 && !slices.Contains(exposed, port) {
			t.Errorf("collector %s=%q: %s exposes %v, not %s", name, *value, host, exposed, port)
		}
	}
	if checked < 9 {
		t.Errorf("checked %d backend addresses in the collector's environment; want the four backends' push and metrics addresses and the scrape targets", checked)
	}
}

// TestComposeUsesTheBackendsPorts: each backend's health check and
// published port are its HTTP port from backends/README.md's environment
// contract (the default the image listens on, since compose sets none).
func TestComposeUsesTheBackendsPorts(t *testing.T) {
	p, _ := mustLoadCompose(t)
	ports := backendContract(t, "HTTP_PORT")
	urlPort := regexp.MustCompile(`://127\.0\.0\.1:(\d+)`)
	for backend, port := range ports {
		s := p.Services[backend]
		for name := range s.Environment {
			if strings.HasSuffix(name, "_HTTP_PORT") {
				t.Errorf("%s: compose sets %s; the checks here assume the image's default %s", backend, name, port)
			}
		}
		var published []string
		for _, sp := range s.Ports {
			published = append(published, strconv.Itoa(int(sp.Target)))
		}
		if !slices.Equal(published, []string{port}) {
			t.Errorf("%s publishes container ports %v, want only its HTTP port %s", backend, published, port)
		}
		if s.HealthCheck == nil {
			continue // reported by TestComposeHealthChecks
		}
		m := urlPort.FindStringSubmatch(strings.Join(s.HealthCheck.Test, " "))
		if m == nil || m[1] != port {
			t.Errorf("%s: health check %v does not call 127.0.0.1:%s", backend, s.HealthCheck.Test, port)
		}
	}
}
