package replay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backworks/bw/replay"
	"github.com/backworks/bw/store"
)

// The load: a stateless catalogue service and recordings of it written
// straight to a store, in sessions of reads, a list, and a create followed
// by a get of what was created (value chaining).

func catalogueItem(id string) map[string]any {
	n := 0
	for _, c := range id {
		n = n*31 + int(c)
	}
	if n < 0 {
		n = -n
	}
	return map[string]any{
		"id": id, "name": "item " + id, "price": fmt.Sprintf("%d.99", n%100), "stock": n % 17,
		"tags": []string{"a", "b"}, "dimensions": map[string]any{"w": n % 7, "h": n % 11},
		"updated_at": "2026-01-02T03:04:05Z",
	}
}

func catalogue() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST":
			var in struct{ Name string }
			json.NewDecoder(r.Body).Decode(&in)
			id := "live-" + strings.TrimPrefix(in.Name, "new ")
			w.Header().Set("Location", "/items/"+id)
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(map[string]any{"id": id, "name": in.Name})
		case r.URL.Path == "/items":
			list := []any{}
			for i := 0; i < 5; i++ {
				list = append(list, catalogueItem(strconv.Itoa(i)))
			}
			json.NewEncoder(w).Encode(map[string]any{"items": list, "total": 5})
		case strings.HasPrefix(r.URL.Path, "/items/live-"):
			k := strings.TrimPrefix(r.URL.Path, "/items/live-")
			json.NewEncoder(w).Encode(map[string]any{"id": "live-" + k, "name": "new " + k})
		default:
			json.NewEncoder(w).Encode(catalogueItem(strings.TrimPrefix(r.URL.Path, "/items/")))
		}
	})
}

// catalogueStore writes n exchanges in the given number of sessions.
func catalogueStore(tb testing.TB, path string, n, sessions int) {
	db, err := store.Open(path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{NoRedact: true})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	jsonHdr := store.Header{{Name: "Content-Type", Value: "application/json"}}
	mk := func(i int, method, path string, reqBody []byte, status int, resp any, extra ...store.Field) *store.Exchange {
		b, _ := json.Marshal(resp)
		ex := &store.Exchange{
			Session: "s" + strconv.Itoa(i%sessions), Source: store.SourceProxy, Start: t0.Add(time.Duration(i) * time.Millisecond),
			Request: store.Request{Method: method, Scheme: "http", Host: "catalogue.test", Path: path, Proto: "HTTP/1.1",
				Header: store.Header{{Name: "Accept", Value: "application/json"}}, Body: store.Body{Data: reqBody, Size: int64(len(reqBody))}},
			Response: store.Response{Status: status, Proto: "HTTP/1.1", Header: append(append(store.Header{}, jsonHdr...), extra...),
				Body: store.Body{Data: b, Size: int64(len(b))}},
		}
		if reqBody != nil {
			ex.Request.Header = append(ex.Request.Header, jsonHdr...)
		}
		return ex
	}
	ctx := context.Background()
	for i := 0; i < n; i++ {
		var ex *store.Exchange
		switch k := strconv.Itoa(i); {
		case i%12 == 10:
			ex = mk(i, "POST", "/items", []byte(`{"name":"new `+k+`"}`), 201, map[string]any{"id": "rec-" + k, "name": "new " + k},
				store.Field{Name: "Location", Value: "/items/rec-" + k})
		case i%12 == 11:
			k = strconv.Itoa(i - 1 - (sessions-1)*0) // the create just before in capture order
			ex = mk(i, "GET", "/items/rec-"+strconv.Itoa(i-1), nil, 200, map[string]any{"id": "rec-" + strconv.Itoa(i-1), "name": "new " + strconv.Itoa(i-1)})
			_ = k
		case i%12 == 9:
			list := []any{}
			for j := 0; j < 5; j++ {
				list = append(list, catalogueItem(strconv.Itoa(j)))
			}
			ex = mk(i, "GET", "/items", nil, 200, map[string]any{"items": list, "total": 5})
		default:
			id := strconv.Itoa(i % 5000)
			ex = mk(i, "GET", "/items/"+id, nil, 200, catalogueItem(id))
		}
		if err := w.Write(ctx, ex); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

// discard is a reporter that counts.
type discard struct{ n atomic.Int64 }

func (d *discard) Report(r *replay.Result) error {
	d.n.Add(1)
	if r.Outcome == replay.Fail {
		return fmt.Errorf("%s %s failed: %v", r.Method, r.Path, r.Diffs)
	}
	return nil
}
func (d *discard) Finish(*replay.Summary) error { return nil }

// BenchmarkRun replays 20,000 exchanges (64 sessions, a create and a
// chained get in every 12) against a local service with -j 32, spec check
// included. Reported: exchanges/s over the whole Run (reading the store
// twice included), and over the replay alone.
func BenchmarkRun(b *testing.B) {
	const n = 20000
	path := filepath.Join(b.TempDir(), "bw.db")
	catalogueStore(b, path, n, 64)
	srv := httptest.NewServer(catalogue())
	defer srv.Close()
	db, err := store.Open(path, &store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	spec, err := replay.InferSpec(context.Background(), db, "")
	if err != nil {
		b.Fatal(err)
	}
	target, _ := url.Parse(srv.URL)
	var total, replayOnly time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		sum, err := replay.Run(context.Background(), db, replay.Options{
			Target: target, Concurrency: 32, Spec: spec, Reporters: []replay.Reporter{new(discard)},
		})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Passed != n {
			b.Fatalf("%d passed of %d: %+v", sum.Passed, n, sum)
		}
		total += time.Since(start)
		replayOnly += sum.Duration
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "exchanges/s")
	b.ReportMetric(float64(n*b.N)/replayOnly.Seconds(), "replayed/s")
}

// TestConstantMemory replays 20,000 and then 100,000 exchanges and checks
// that the peak live heap does not grow with the suite. What a run
// remembers across exchanges is bounded; the bounds are lowered here so
// that both runs reach them (by default they are reached after a few
// hundred thousand exchanges). It takes about 20 seconds: set
// BW_REPLAY_BIG=1 to run it.
func TestConstantMemory(t *testing.T) {
	if os.Getenv("BW_REPLAY_BIG") == "" {
		t.Skip("set BW_REPLAY_BIG=1 to replay 100,000 exchanges")
	}
	srv := httptest.NewServer(catalogue())
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	peak := func(n int) (uint64, float64) {
		path := filepath.Join(t.TempDir(), "bw.db")
		catalogueStore(t, path, n, 64)
		db, err := store.Open(path, &store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// The spec is inferred first: bw infer's memory is its own.
		spec, err := replay.InferSpec(context.Background(), db, "")
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		var max atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The heap live after each GC: what the run holds, not
			// garbage waiting for the collector.
			sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			for {
				metrics.Read(sample)
				if v := sample[0].Value.Uint64(); v > max.Load() {
					max.Store(v)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		d := new(discard)
		js := replay.NewJSON(io.Discard)
		j, _ := replay.NewJUnit(io.Discard, "big")
		start := time.Now()
		sum, err := replay.Run(context.Background(), db, replay.Options{
			Target: target, Concurrency: 32, Spec: spec, Reporters: []replay.Reporter{d, js, j},
		})
		elapsed := time.Since(start)
		close(stop)
		wg.Wait()
		if err != nil || sum.Passed != n {
			t.Fatalf("%d exchanges: %v %+v", n, err, sum)
		}
		t.Logf("%d exchanges: peak live heap %.1f MiB, %s (%.0f exchanges/s over the whole run)",
			n, float64(max.Load())/(1<<20), elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
		return max.Load(), float64(n) / elapsed.Seconds()
	}
	defer replay.SetBounds(1<<11, 1<<12)()
	small, _ := peak(20000)
	big, _ := peak(100000)
	if big > small+small/4+1<<20 {
		t.Errorf("peak live heap grew from %.1f MiB (20k) to %.1f MiB (100k)", float64(small)/(1<<20), float64(big)/(1<<20))
	}
}
