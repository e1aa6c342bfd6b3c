package distribution

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatewayz/otelcol-gatewayz/tests/harness"
)

// credentialPatterns are the shapes of secrets that must never be
// committed. Each is anchored on a fixed prefix or a length a real secret
// has, so prose ("Bearer <token>", "sk-…") and config placeholders do not
// match.
var credentialPatterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"private key", regexp.MustCompile(`-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----`)},
	{"AWS access key id", regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"AWS secret access key", regexp.MustCompile(`(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}\b`)},
	// OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) keys are 40+ characters.
	{"sk- API key", regexp.MustCompile(`\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,}`)},
	{"bearer token", regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*`)},
	// user:password@ in a URL, unless the password is a placeholder
	// (${VAR}, <password>, $VAR), which the check below skips.
	{"password in URL", regexp.MustCompile(`\b[a-z][a-z0-9+.-]*://[^/\s:@"'` + "`" + `]*:([^/\s:@"'` + "`" + `]+)@`)},
	{"Slack token", regexp.MustCompile(`\bxox[abposr]-[0-9A-Za-z-]{10,}`)},
	{"Slack webhook", regexp.MustCompile(`https://hooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]+`)},
	{"GitHub token", regexp.MustCompile(`\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{40,}`)},
	{"Google API key", regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
}

// allowed are deliberate, fake credentials in test fixtures: path and
// pattern name, with the reason. Prefer building a fake secret at run time
// (tests/e2e/redaction_test.go does) so that nothing needs listing here;
// an entry that no longer matches anything fails the test, so the list
// cannot outlive its reason.
var allowed = []struct {
	path, pattern, why string
}{}

func isPlaceholder(password string) bool {
	return strings.HasPrefix(password, "$") || strings.HasPrefix(password, "<") || strings.HasPrefix(password, "{")
}

// findCredentials returns one "pattern: excerpt" per credential-shaped
// string in content.
func findCredentials(content []byte) map[string][]string {
	found := map[string][]string{}
	for _, p := range credentialPatterns {
		for _, m := range p.re.FindAllSubmatch(content, -1) {
			if p.name == "password in URL" && isPlaceholder(string(m[1])) {
				continue
			}
			found[p.name] = append(found[p.name], string(m[0]))
		}
	}
	return found
}

// TestNoCredentialsInRepository scans every file git tracks or would add
// (tracked, plus untracked files that are not ignored: a new file is
// scanned before its first commit) for credential patterns.
func TestNoCredentialsInRepository(t *testing.T) {
	root := harness.RepoRoot()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git work tree?)", err)
	}
	used := make([]bool, len(allowed))
	scanned := 0
	for _, path := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		content, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			// Listed but deleted in the work tree: nothing to scan.
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(content, 0) >= 0 {
			continue // binary
		}
		scanned++
		for name, hits := range findCredentials(content) {
			ok := false
			for i, a := range allowed {
				if a.path == path && a.pattern == name {
					used[i], ok = true, true
				}
			}
			if !ok {
				t.Errorf("%s: looks like a %s: %q", path, name, hits)
			}
		}
	}
	for i, a := range allowed {
		if !used[i] {
			t.Errorf("allow-list entry %s (%s) matches nothing any more: remove it", a.path, a.pattern)
		}
	}
	if scanned < 50 {
		t.Fatalf("scanned only %d files: git ls-files listed %q", scanned, out)
	}
}

// TestCredentialPatternsMatch keeps the scan honest: each pattern finds a
// secret of its kind and none of the look-alikes the repository
// legitimately holds. The samples are assembled here so that this file
// itself holds none.
func TestCredentialPatternsMatch(t *testing.T) {
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	secrets := map[string]string{
		"private key":           "-----BEGIN " + "OPENSSH PRIVATE" + " KEY-----",
		"AWS access key id":     "key: " + "AKIA" + rep("Q7", 8),
		"AWS secret access key": "aws_secret_access_key = " + rep("wJalrXUtnF", 4),
		"sk- API key":           "OPENAI_API_KEY=" + "sk-" + "proj-" + rep("Ab3", 16),
		"bearer token":          "Authorization: " + "Bearer " + rep("eyJhbGciOi", 3),
		"password in URL":       "redis://default:" + "hunter2" + "@redis:6379",
		"Slack token":           "xox" + "b-" + rep("1234567890", 2),
		"Slack webhook":         "https://hooks.slack.com/services/" + "T0ABC/B0DEF/" + rep("xyz", 8),
		"GitHub token":          "ghp" + "_" + rep("a1B2", 9),
		"Google API key":        "AI" + "za" + rep("Sy", 17) + "x",
	}
	for _, p := range credentialPatterns {
		s, ok := secrets[p.name]
		if !ok {
			t.Errorf("pattern %q has no sample here", p.name)
			continue
		}
		if hits := findCredentials([]byte(s)); len(hits[p.name]) != 1 {
			t.Errorf("pattern %q does not find %q (found %v)", p.name, s, hits)
		}
	}
	for _, benign := range []string{
		"values that look like credentials (`sk-…`, `sk-ant-…`, `Bearer …`)",
		"require `Authorization: Bearer <token>`",
		"REDIS_ADDR=redis://:${REDIS_PASSWORD}@redis:6379",
		"http://user:<password>@host/",
		"https://api.gatewayz.ai:443/v1",
		`- sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}`,
		"h1:" + rep("Zm9vYmFy", 5) + "=",
	} {
		if hits := findCredentials([]byte(benign)); len(hits) != 0 {
			t.Errorf("%q is reported as a credential: %v", benign, hits)
		}
	}
}
