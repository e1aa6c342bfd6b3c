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
