package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// The parts of Kubernetes objects the checks read (the module has no
// k8s.io/api): enough of the schema to assert the wiring.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		ClusterIP string           `yaml:"clusterIP"`
		Selector  k8sSelector      `yaml:"selector"`
		Ports     []k8sServicePort `yaml:"ports"`
		Replicas  int              `yaml:"replicas"`
		Strategy  struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Template k8sPodTemplate `yaml:"template"`
	} `yaml:"spec"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

// k8sSelector is a Service's label map or a Deployment's matchLabels.
type k8sSelector struct {
	Labels      map[string]string `yaml:",inline"`
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type k8sServicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort any    `yaml:"targetPort"`
}

type k8sPodTemplate struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		TerminationGracePeriodSeconds int            `yaml:"terminationGracePeriodSeconds"`
		Containers                    []k8sContainer `yaml:"containers"`
		Volumes                       []struct {
			Name     string    `yaml:"name"`
			EmptyDir *struct{} `yaml:"emptyDir"`
		} `yaml:"volumes"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string  `yaml:"name"`
		Value     *string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	ReadinessProbe k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  k8sProbe `yaml:"livenessProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port int    `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port int `yaml:"port"`
	} `yaml:"tcpSocket"`
}

func (c k8sContainer) env(name string) (value string, found bool) {
	for _, e := range c.Env {
		if e.Name == name {
			if e.Value != nil {
				return *e.Value, true
			}
			return "", true
		}
	}
	return "", false
}

func (c k8sContainer) envFrom(name string) (fieldPath, secret string) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil {
			if e.ValueFrom.FieldRef != nil {
				fieldPath = e.ValueFrom.FieldRef.FieldPath
			}
			if e.ValueFrom.SecretKeyRef != nil {
				secret = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
		}
	}
	return fieldPath, secret
}

// k8sManifests decodes every document of every docs/kubernetes/*.yaml.
func k8sManifests(t *testing.T) map[string]k8sObject {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(harness.RepoRoot(), "docs", "kubernetes", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no manifests in docs/kubernetes")
	}
	objs := map[string]k8sObject{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			if o.Kind == "" || o.APIVersion == "" || o.Metadata.Name == "" {
				t.Fatalf("%s: a document without kind, apiVersion or name", filepath.Base(f))
			}
			objs[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
	return objs
}

func container(t *testing.T, o k8sObject, name string) k8sContainer {
	t.Helper()
	for _, c := range o.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s has no container %q", o.Metadata.Name, name)
	return k8sContainer{}
}

// TestKubernetesManifests checks the scaled-out deployment in
// docs/kubernetes: gateways behind a headless Service that selects them,
// each pod named in its series, probes as the shared contract says, the
// token from a Secret (no secret value in the repo), on-disk queues, and
// a sidecar agent pointed at that Service's DNS name and port. Every
// scrape target is scraped from one place: the agents scrape the API, one
// single-replica gateway the shared targets, every gateway itself.
func TestKubernetesManifests(t *testing.T) {
	objs := k8sManifests(t)
	svc, ok := objs["Service/otelcol-gateway-headless"]
	if !ok {
		t.Fatal("no Service otelcol-gateway-headless")
	}
	gw, ok := objs["Deployment/otelcol-gateway"]
	if !ok {
		t.Fatal("no Deployment otelcol-gateway")
	}
	api, ok := objs["Deployment/gatewayz-api"]
	if !ok {
		t.Fatal("no Deployment gatewayz-api with the agent sidecar")
	}
	for key, o := range objs {
		if o.Kind == "Secret" || len(o.Data) > 0 || len(o.StringData) > 0 {
			t.Errorf("%s: secret values do not belong in the repo; create the Secret with kubectl", key)
		}
	}

	if svc.Spec.ClusterIP != "None" {
		t.Errorf("Service clusterIP %q, want None (headless: DNS answers with every pod)", svc.Spec.ClusterIP)
	}
	for k, v := range svc.Spec.Selector.Labels {
		if gw.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, which the gateway pods do not carry", k, v)
		}
	}
	if len(svc.Spec.Selector.Labels) == 0 {
		t.Error("the Service selects nothing")
	}
	if gw.Spec.Replicas < 2 {
		t.Errorf("%d gateway replicas: the point is several", gw.Spec.Replicas)
	}

	documented, _ := documentedVars(t)
	checkCollector := func(who string, c k8sContainer, grace int) {
		if fp, _ := c.envFrom("COLLECTOR_INSTANCE_ID"); fp != "metadata.name" {
			t.Errorf("%s: COLLECTOR_INSTANCE_ID from %q, want the pod's metadata.name", who, fp)
		}
		if _, secret := c.envFrom("INGEST_TOKEN"); secret == "" {
			t.Errorf("%s: INGEST_TOKEN is not read from a Secret", who)
		}
		if v, _ := c.env("INGEST_TOKEN"); v != "" {
			t.Errorf("%s: INGEST_TOKEN written into the manifest", who)
		}
		if p := c.ReadinessProbe.HTTPGet; p == nil || p.Port != 13133 || p.Path != "/" {
			t.Errorf("%s: readinessProbe %+v, want httpGet :13133 /", who, c.ReadinessProbe)
		}
		if p := c.LivenessProbe.TCPSocket; p == nil || p.Port != 13133 {
			t.Errorf("%s: livenessProbe %+v, want tcpSocket :13133", who, c.LivenessProbe)
		}
		dir, _ := c.env("COLLECTOR_STORAGE_DIR")
		if dir == "" || !slices.ContainsFunc(c.VolumeMounts, func(m struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		}) bool {
			return m.MountPath == dir
		}) {
			t.Errorf("%s: the queues' directory %q is not a mounted volume", who, dir)
		}
		if grace <= 5 {
			t.Errorf("%s: terminationGracePeriodSeconds %d does not outlast SHUTDOWN_TIMEOUT (5s)", who, grace)
		}
		for _, e := range c.Env {
			if !documented[e.Name] {
				t.Errorf("%s sets %s, which has no row in the README's Environment variables table", who, e.Name)
			}
		}
	}
	g := container(t, gw, "gateway")
	checkCollector("gateway", g, gw.Spec.Template.Spec.TerminationGracePeriodSeconds)
	if v, _ := g.env("EXPORT_QUEUE_STORAGE"); v != "file_storage" {
		t.Errorf("gateway: EXPORT_QUEUE_STORAGE=%q, want file_storage", v)
	}

	a := container(t, api, "agent")
	checkCollector("agent", a, api.Spec.Template.Spec.TerminationGracePeriodSeconds)
	if !slices.ContainsFunc(a.Args, func(s string) bool { return strings.HasSuffix(s, "/agent.yaml") }) {
		t.Errorf("agent args %v do not run agent.yaml", a.Args)
	}
	host, _ := a.env("GATEWAY_HOSTNAME")
	if want := svc.Metadata.Name + "." + svc.Metadata.Namespace + ".svc"; host != want && !strings.HasPrefix(host, want+".") {
		t.Errorf("agent GATEWAY_HOSTNAME=%q, want the headless Service's name %s[.cluster.local]", host, want)
	}
	port, _ := a.env("GATEWAY_OTLP_PORT")
	if !slices.ContainsFunc(svc.Spec.Ports, func(p k8sServicePort) bool { return p.Port == 4317 && port == "4317" }) {
		t.Errorf("agent GATEWAY_OTLP_PORT=%q, want the Service's OTLP port 4317 (%+v)", port, svc.Spec.Ports)
	}
	if !slices.ContainsFunc(g.Ports, func(p struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	}) bool {
		return p.ContainerPort == 4317
	}) {
		t.Error("the gateway container does not declare port 4317")
	}
	_, gs := g.envFrom("INGEST_TOKEN")
	if _, as := a.envFrom("INGEST_TOKEN"); as != gs {
		t.Errorf("agent's token from %s, gateway's from %s: they must be one", as, gs)
	}

	if v, _ := a.env("AGENT_SCRAPE_TARGET"); v == "" {
		t.Error("agent: no AGENT_SCRAPE_TARGET: nothing would scrape the API, which no gateway scrapes")
	}
	runs, gateways := map[string]int{}, 0
	for key, o := range objs {
		if o.Kind != "Deployment" || key == "Deployment/gatewayz-api" {
			continue
		}
		c := container(t, o, "gateway")
		if key != "Deployment/otelcol-gateway" {
			checkCollector(key, c, o.Spec.Template.Spec.TerminationGracePeriodSeconds)
		}
		v, _ := c.env("METRICS_RECEIVERS")
		scrapes := metricsScrapes(t, key, v)
		for _, r := range scrapes {
			runs[r] += o.Spec.Replicas
		}
		gateways += o.Spec.Replicas
		if slices.Contains(scrapes, "promscrape/backends") && (o.Spec.Replicas != 1 || o.Spec.Strategy.Type != "Recreate") {
			t.Errorf("%s scrapes the shared targets with %d replicas, strategy %q: want 1 and Recreate, or a rollout runs two scrapers", key, o.Spec.Replicas, o.Spec.Strategy.Type)
		}
	}
	checkScrapedOnce(t, "docs/kubernetes", runs, gateways)
}
