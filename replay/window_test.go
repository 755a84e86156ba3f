package replay

import (
	"fmt"
	"testing"
	"time"

	"github.com/backworks/bw/store"
)

// TestWindowBound: a long poll open while thousands of exchanges are
// recorded does not make the window hold them all: past the bound it goes
// to the planner, unmarked by the write that comes later, and the rest
// follows in the order they started. With room enough, the same write
// marks it.
func TestWindowBound(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var gen store.IDGen
	mk := func(method, path string, start, dur time.Duration) *held {
		ex := &store.Exchange{Start: t0.Add(start), Duration: dur, Request: store.Request{Method: method, Path: path},
			Response: store.Response{Status: 200}}
		ex.ID = gen.New(ex.Start)
		h := &held{ex: ex, timed: true, at: ex.Start, end: ex.Start.Add(dur), size: 100}
		if !safeMethod(method) {
			h.coll = collectionOf(path, nil)
		}
		return h
	}
	const n = 3000
	defer func(e, b int) { holdEntries, holdBytes = e, b }(holdEntries, holdBytes)
	for _, tc := range []struct {
		entries, bytes int
		marked         bool
	}{
		{1024, 1 << 30, false},
		{1 << 20, 1000 * 100, false},
		{1 << 20, 1 << 30, true},
	} {
		holdEntries, holdBytes = tc.entries, tc.bytes
		var w window
		var out []*held
		poll := mk("GET", "/users", 0, 10*time.Minute)
		out = w.add(poll, out)
		most := 0
		for i := 1; i <= n; i++ {
			out = w.add(mk("GET", fmt.Sprintf("/items/%d", i), time.Duration(i)*time.Millisecond, time.Millisecond/2), out)
			most = max(most, len(w.all))
		}
		out = w.add(mk("PUT", "/users/1", (n+1)*time.Millisecond, time.Millisecond), out)
		out = w.drain(out)

		if len(out) != n+2 {
			t.Fatalf("bound %d/%d: %d out, want %d", tc.entries, tc.bytes, len(out), n+2)
		}
		for i := 1; i < len(out); i++ {
			if out[i].at.Before(out[i-1].at) {
				t.Fatalf("bound %d/%d: out of order at %d", tc.entries, tc.bytes, i)
			}
		}
		if tc.marked {
			if poll.overlap != "/users" {
				t.Errorf("room enough: the poll is marked %q", poll.overlap)
			}
			continue
		}
		if most > min(tc.entries, tc.bytes/100) || poll.overlap != "" {
			t.Errorf("bound %d/%d: held up to %d, poll marked %q", tc.entries, tc.bytes, most, poll.overlap)
		}
	}
}
