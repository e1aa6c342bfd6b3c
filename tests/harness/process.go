package harness

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// RequireBinary returns the path in $envVar, or the repo-relative fallback.
// A missing binary fails the test: `make test` always builds it first, so a
// skip here would hide a broken build.
func RequireBinary(t testing.TB, envVar, fallback string) string {
	t.Helper()
	path := os.Getenv(envVar)
	if path == "" {
		path = filepath.Join(RepoRoot(), fallback)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: %v (run `make test`, which builds it, or set %s)", path, err, envVar)
	}
	return path
}

// startServer runs bin as a server for the test: its output is kept, it
// is stopped when the test ends (with its last lines logged if the test
// failed), and startServer returns once readyURL answers 200.
func startServer(t testing.TB, name, bin string, args []string, readyURL string, timeout time.Duration) *lockedBuffer {
	t.Helper()
	cmd := exec.Command(bin, args...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = stopProcess(cmd, 10*time.Second)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(logs.String(), 40))
		}
	})
	if err := WaitHTTP200(readyURL, timeout); err != nil {
		t.Fatalf("%s did not become ready: %v\n%s", name, err, tail(logs.String(), 40))
	}
	return logs
}

// stopProcess asks the process to stop and kills it if it has not within
// grace. It returns the process's exit error, if any.
func stopProcess(cmd *exec.Cmd, grace time.Duration) error {
	if cmd.Process == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
		return errKilled
	}
}

type killedError struct{}

func (killedError) Error() string { return "process did not stop in time and was killed" }

var errKilled error = killedError{}

// lockedBuffer collects a child process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
