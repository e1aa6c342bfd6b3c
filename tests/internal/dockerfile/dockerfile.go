// Package dockerfile reads Dockerfiles the way the repository's static
// checks need them: instructions with their flags, build stages, base images,
// COPY/ADD sources and the variables an image reads. It is not BuildKit's
// parser (that module is not a dependency); it handles what our Dockerfiles
// use: line continuations, comments, parser directives, exec and shell form,
// and ARG defaults in FROM.
package dockerfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Instruction is one Dockerfile instruction, continuations joined.
type Instruction struct {
	Line  int               // 1-based line of the keyword
	Cmd   string            // keyword, upper case
	Flags map[string]string // leading --name=value flags (--from, --chown, --platform)
	Args  []string          // exec-form elements, or the words of the shell form
	Rest  string            // the text after the keyword and its flags
	Exec  bool              // written in JSON exec form
}

// Stage is one FROM and the instructions up to the next.
type Stage struct {
	Name         string // the AS name, lower case; "" if unnamed
	Image        string // the FROM image with ARG defaults substituted
	Line         int
	Instructions []Instruction
}

// File is a parsed Dockerfile.
type File struct {
	Path         string
	Instructions []Instruction
	Stages       []Stage
}

// Parse reads and parses the Dockerfile at path.
func Parse(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseBytes(path, b)
}

// ParseBytes parses Dockerfile text; path is used in errors only.
func ParseBytes(path string, b []byte) (*File, error) {
	f := &File{Path: path}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		start := i + 1
		text := line
		for strings.HasSuffix(text, `\`) {
			text = strings.TrimSuffix(text, `\`)
			i++
			if i >= len(lines) {
				return nil, fmt.Errorf("%s:%d: line continuation at end of file", path, start)
			}
			next := strings.TrimSpace(lines[i])
			// Comment lines inside a continued instruction are dropped, as
			// Docker does.
			if strings.HasPrefix(next, "#") {
				text += `\`
				continue
			}
			text += " " + next
		}
		ins, err := parseInstruction(start, text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, start, err)
		}
		f.Instructions = append(f.Instructions, ins)
	}
	if err := f.buildStages(); err != nil {
		return nil, err
	}
	return f, nil
}

var flagRE = regexp.MustCompile(`^--([a-z-]+)(?:=(\S*))?$`)

func parseInstruction(line int, text string) (Instruction, error) {
	kw, rest, _ := strings.Cut(text, " ")
	ins := Instruction{Line: line, Cmd: strings.ToUpper(kw), Flags: map[string]string{}}
	rest = strings.TrimSpace(rest)
	// Only these instructions take leading flags; RUN's --mount too.
	if slices.Contains([]string{"FROM", "COPY", "ADD", "RUN"}, ins.Cmd) {
		for {
			word, after, _ := strings.Cut(rest, " ")
			m := flagRE.FindStringSubmatch(word)
			if m == nil {
				break
			}
			ins.Flags[m[1]] = m[2]
			rest = strings.TrimSpace(after)
		}
	}
	ins.Rest = rest
	if strings.HasPrefix(rest, "[") && ins.Cmd != "ENV" && ins.Cmd != "ARG" && ins.Cmd != "LABEL" {
		var args []string
		if err := json.Unmarshal([]byte(rest), &args); err == nil {
			ins.Args, ins.Exec = args, true
			return ins, nil
		}
	}
	ins.Args = strings.Fields(rest)
	return ins, nil
}

func (f *File) buildStages() error {
	global := map[string]string{}
	var cur *Stage
	for _, ins := range f.Instructions {
		switch {
		case ins.Cmd == "FROM":
			if len(ins.Args) == 0 {
				return fmt.Errorf("%s:%d: FROM without an image", f.Path, ins.Line)
			}
			st := Stage{Image: expand(ins.Args[0], global), Line: ins.Line}
			if len(ins.Args) >= 3 && strings.EqualFold(ins.Args[1], "AS") {
				st.Name = strings.ToLower(ins.Args[2])
			}
			f.Stages = append(f.Stages, st)
			cur = &f.Stages[len(f.Stages)-1]
		case cur == nil:
			// Before the first FROM only ARG (global build args) is allowed.
			if ins.Cmd != "ARG" {
				return fmt.Errorf("%s:%d: %s before the first FROM", f.Path, ins.Line, ins.Cmd)
			}
			for _, kv := range ins.Args {
				name, value, _ := strings.Cut(kv, "=")
				global[name] = strings.Trim(value, `"'`)
			}
		default:
			cur.Instructions = append(cur.Instructions, ins)
		}
	}
	if len(f.Stages) == 0 {
		return fmt.Errorf("%s: no FROM", f.Path)
	}
	return nil
}

var argRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// expand substitutes global ARG defaults in a FROM image, as BuildKit does.
func expand(s string, args map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := argRef.FindStringSubmatch(ref)
		name := m[1] + m[3]
		if v, ok := args[name]; ok && v != "" {
			return v
		}
		if m[2] != "" {
			return m[2]
		}
		return ref
	})
}

// Final is the stage the image is built from: the last one.
func (f *File) Final() *Stage { return &f.Stages[len(f.Stages)-1] }

// Image is a base image and the line of its FROM.
type Image struct {
	Ref  string
	Line int
}

// BaseImages lists the images the stages start from, leaving out FROMs that
// name an earlier stage.
func (f *File) BaseImages() []Image {
	var out []Image
	seen := map[string]bool{}
	for _, st := range f.Stages {
		if !seen[strings.ToLower(st.Image)] {
			out = append(out, Image{st.Image, st.Line})
		}
		if st.Name != "" {
			seen[st.Name] = true
		}
	}
	return out
}

// exactTag is a full release version: v1.2.3, 1.2.3, 1.2.3-alpine. A bare
// major or minor (3, 3.22) moves with every patch release, so it is no pin.
var exactTag = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+._][A-Za-z0-9._-]+)?$`)

// Pinned reports why an image reference is not pinned to an exact release
// tag, or nil. A digest may come in addition to the tag, not instead of it:
// the tag is what a person reads and upgrades.
func Pinned(ref string) error {
	if strings.Contains(ref, "$") {
		return fmt.Errorf("image %q has an unresolved variable", ref)
	}
	name, _, _ := strings.Cut(ref, "@")
	last := name[strings.LastIndex(name, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	switch {
	case !ok || tag == "":
		return fmt.Errorf("image %q has no tag (it means latest)", ref)
	case tag == "latest":
		return fmt.Errorf("image %q is tagged latest", ref)
	case !exactTag.MatchString(tag):
		return fmt.Errorf("image %q: tag %q is not an exact release version (x.y.z)", ref, tag)
	}
	return nil
}

// Source is a file or folder a COPY or ADD takes from the build context.
type Source struct {
	Path  string // as written, relative to the context
	Line  int
	Final bool // copied into the final stage
}

// Sources lists the build-context paths the Dockerfile copies. Copies from
// another stage or image (--from) and ADD of URLs are left out.
func (f *File) Sources() []Source {
	var out []Source
	for i, st := range f.Stages {
		for _, ins := range st.Instructions {
			if (ins.Cmd != "COPY" && ins.Cmd != "ADD") || ins.Flags["from"] != "" || len(ins.Args) < 2 {
				continue
			}
			for _, src := range ins.Args[:len(ins.Args)-1] {
				if strings.Contains(src, "://") {
					continue
				}
				out = append(out, Source{Path: src, Line: ins.Line, Final: i == len(f.Stages)-1})
			}
		}
	}
	return out
}

// builtinArgs are set by BuildKit itself, and the rest by every Unix
// process's environment: nobody documents or sets them for our images.
var builtinArgs = []string{"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "PATH", "HOME", "HOSTNAME", "PWD", "USER"}

// Variables lists, sorted, the environment variables and build arguments the
// Dockerfile declares (ARG, ENV) or reads (${VAR} or $VAR in any
// instruction). Lower-case names are shell locals, not configuration, and
// BuildKit's own platform arguments and the standard process variables are
// left out.
func (f *File) Variables() []string {
	set := map[string]bool{}
	for _, ins := range f.Instructions {
		switch ins.Cmd {
		case "ARG":
			for _, kv := range ins.Args {
				name, _, _ := strings.Cut(kv, "=")
				set[name] = true
			}
		case "ENV":
			for _, name := range envNames(ins.Rest) {
				set[name] = true
			}
		}
		for _, name := range References(ins.Rest, true) {
			set[name] = true
		}
	}
	var out []string
	for name := range set {
		if name == strings.ToUpper(name) && !slices.Contains(builtinArgs, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

var envPair = regexp.MustCompile(`(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=`)

// envNames reads the names an ENV sets: `ENV A=1 B="x y"` or the legacy
// `ENV A value`.
func envNames(rest string) []string {
	words := strings.Fields(rest)
	if len(words) == 0 {
		return nil
	}
	if !strings.Contains(words[0], "=") {
		return words[:1]
	}
	var names []string
	for _, m := range envPair.FindAllStringSubmatch(stripQuoted(rest), -1) {
		names = append(names, m[1])
	}
	return names
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'`)

// stripQuoted blanks quoted values so an `=` inside one is not a new name.
func stripQuoted(s string) string { return quoted.ReplaceAllString(s, `""`) }

var (
	// ${VAR}, ${VAR:-default}, ${VAR:default} (Mimir), ${env:VAR...}
	// (the collector), not $${VAR} (an escaped dollar).
	bracedRef = regexp.MustCompile(`(^|[^$])\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)`)
	bareRef   = regexp.MustCompile(`(^|[^$])\$([A-Za-z_][A-Za-z0-9_]*)`)
)

// References lists the upper-case variable names text reads as ${VAR} (with
// any default syntax) and, when shell is true, also as $VAR, leaving out
// the ones every process has (builtinArgs). Lower-case
// names are left out: in config files they are the tools' own templates
// (Grafana's ${__value.raw}), in scripts shell locals.
func References(text string, shell bool) []string {
	var out []string
	add := func(re *regexp.Regexp) {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			name := m[2]
			if name == strings.ToUpper(name) && !slices.Contains(builtinArgs, name) && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	add(bracedRef)
	if shell {
		add(bareRef)
	}
	return out
}

// ReadsFromFiles walks the final stage's sources under root (the build
// context) and returns, per file, the variables read by the files a program
// expands: YAML configs (expanded with -config.expand-env, the
// collector's ${env:...}, Grafana provisioning) and shell scripts. Other
// files (dashboards' JSON with Grafana's own ${var} templates, Go sources
// copied to be compiled) are not read for variables.
func (f *File) ReadsFromFiles(root string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, src := range f.Sources() {
		if !src.Final {
			continue
		}
		matches, err := filepath.Glob(filepath.Join(root, src.Path))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", f.Path, src.Line, err)
		}
		for _, m := range matches {
			err := filepath.WalkDir(m, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				shell := strings.HasSuffix(p, ".sh")
				if !shell && !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml") {
					return nil
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if refs := References(stripComments(string(b)), shell); len(refs) > 0 {
					rel, _ := filepath.Rel(root, p)
					out[rel] = refs
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

var commentLine = regexp.MustCompile(`(?m)^\s*#.*$`)

// stripComments drops whole-line comments: a config's comment may mention a
// variable without reading it.
func stripComments(s string) string { return commentLine.ReplaceAllString(s, "") }
