package dockerfile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const sample = `# syntax=docker/dockerfile:1
ARG BASE_TAG=1.2.3
FROM --platform=$BUILDPLATFORM golang:${BASE_TAG}-alpine AS Build
WORKDIR /src
COPY go.mod \
     go.sum ./
# a comment between instructions
RUN echo "$GOFLAGS" && \
    # a comment inside a continuation
    go build ./...

FROM build AS test
RUN go vet ./...

FROM alpine:3.22.2
ARG TARGETARCH
ENV A=1 B="x y=z" \
    C=${A}
ENV LEGACY some value
COPY --from=build /src/bin /bin
COPY --chown=1:1 ["conf/", "/etc/app/"]
ADD https://example.com/x.tgz /tmp/
ENTRYPOINT ["/bin/app", "--config=/etc/app/app.yaml"]
CMD ["${NOT_EXPANDED_BY_DOCKER}"]
`

func TestParse(t *testing.T) {
	f, err := ParseBytes("sample", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Stages) != 3 {
		t.Fatalf("stages: got %d, want 3", len(f.Stages))
	}
	if got := f.Stages[0]; got.Name != "build" || got.Image != "golang:1.2.3-alpine" || got.Line != 3 {
		t.Errorf("first stage: got %+v", got)
	}
	var base []string
	for _, b := range f.BaseImages() {
		base = append(base, b.Ref)
	}
	if want := []string{"golang:1.2.3-alpine", "alpine:3.22.2"}; !slices.Equal(base, want) {
		t.Errorf("base images: got %v, want %v (a FROM naming a stage is no base image)", base, want)
	}
	var srcs []string
	for _, s := range f.Sources() {
		srcs = append(srcs, s.Path)
	}
	if want := []string{"go.mod", "go.sum", "conf/"}; !slices.Equal(srcs, want) {
		t.Errorf("sources: got %v, want %v", srcs, want)
	}
	if s := f.Sources(); s[0].Final || !s[2].Final {
		t.Errorf("only conf/ is copied into the final stage: %+v", s)
	}
	want := []string{"A", "B", "BASE_TAG", "C", "GOFLAGS", "LEGACY", "NOT_EXPANDED_BY_DOCKER"}
	if got := f.Variables(); !slices.Equal(got, want) {
		t.Errorf("variables: got %v, want %v", got, want)
	}
	entry := f.Final().Instructions[len(f.Final().Instructions)-2]
	if entry.Cmd != "ENTRYPOINT" || !entry.Exec || len(entry.Args) != 2 {
		t.Errorf("entrypoint: got %+v", entry)
	}
}

func TestParseErrors(t *testing.T) {
	for name, text := range map[string]string{
		"no FROM":            "RUN true\n",
		"empty":              "# nothing\n",
		"dangling backslash": "FROM alpine:3.22.2\nRUN true \\",
		"FROM without image": "FROM\n",
	} {
		if _, err := ParseBytes(name, []byte(text)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestPinned(t *testing.T) {
	for ref, ok := range map[string]bool{
		"alpine:3.22.2":                           true,
		"grafana/loki:3.7.6":                      true,
		"oliver006/redis_exporter:v1.88.0-alpine": true,
		"localhost:5000/x/y:1.2.3":                true,
		"busybox:1.37.0-musl@sha256:0123":         true,
		"alpine":                                  false,
		"alpine:latest":                           false,
		"alpine:3.22":                             false,
		"localhost:5000/x/y":                      false,
		"golang:${GO}":                            false,
		"alpine@sha256:0123":                      false,
		"grafana/tempo:main-f245937":              false,
	} {
		if err := Pinned(ref); (err == nil) != ok {
			t.Errorf("Pinned(%q) = %v, want pinned=%v", ref, err, ok)
		}
	}
}

func TestReadsFromFiles(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("conf/app.yaml", "# ${IN_A_COMMENT}\nport: ${PORT_A:-1}\nmimir: ${DIR_B:/data}\nc: ${env:COLL_C:-x}\nlit: $${__value.raw} ${lower}\n")
	write("conf/dash.json", `{"q": "${SERVICE}"}`)
	write("run.sh", "#!/bin/sh\necho \"$SCRIPT_D\" \"$1\" \"$HOME\"\n")
	write("build/x.yaml", "x: ${ONLY_IN_BUILD}\n")
	f, err := ParseBytes("df", []byte("FROM golang:1.26.8 AS b\nCOPY build/ /b/\nFROM alpine:3.22.2\nCOPY conf/ /etc/\nCOPY run.sh /\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.ReadsFromFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"PORT_A", "DIR_B", "COLL_C"}; !slices.Equal(got["conf/app.yaml"], want) {
		t.Errorf("conf/app.yaml: got %v, want %v", got["conf/app.yaml"], want)
	}
	if want := []string{"SCRIPT_D"}; !slices.Equal(got["run.sh"], want) {
		t.Errorf("run.sh: got %v, want %v", got["run.sh"], want)
	}
	if len(got) != 2 {
		t.Errorf("only the final stage's YAML and scripts are read, got %v", got)
	}
}
