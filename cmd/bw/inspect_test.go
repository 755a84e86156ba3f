package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backworks/bw/store"
)

// bw runs the CLI in-process and returns its exit code, stdout and stderr.
func bw(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"bw"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// seedDB writes a few exchanges to a new db and returns its path.
func seedDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"items":[1,2,3]}`))
	zw.Close()
	w := db.NewWriter(store.WriterOptions{})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, ex := range []*store.Exchange{
		{Request: store.Request{Method: "GET", Scheme: "http", Host: "a.test", Path: "/users/1", Proto: "HTTP/1.1",
			Header: store.Header{{Name: "Authorization", Value: "Bearer secret-token"}}},
			Response: store.Response{Status: 200, Proto: "HTTP/1.1", Header: store.Header{{Name: "Content-Type", Value: "application/json"}},
				Body: store.Body{Data: []byte(`{"id":1,"name":"ann"}`), Size: 21}}},
		{Request: store.Request{Method: "POST", Scheme: "http", Host: "a.test", Path: "/users", Proto: "HTTP/1.1"},
			Response: store.Response{Status: 201, Proto: "HTTP/1.1"}},
		{Request: store.Request{Method: "GET", Scheme: "http", Host: "b.test", Path: "/items", RawQuery: "page=2", Proto: "HTTP/1.1"},
			Response: store.Response{Status: 200, Proto: "HTTP/1.1",
				Header: store.Header{{Name: "Content-Encoding", Value: "gzip"}, {Name: "Content-Type", Value: "application/json"}},
				Body:   store.Body{Data: gz.Bytes(), Size: int64(gz.Len())}}},
		{Request: store.Request{Method: "GET", Scheme: "http", Host: "b.test", Path: "/down", Proto: "HTTP/1.1"},
			Response: store.Response{Status: 502}, Error: "dial tcp: connection refused"},
	} {
		ex.Start = t0.Add(time.Duration(i) * time.Second)
		ex.Source = store.SourceProxy
		w.Write(context.Background(), ex)
	}
	w.Drop("queue_full", 2)
	w.Close()
	db.Close()
	return path
}

func TestLsShowStats(t *testing.T) {
	path := seedDB(t)
	before, _ := os.ReadFile(path)

	code, out, errs := bw(t, "--db", path, "ls")
	if code != 0 || errs != "" {
		t.Fatalf("ls: exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "GET    a.test /users/1  200") ||
		!strings.Contains(lines[3], "502 (error)") {
		t.Fatalf("ls output:\n%s", out)
	}

	_, out, _ = bw(t, "--db", path, "ls", "--json", "--method", "get", "--path", "/it", "--limit", "5")
	var rec map[string]any
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, out)
	}
	if rec["url"] != "http://b.test/items?page=2" || rec["status"] != 200.0 || rec["method"] != "GET" || rec["id"] == "" {
		t.Fatalf("ls --json record: %v", rec)
	}
	_, out, _ = bw(t, "--db", path, "ls", "--status", "201")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "POST") {
		t.Fatalf("ls --status 201:\n%s", out)
	}
	_, out, _ = bw(t, "--db", path, "ls", "--limit", "2")
	if strings.Count(out, "\n") != 2 {
		t.Fatalf("ls --limit 2:\n%s", out)
	}
	// --db after the command works as well (bw capture ... --db cap.db).
	if code, after, _ := bw(t, "ls", "--limit", "2", "--db", path); code != 0 || after != out {
		t.Fatalf("ls --db after the command: exit %d\n%s", code, after)
	}

	code, out, _ = bw(t, "--db", path, "show", rec["id"].(string))
	if code != 0 || !strings.Contains(out, "GET /items?page=2 HTTP/1.1") ||
		!strings.Contains(out, "gzip-encoded") || !strings.Contains(out, "\"items\": [") {
		t.Fatalf("show (exit %d):\n%s", code, out)
	}
	_, out, _ = bw(t, "--db", path, "ls", "--json", "--limit", "1")
	json.Unmarshal([]byte(out), &rec)
	_, out, _ = bw(t, "--db", path, "show", rec["id"].(string))
	if strings.Contains(out, "secret-token") || !strings.Contains(out, "Authorization: Bearer redacted:") {
		t.Fatalf("show leaks or lost the credential:\n%s", out)
	}

	code, out, _ = bw(t, "--db", path, "stats")
	if code != 0 || !strings.Contains(out, "4 exchanges") || !strings.Contains(out, "capture losses: 2, queue_full 2") ||
		!strings.Contains(out, "1 failed upstream") {
		t.Fatalf("stats:\n%s", out)
	}
	_, out, _ = bw(t, "--db", path, "stats", "--json")
	var s statsJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Exchanges != 4 || s.Hosts[0] != (count{"a.test", 2}) {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}

	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("read-only commands changed the db file")
	}
}

func TestInspectErrors(t *testing.T) {
	path := seedDB(t)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, bytes.Repeat([]byte("junk"), 4096), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", filepath.Join(dir, "none.db"), "ls"}, "does not exist"},
		{[]string{"--db", junk, "stats"}, "not a bw recordings file"},
		{[]string{"--db", path, "show", "nope"}, "invalid exchange id"},
		{[]string{"--db", path, "show", "01HF7YAT01XFQ58TA8MH5NQHYJ"}, "exchange not found"},
		{[]string{"--db", path, "show"}, "expected one exchange ID"},
		{[]string{"--db", path, "ls", "--limit", "x"}, "invalid value"},
		{[]string{"--db", path, "ls", "--limit", "-1"}, "--limit must be >= 0"},
		{[]string{"--log-format", "xml", "ls"}, "--log-format must be text or json"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	} {
		code, out, errs := bw(t, tc.args...)
		if code != 2 || !strings.HasPrefix(errs, "bw: ") || strings.Count(errs, "\n") != 1 ||
			!strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and one line with %q", tc.args, code, errs, out, tc.want)
		}
	}
	held, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	start := time.Now()
	code, _, errs := bw(t, "--db", path, "ls")
	if code != 2 || !strings.Contains(errs, "in use by another process") || time.Since(start) > 3*time.Second {
		t.Fatalf("locked db: exit %d, %q after %s", code, errs, time.Since(start))
	}
}
