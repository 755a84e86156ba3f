package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backworks/bw/store"
)

const harFixtures = "../../fixtures/har"

// harRun runs the CLI in-process and returns its exit code, stdout and stderr.
func harRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"bw"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// harScan returns the exchanges in the db at path.
func harScan(t *testing.T, path string) []*store.Exchange {
	t.Helper()
	db, err := store.Open(path, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var exs []*store.Exchange
	if err := db.Scan(context.Background(), store.Filter{}, func(ex *store.Exchange) error {
		exs = append(exs, ex)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return exs
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// harEntries checks that b is a HAR 1.2 document by bw and returns its entries.
func harEntries(t *testing.T, b []byte) []any {
	t.Helper()
	var doc struct {
		Log struct {
			Version string         `json:"version"`
			Creator map[string]any `json:"creator"`
			Entries []any          `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if doc.Log.Version != "1.2" || doc.Log.Creator["name"] != "bw" {
		t.Errorf("log = %+v", doc.Log)
	}
	return doc.Log.Entries
}

func TestImportExportHAR(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bw.db")
	chrome := filepath.Join(harFixtures, "chrome.har")

	// Import a good file.
	code, _, stderr := harRun(t, "--db", db, "import", chrome)
	if code != 0 || stderr != "imported 5 exchanges from "+chrome+"\n" {
		t.Fatalf("import: exit %d, stderr %q", code, stderr)
	}
	exs := harScan(t, db)
	if len(exs) != 5 || exs[0].Session != "chrome" || exs[0].Source != store.SourceHAR {
		t.Fatalf("db holds %d exchanges (first %+v)", len(exs), exs[0])
	}
	// The JWT's header part (no secret) is kept; the rest is a placeholder.
	if v := exs[2].Request.Header.Get("authorization"); !strings.HasPrefix(v, "Bearer eyJhbGciOiJIUzI1NiJ9."+store.RedactedPrefix) {
		t.Errorf("authorization not redacted: %q", v)
	}

	// A truncated file: exit 2, one line naming where, nothing imported.
	full, err := os.ReadFile(filepath.Join(harFixtures, "firefox.har"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.har")
	os.WriteFile(cut, full[:3000], 0o644)
	code, _, stderr = harRun(t, "--db", db, "import", cut)
	want := "bw: " + cut + ": entry 0 (byte 3000): unexpected end of JSON input\n"
	if code != 2 || stderr != want {
		t.Errorf("truncated import: exit %d, stderr %q, want %q", code, stderr, want)
	}
	// A bad field: exit 2, naming the entry and the field.
	bad := filepath.Join(dir, "bad.har")
	os.WriteFile(bad, bytes.Replace(full, []byte(`"status": 204`), []byte(`"status": "204"`), 1), 0o644)
	code, _, stderr = harRun(t, "--db", db, "import", "--session", "x", bad)
	if code != 2 || !strings.HasPrefix(stderr, "bw: "+bad+": entry 2 (byte ") ||
		!strings.HasSuffix(stderr, "): response.status: not a number\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("bad import: exit %d, stderr %q", code, stderr)
	}
	if n := len(harScan(t, db)); n != 5 {
		t.Errorf("db holds %d exchanges after failed imports, want 5", n)
	}

	// Export to a file; the db is left alone.
	sum := fileSum(t, db)
	out := filepath.Join(dir, "out.har")
	code, stdout, stderr := harRun(t, "--db", db, "export", "--format", "har", "-o", out)
	if code != 0 || stdout != "" || stderr != "exported 5 exchanges to "+out+"\n" {
		t.Fatalf("export: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if fileSum(t, db) != sum {
		t.Error("export changed the db file")
	}
	exported, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(harEntries(t, exported)); n != 5 {
		t.Errorf("export holds %d entries", n)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".out.har.*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// Stdout, the default, gives the same document.
	code, stdout, _ = harRun(t, "--db", db, "export")
	if code != 0 || stdout != string(exported) {
		t.Errorf("export to stdout: exit %d, differs from -o: %v", code, stdout != string(exported))
	}
	code, stdout, _ = harRun(t, "--db", db, "-q", "export", "-o", "-")
	if code != 0 || stdout != string(exported) {
		t.Errorf("export -o -: exit %d", code)
	}

	// Re-import the export into a new db: same exchanges, same export.
	db2 := filepath.Join(dir, "bw2.db")
	code, _, stderr = harRun(t, "--db", db2, "-q", "import", out)
	if code != 0 || stderr != "" {
		t.Fatalf("re-import: exit %d, stderr %q", code, stderr)
	}
	exs2 := harScan(t, db2)
	if len(exs2) != 5 || exs2[0].Session != "out" {
		t.Fatalf("re-import holds %d exchanges", len(exs2))
	}
	for i := range exs {
		a, b := exs[i], exs2[i]
		if a.Request.URL() != b.Request.URL() || a.Response.Status != b.Response.Status ||
			!bytes.Equal(a.Response.Body.Data, b.Response.Body.Data) || a.Start != b.Start ||
			len(a.Request.Header) != len(b.Request.Header) || a.Response.Body.Decoded != b.Response.Body.Decoded {
			t.Errorf("exchange %d differs after re-import:\n%+v\n%+v", i, a, b)
		}
	}
	out2 := filepath.Join(dir, "out2.har")
	if code, _, stderr := harRun(t, "--db", db2, "export", "-o", out2); code != 0 {
		t.Fatalf("export 2: %d %s", code, stderr)
	}
	if fileSum(t, out) != fileSum(t, out2) {
		t.Error("export of the re-import differs from the first export")
	}
}

func TestImportHARFlags(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bw.db")
	mitm := filepath.Join(harFixtures, "mitmproxy.har")
	firefox := filepath.Join(harFixtures, "firefox.har")

	code, _, stderr := harRun(t, "--db", db, "import", "--session", "run1", "--no-redact", mitm, firefox)
	if code != 0 || stderr != "imported 2 exchanges from "+mitm+"\nimported 3 exchanges from "+firefox+"\n" {
		t.Fatalf("import: exit %d, stderr %q", code, stderr)
	}
	exs := harScan(t, db)
	if len(exs) != 5 {
		t.Fatalf("db holds %d exchanges", len(exs))
	}
	for _, ex := range exs {
		if ex.Session != "run1" {
			t.Errorf("session %q", ex.Session)
		}
	}
	keys := 0
	for _, ex := range exs {
		if v := ex.Request.Header.Get("X-Api-Key"); v != "" {
			keys++
			if v != "live_abcdef0123456789" {
				t.Errorf("--no-redact redacted: %q", v)
			}
		}
	}
	if keys != 1 {
		t.Errorf("found %d X-Api-Key headers", keys)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "bw: import: expected a HAR file; see 'bw import --help'\n"},
		{[]string{"export", "--format", "yaml"}, "bw: export: --format must be har (got \"yaml\")\n"},
		{[]string{"export", "extra"}, "bw: export: expected no arguments, got 1 argument(s); see 'bw export --help'\n"},
		{[]string{"import", filepath.Join(dir, "missing.har")}, "bw: open " + filepath.Join(dir, "missing.har") + ": no such file or directory\n"},
	} {
		code, stdout, stderr := harRun(t, append([]string{"--db", db}, tt.args...)...)
		if code != 2 || stdout != "" || stderr != tt.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q, want %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
	if n := len(harScan(t, db)); n != 5 {
		t.Errorf("db holds %d exchanges", n)
	}

	// Export of a db that does not exist creates nothing.
	none := filepath.Join(dir, "none.db")
	if code, _, stderr := harRun(t, "--db", none, "export"); code != 2 || !strings.HasPrefix(stderr, "bw: "+none+" does not exist") {
		t.Errorf("export of missing db: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(none); err == nil {
		t.Error("export created the db")
	}
}
