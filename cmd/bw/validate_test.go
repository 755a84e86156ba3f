package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateCommand runs bw validate over api/testdata/load and checks
// exit codes, the ok line and that stderr carries exactly the problems the
// golden files list (the golden files are checked by the api package).
func TestValidateCommand(t *testing.T) {
	for _, tc := range []struct {
		file     string
		code     int
		warnings bool
	}{
		{"bw-demo.yaml", 0, false},
		{"security.yaml", 0, true},
		{"original-map.yaml", 0, true},
		{"original-list.yaml", 0, true},
		{"original-proxy.yaml", 0, true},
		{"openapi30-petstore.yaml", 0, false},
		{"openapi31-conduit.yaml", 0, false},
		{"openapi-json.json", 0, false},
		{"runtime.yaml", 1, true},
		{"semantic.yaml", 1, false},
		{"schema-errors.yaml", 1, false},
		{"malformed.yaml", 1, false},
		{"swagger2.yaml", 1, false},
		{"openapi-invalid.yaml", 1, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			// Relative paths, as the golden files name them.
			dir := filepath.Join("..", "..", "api")
			file := filepath.Join("testdata", "load", tc.file)
			golden, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(file, filepath.Ext(file))+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			want, _, _ := strings.Cut(string(golden), "----------\n")
			t.Chdir(dir)

			code, out, errs := bw(t, "validate", file)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			if code == 0 {
				// stderr: the warnings; stdout: FILE: ok (N endpoints).
				lines := strings.SplitAfter(want, "\n")
				okLine := lines[len(lines)-2]
				if out != okLine || errs != strings.TrimSuffix(want, okLine) {
					t.Errorf("stdout %q, want %q\nstderr:\n%s\nwant:\n%s", out, okLine, errs, strings.TrimSuffix(want, okLine))
				}
				if tc.warnings != (errs != "") {
					t.Errorf("warnings: %q", errs)
				}
				return
			}
			last := strings.LastIndex(strings.TrimSuffix(errs, "\n"), "\n")
			problems, summary := errs[:last+1], errs[last+1:]
			if out != "" || problems != want || !strings.HasPrefix(summary, "bw: validate: "+file+" has ") {
				t.Errorf("stdout %q\nstderr:\n%s\nwant:\n%s", out, errs, want)
			}
		})
	}
}

func TestValidateUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"validate"}, "bw: validate: expected one FILE, got 0 argument(s)"},
		{[]string{"validate", "a.yaml", "b.yaml"}, "bw: validate: expected one FILE, got 2 argument(s)"},
		// Unreadable input is exit 2, not a finding.
		{[]string{"validate", filepath.Join(dir, "nope.yaml")}, "nope.yaml: no such file or directory\n"},
	} {
		code, out, errs := bw(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", tc.args, code, out, errs, tc.want)
		}
	}
	// One error: singular, and the problem names the key and its position.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nendpoints:\n  users:\n    path: /users\n    rate_limit:\n      requests_per_minute: -1\n"), 0o644)
	code, _, errs := bw(t, "validate", bad)
	want := bad + ":6:28: endpoints.users.rate_limit.requests_per_minute: must be > 0 (got -1)\nbw: validate: " + bad + " has 1 error\n"
	// A finding is exit 1, as linters (Redocly, Spectral) do.
	if code != 1 || errs != want {
		t.Errorf("exit %d, stderr %q, want %q", code, errs, want)
	}
	// The same from standard input: problems located at <stdin>.
	cmd := exec.Command(buildBW(t), "validate", "-")
	cmd.Stdin = strings.NewReader("name: x\nendpoints:\n  users:\n    path: /users\n    rate_limit:\n      requests_per_minute: -1\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	want = "<stdin>:6:28: endpoints.users.rate_limit.requests_per_minute: must be > 0 (got -1)\nbw: validate: <stdin> has 1 error\n"
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || stderr.String() != want {
		t.Errorf("validate -: %v, stderr %q, want exit 1 and %q", err, stderr.String(), want)
	}
}
