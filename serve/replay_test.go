package serve_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/capture"
	"github.com/backworks/bw/infer"
	"github.com/backworks/bw/serve"
	"github.com/backworks/bw/store"
)

// sampleUpstream is a small stateful API: users, a list of items that
// POST grows, a gzip-encoded report and a slow endpoint.
func sampleUpstream(t *testing.T) *httptest.Server {
	var (
		mu    sync.Mutex
		items []map[string]any
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"u`+r.PathValue("id")+`"`)
		w.Header().Set("X-Request-Id", "req-"+r.PathValue("id"))
		if r.PathValue("id") == "404" {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":"no such user"}`)
			return
		}
		fmt.Fprintf(w, `{"id":%s,"name":"user %s","verbose":%t}`, r.PathValue("id"), r.PathValue("id"), r.URL.Query().Get("verbose") == "1")
	})
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"items": items, "count": len(items)})
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		var it map[string]any
		if err := json.NewDecoder(r.Body).Decode(&it); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		it["id"] = len(items) + 1
		items = append(items, it)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", fmt.Sprintf("/items/%d", it["id"]))
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(it)
	})
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, strings.Repeat("a,b,c\n", 100))
		zw.Close()
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("0123456789abcdef", 20<<10)) // 320 KiB: read from the file when replayed
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		io.WriteString(w, "slow")
	})
	up := httptest.NewServer(mux)
	t.Cleanup(up.Close)
	return up
}

// record sends the requests through a bw capture proxy in front of up and
// returns the recordings file.
func record(t *testing.T, up string, requests func(base string)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{})
	u, _ := url.Parse(up)
	p, err := capture.New(capture.Config{Upstream: u, Listen: "127.0.0.1:0"}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	requests("http://" + p.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
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

// sampleDoc describes sampleUpstream's API as bw infer would.
func sampleDoc() *api.Doc {
	return &api.Doc{Name: "sample", Endpoints: []*api.Endpoint{
		{Name: "get_users_id", Path: "/users/{id}", Methods: []string{"GET"}},
		{Name: "get_items", Path: "/items", Methods: []string{"GET"}},
		{Name: "post_items", Path: "/items", Methods: []string{"POST"}, Request: &api.Request{ContentType: "application/json"}},
		{Name: "get_report", Path: "/report", Methods: []string{"GET"}},
		{Name: "get_slow", Path: "/slow", Methods: []string{"GET"}},
		{Name: "get_big", Path: "/big", Methods: []string{"GET"}},
	}}
}

// noGzip is a client that sends no Accept-Encoding and does not decode.
var noGzip = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func TestReplayEndToEnd(t *testing.T) {
	up := sampleUpstream(t)
	// What the client saw live, by request.
	type seen struct {
		status int
		header http.Header
		body   string
	}
	var live []seen
	var reqs []struct{ method, path, body string }
	send := func(base, method, path, body string) {
		r := do(t, noGzip, method, base+path, body)
		live = append(live, seen{r.status, r.header, string(r.body)})
		reqs = append(reqs, struct{ method, path, body string }{method, path, body})
	}
	db := record(t, up.URL, func(base string) {
		send(base, "GET", "/users/1", "")
		send(base, "GET", "/users/2?verbose=1", "")
		send(base, "GET", "/users/404", "")
		send(base, "GET", "/items", "")
		send(base, "POST", "/items", `{"name":"a","tags":["x","y"]}`)
		send(base, "GET", "/items", "")
		send(base, "POST", "/items", `{"name":"b"}`)
		send(base, "GET", "/items", "")
		send(base, "GET", "/report", "")
		send(base, "GET", "/big", "")
	})

	_, base := startServer(t, serve.Config{Doc: sampleDoc(), DB: db})
	for i, rq := range reqs {
		r := do(t, noGzip, rq.method, base+rq.path, rq.body, "Accept-Encoding: gzip")
		want := live[i]
		if r.status != want.status || string(r.body) != want.body {
			t.Errorf("%s %s: got %d %q, want %d %q", rq.method, rq.path, r.status, r.body, want.status, want.body)
		}
		for _, h := range []string{"Content-Type", "Etag", "X-Request-Id", "Location", "Content-Encoding"} {
			if g, w := r.header.Get(h), want.header.Get(h); g != w {
				t.Errorf("%s %s: header %s = %q, want %q", rq.method, rq.path, h, g, w)
			}
		}
		if m := r.header.Get("Bw-Match"); !strings.HasSuffix(m, "; score=100") || len(m) != 26+len("; score=100") {
			t.Errorf("%s %s: Bw-Match %q", rq.method, rq.path, m)
		}
	}

	// The sequence sticks on its last answer.
	last := do(t, noGzip, "GET", base+"/items", "")
	if string(last.body) != live[7].body {
		t.Errorf("4th GET /items: %s, want the last recorded %s", last.body, live[7].body)
	}

	// A JSON body with other key order and spacing is the same request.
	r := do(t, noGzip, "POST", base+"/items", `{ "tags": ["x","y"],  "name": "a" }`)
	if r.status != 201 || !strings.HasSuffix(r.header.Get("Bw-Match"), "score=100") || string(r.body) != live[4].body {
		t.Errorf("reordered JSON: %d %q %s", r.status, r.header.Get("Bw-Match"), r.body)
	}

	// An unrecorded user gets the closest recording, with a lower score.
	r = do(t, noGzip, "GET", base+"/users/3?verbose=1", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"id":2`) {
		t.Errorf("GET /users/3?verbose=1: %d %s (Bw-Match %q)", r.status, r.body, r.header.Get("Bw-Match"))
	}
	if m := r.header.Get("Bw-Match"); strings.HasSuffix(m, "score=100") || !strings.Contains(m, "; score=") {
		t.Errorf("scored match header %q", m)
	}

	// A client that accepts gzip gets the recorded bytes; one that does not
	// gets them decoded.
	r = do(t, noGzip, "GET", base+"/report", "", "Accept-Encoding: gzip")
	if r.header.Get("Content-Encoding") != "gzip" || !bytes.Equal(r.body, []byte(live[8].body)) {
		t.Errorf("gzip client: %v %d bytes", r.header, len(r.body))
	}
	r = do(t, noGzip, "GET", base+"/report", "")
	if r.header.Get("Content-Encoding") != "" || string(r.body) != strings.Repeat("a,b,c\n", 100) ||
		r.header.Get("Content-Length") != fmt.Sprint(len(r.body)) {
		t.Errorf("identity client: %v %q", r.header, r.body)
	}
}

func TestReplaySequencesConcurrent(t *testing.T) {
	// Concurrent identical requests each take the next recorded answer.
	up := sampleUpstream(t)
	const n = 5
	db := record(t, up.URL, func(base string) {
		for i := range n {
			do(t, nil, "POST", base+"/items", fmt.Sprintf(`{"name":"i%d"}`, i))
			do(t, nil, "GET", base+"/items", "")
		}
	})
	_, base := startServer(t, serve.Config{Doc: sampleDoc(), DB: db})
	var wg sync.WaitGroup
	counts := make([]int, n+1)
	var mu sync.Mutex
	for range 2 * n {
		wg.Go(func() {
			r := do(t, nil, "GET", base+"/items", "")
			var v struct{ Count int }
			json.Unmarshal(r.body, &v)
			mu.Lock()
			counts[v.Count]++
			mu.Unlock()
		})
	}
	wg.Wait()
	// answers 1..n-1 once each, then n for the rest
	for c := 1; c < n; c++ {
		if counts[c] != 1 {
			t.Errorf("count %d answered %d times, want once (%v)", c, counts[c], counts)
		}
	}
	if counts[n] != n+1 {
		t.Errorf("the last answer came %d times, want %d (%v)", counts[n], n+1, counts)
	}
}

func TestReplayLatency(t *testing.T) {
	up := sampleUpstream(t)
	db := record(t, up.URL, func(base string) { do(t, nil, "GET", base+"/slow", "") })
	for _, tt := range []struct {
		lat      string
		min, max time.Duration
	}{
		{"none", 0, 100 * time.Millisecond},
		{"recorded", 140 * time.Millisecond, 2 * time.Second},
		{"50ms", 50 * time.Millisecond, 140 * time.Millisecond},
	} {
		lat, err := serve.ParseLatency(tt.lat)
		if err != nil {
			t.Fatal(err)
		}
		_, base := startServer(t, serve.Config{Doc: sampleDoc(), DB: db, Latency: lat})
		start := time.Now()
		r := do(t, nil, "GET", base+"/slow", "")
		d := time.Since(start)
		if r.status != 200 || d < tt.min || d > tt.max {
			t.Errorf("latency %s: %d in %v, want %v..%v", tt.lat, r.status, d, tt.min, tt.max)
		}
	}
	if _, err := serve.ParseLatency("fast"); err == nil {
		t.Error("ParseLatency(fast): no error")
	}
}

func TestReplayBadRecordings(t *testing.T) {
	_, err := serve.New(serve.Config{Doc: sampleDoc(), DB: filepath.Join(t.TempDir(), "missing.db")})
	if err == nil || !strings.Contains(err.Error(), "do not exist") {
		t.Errorf("missing db: %v", err)
	}
}

// TestInferAndServe is the whole loop: record through bw capture, infer
// the Backworks YAML, serve it from the file with the recordings, and get
// the recorded answers back.
func TestInferAndServe(t *testing.T) {
	up := sampleUpstream(t)
	type sent struct{ method, path, body string }
	reqs := []sent{
		{"GET", "/users/1", ""}, {"GET", "/users/2", ""}, {"GET", "/users/3", ""}, {"GET", "/users/404", ""},
		{"GET", "/items", ""}, {"POST", "/items", `{"name":"a"}`}, {"GET", "/items", ""},
		{"POST", "/items", `{"name":"b"}`}, {"GET", "/items", ""},
	}
	var live []*response
	dbPath := record(t, up.URL, func(base string) {
		for _, rq := range reqs {
			live = append(live, do(t, nil, rq.method, base+rq.path, rq.body))
		}
	})
	db, err := store.Open(dbPath, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := infer.Infer(context.Background(), db, infer.Options{})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	yml, err := a.Backworks()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(file, yml, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s, base := startServer(t, serve.Config{File: file, DB: dbPath, NoReload: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := s.Reload(); err != nil { // a second index of the same recordings
		t.Fatal(err)
	}
	for i, rq := range reqs {
		r := do(t, nil, rq.method, base+rq.path, rq.body)
		if r.status != live[i].status || string(r.body) != string(live[i].body) {
			t.Errorf("%s %s: %d %s, want %d %s", rq.method, rq.path, r.status, r.body, live[i].status, live[i].body)
		}
		if !strings.HasSuffix(r.header.Get("Bw-Match"), "score=100") {
			t.Errorf("%s %s: Bw-Match %q", rq.method, rq.path, r.header.Get("Bw-Match"))
		}
		if v := r.header.Get("Bw-Validation"); v != "" {
			t.Errorf("%s %s: Bw-Validation %q", rq.method, rq.path, v)
		}
	}
	// the inferred schema rejects a bad request
	r := do(t, nil, "POST", base+"/items", `{"name":7}`)
	if r.status != 400 {
		t.Errorf("POST /items name=7: %d %s\n%s", r.status, r.body, yml)
	}
	if t.Failed() {
		t.Logf("inferred:\n%s\nlog:\n%s", yml, logs.String())
	}
}

// TestReplayCredentials: a request is answered as the service answered the
// same credential, or the absence of one; a token never recorded walks the
// answers recorded with some token.
func TestReplayCredentials(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "":
			w.WriteHeader(401)
			fmt.Fprint(w, "missing token")
		case "Bearer good":
			fmt.Fprint(w, "hello")
		default:
			w.WriteHeader(401)
			fmt.Fprint(w, "invalid token")
		}
	}))
	defer up.Close()
	db := record(t, up.URL, func(base string) {
		do(t, nil, "GET", base+"/me", "", "Authorization: Bearer good")
		do(t, nil, "GET", base+"/me", "")
		do(t, nil, "GET", base+"/me", "", "Authorization: Bearer bad")
		do(t, nil, "GET", base+"/me", "", "Authorization: Bearer good")
	})
	doc := &api.Doc{Name: "me", Endpoints: []*api.Endpoint{{Name: "me", Path: "/me", Methods: []string{"GET"}}}}
	_, base := startServer(t, serve.Config{Doc: doc, DB: db})
	for _, tc := range []struct {
		auth   string
		status int
		body   string
	}{
		{"", 401, "missing token"},
		{"Bearer bad", 401, "invalid token"},
		{"Bearer good", 200, "hello"},
		{"Bearer good", 200, "hello"},
		{"Bearer never-recorded", 200, "hello"}, // the first answer recorded with a token
	} {
		var hdr []string
		if tc.auth != "" {
			hdr = []string{"Authorization: " + tc.auth}
		}
		r := do(t, nil, "GET", base+"/me", "", hdr...)
		if r.status != tc.status || string(r.body) != tc.body || !strings.HasSuffix(r.header.Get("Bw-Match"), "score=100") {
			t.Errorf("Authorization %q: %d %q (%s), want %d %q", tc.auth, r.status, r.body, r.header.Get("Bw-Match"), tc.status, tc.body)
		}
	}
}
