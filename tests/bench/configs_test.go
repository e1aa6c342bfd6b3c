package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

const gatewayConfig = "collector-configs/gateway.yaml"

// redactionProcessors are what the gateway-no-redaction variant drops from
// every pipeline, whichever gateway.yaml runs: our scrub processor, or the
// stock redaction and transform pair it replaced. The issue-12 budget is
// for credential masking and GenAI content removal together.
var redactionProcessors = []string{"scrub", "redaction/credentials", "transform/genai_content"}

// gatewaySource is the gateway config the bench reads. TestBench points it
// at a copy taken when it starts: a run of many minutes must not mix two
// versions of a file others are editing.
var gatewaySource = filepath.Join(harness.RepoRoot(), gatewayConfig)

// snapshotGateway copies gateway.yaml for the rest of the test.
func snapshotGateway(t *testing.T) {
	raw, err := os.ReadFile(gatewaySource)
	if err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(snap, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	prev := gatewaySource
	gatewaySource = snap
	t.Cleanup(func() { gatewaySource = prev })
}

// presentRedaction is which of redactionProcessors gateway.yaml runs.
func presentRedaction(t testing.TB) []string {
	var out []string
	for _, pl := range lookup(decodeConfig(t, gatewaySource), "service", "pipelines").(map[string]any) {
		for _, p := range asList(pl.(map[string]any)["processors"]) {
			if slices.Contains(redactionProcessors, p) && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// passthroughProcessors are the only processors the pass-through keeps,
// where gateway.yaml runs them: admission (how refusals are answered,
// memory_limiter) and batching, which the comparison is not about.
var passthroughProcessors = []string{"backpressure", "memory_limiter", "batch"}

// TestPassthroughVariant: the baseline has gateway.yaml's receivers,
// exporters (compression, queues, retries) and extensions, and its
// pipelines only admit, batch and export: a ratio measures processing.
func TestPassthroughVariant(t *testing.T) {
	orig := decodeConfig(t, gatewaySource)
	pt := decodeConfig(t, writePassthroughConfig(t))
	for _, k := range []string{"receivers", "exporters", "extensions"} {
		if !reflect.DeepEqual(orig[k], pt[k]) {
			t.Errorf("section %s differs from gateway.yaml's", k)
		}
	}
	connectors, _ := orig["connectors"].(map[string]any)
	pipelines := lookup(pt, "service", "pipelines").(map[string]any)
	for name, pl := range lookup(orig, "service", "pipelines").(map[string]any) {
		fromConnector := slices.ContainsFunc(asList(pl.(map[string]any)["receivers"]), func(r string) bool { return connectors[r] != nil })
		got, kept := pipelines[name].(map[string]any)
		if fromConnector {
			if kept {
				t.Errorf("pipeline %s is fed by a connector and was kept", name)
			}
			continue
		}
		if !kept {
			t.Errorf("pipeline %s was dropped", name)
			continue
		}
		for _, p := range asList(got["processors"]) {
			if !slices.Contains(passthroughProcessors, p) {
				t.Errorf("pipeline %s runs %s", name, p)
			}
		}
		var want []string
		for _, e := range asList(pl.(map[string]any)["exporters"]) {
			if connectors[e] == nil {
				want = append(want, e)
			}
		}
		if g := asList(got["exporters"]); !slices.Equal(g, want) {
			t.Errorf("pipeline %s exports to %v, want %v", name, g, want)
		}
	}
	if tr := asList(lookup(pt, "service", "pipelines", "traces", "processors")); !slices.Contains(tr, "batch") || !slices.Contains(tr, "memory_limiter") {
		t.Errorf("traces pipeline processors %v, want memory_limiter and batch", tr)
	}
}

// writePassthroughConfig writes the pass-through baseline, derived from
// gateway.yaml at run time so that it always sends with the gateway's
// exporter settings: every pipeline fed by a connector is dropped, the
// others keep only passthroughProcessors and export to no connector.
func writePassthroughConfig(t testing.TB) string {
	t.Helper()
	return writeVariant(t, "gateway-passthrough.yaml", func(doc *yaml.Node) error {
		connectors := map[string]bool{}
		if c := mapValue(doc.Content[0], "connectors"); c != nil {
			for i := 0; i < len(c.Content); i += 2 {
				connectors[c.Content[i].Value] = true
			}
		}
		pipelines := mapValue(mapValue(doc.Content[0], "service"), "pipelines")
		if pipelines == nil {
			return fmt.Errorf("no service.pipelines")
		}
		var kept []*yaml.Node
		for i := 0; i+1 < len(pipelines.Content); i += 2 {
			pl := pipelines.Content[i+1]
			recv := resolve(mapValue(pl, "receivers"))
			if recv == nil || slices.ContainsFunc(recv.Content, func(n *yaml.Node) bool { return connectors[n.Value] }) {
				continue
			}
			// Fresh lists: the originals may be anchors other pipelines share.
			var procs []string
			if p := resolve(mapValue(pl, "processors")); p != nil && p.Kind == yaml.SequenceNode {
				for _, n := range p.Content {
					if slices.Contains(passthroughProcessors, n.Value) {
						procs = append(procs, n.Value)
					}
				}
			}
			var exps []string
			for _, n := range resolve(mapValue(pl, "exporters")).Content {
				if !connectors[n.Value] {
					exps = append(exps, n.Value)
				}
			}
			setValue(pl, "processors", seqNode(procs))
			setValue(pl, "exporters", seqNode(exps))
			kept = append(kept, pipelines.Content[i], pl)
		}
		pipelines.Content = kept
		return nil
	})
}

func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

func seqNode(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, it := range items {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: it})
	}
	return n
}

func setValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

// TestNoRedactionVariant: the variant differs from gateway.yaml only by
// the redaction processors, in every pipeline that had them.
func TestNoRedactionVariant(t *testing.T) {
	path := writeNoRedactionConfig(t)
	orig := decodeConfig(t, gatewaySource)
	variant := decodeConfig(t, path)
	removed := 0
	for name, pl := range lookup(orig, "service", "pipelines").(map[string]any) {
		want := slices.DeleteFunc(slices.Clone(asList(pl.(map[string]any)["processors"])), func(p string) bool {
			return slices.Contains(redactionProcessors, p)
		})
		removed += len(asList(pl.(map[string]any)["processors"])) - len(want)
		got := asList(lookup(variant, "service", "pipelines", name, "processors"))
		if !slices.Equal(got, want) {
			t.Errorf("pipeline %s: processors %v, want %v", name, got, want)
		}
		for _, k := range []string{"receivers", "exporters"} {
			if !reflect.DeepEqual(lookup(variant, "service", "pipelines", name, k), pl.(map[string]any)[k]) {
				t.Errorf("pipeline %s: %s changed", name, k)
			}
		}
	}
	if removed == 0 {
		t.Fatalf("gateway.yaml runs none of %v: the variant measures nothing", redactionProcessors)
	}
	for _, k := range []string{"receivers", "exporters", "connectors", "extensions", "processors"} {
		if !reflect.DeepEqual(orig[k], variant[k]) {
			t.Errorf("section %s changed", k)
		}
	}
}

// writeNoRedactionConfig writes gateway.yaml without the redaction
// processors in its pipelines to a temporary file. It is derived from the
// shipped file at run time, so it follows every other change to it.
func writeNoRedactionConfig(t testing.TB) string {
	t.Helper()
	return writeVariant(t, "gateway-no-redaction.yaml", func(doc *yaml.Node) error {
		pipelines := mapValue(mapValue(doc.Content[0], "service"), "pipelines")
		if pipelines == nil {
			return fmt.Errorf("no service.pipelines")
		}
		for i := 1; i < len(pipelines.Content); i += 2 {
			procs := mapValue(pipelines.Content[i], "processors")
			if procs == nil || procs.Kind != yaml.SequenceNode {
				continue // none, an alias of an edited list, or an ${env:...} string
			}
			procs.Content = slices.DeleteFunc(procs.Content, func(n *yaml.Node) bool {
				return slices.Contains(redactionProcessors, n.Value)
			})
		}
		return nil
	})
}

// writeVariant writes gateway.yaml as edit changes it to a temporary file.
// It edits the YAML tree, not the text: pipelines share lists through
// anchors, and ${env:...} defaults must stay as written.
func writeVariant(t testing.TB, name string, edit func(doc *yaml.Node) error) string {
	t.Helper()
	src := gatewaySource
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if err := edit(&doc); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func decodeConfig(t testing.TB, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func lookup(m map[string]any, path ...string) any {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func asList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}
