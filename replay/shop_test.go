package replay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backworks/bw/capture"
	"github.com/backworks/bw/replay"
	"github.com/backworks/bw/store"
)

// shop is the small CRUD service the tests record and replay: items with
// server-generated ids, a list, stats, and knobs that break its contract.
type shop struct {
	mu     sync.Mutex
	items  map[string]*item
	order  []string
	nextID int
	seen   []string // request paths, to see what the replay sent

	uuids        bool // random ids instead of 1, 2, 3...
	priceNumber  bool // break: price is a number
	noStats      bool // break: GET /api/stats is gone
	createStatus int  // break: POST /api/items answers this instead of 201
	token        string
}

type item struct {
	ID      any      `json:"id"`
	Name    string   `json:"name"`
	Price   any      `json:"price"`
	Tags    []string `json:"tags"`
	Created string   `json:"created_at"`
}

func newShop() *shop { return &shop{items: map[string]*item{}, nextID: 1} }

func (s *shop) view(it *item) *item {
	v := *it
	if s.priceNumber {
		f, _ := strconv.ParseFloat(it.Price.(string), 64)
		v.Price = f
	}
	return &v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, r.Method+" "+r.URL.RequestURI())
	w.Header().Set("Cache-Control", "no-store")
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		writeJSON(w, 401, map[string]string{"error": "unauthorized"})
		return
	}
	path := r.URL.Path
	switch {
	case path == "/api/stats" && !s.noStats:
		writeJSON(w, 200, map[string]any{"count": len(s.items), "version": "1.0"})
	case path == "/api/items" && r.Method == "GET":
		list := []*item{}
		for _, id := range s.order {
			list = append(list, s.view(s.items[id]))
		}
		writeJSON(w, 200, map[string]any{"items": list, "total": len(list)})
	case path == "/api/items" && r.Method == "POST":
		var in item
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" {
			writeJSON(w, 422, map[string]string{"error": "name is required"})
			return
		}
		var id any = s.nextID
		key := strconv.Itoa(s.nextID)
		if s.uuids {
			key = newUUID()
			id = key
		}
		s.nextID++
		it := &item{ID: id, Name: in.Name, Price: fmt.Sprint(in.Price), Tags: in.Tags, Created: time.Now().UTC().Format(time.RFC3339Nano)}
		if it.Tags == nil {
			it.Tags = []string{}
		}
		s.items[key] = it
		s.order = append(s.order, key)
		w.Header().Set("Location", "/api/items/"+key)
		status := 201
		if s.createStatus != 0 {
			status = s.createStatus
		}
		writeJSON(w, status, s.view(it))
	case strings.HasPrefix(path, "/api/items/"):
		key := strings.TrimPrefix(path, "/api/items/")
		it := s.items[key]
		if it == nil {
			writeJSON(w, 404, map[string]string{"error": "no item " + key})
			return
		}
		switch r.Method {
		case "GET":
			writeJSON(w, 200, s.view(it))
		case "PUT":
			var in item
			json.NewDecoder(r.Body).Decode(&in)
			it.Name, it.Price = in.Name, fmt.Sprint(in.Price)
			writeJSON(w, 200, s.view(it))
		case "DELETE":
			delete(s.items, key)
			s.order = slices.DeleteFunc(s.order, func(k string) bool { return k == key })
			w.WriteHeader(204)
		}
	default:
		writeJSON(w, 404, map[string]string{"error": "not found"})
	}
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// record runs drive against a capture proxy in front of h and returns the
// recordings file.
func record(t testing.TB, h http.Handler, session string, drive func(base string)) string {
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
	p, err := capture.New(capture.Config{Upstream: u, Listen: "127.0.0.1:0", Session: session}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	drive("http://" + p.Addr())
	if err := p.Close(context.Background()); err != nil {
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

// client sends one request and fails the test on a transport error.
type client struct {
	t    testing.TB
	base string
	hdr  http.Header
}

func (c client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range c.hdr {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// driveShop records the flows of the shop: list, create, get, update,
// delete, stats.
func driveShop(t testing.TB, base string) {
	c := client{t: t, base: base}
	c.do("GET", "/api/items", nil)
	c.do("GET", "/api/stats", nil)
	for _, name := range []string{"apple", "pear", "plum"} {
		_, created := c.do("POST", "/api/items", map[string]any{"name": name, "price": "1.50", "tags": []string{"fruit"}})
		id := fmt.Sprint(created["id"])
		c.do("GET", "/api/items/"+id, nil)
		c.do("PUT", "/api/items/"+id, map[string]any{"name": "green " + name, "price": "1.75"})
		c.do("GET", "/api/items/"+id, nil)
		c.do("GET", "/api/items", nil)
		c.do("GET", "/api/stats", nil)
		if name == "pear" {
			c.do("DELETE", "/api/items/"+id, nil)
			c.do("GET", "/api/items/"+id, nil)
		}
	}
	c.do("POST", "/api/items", map[string]any{"price": "2"}) // 422
	c.do("GET", "/api/items", nil)
}

// collect is a reporter that keeps every result.
type collect struct {
	mu      sync.Mutex
	results []*replay.Result
	sum     *replay.Summary
}

func (c *collect) Report(r *replay.Result) error {
	c.mu.Lock()
	c.results = append(c.results, r)
	c.mu.Unlock()
	return nil
}

func (c *collect) Finish(s *replay.Summary) error { c.sum = s; return nil }

func (c *collect) failed() []*replay.Result {
	var out []*replay.Result
	for _, r := range c.results {
		if r.Outcome == replay.Fail {
			out = append(out, r)
		}
	}
	return out
}

// runAgainst replays the recordings in dbPath against h, served fresh.
func runAgainst(t testing.TB, dbPath string, h http.Handler, opts replay.Options) *collect {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	return runTarget(t, dbPath, srv.URL, opts)
}

func runTarget(t testing.TB, dbPath, target string, opts replay.Options) *collect {
	t.Helper()
	db, err := store.Open(dbPath, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts.Target, _ = url.Parse(target)
	col := new(collect)
	opts.Reporters = append(opts.Reporters, col)
	sum, err := replay.Run(context.Background(), db, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if sum != col.sum {
		t.Fatal("Finish did not get the summary Run returned")
	}
	return col
}

func describe(rs []*replay.Result) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s %s %s: %v\n", r.Outcome, r.Method, r.Path, r.Diffs)
	}
	return b.String()
}
