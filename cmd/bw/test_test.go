package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backworks/bw/capture"
	"github.com/backworks/bw/store"
)

var titleRE = regexp.MustCompile(`"title":"[^"]*"`)

// notes is a small CRUD service with server-generated ids and timestamps.
type notes struct {
	mu        sync.Mutex
	byID      map[string]map[string]any
	order     []string
	titleInt  bool // break: title becomes a number
	token     string
	requested []string
}

func newNotes() *notes { return &notes{byID: map[string]map[string]any{}} }

func (n *notes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.requested = append(n.requested, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if v != nil {
			b, _ := json.Marshal(v)
			if n.titleInt { // "title":"milk" → "title":4
				b = titleRE.ReplaceAllFunc(b, func(m []byte) []byte {
					return []byte(fmt.Sprintf(`"title":%d`, len(m)-len(`"title":""`)))
				})
			}
			w.Write(b)
		}
	}
	if n.token != "" && r.Header.Get("Authorization") != "Bearer "+n.token {
		reply(401, map[string]any{"error": "unauthorized"})
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/notes/")
	switch {
	case r.URL.Path == "/notes" && r.Method == "GET":
		list := []any{}
		for _, id := range n.order {
			list = append(list, n.byID[id])
		}
		reply(200, map[string]any{"notes": list, "count": len(list)})
	case r.URL.Path == "/notes" && r.Method == "POST":
		var in map[string]any
		if json.NewDecoder(r.Body).Decode(&in) != nil || in["title"] == nil {
			reply(422, map[string]any{"error": "title is required"})
			return
		}
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		note := map[string]any{"id": id, "title": in["title"], "created_at": time.Now().UTC().Format(time.RFC3339Nano)}
		n.byID[id] = note
		n.order = append(n.order, id)
		w.Header().Set("Location", "/notes/"+id)
		reply(201, note)
	case n.byID[id] == nil:
		reply(404, map[string]any{"error": "no such note"})
	case r.Method == "GET":
		reply(200, n.byID[id])
	case r.Method == "DELETE":
		delete(n.byID, id)
		for i, x := range n.order {
			if x == id {
				n.order = append(n.order[:i], n.order[i+1:]...)
				break
			}
		}
		w.WriteHeader(204)
	}
}

// recordNotes records a create/get/list/delete flow through a capture
// proxy and returns the recordings file.
func recordNotes(t *testing.T, h http.Handler, auth string) string {
	t.Helper()
	up := httptest.NewServer(h)
	defer up.Close()
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{})
	u, _ := url.Parse(up.URL)
	p, err := capture.New(capture.Config{Upstream: u, Listen: "127.0.0.1:0"}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + p.Addr()
	do := func(method, path, body string) map[string]any {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	do("GET", "/notes", "")
	for _, title := range []string{"milk", "eggs"} {
		id, _ := do("POST", "/notes", `{"title":"`+title+`"}`)["id"].(string)
		do("GET", "/notes/"+id, "")
		do("GET", "/notes", "")
		if title == "eggs" {
			do("DELETE", "/notes/"+id, "")
			do("GET", "/notes/"+id, "")
		}
	}
	do("POST", "/notes", `{"body":"no title"}`)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	db.Close()
	return path
}

func TestTestCommand(t *testing.T) {
	db := recordNotes(t, newNotes(), "")
	before, _ := os.ReadFile(db)
	dir := t.TempDir()
	junit, js := filepath.Join(dir, "report.xml"), filepath.Join(dir, "report.json")

	t.Run("OK", func(t *testing.T) {
		srv := httptest.NewServer(newNotes())
		defer srv.Close()
		code, out, errs := bw(t, "--db", db, "test", "--target", srv.URL, "-j", "4", "--junit", junit, "--json", js)
		if code != 0 || errs != "" || !strings.Contains(out, "bw test: 10 passed, 0 failed, 0 skipped of 10 exchanges against "+srv.URL) {
			t.Fatalf("exit %d, stderr %q:\n%s", code, errs, out)
		}
		x, _ := os.ReadFile(junit)
		var suites struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Suite    []struct {
				Cases []struct {
					Name string `xml:"name,attr"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(x, &suites); err != nil || suites.Tests != 10 || suites.Failures != 0 || len(suites.Suite) != 1 || len(suites.Suite[0].Cases) != 10 {
			t.Fatalf("junit: %v %+v\n%s", err, suites, x)
		}
		var doc struct {
			Results []json.RawMessage
			Summary struct{ Passed int }
		}
		j, _ := os.ReadFile(js)
		if err := json.Unmarshal(j, &doc); err != nil || len(doc.Results) != 10 || doc.Summary.Passed != 10 {
			t.Fatalf("json: %v\n%s", err, j)
		}
	})

	t.Run("Broken", func(t *testing.T) {
		broken := newNotes()
		broken.titleInt = true
		srv := httptest.NewServer(broken)
		defer srv.Close()
		code, out, errs := bw(t, "--db", db, "test", "--target", srv.URL, "--junit", junit, "--filter", "method=POST,GET", "--filter", "path=/notes")
		if code != 1 || errs != "bw: 4 of 6 exchanges broke the contract\n" {
			t.Fatalf("exit %d, stderr %q:\n%s", code, errs, out)
		}
		for _, want := range []string{"FAIL POST /notes [", "     $.title: type number, want string\n", "     $.notes[0].title: type number, want string\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %q:\n%s", want, out)
			}
		}
		if x, _ := os.ReadFile(junit); !bytes.Contains(x, []byte(`failures="4"`)) {
			t.Errorf("junit not rewritten:\n%s", x)
		}
	})

	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Error("bw test changed the recordings file")
	}
}

func TestTestCommandCredentials(t *testing.T) {
	rec := newNotes()
	rec.token = "t0ken"
	db := recordNotes(t, rec, "Bearer t0ken")
	live := newNotes()
	live.token = "t0ken"
	srv := httptest.NewServer(live)
	defer srv.Close()
	if code, out, _ := bw(t, "--db", db, "test", "--target", srv.URL); code != 0 || !strings.Contains(out, "10 skipped: Authorization was redacted at capture; pass --header 'Authorization: ...'") {
		t.Fatalf("without --header: exit %d\n%s", code, out)
	}
	for _, r := range live.requested {
		if strings.Contains(r, "redacted") {
			t.Fatalf("a redacted credential was sent: %q", r)
		}
	}
	if code, out, errs := bw(t, "--db", db, "test", "--target", srv.URL, "--header", "Authorization: Bearer t0ken"); code != 0 {
		t.Fatalf("with --header: exit %d %s\n%s", code, errs, out)
	}
}

func TestTestCommandLearnNoise(t *testing.T) {
	var mu sync.Mutex
	hits := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		n := hits
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"views": %d, "name": "page"}`, n)
	})
	db := recordNotes(t, h, "")
	srv := httptest.NewServer(h)
	defer srv.Close()
	if code, _, _ := bw(t, "--db", db, "test", "--target", srv.URL, "--no-spec"); code != 1 {
		t.Fatalf("views should differ: exit %d", code)
	}
	code, out, errs := bw(t, "--db", db, "test", "--target", srv.URL, "--learn-noise")
	if code != 0 || out != "test:\n  noise:\n    body:\n      - $.views\n    headers: []\n" {
		t.Fatalf("exit %d %q:\n%s", code, errs, out)
	}
	noise := filepath.Join(t.TempDir(), "noise.yaml")
	os.WriteFile(noise, []byte("test:\n  noise:\n    headers: [X-Cache]\n"), 0o644)
	if code, _, errs := bw(t, "--db", db, "test", "--target", srv.URL, "--learn-noise", "--noise", noise); code != 0 || !strings.Contains(errs, "wrote "+noise) {
		t.Fatalf("exit %d %q", code, errs)
	}
	if data, _ := os.ReadFile(noise); string(data) != "test:\n  noise:\n    body:\n      - $.views\n    headers:\n      - X-Cache\n" {
		t.Fatalf("noise file:\n%s", data)
	}
	if code, out, errs := bw(t, "--db", db, "test", "--target", srv.URL, "--noise", noise, "--no-spec"); code != 0 {
		t.Fatalf("with learned noise: exit %d %q\n%s", code, errs, out)
	}
}

func TestTestCommandUsage(t *testing.T) {
	db := seedDB(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("test:\n  noise:\n    body: [\"items[0]\"]\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"test"}, "--target URL is required"},
		{[]string{"test", "--target", "localhost:3000"}, "is not an absolute http:// or https:// URL"},
		{[]string{"test", "--target", "http://x", "extra"}, "expected no arguments"},
		{[]string{"test", "--target", "http://x", "--filter", "verb=GET"}, `unknown key "verb"`},
		{[]string{"test", "--target", "http://x", "--filter", "GET"}, "want KEY=PATTERN"},
		{[]string{"test", "--target", "http://x", "--header", "Authorization"}, "want 'Name: value'"},
		{[]string{"test", "--target", "http://x", "-j", "0"}, "-j must be at least 1"},
		{[]string{"test", "--target", "http://x", "--order", "random"}, "--order must be session, collection or strict"},
		{[]string{"test", "--target", "http://x", "--spec", "a.yaml", "--no-spec"}, "--spec and --no-spec contradict"},
		{[]string{"test", "--target", "http://x", "--learn-noise", "--junit", "r.xml"}, "--learn-noise prints noise rules"},
		{[]string{"test", "--target", "http://x", "--host", "a.test", "--all-hosts"}, "--host and --all-hosts contradict each other"},
		{[]string{"test", "--target", "http://x", "--host", ""}, "--host needs a host"},
		{[]string{"test", "--target", "http://x", "--json", "-", "--junit", "-"}, "--json - and --junit - both write to stdout"},
		{[]string{"test", "--target", "http://x", "--spec", "-", "--noise", "-"}, "--spec - and --noise - both read stdin"},
		{[]string{"test", "--target", "http://x", "--learn-noise", "--noise", "-"}, "--learn-noise --noise - has no file"},
		{[]string{"test", "--target", "http://x", "--noise", bad}, "bad.yaml: noise body[0]: bad JSON path"},
		{[]string{"test", "--target", "http://x", "--spec", filepath.Join(t.TempDir(), "none.yaml")}, "none.yaml"},
	} {
		code, out, errs := bw(t, append([]string{"--db", db}, tc.args...)...)
		if code != 2 || !strings.HasPrefix(errs, "bw: ") || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want %q", tc.args, code, errs, out, tc.want)
		}
	}
}

// TestTestAgainstServe: bw test against bw serve of the same recordings
// passes. It runs once the serve command exists.
func TestTestAgainstServe(t *testing.T) {
	bin := buildBW(t)
	if out, err := exec.Command(bin, "serve", "--help").CombinedOutput(); err != nil {
		t.Skipf("bw serve is not available yet: %v: %s", err, out)
	}
	db := recordNotes(t, newNotes(), "")
	spec := filepath.Join(t.TempDir(), "api.yaml")
	if code, _, errs := bw(t, "--db", db, "infer", "-o", spec); code != 0 {
		t.Fatalf("infer: %s", errs)
	}
	cmd := exec.Command(bin, "serve", spec, "--db", db, "--listen", "127.0.0.1:0", "--no-reload")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	addr := make(chan string, 1)
	var logs strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logs.WriteString(line + "\n")
			if a, ok := strings.CutPrefix(line, "listening on "); ok {
				addr <- a
			}
		}
	}()
	var target string
	select {
	case target = <-addr:
	case <-time.After(20 * time.Second):
		t.Fatal("bw serve did not say it was listening")
	}
	code, out, errs := bw(t, "--db", db, "test", "--target", target, "--spec", spec)
	if code != 0 {
		t.Fatalf("bw test against bw serve: exit %d %q\n%s", code, errs, out)
	}
	if !strings.Contains(out, "bw test: 10 passed, 0 failed, 0 skipped of 10 exchanges") {
		t.Fatalf("%s", out)
	}
}

// writeExchanges writes exchanges to a new recordings file as given (no
// redaction: they hold what the test wants them to hold).
func writeExchanges(t *testing.T, path string, exs ...*store.Exchange) {
	t.Helper()
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{NoRedact: true})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, ex := range exs {
		ex.Start, ex.Source = t0.Add(time.Duration(i)*time.Second), store.SourceProxy
		ex.Request.Scheme, ex.Request.Proto, ex.Response.Proto = "http", "HTTP/1.1", "HTTP/1.1"
		if err := w.Write(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// jsonExchange is a GET of path on host answered with body.
func jsonExchange(host, path, body string) *store.Exchange {
	return &store.Exchange{
		Request: store.Request{Method: "GET", Host: host, Path: path},
		Response: store.Response{Status: 200, Header: store.Header{{Name: "Content-Type", Value: "application/json"}},
			Body: store.Body{Data: []byte(body), Size: int64(len(body))}},
	}
}

// jsonReport is what the tests read of a --json report.
type jsonReport struct {
	Results []struct {
		Method, Path, Outcome, Reason string
	}
	Summary struct {
		Total, Passed, Failed, Skipped int
		SkipReasons                    map[string]int `json:"skip_reasons"`
	}
}

func parseReport(t *testing.T, data string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, data)
	}
	return r
}

// TestTestCommandHosts: of two hosts recorded, the busiest is tested and
// stderr says so; --host picks the other, --all-hosts both; --json -
// leaves stdout to the report.
func TestTestCommandHosts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bw.db")
	writeExchanges(t, db,
		jsonExchange("api.test", "/users/1", `{"id":1}`),
		jsonExchange("api.test:80", "/users/2", `{"id":2}`),
		jsonExchange("auth.test", "/keys", `{"keys":[]}`),
		jsonExchange("API.test", "/users/3", `{"id":3}`),
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/keys" {
			io.WriteString(w, `{"keys":[]}`)
			return
		}
		fmt.Fprintf(w, `{"id":%s}`, strings.TrimPrefix(r.URL.Path, "/users/"))
	}))
	defer srv.Close()

	for _, tc := range []struct {
		flags  []string
		paths  string
		stderr string
	}{
		{nil, "/users/1 /users/2 /users/3", "testing api.test (3 of 4 exchanges; --host to pick another, --all-hosts for all)\n"},
		{[]string{"--host", "AUTH.test:80"}, "/keys", ""},
		{[]string{"--all-hosts"}, "/keys /users/1 /users/2 /users/3", ""},
		{[]string{"--filter", "path=/keys"}, "/keys", ""}, // the busiest of what the filter selects
		{[]string{"-q"}, "/users/1 /users/2 /users/3", ""},
	} {
		args := append([]string{"--db", db, "test", "--target", srv.URL, "--json", "-"}, tc.flags...)
		code, out, errs := bw(t, args...)
		rep := parseReport(t, out)
		var paths []string
		for _, r := range rep.Results {
			paths = append(paths, r.Path)
		}
		slices.Sort(paths)
		if code != 0 || strings.Join(paths, " ") != tc.paths || rep.Summary.Passed != len(paths) {
			t.Errorf("%v: exit %d, tested %v, want %s; stderr:\n%s", tc.flags, code, paths, tc.paths, errs)
		}
		// The console report goes to stderr, after what bw says about hosts.
		summary := fmt.Sprintf("bw test: %d passed, 0 failed, 0 skipped of %d exchanges against %s", len(paths), len(paths), srv.URL)
		quiet := slices.Contains(tc.flags, "-q")
		if !strings.HasPrefix(errs, tc.stderr) || strings.Contains(errs, summary) == quiet {
			t.Errorf("%v: stderr %q, want %q then the summary", tc.flags, errs, tc.stderr)
		}
	}
}

// TestTestCommandNothingSelected: a run that would test nothing fails
// (exit 1) with one line naming what selected and the recordings file.
func TestTestCommandNothingSelected(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bw.db")
	writeExchanges(t, db, jsonExchange("a.test", "/a", `{}`), jsonExchange("a.test", "/b", `{}`), jsonExchange("b.test", "/c", `{}`))
	empty := filepath.Join(dir, "empty.db")
	writeExchanges(t, empty)
	for _, tc := range []struct {
		db   string
		args []string
		want string
	}{
		{db, []string{"--filter", "method=PATCH"}, "no exchange in " + db + " matches --filter method=PATCH"},
		{db, []string{"--filter", "method=PATCH", "--host", "a.test"}, "no exchange in " + db + " matches --filter method=PATCH --host a.test"},
		{db, []string{"--filter", "path=/a*", "--host", "x.test"}, "no exchange in " + db + " matches --filter 'path=/a*' --host x.test; hosts recorded: a.test"},
		{db, []string{"--host", "x.test"}, "no exchange in " + db + " matches --host x.test; hosts recorded: a.test, b.test"},
		{db, []string{"--all-hosts", "--filter", "status=5*"}, "no exchange in " + db + " matches --filter 'status=5*'"},
		{empty, nil, "no exchanges in " + empty + "; record with 'bw capture' or 'bw import' first"},
	} {
		code, out, errs := bw(t, append([]string{"--db", tc.db, "test", "--target", "http://127.0.0.1:9"}, tc.args...)...)
		if code != 1 || errs != "bw: "+tc.want+"\n" || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want %q", tc.args, code, errs, out, tc.want)
		}
	}
}

// secrets is a service that wants a token and a password, and logs what
// it received so that the test can see no placeholder reached it.
type secrets struct {
	mu       sync.Mutex
	received []string
}

func (s *secrets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var dump strings.Builder
	fmt.Fprintf(&dump, "%s %s\n", r.Method, r.RequestURI)
	r.Header.Write(&dump)
	dump.Write(body)
	s.mu.Lock()
	s.received = append(s.received, dump.String())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/me" && r.Header.Get("Authorization") != "Bearer t0ken":
		w.WriteHeader(401)
		io.WriteString(w, `{"error":"unauthorized"}`)
	case r.URL.Path == "/login" && !strings.Contains(string(body), `"password":"pw"`):
		w.WriteHeader(422)
		io.WriteString(w, `{"error":"password"}`)
	default:
		io.WriteString(w, `{"ok":true}`)
	}
}

// recordSecrets records, through a capture proxy (which redacts), a
// request with a token, one with an API key in the query, one with a
// password in a JSON body and one with nothing secret; then adds one
// whose path holds a placeholder, as a chained redacted value leaves it.
func recordSecrets(t *testing.T) string {
	t.Helper()
	up := httptest.NewServer(new(secrets))
	defer up.Close()
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{})
	u, _ := url.Parse(up.URL)
	p, err := capture.New(capture.Config{Upstream: u, Listen: "127.0.0.1:0"}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path, auth, body string }{
		{"GET", "/me", "Bearer t0ken", ""},
		{"GET", "/search?q=fig&api_key=k3y", "", ""},
		{"POST", "/login", "", `{"user":"ann","password":"pw"}`},
		{"GET", "/health", "", ""},
	} {
		req, _ := http.NewRequest(r.method, "http://"+p.Addr()+r.path, strings.NewReader(r.body))
		if r.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	host := p.Addr() // the host clients addressed, as recorded
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ex := jsonExchange(host, "/sessions/"+store.RedactedPrefix+"0123456789ab", `{"ok":true}`)
	ex.Start, ex.Source, ex.Request.Scheme = time.Now(), store.SourceProxy, "http"
	if err := w.Write(context.Background(), ex); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTestCommandRedacted: exchanges that need a secret redacted at
// capture are skipped, not failed, with the fix in the summary and the
// reports; no placeholder reaches the service; --header brings the
// token-bearing exchange back.
func TestTestCommandRedacted(t *testing.T) {
	db := recordSecrets(t)
	live := new(secrets)
	srv := httptest.NewServer(live)
	defer srv.Close()
	auth := "Authorization was redacted at capture; pass --header 'Authorization: ...'"
	query := "query parameter api_key was redacted at capture; re-record with --no-redact to replay it"
	body := "body field $.password was redacted at capture; re-record with --no-redact to replay it"
	path := "the path holds a value redacted at capture; re-record with --no-redact to replay it"

	code, out, errs := bw(t, "--db", db, "test", "--target", srv.URL, "--junit", "-")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	for _, want := range []string{"bw test: 1 passed, 0 failed, 4 skipped of 5 exchanges", "1 skipped: " + auth + "\n",
		"1 skipped: " + query + "\n", "1 skipped: " + body + "\n", "1 skipped: " + path + "\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	var suites struct {
		Skipped int `xml:"skipped,attr"`
		Suite   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &suites); err != nil || suites.Skipped != 4 || len(suites.Suite) != 1 {
		t.Fatalf("stdout is not the JUnit report: %v %+v\n%s", err, suites, out)
	}
	reasons := map[string]bool{}
	for _, c := range suites.Suite[0].Cases {
		if c.Skipped != nil {
			reasons[c.Skipped.Message] = true
		}
	}
	if !reasons[auth] || !reasons[query] || !reasons[body] || !reasons[path] {
		t.Errorf("junit skip messages %v", reasons)
	}

	code, out, errs = bw(t, "--db", db, "test", "--target", srv.URL, "--header", "Authorization: Bearer t0ken", "--json", "-")
	rep := parseReport(t, out)
	if code != 0 || rep.Summary.Passed != 2 || rep.Summary.Skipped != 3 || rep.Summary.SkipReasons[auth] != 0 || rep.Summary.SkipReasons[body] != 1 {
		t.Fatalf("with --header: exit %d %+v\n%s", code, rep.Summary, errs)
	}
	for _, r := range rep.Results {
		if r.Path == "/me" && r.Outcome != "pass" || r.Path == "/login" && (r.Outcome != "skip" || r.Reason != body) {
			t.Errorf("%+v", r)
		}
	}

	live.mu.Lock()
	defer live.mu.Unlock()
	if len(live.received) != 1+2 {
		t.Errorf("the service got %d requests, want 3: %q", len(live.received), live.received)
	}
	for _, r := range live.received {
		if strings.Contains(r, "redacted") {
			t.Errorf("a placeholder was sent:\n%s", r)
		}
	}
}

// TestTestCommandStdio: --spec - and --noise - read stdin (through the
// real binary, whose stdin the test controls).
func TestTestCommandStdio(t *testing.T) {
	bin := buildBW(t)
	var mu sync.Mutex
	hits := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		n := hits
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"views": %d, "name": "page"}`, n)
	})
	db := recordNotes(t, h, "")
	srv := httptest.NewServer(h)
	defer srv.Close()
	spec := filepath.Join(t.TempDir(), "api.yaml")
	if code, _, errs := bw(t, "--db", db, "infer", "-o", spec); code != 0 {
		t.Fatalf("infer: %s", errs)
	}
	specData, _ := os.ReadFile(spec)
	for _, tc := range []struct {
		stdin  string
		args   []string
		code   int
		stdout string
	}{
		{"test:\n  noise:\n    body: [$.views]\n", []string{"--noise", "-", "--no-spec"}, 0, "spec: none\n"},
		{"", []string{"--no-spec"}, 1, "FAIL "},
		{string(specData), []string{"--spec", "-"}, 1, "spec: <stdin>\n"}, // views differ: no noise rule
	} {
		cmd := exec.Command(bin, append([]string{"--db", db, "test", "--target", srv.URL}, tc.args...)...)
		cmd.Stdin = strings.NewReader(tc.stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != tc.code || !strings.Contains(stdout.String(), tc.stdout) {
			t.Errorf("%v: exit %d, want %d; stderr %q\n%s", tc.args, code, tc.code, stderr.String(), stdout.String())
		}
	}
}

// TestTestCommandSkippedWrite: a create skipped for its redacted password
// leaves the live list a note short; bw test does not blame the service
// for it (exit 0), skips the read of the note it would have created, and
// says in the summary and the JSON report which reads were checked
// without values and why.
func TestTestCommandSkippedWrite(t *testing.T) {
	up := httptest.NewServer(newNotes())
	defer up.Close()
	db := filepath.Join(t.TempDir(), "bw.db")
	st, err := store.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := st.NewWriter(store.WriterOptions{})
	u, _ := url.Parse(up.URL)
	p, err := capture.New(capture.Config{Upstream: u, Listen: "127.0.0.1:0"}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string) map[string]any {
		req, _ := http.NewRequest(method, "http://"+p.Addr()+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	do("POST", "/notes", `{"title":"milk"}`)
	id, _ := do("POST", "/notes", `{"title":"diary","password":"pw"}`)["id"].(string)
	do("GET", "/notes", "")
	do("GET", "/notes/"+id, "")
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	st.Close()

	srv := httptest.NewServer(newNotes())
	defer srv.Close()
	const why = "an earlier write to /notes was skipped"
	code, out, errs := bw(t, "--db", db, "test", "--target", srv.URL, "-j", "4")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q:\n%s", code, errs, out)
	}
	for _, want := range []string{
		"bw test: 2 passed, 0 failed, 2 skipped of 4 exchanges",
		"1 skipped: body field $.password was redacted at capture; re-record with --no-redact to replay it\n",
		"1 skipped: it reads a resource whose create was skipped\n",
		"1 checked without values: " + why + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}

	code, out, _ = bw(t, "--db", db, "test", "--target", srv.URL, "--json", "-")
	var rep struct {
		Results []struct {
			Method, Path  string
			WithoutValues string `json:"without_values"`
		}
		Summary struct {
			WithoutValues map[string]int `json:"without_values"`
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d: %v\n%s", code, err, out)
	}
	if len(rep.Summary.WithoutValues) != 1 || rep.Summary.WithoutValues[why] != 1 {
		t.Errorf("summary without_values %v", rep.Summary.WithoutValues)
	}
	for _, r := range rep.Results {
		if (r.Method == "GET" && r.Path == "/notes") != (r.WithoutValues == why) {
			t.Errorf("%s %s: without values %q", r.Method, r.Path, r.WithoutValues)
		}
	}
}
