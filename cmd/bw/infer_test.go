package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInferCommand(t *testing.T) {
	db := seedDB(t)
	dir := t.TempDir()

	code, out, errs := bw(t, "--db", db, "infer", "--host", "a.test")
	if code != 0 || errs != "" || !strings.Contains(out, "endpoints:\n  get_users:") && !strings.Contains(out, "get_users_by_userId") {
		t.Fatalf("infer (exit %d, %q):\n%s", code, errs, out)
	}
	if strings.Contains(out, "secret-token") {
		t.Fatal("secret in output")
	}

	js := filepath.Join(dir, "api.json")
	if code, _, errs := bw(t, "--db", db, "infer", "--format", "openapi", "--openapi-version", "3.0", "-o", js); code != 0 {
		t.Fatalf("infer -o api.json: exit %d: %s", code, errs)
	}
	var doc map[string]any
	data, _ := os.ReadFile(js)
	if err := json.Unmarshal(data, &doc); err != nil || doc["openapi"] != "3.0.3" {
		t.Fatalf("api.json: %v %v", err, doc["openapi"])
	}

	// Hints in the file being rewritten survive the re-run and are applied.
	api := filepath.Join(dir, "api.yaml")
	os.WriteFile(api, []byte("infer:\n  paths: [\"^/users/1\"]\n"), 0o644)
	if code, _, errs := bw(t, "--db", db, "infer", "--host", "a.test", "-o", api); code != 0 {
		t.Fatalf("re-run: exit %d: %s", code, errs)
	}
	data, _ = os.ReadFile(api)
	if !strings.Contains(string(data), "paths:\n    - ^/users/1") || !strings.Contains(string(data), "path: /users/1\n") {
		t.Fatalf("hints lost or not applied:\n%s", data)
	}
	again := filepath.Join(dir, "again.yaml")
	bw(t, "--db", db, "infer", "--host", "a.test", "--hints", api, "-o", again)
	if b, _ := os.ReadFile(again); string(b) != string(data) {
		t.Fatal("--hints FILE and a re-run over FILE differ")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"infer", "--format", "xml"}, "--format must be yaml or openapi"},
		{[]string{"infer", "--openapi-version", "2.0", "--format", "openapi"}, "--openapi-version must be 3.0 or 3.1"},
		{[]string{"infer", "--openapi-version", "3.0"}, "applies to --format openapi"},
		{[]string{"infer", "-o", "x.json"}, "use --format openapi for JSON"},
		{[]string{"infer", "--hints", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{[]string{"infer", "--host", "nope.test"}, "no exchanges with host nope.test"},
	} {
		code, _, errs := bw(t, append([]string{"--db", db}, tc.args...)...)
		if code != 2 || !strings.HasPrefix(errs, "bw: ") || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, errs, tc.want)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("infer:\n  paths: [unclosed\n"), 0o644)
	if code, _, errs := bw(t, "--db", db, "infer", "--hints", bad); code != 2 || !strings.Contains(errs, "bad.yaml") || !strings.Contains(errs, "line") {
		t.Errorf("bad hints file: exit %d, %q", code, errs)
	}
}
