package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backworks/bw/replay"
	"github.com/backworks/bw/store"
)

// byID sorts results into capture order.
func byID(rs []*replay.Result) []*replay.Result {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b *replay.Result) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

func hasDiff(r *replay.Result, want string) bool {
	for _, d := range r.Diffs {
		if d.String() == want {
			return true
		}
	}
	return false
}

// TestSelfConsistency records the shop, replays it against a fresh shop
// (all pass), then against shops that break one thing each: exactly the
// exchanges that see the break fail, with a diff naming what broke.
func TestSelfConsistency(t *testing.T) {
	db := record(t, newShop(), "", func(base string) { driveShop(t, base) })

	t.Run("OK", func(t *testing.T) {
		for _, o := range []replay.Options{
			{Concurrency: 8}, {Concurrency: 1}, {Concurrency: 32, Order: replay.OrderStrict},
		} {
			col := runAgainst(t, db, newShop(), o)
			s := col.sum
			if s.Total != 24 || s.Passed != s.Total || s.Failed != 0 || s.Skipped != 0 {
				t.Fatalf("-j %d order %q: summary %+v\n%s", o.Concurrency, o.Order, s, describe(col.failed()))
			}
			if s.Spec != "inferred from the recordings" {
				t.Errorf("spec %q", s.Spec)
			}
		}
	})

	t.Run("FieldType", func(t *testing.T) {
		s := newShop()
		s.priceNumber = true
		col := runAgainst(t, db, s, replay.Options{Concurrency: 8})
		results := byID(col.results)
		for i, r := range results {
			list := r.Method == "GET" && r.Path == "/api/items"
			item := strings.HasPrefix(r.Path, "/api/items/") && r.WantStatus == 200
			created := r.Method == "POST" && r.WantStatus == 201
			wantFail := list && i > 0 || item || created
			if (r.Outcome == replay.Fail) != wantFail {
				t.Errorf("%s %s (%d): outcome %s, want fail=%v: %v", r.Method, r.Path, r.WantStatus, r.Outcome, wantFail, r.Diffs)
				continue
			}
			if !wantFail {
				continue
			}
			want := "$.price: type number, want string"
			if list {
				want = "$.items[0].price: type number, want string"
			}
			if r.Layer() != replay.LayerShape || !hasDiff(r, want) {
				t.Errorf("%s %s: diffs %v, want %q first", r.Method, r.Path, r.Diffs, want)
			}
		}
	})

	t.Run("RemovedEndpoint", func(t *testing.T) {
		s := newShop()
		s.noStats = true
		col := runAgainst(t, db, s, replay.Options{Concurrency: 8})
		failed := col.failed()
		if len(failed) != 4 {
			t.Fatalf("%d failed, want the 4 GET /api/stats:\n%s", len(failed), describe(failed))
		}
		for _, r := range failed {
			if r.Path != "/api/stats" || r.Layer() != replay.LayerStatus || r.Diffs[0].String() != "status 404, want 200" {
				t.Errorf("%s %s: %v", r.Method, r.Path, r.Diffs)
			}
		}
	})

	t.Run("StatusChanged", func(t *testing.T) {
		s := newShop()
		s.createStatus = 200
		col := runAgainst(t, db, s, replay.Options{Concurrency: 8})
		failed := col.failed()
		if len(failed) != 3 {
			t.Fatalf("%d failed, want the 3 creates:\n%s", len(failed), describe(failed))
		}
		for _, r := range failed {
			if r.Method != "POST" || r.Diffs[0].String() != "status 200, want 201" || len(r.Diffs) != 1 {
				t.Errorf("%s %s: %v", r.Method, r.Path, r.Diffs)
			}
		}
		if col.sum.ByLayer[replay.LayerStatus] != 3 {
			t.Errorf("by layer %v", col.sum.ByLayer)
		}
	})
}

// TestCreateThenGetFresh replays flows with server-generated ids against a
// fresh service that hands out other ids: the later requests get the live
// ids and everything passes.
func TestCreateThenGetFresh(t *testing.T) {
	for _, tc := range []struct {
		name string
		shop func() *shop
	}{
		{"UUID", func() *shop { s := newShop(); s.uuids = true; return s }},
		{"Integer", func() *shop { s := newShop(); s.nextID = 100; return s }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.shop()
			db := record(t, rec, "", func(base string) { driveShop(t, base) })
			fresh := tc.shop()
			if tc.name == "Integer" {
				fresh.nextID = 500
			}
			col := runAgainst(t, db, fresh, replay.Options{Concurrency: 8})
			if s := col.sum; s.Failed != 0 || s.Passed != s.Total || s.Chained == 0 {
				t.Fatalf("summary %+v\n%s", s, describe(col.failed()))
			}
			// The fresh service was asked for its own items, never the recorded ones.
			for _, id := range rec.order {
				for _, p := range fresh.seen {
					if strings.HasSuffix(p, "/"+id) {
						t.Errorf("recorded id %s sent to the fresh service: %s", id, p)
					}
				}
			}
			gets := 0
			for _, p := range fresh.seen {
				if strings.HasPrefix(p, "GET /api/items/") {
					gets++
				}
			}
			if gets != 7 {
				t.Errorf("%d item GETs reached the fresh service, want 7: %v", gets, fresh.seen)
			}
		})
	}
}

// TestVolatile: a service whose responses carry a fresh timestamp, uuid,
// ETag, cookie and request id on every call passes with no configuration.
func TestVolatile(t *testing.T) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Add(time.Duration(n.Add(1)) * time.Minute)
		w.Header().Set("ETag", fmt.Sprintf(`"%x"`, now.UnixNano()))
		w.Header().Set("X-Request-Id", newUUID())
		w.Header().Set("Last-Modified", now.UTC().Format(http.TimeFormat))
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: newUUID()})
		body := map[string]any{
			"id":         newUUID(),
			"now":        now.Format(time.RFC3339Nano),
			"served_at":  now.Unix(),
			"request_id": fmt.Sprintf("req-%d", n.Load()),
			"status":     "ok",
			"trace":      map[string]any{"span": strings.ReplaceAll(newUUID(), "-", "")[:16]},
			"events":     []any{map[string]any{"id": newUUID(), "at": now.Format(time.RFC3339), "kind": "tick"}},
		}
		if r.Method == "POST" {
			w.Header().Set("Location", "/events/"+body["id"].(string))
			writeJSON(w, 201, body)
			return
		}
		writeJSON(w, 200, body)
	})
	db := record(t, h, "", func(base string) {
		c := client{t: t, base: base}
		c.do("GET", "/now", nil)
		c.do("GET", "/now", nil)
		c.do("POST", "/events", map[string]any{"kind": "tick"})
		c.do("GET", "/other", nil)
	})
	col := runAgainst(t, db, h, replay.Options{})
	if s := col.sum; s.Failed != 0 || s.Passed != 4 {
		t.Fatalf("summary %+v\n%s", s, describe(col.failed()))
	}
}

// counter answers with a hit counter in the body and a header: values that
// change on every call but look stable.
func counter() http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits := n.Add(1)
		w.Header().Set("X-Hits", fmt.Sprint(hits))
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, hits))
		writeJSON(w, 200, map[string]any{"name": "counter", "hits": hits, "stats": map[string]any{"load": float64(hits) / 10},
			"served_at": time.Now().UTC().Format(time.RFC3339Nano)})
	})
}

// TestNoise: user rules add and remove noise; LearnNoise finds what
// changes on its own.
func TestNoise(t *testing.T) {
	h := counter()
	db := record(t, h, "", func(base string) {
		c := client{t: t, base: base}
		c.do("GET", "/counter", nil)
		c.do("GET", "/counter?x=1", nil)
	})
	noSpec := replay.Options{NoSpec: true, Concurrency: 1}

	col := runAgainst(t, db, h, noSpec)
	r := col.results[0]
	if r.Outcome != replay.Fail || !hasDiff(r, "$.hits: 3, want 1") || !hasDiff(r, `header X-Hits: "3", want "1"`) || !hasDiff(r, "$.stats.load: 0.3, want 0.1") {
		t.Fatalf("without rules: %v", r.Diffs)
	}
	if len(r.Diffs) != 3 {
		t.Errorf("ETag and served_at are noisy by default; got %v", r.Diffs)
	}

	opts := noSpec
	opts.Noise = replay.Noise{Body: []string{"$.hits", "$.stats"}, Headers: []string{"x-hits"}}
	if col := runAgainst(t, db, h, opts); col.sum.Failed != 0 {
		t.Fatalf("with rules: %s", describe(col.failed()))
	}

	opts.Noise = replay.Noise{Body: []string{"$.hits", "$.stats", "!$.served_at"}, Headers: []string{"X-Hits", "!ETag"}}
	col = runAgainst(t, db, h, opts)
	if r := col.results[0]; len(r.Diffs) != 2 || !strings.HasPrefix(strings.ToLower(r.Diffs[0].String()), "header etag: ") || r.Diffs[1].Path != "$.served_at" {
		t.Fatalf("removed rules: %v", r.Diffs)
	}

	// LearnNoise asks twice and finds the counter.
	srv := httptest.NewServer(counter())
	defer srv.Close()
	sdb, err := store.Open(db, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(srv.URL)
	learned, sum, err := replay.LearnNoise(context.Background(), sdb, replay.Options{Target: target})
	sdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := replay.Noise{Body: []string{"$.hits", "$.stats.load"}, Headers: []string{"X-Hits"}}
	if fmt.Sprint(learned) != fmt.Sprint(want) || sum.Total != 2 {
		t.Fatalf("learned %+v (total %d), want %+v", learned, sum.Total, want)
	}
	parsed, err := replay.ParseNoise(learned.YAML())
	if err != nil || fmt.Sprint(parsed) != fmt.Sprint(learned) {
		t.Fatalf("YAML round trip: %v %+v\n%s", err, parsed, learned.YAML())
	}
	opts.Noise = parsed
	if col := runAgainst(t, db, h, opts); col.sum.Failed != 0 {
		t.Fatalf("with learned rules: %s", describe(col.failed()))
	}
}

// TestNoiseFromRecordings: a field that differs between two recordings
// of the same request is noise without any rule.
func TestNoiseFromRecordings(t *testing.T) {
	db := record(t, counter(), "", func(base string) {
		c := client{t: t, base: base}
		c.do("GET", "/counter", nil)
		c.do("GET", "/counter", nil)
	})
	col := runAgainst(t, db, counter(), replay.Options{NoSpec: true, Concurrency: 1})
	if col.sum.Failed != 0 {
		t.Fatalf("%s", describe(col.failed()))
	}
}

// redirect returns a client that sends every connection to addr, so that
// a run can target a name that is not loopback.
func redirect(addr string) *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// TestSafety: writes reach a non-loopback target only with AllowWrites;
// redacted credentials are not sent, --header supplies them.
func TestSafety(t *testing.T) {
	s := newShop()
	s.token = "s3cret"
	auth := http.Header{"Authorization": {"Bearer s3cret"}}
	db := record(t, s, "", func(base string) {
		c := client{t: t, base: base, hdr: auth}
		c.do("GET", "/api/stats", nil)
		_, created := c.do("POST", "/api/items", map[string]any{"name": "fig", "price": "3"})
		c.do("GET", fmt.Sprintf("/api/items/%v", created["id"]), nil)
	})

	fresh := newShop()
	fresh.token = "s3cret"
	srv := httptest.NewServer(fresh)
	defer srv.Close()
	opts := replay.Options{Client: redirect(srv.Listener.Addr().String()), Header: auth}
	col := runTarget(t, db, "http://shop.example.test", opts)
	if s := col.sum; s.Skipped != 2 || s.Passed != 1 || s.Failed != 0 {
		t.Fatalf("without AllowWrites: %+v\n%s", s, describe(col.results))
	}
	if len(fresh.seen) != 1 || fresh.seen[0] != "GET /api/stats" {
		t.Fatalf("the service saw %v", fresh.seen)
	}
	for _, r := range col.results {
		if r.Outcome == replay.Skip && r.Method == "POST" && !strings.Contains(r.Reason, "--allow-writes") {
			t.Errorf("skip reason %q", r.Reason)
		}
	}

	opts.AllowWrites = true
	col = runTarget(t, db, "http://shop.example.test", opts)
	if s := col.sum; s.Passed != 3 {
		t.Fatalf("with AllowWrites: %+v\n%s", s, describe(col.results))
	}

	// Without --header the exchanges that need the redacted Authorization
	// are skipped, not failed, and the reason names the fix.
	fresh.seen = nil
	col = runAgainst(t, db, fresh, replay.Options{})
	const reason = "Authorization was redacted at capture; pass --header 'Authorization: ...'"
	if s := col.sum; s.Skipped != 3 || s.Failed != 0 || s.SkipReasons[reason] != 3 {
		t.Fatalf("without credentials: %+v\n%s", s, describe(col.results))
	}
	if len(fresh.seen) != 0 {
		t.Fatalf("the service saw %v", fresh.seen)
	}
}

// TestRedactedNotSent checks what reaches the service when the recording
// holds a redacted credential.
func TestRedactedNotSent(t *testing.T) {
	var mu sync.Mutex
	var got []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Api-Key"))
		mu.Unlock()
		writeJSON(w, 200, map[string]any{"ok": true})
	})
	db := record(t, h, "", func(base string) {
		client{t: t, base: base, hdr: http.Header{"Authorization": {"Bearer abc"}, "X-Api-Key": {"k1"}}}.do("GET", "/x", nil)
	})
	got = nil
	for _, tc := range []struct {
		hdr    http.Header
		reason string
	}{
		{nil, "Authorization was redacted at capture; pass --header 'Authorization: ...'"},
		{http.Header{"Authorization": {"Bearer live"}}, "X-Api-Key was redacted at capture; pass --header 'X-Api-Key: ...'"},
		{http.Header{"Authorization": {"Bearer live"}, "X-Api-Key": {"k2"}}, ""},
	} {
		col := runAgainst(t, db, h, replay.Options{NoSpec: true, Header: tc.hdr})
		if r := col.results[0]; r.Reason != tc.reason || (r.Outcome == replay.Skip) != (tc.reason != "") {
			t.Errorf("with %v: %s %q, want skipped for %q", tc.hdr, r.Outcome, r.Reason, tc.reason)
		}
	}
	if want := []string{"Bearer live|k2"}; !slices.Equal(got, want) {
		t.Fatalf("service saw %q, want %q", got, want)
	}
}

// TestFilterRun replays only what the filters select.
func TestFilterRun(t *testing.T) {
	db := record(t, newShop(), "smoke", func(base string) { driveShop(t, base) })
	f, err := replay.ParseFilter("method=GET", "path=/api/items*", "session=smoke", "status!=404")
	if err != nil {
		t.Fatal(err)
	}
	col := runAgainst(t, db, newShop(), replay.Options{Filter: f, Concurrency: 4})
	for _, r := range col.results {
		if r.Method != "GET" || !strings.HasPrefix(r.Path, "/api/items") || r.WantStatus == 404 {
			t.Errorf("not filtered out: %s %s %d", r.Method, r.Path, r.WantStatus)
		}
	}
	if len(col.results) != 11 {
		t.Fatalf("%d results, want 11:\n%s", len(col.results), describe(col.results))
	}
	f, _ = replay.ParseFilter("session=other")
	if col := runAgainst(t, db, newShop(), replay.Options{Filter: f}); len(col.results) != 0 {
		t.Fatalf("session=other selected %d", len(col.results))
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"GET", "want KEY=PATTERN"},
		{"=GET", "want KEY=PATTERN"},
		{"verb=GET", `unknown key "verb"`},
	} {
		_, err := replay.ParseFilter(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.expr, err, tc.want)
		}
	}
}

// TestJSONReport checks the document the JSON reporter writes.
func TestJSONReport(t *testing.T) {
	db := record(t, newShop(), "", func(base string) { driveShop(t, base) })
	s := newShop()
	s.noStats = true
	var buf bytes.Buffer
	col := runAgainst(t, db, s, replay.Options{Reporters: []replay.Reporter{replay.NewJSON(&buf)}})
	var doc struct {
		Results []struct {
			ID, Method, Path, Outcome, Layer string
			Diffs                            []struct{ Layer, Path, Message string }
		}
		Summary struct {
			Total, Passed, Failed int
			ByLayer               map[string]int `json:"by_layer"`
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(doc.Results) != col.sum.Total || doc.Summary.Failed != 4 || doc.Summary.ByLayer["status"] != 4 || doc.Summary.Passed != col.sum.Passed {
		t.Fatalf("summary %+v, %d results", doc.Summary, len(doc.Results))
	}
	for _, r := range doc.Results {
		if r.Outcome == "fail" && (r.Layer != "status" || r.Diffs[0].Message != "status 404, want 200") {
			t.Errorf("%+v", r)
		}
	}
}

// TestConsole checks the readable report.
func TestConsole(t *testing.T) {
	db := record(t, newShop(), "", func(base string) { driveShop(t, base) })
	s := newShop()
	s.priceNumber = true
	var buf bytes.Buffer
	runAgainst(t, db, s, replay.Options{Concurrency: 1, Reporters: []replay.Reporter{replay.NewConsole(&buf)}})
	out := buf.String()
	for _, want := range []string{
		"FAIL POST /api/items [",
		"     $.price: type number, want string\n",
		"     $.items[0].price: type number, want string\n",
		"bw test: 8 passed, 16 failed, 0 skipped of 24 exchanges against http://127.0.0.1:",
		"failed at: shape 16\n",
		"failing operations:\n      6  GET /api/items/{",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// TestManySessions replays 16 sessions at once, each with creates and
// chained gets, with more requests in flight than sessions.
func TestManySessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	catalogueStore(t, path, 3000, 16)
	col := runAgainst(t, path, catalogue(), replay.Options{Concurrency: 32})
	if s := col.sum; s.Passed != 3000 || s.Chained != 250 {
		t.Fatalf("summary %+v\n%s", s, describe(col.failed()))
	}
}
