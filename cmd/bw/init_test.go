package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backworks/bw/api"
)

func TestInitCommand(t *testing.T) {
	dir := t.TempDir()
	for _, name := range templateNames() {
		out := filepath.Join(dir, name+".yaml")
		code, stdout, errs := bw(t, "init", "--template", name, "-o", out)
		if code != 0 || stdout != "" || !strings.Contains(errs, "wrote "+out) {
			t.Fatalf("init %s: exit %d, stdout %q, stderr %q", name, code, stdout, errs)
		}
		doc, err := api.Load(out)
		if err != nil {
			t.Fatalf("%s template does not load:\n%v", name, err)
		}
		if len(doc.Warnings) > 0 || len(doc.Endpoints) < 2 || doc.OpenAPI == nil {
			t.Errorf("%s template: %d endpoints, warnings %v", name, len(doc.Endpoints), api.Problems(doc.Warnings))
		}
		if code, stdout, _ := bw(t, "validate", out); code != 0 || !strings.Contains(stdout, ": ok (") {
			t.Errorf("bw validate %s: exit %d, %q", out, code, stdout)
		}
	}
	doc, _ := api.Load(filepath.Join(dir, "mock.yaml"))
	var mocks, examples int
	for _, ep := range doc.Endpoints {
		mocks += len(ep.Mock)
		for _, r := range ep.Responses {
			if r.HasExample {
				examples++
			}
		}
	}
	if mocks == 0 || examples == 0 {
		t.Errorf("mock template: %d mock responses, %d examples", mocks, examples)
	}
	doc, _ = api.Load(filepath.Join(dir, "proxy.yaml"))
	if px := doc.Endpoints[0].Proxy; px == nil || len(px.Targets) != 2 || px.Targets[0].HealthCheck == nil || px.LoadBalancing != "weighted" {
		t.Errorf("proxy template: %+v", px)
	}

	// The default: mock, to api.yaml in the working directory.
	t.Chdir(dir)
	if code, _, errs := bw(t, "init"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errs)
	}
	first, _ := os.ReadFile("api.yaml")
	if string(first) != mockTemplate {
		t.Error("bw init did not write the mock template to api.yaml")
	}

	// An existing file is kept unless --force.
	os.WriteFile("api.yaml", []byte("mine\n"), 0o644)
	code, _, errs := bw(t, "init")
	if code != 2 || !strings.Contains(errs, "bw: init: api.yaml exists; use --force") {
		t.Errorf("overwrite: exit %d, %q", code, errs)
	}
	if b, _ := os.ReadFile("api.yaml"); string(b) != "mine\n" {
		t.Error("api.yaml overwritten without --force")
	}
	if code, _, errs := bw(t, "init", "--force", "-t", "proxy"); code != 0 {
		t.Errorf("--force: exit %d, %q", code, errs)
	}
	if b, _ := os.ReadFile("api.yaml"); string(b) != proxyTemplate {
		t.Error("--force did not overwrite api.yaml")
	}

	code, stdout, _ := bw(t, "init", "-o", "-")
	if code != 0 || stdout != mockTemplate {
		t.Errorf("-o -: exit %d", code)
	}
}

func TestInitUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init", "--template", "graphql"}, `bw: init: unknown template "graphql"; templates: mock, proxy`},
		{[]string{"init", "extra"}, "bw: init: expected no arguments, got 1 argument(s)"},
		{[]string{"init", "-o", "-", "--force"}, "bw: init: --force has no effect with -o -"},
		{[]string{"init", "--nope"}, "bw: init: flag provided but not defined: -nope"},
	} {
		code, out, errs := bw(t, tc.args...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", tc.args, code, out, errs, tc.want)
		}
	}
}
