package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// buildBW builds the bw binary once per test run and returns its path, for
// tests that need a real process (signals, kill -9, exit codes). It goes next
// to the test binary, in go test's work directory, which go test removes
// afterwards; failing that, in a temporary directory.
func buildBW(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir := ""
		if exe, err := os.Executable(); err == nil {
			dir = filepath.Dir(exe)
			if f, err := os.CreateTemp(dir, "probe"); err == nil {
				f.Close()
				os.Remove(f.Name())
			} else {
				dir = ""
			}
		}
		if dir == "" {
			if dir, built.err = os.MkdirTemp("", "bw-test-"); built.err != nil {
				return
			}
		}
		built.path = filepath.Join(dir, "bw-under-test")
		cmd := exec.Command("go", "build", "-o", built.path, ".")
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build bw: %v\n%s", built.err, built.out)
	}
	return built.path
}
