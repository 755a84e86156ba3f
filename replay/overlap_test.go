package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backworks/bw/replay"
	"github.com/backworks/bw/store"
)

// directory is a user directory with addresses to update, beside a price
// list.
type directory struct {
	mu    sync.Mutex
	users []map[string]any
	price string

	listError string // break: the list with this query answers 500
}

func newDirectory() *directory {
	d := &directory{price: "1.50"}
	for i, name := range []string{"ann", "bob", "cy", "di"} {
		d.users = append(d.users, map[string]any{"id": i + 1, "name": name, "address": nil})
	}
	return d
}

func (d *directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := r.URL.Path
	switch {
	case p == "/api/v1/prices":
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"sku": "fig", "price": d.price}}})
	case p == "/api/v1/users":
		if d.listError != "" && r.URL.RawQuery == d.listError {
			writeJSON(w, 500, map[string]any{"error": "boom"})
			return
		}
		writeJSON(w, 200, map[string]any{"data": d.users, "total": len(d.users)})
	case strings.HasPrefix(p, "/api/v1/users/"):
		id := strings.TrimPrefix(p, "/api/v1/users/")
		for i, u := range d.users {
			if fmt.Sprint(u["id"]) != id {
				continue
			}
			switch r.Method {
			case "PUT":
				var in map[string]any
				json.NewDecoder(r.Body).Decode(&in)
				for k, v := range in {
					u[k] = v
				}
				writeJSON(w, 200, u)
			case "DELETE":
				d.users = append(d.users[:i:i], d.users[i+1:]...)
				w.WriteHeader(204)
			default:
				writeJSON(w, 200, u)
			}
			return
		}
		writeJSON(w, 404, map[string]any{"error": "no such user"})
	default:
		writeJSON(w, 404, map[string]any{"error": "not found"})
	}
}

// step is one exchange to record: the service answers the steps in the
// order given, and the recording says they ran at start for dur from t0.
type step struct {
	method, path string
	body         any
	start, dur   time.Duration
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// recordSteps answers the steps with h, in their order, and makes the
// exchanges a capture of them would hold.
func recordSteps(t *testing.T, h http.Handler, steps ...step) []*store.Exchange {
	t.Helper()
	var exs []*store.Exchange
	for _, s := range steps {
		var body []byte
		ex := &store.Exchange{Start: t0.Add(s.start), Duration: s.dur, Source: store.SourceProxy}
		ex.Request = store.Request{Method: s.method, Scheme: "http", Host: "dir.test", Proto: "HTTP/1.1"}
		ex.Request.Path, ex.Request.RawQuery, _ = strings.Cut(s.path, "?")
		if s.body != nil {
			body, _ = json.Marshal(s.body)
			ex.Request.Header = store.Header{{Name: "Content-Type", Value: "application/json"}}
			ex.Request.Body = store.Body{Data: body, Size: int64(len(body))}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(s.method, "http://dir.test"+s.path, bytes.NewReader(body)))
		ex.Response = store.Response{Status: rec.Code, Proto: "HTTP/1.1"}
		for k, vs := range rec.Header() {
			for _, v := range vs {
				ex.Response.Header = append(ex.Response.Header, store.Field{Name: k, Value: v})
			}
		}
		ex.Response.Body = store.Body{Data: rec.Body.Bytes(), Size: int64(rec.Body.Len())}
		exs = append(exs, ex)
	}
	return exs
}

// writeTimed stores the exchanges in the order given, their times as
// they are: the store's IDs order them by the millisecond they started
// in, and, within one, by the order they were written.
func writeTimed(t *testing.T, exs ...*store.Exchange) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{NoRedact: true})
	for _, ex := range exs {
		if err := w.Write(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
		// One at a time: the writer's queue could reorder nothing, but
		// the IDs must follow this order within a millisecond.
		if err := w.Flush(context.Background()); err != nil {
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

const inFlightUsers = "it ran while a write to /api/v1/users was in flight at capture"

// overlapSteps: a list that started 2ms before an address update and ran
// 9ms (listDur), answered after it; a price list running alongside the
// update; a delete, and a read of the deleted user that started while the
// delete ran and was answered before it; a read after all that.
func overlapSteps(listDur time.Duration) []step {
	ms := time.Millisecond
	return []step{
		{"GET", "/api/v1/users?limit=10", nil, 0, ms},
		{"PUT", "/api/v1/users/2", map[string]any{"address": map[string]any{"city": "Oslo"}}, 12 * ms, ms},
		{"GET", "/api/v1/users?limit=20", nil, 10 * ms, listDur},
		{"GET", "/api/v1/prices", nil, 11 * ms, 5 * ms},
		{"GET", "/api/v1/users/3", nil, 31 * ms, ms},
		{"DELETE", "/api/v1/users/3", nil, 30 * ms, 5 * ms},
		{"GET", "/api/v1/users/2", nil, 50 * ms, ms},
	}
}

// TestOverlappingWrite: a list that ran while an update of its collection
// did, and already shows it, is checked without values, at any -j and
// ordering; a read of a user answered before a delete that started
// earlier is skipped for its 404. A list that ended before the update
// started, a read of another collection and a server error still fail.
func TestOverlappingWrite(t *testing.T) {
	db := writeTimed(t, recordSteps(t, newDirectory(), overlapSteps(9*time.Millisecond)...)...)

	t.Run("OK", func(t *testing.T) {
		for _, j := range []int{1, 8, 32} {
			for _, o := range []replay.Ordering{replay.OrderSession, replay.OrderCollection, replay.OrderStrict} {
				col := runAgainst(t, db, newDirectory(), replay.Options{Concurrency: j, Order: o})
				var got []string
				for _, r := range byID(col.results) {
					got = append(got, fmt.Sprintf("%s %s: %s %q %q", r.Method, r.Path, r.Outcome, r.Reason, r.WithoutValues))
				}
				want := []string{
					`GET /api/v1/users?limit=10: pass "" ""`,
					`GET /api/v1/users?limit=20: pass "" "` + inFlightUsers + `"`,
					`GET /api/v1/prices: pass "" ""`,
					`PUT /api/v1/users/2: pass "" ""`,
					`DELETE /api/v1/users/3: pass "" ""`,
					`GET /api/v1/users/3: skip "its status differs: ` + inFlightUsers + `" ""`,
					`GET /api/v1/users/2: pass "" ""`,
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("-j %d order %s:\n%s\nwant\n%s", j, o, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if s := col.sum; s.Failed != 0 || s.Passed != 6 || len(s.WithoutValues) != 1 || s.WithoutValues[inFlightUsers] != 1 {
					t.Errorf("-j %d order %s: summary %+v", j, o, s)
				}
			}
		}
	})

	t.Run("EndedBefore", func(t *testing.T) {
		db := writeTimed(t, recordSteps(t, newDirectory(), overlapSteps(time.Millisecond)...)...)
		col := runAgainst(t, db, newDirectory(), replay.Options{})
		f := col.failed()
		if len(f) != 1 || f[0].Path != "/api/v1/users?limit=20" || !hasDiff(f[0], "$.data[1].address: null, want object") || f[0].WithoutValues != "" {
			t.Fatalf("failed:\n%s", describe(f))
		}
	})

	t.Run("OtherCollection", func(t *testing.T) {
		svc := newDirectory()
		svc.price = "1.75"
		col := runAgainst(t, db, svc, replay.Options{})
		f := col.failed()
		if len(f) != 1 || f[0].Path != "/api/v1/prices" || !hasDiff(f[0], `$.data[0].price: "1.75", want "1.50"`) || f[0].WithoutValues != "" {
			t.Fatalf("failed:\n%s", describe(f))
		}
	})

	t.Run("ServerError", func(t *testing.T) {
		svc := newDirectory()
		svc.listError = "limit=20"
		col := runAgainst(t, db, svc, replay.Options{})
		f := col.failed()
		if len(f) != 1 || f[0].Path != "/api/v1/users?limit=20" || !hasDiff(f[0], "status 500, want 200") {
			t.Fatalf("failed:\n%s", describe(f))
		}
	})

	t.Run("Reported", func(t *testing.T) {
		var con, js, ju strings.Builder
		junit, err := replay.NewJUnit(&ju, "bw test")
		if err != nil {
			t.Fatal(err)
		}
		runAgainst(t, db, newDirectory(), replay.Options{Reporters: []replay.Reporter{replay.NewConsole(&con), replay.NewJSON(&js), junit}})
		for _, want := range []string{
			"\n1 skipped: its status differs: " + inFlightUsers + "\n",
			"\n1 checked without values: " + inFlightUsers + "\n",
		} {
			if !strings.Contains(con.String(), want) {
				t.Errorf("console lacks %q:\n%s", want, con.String())
			}
		}
		var doc struct {
			Summary struct {
				WithoutValues map[string]int `json:"without_values"`
			}
		}
		if err := json.Unmarshal([]byte(js.String()), &doc); err != nil || doc.Summary.WithoutValues[inFlightUsers] != 1 {
			t.Errorf("JSON summary %v %v", doc.Summary.WithoutValues, err)
		}
		want := `<property name="checked without values" value="1: ` + inFlightUsers + `"/>`
		if !strings.Contains(ju.String(), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, ju.String())
		}
	})
}

// TestSameMillisecond: a list that started after a delete had ended, in
// the same millisecond, but was stored first (so its ID comes first) is
// replayed after the delete, as it ran.
func TestSameMillisecond(t *testing.T) {
	us := time.Microsecond
	exs := recordSteps(t, newDirectory(),
		step{"GET", "/api/v1/users?limit=10", nil, 0, time.Millisecond},
		step{"DELETE", "/api/v1/users/4", nil, 40000 * us, 100 * us},
		step{"GET", "/api/v1/users?limit=20", nil, 40300 * us, 200 * us},
	)
	db := writeTimed(t, exs[0], exs[2], exs[1])
	for _, j := range []int{1, 8} {
		col := runAgainst(t, db, newDirectory(), replay.Options{Concurrency: j})
		if s := col.sum; s.Passed != 3 || len(s.WithoutValues) != 0 {
			t.Errorf("-j %d: summary %+v\n%s", j, s, describe(col.results))
		}
	}
}
