package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backworks/bw/store"
	"gopkg.in/yaml.v3"
)

// startHarsite builds and starts fixtures/harsite (the site
// fixtures/har/chromium-h2.har was recorded on) on a free loopback port,
// over plain HTTP so that bw test needs no certificate, and returns its
// base URL. It stops when the test ends.
func startHarsite(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "harsite")
	if out, err := exec.Command("go", "build", "-o", bin, "../../fixtures/harsite").CombinedOutput(); err != nil {
		t.Fatalf("build harsite: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-tls=false")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- u
			}
		}
	}()
	select {
	case u := <-addr:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("harsite did not start")
	}
	return ""
}

// pseudoName returns a map key or "name" value that starts with ':' in a
// parsed YAML document: a pseudo-header taken for a parameter or header.
func pseudoName(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.HasPrefix(k, ":") {
				return k
			}
			if s, ok := e.(string); ok && k == "name" && strings.HasPrefix(s, ":") {
				return s
			}
			if n := pseudoName(e); n != "" {
				return n
			}
		}
	case []any:
		for _, e := range x {
			if n := pseudoName(e); n != "" {
				return n
			}
		}
	}
	return ""
}

// A HAR that Chromium wrote over HTTP/2 goes through import, infer and
// test: its pseudo-headers are request lines, never headers or parameters,
// and its requests replayed against a fresh instance of the site pass.
func TestChromiumHAREndToEnd(t *testing.T) {
	site := startHarsite(t)
	db := filepath.Join(t.TempDir(), "h2.db")
	if code, _, errOut := harRun(t, "--db", db, "import", filepath.Join(harFixtures, "chromium-h2.har")); code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	exs := harScan(t, db)
	if len(exs) != 13 {
		t.Fatalf("imported %d exchanges, want 13", len(exs))
	}
	h2 := 0
	for _, ex := range exs {
		for _, h := range []store.Header{ex.Request.Header, ex.Response.Header} {
			for _, f := range h {
				if store.IsPseudoHeader(f.Name) {
					t.Errorf("%s %s: stored header %q", ex.Request.Method, ex.Request.URL(), f.Name)
				}
			}
		}
		if ex.Request.Proto == "HTTP/2.0" {
			h2++
			if !strings.HasPrefix(ex.Request.Host, "127.0.0.1:") || ex.Request.Scheme != "https" {
				t.Errorf("%s: host %q scheme %q", ex.Request.URL(), ex.Request.Host, ex.Request.Scheme)
			}
		}
	}
	if h2 < 10 {
		t.Errorf("%d HTTP/2 exchanges; the fixture should be mostly HTTP/2", h2)
	}

	for _, args := range [][]string{{"infer"}, {"infer", "--format", "openapi"}} {
		code, out, errOut := harRun(t, append([]string{"--db", db}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var doc any
		if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: not YAML: %v", args, err)
		}
		if n := pseudoName(doc); n != "" {
			t.Errorf("%v: output names %q:\n%s", args, n, out)
		}
		for _, want := range []string{"/api/items", "category", "limit"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}

	// The recordings hold the fixture's made-up token redacted; the run
	// gets it back the documented way.
	code, out, errOut := harRun(t, "--db", db, "test", "--target", site,
		"--header", "Authorization: Bearer fixture-token-not-a-secret")
	if code != 0 {
		t.Fatalf("bw test: exit %d\n%s\n%s", code, out, errOut)
	}
	// The page and the seven API calls at least: the WebSocket, the failed
	// requests, the form post (its password was redacted) and the page it
	// redirects to (with the cookie the post handed out) may be skipped.
	passed := -1
	if m := regexp.MustCompile(`(\d+) passed, 0 failed`).FindStringSubmatch(out); m != nil {
		passed, _ = strconv.Atoi(m[1])
	}
	if passed < 8 {
		t.Errorf("bw test passed %d exchanges, want 8 or more:\n%s", passed, out)
	}
}
