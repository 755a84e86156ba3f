package replay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backworks/bw/replay"
	"github.com/backworks/bw/store"
)

// writeStore writes exchanges as given (no redaction: they hold what the
// test wants the recordings to hold) and returns the file.
func writeStore(t *testing.T, exs ...*store.Exchange) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{NoRedact: true})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, ex := range exs {
		ex.Start, ex.Source = t0.Add(time.Duration(i)*time.Second), store.SourceProxy
		if ex.Request.Scheme == "" {
			ex.Request.Scheme, ex.Request.Proto, ex.Response.Proto = "http", "HTTP/1.1", "HTTP/1.1"
		}
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
	return path
}

// wire keeps every request a service received, as it came over the wire.
type wire struct {
	mu   sync.Mutex
	reqs []string
	h    http.Handler
}

func (w *wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.RequestURI)
	r.Header.Write(&b)
	b.Write(body)
	w.mu.Lock()
	w.reqs = append(w.reqs, b.String())
	w.mu.Unlock()
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	w.h.ServeHTTP(rw, r)
}

func (w *wire) sent(t *testing.T, s string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.reqs {
		if strings.Contains(r, s) {
			t.Errorf("the service received %q:\n%s", s, r)
		}
	}
}

// TestPlaceholdersSkipped: recordings of a service with secrets in every
// place a request has; what needs a secret is skipped with a reason naming
// where, no placeholder reaches the service, the rest passes.
func TestPlaceholdersSkipped(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"ok": true}) })
	db := record(t, ok, "", func(base string) {
		c := client{t: t, base: base}
		c.do("GET", "/search?q=fig&api_key=k1", nil)
		c.do("POST", "/login", map[string]any{"user": "ann", "password": "pw"})
		c.do("GET", "/health", nil)
	})
	// A form body through the proxy: client.do only sends JSON.
	form := func(base string) {
		req, _ := http.NewRequest("POST", base+"/form", strings.NewReader("user=ann&client_secret=s3"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	db2 := record(t, ok, "", form)

	svc := &wire{h: ok}
	col := runAgainst(t, db, svc, replay.Options{NoSpec: true})
	want := map[string]string{
		"GET /search?q=fig&api_key=": "query parameter api_key was redacted at capture; re-record with --no-redact to replay it",
		"POST /login":                "body field $.password was redacted at capture; re-record with --no-redact to replay it",
	}
	for _, r := range col.results {
		reason, skip := "", false
		for p, w := range want {
			if strings.HasPrefix(r.Method+" "+r.Path, p) {
				reason, skip = w, true
			}
		}
		if r.Outcome == replay.Fail || (r.Outcome == replay.Skip) != skip || r.Reason != reason {
			t.Errorf("%s %s: %s %q, want skip=%v %q", r.Method, r.Path, r.Outcome, r.Reason, skip, reason)
		}
	}
	if s := col.sum; s.Passed != 1 || s.Skipped != 2 {
		t.Errorf("summary %+v", s)
	}
	col = runAgainst(t, db2, svc, replay.Options{NoSpec: true})
	if r := col.results[0]; r.Outcome != replay.Skip || r.Reason != "body field client_secret was redacted at capture; re-record with --no-redact to replay it" {
		t.Errorf("form: %s %q", r.Outcome, r.Reason)
	}

	// A placeholder in the path (a redacted value chained into it at
	// capture) and one in a body of another type.
	db3 := writeStore(t,
		&store.Exchange{Request: store.Request{Method: "GET", Host: "a.test", Path: "/sessions/redacted:0123456789ab"},
			Response: store.Response{Status: 200}},
		&store.Exchange{Request: store.Request{Method: "POST", Host: "a.test", Path: "/notes",
			Header: store.Header{{Name: "Content-Type", Value: "text/plain"}}, Body: store.Body{Data: []byte("key redacted:0123456789ab"), Size: 25}},
			Response: store.Response{Status: 200}},
	)
	col = runAgainst(t, db3, svc, replay.Options{NoSpec: true, Concurrency: 1})
	reasons := []string{
		"the path holds a value redacted at capture; re-record with --no-redact to replay it",
		"the body holds a value redacted at capture; re-record with --no-redact to replay it",
	}
	for i, r := range byID(col.results) {
		if r.Outcome != replay.Skip || r.Reason != reasons[i] {
			t.Errorf("%s %s: %s %q, want skipped for %q", r.Method, r.Path, r.Outcome, r.Reason, reasons[i])
		}
	}
	svc.sent(t, "redacted")
}

// TestChainedPlaceholder: a token redacted at capture in both the login
// response and the requests that use it is replaced by the live token, so
// those requests run; a credential the recordings hold and --header gives
// is sent; a request recorded with another one, refused or not, is
// skipped.
func TestChainedPlaceholder(t *testing.T) {
	var mu sync.Mutex
	issued := map[string]bool{"good": true, "other": true}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/login" {
			tok := fmt.Sprintf("tok-%d", time.Now().UnixNano())
			issued[tok] = true
			writeJSON(w, 200, map[string]any{"token": tok})
			return
		}
		if !issued[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
			writeJSON(w, 401, map[string]any{"error": "who are you"})
			return
		}
		writeJSON(w, 200, map[string]any{"user": "ann"})
	})
	db := record(t, h, "", func(base string) {
		_, login := client{t: t, base: base}.do("POST", "/login", map[string]any{"user": "ann"})
		for _, tok := range []string{login["token"].(string), "good", "wrong", "other"} {
			client{t: t, base: base, hdr: http.Header{"Authorization": {"Bearer " + tok}}}.do("GET", "/me", nil)
		}
	})
	svc := &wire{h: h}
	col := runAgainst(t, db, svc, replay.Options{NoSpec: true, Concurrency: 1, Header: http.Header{"Authorization": {"Bearer good"}}})
	want := []struct {
		outcome replay.Outcome
		reason  string
	}{
		{replay.Pass, ""}, // login
		{replay.Pass, ""}, // the token login handed out, chained
		{replay.Pass, ""}, // --header's credential
		{replay.Skip, "Authorization was recorded with another credential than --header gives"}, // refused
		{replay.Skip, "Authorization was recorded with another credential than --header gives"},
	}
	for i, r := range byID(col.results) {
		if r.Outcome != want[i].outcome || r.Reason != want[i].reason {
			t.Errorf("%d %s %s: %s %q %v, want %s %q", i, r.Method, r.Path, r.Outcome, r.Reason, r.Diffs, want[i].outcome, want[i].reason)
		}
	}
	if col.sum.Chained != 1 {
		t.Errorf("chained %d, want 1", col.sum.Chained)
	}
	svc.sent(t, "redacted")
}

// TestPseudoHeaders: HTTP/2 pseudo-headers in a recording (from a browser
// HAR) are neither sent nor required of the live response.
func TestPseudoHeaders(t *testing.T) {
	body := []byte(`{"id":1}`)
	db := writeStore(t, &store.Exchange{
		Request: store.Request{Method: "GET", Host: "a.test", Path: "/items/1", Header: store.Header{
			{Name: ":method", Value: "GET"}, {Name: ":authority", Value: "a.test"}, {Name: ":path", Value: "/items/1"},
			{Name: ":scheme", Value: "https"}, {Name: "Accept", Value: "application/json"}}},
		Response: store.Response{Status: 200, Header: store.Header{{Name: ":status", Value: "200"}, {Name: "Content-Type", Value: "application/json"}},
			Body: store.Body{Data: body, Size: int64(len(body))}},
	})
	svc := &wire{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"id": 1}) })}
	col := runAgainst(t, db, svc, replay.Options{})
	if s := col.sum; s.Passed != 1 {
		t.Fatalf("%+v\n%s", s, describe(col.results))
	}
	svc.sent(t, "\n:")
	if len(svc.reqs) != 1 || !strings.Contains(svc.reqs[0], "Accept: application/json") {
		t.Errorf("the service received %q", svc.reqs)
	}
}

// TestHost: Services counts by service as bw infer names them; Host
// selects one; an inferred spec describes the busiest host only and is not
// applied to the others.
func TestHost(t *testing.T) {
	js := func(v any) store.Body {
		b, _ := json.Marshal(v)
		return store.Body{Data: b, Size: int64(len(b))}
	}
	ct := store.Header{{Name: "Content-Type", Value: "application/json"}}
	var exs []*store.Exchange
	for i := 1; i <= 3; i++ {
		exs = append(exs, &store.Exchange{Request: store.Request{Method: "GET", Host: "a.test", Path: fmt.Sprintf("/users/%d", i)},
			Response: store.Response{Status: 200, Header: ct, Body: js(map[string]any{"id": i, "name": "ann"})}})
	}
	for _, host := range []string{"B.test:443", "b.test"} {
		exs = append(exs, &store.Exchange{Request: store.Request{Method: "GET", Host: host, Path: "/users/me"},
			Response: store.Response{Status: 200, Header: ct, Body: js(map[string]any{"login": "b"})}})
	}
	db := writeStore(t, exs...)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/users/me" {
			writeJSON(w, 200, map[string]any{"login": "b"})
			return
		}
		writeJSON(w, 200, map[string]any{"id": json.Number(strings.TrimPrefix(r.URL.Path, "/users/")), "name": "ann"})
	})

	sdb, err := store.Open(db, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := replay.Services(context.Background(), sdb, nil)
	sdb.Close()
	if err != nil || len(counts) != 2 || counts["a.test"] != 3 || counts["b.test"] != 2 {
		t.Fatalf("services %v %v", counts, err)
	}

	col := runAgainst(t, db, h, replay.Options{Host: "b.TEST:443"})
	if s := col.sum; s.Total != 2 || s.Passed != 2 {
		t.Fatalf("host b.test: %+v\n%s", s, describe(col.results))
	}
	col = runAgainst(t, db, h, replay.Options{})
	if s := col.sum; s.Total != 5 || s.Passed != 5 {
		t.Fatalf("all hosts: %+v\n%s", s, describe(col.results))
	}
}
