package ratelimit

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newMemory(t testing.TB, cfg Config) *Memory {
	t.Helper()
	m := NewMemory(cfg)
	t.Cleanup(func() { m.Close() })
	return m
}

func allow(t testing.TB, l Limiter, key string, now time.Time) Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, now)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return d
}

func TestMemory_Burst(t *testing.T) {
	m := newMemory(t, Config{RequestsPerMinute: 60, Burst: 5})
	for i := range 5 {
		d := allow(t, m, "a", t0)
		want := Decision{Allowed: true, Limit: 60, Window: time.Minute, Remaining: 4 - i, Reset: time.Second, Policy: "default"}
		if d != want {
			t.Fatalf("request %d: got %+v, want %+v", i+1, d, want)
		}
	}
	d := allow(t, m, "a", t0)
	want := Decision{Allowed: false, Limit: 60, Window: time.Minute, Remaining: 0, Reset: time.Second, RetryAfter: time.Second, Policy: "default"}
	if d != want {
		t.Fatalf("6th request: got %+v, want %+v", d, want)
	}
	// Half a token later: still denied, half a second to wait.
	if d := allow(t, m, "a", t0.Add(500*time.Millisecond)); d.Allowed || d.RetryAfter != 500*time.Millisecond {
		t.Fatalf("at t0+0.5s: got %+v, want denied with RetryAfter 0.5s", d)
	}
	if d := allow(t, m, "a", t0.Add(time.Second)); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("at t0+1s: got %+v, want allowed with 0 remaining", d)
	}
	if d := allow(t, m, "a", t0.Add(time.Second)); d.Allowed {
		t.Fatalf("second request at t0+1s: got %+v, want denied", d)
	}
	// After a full refill (5s), exactly 5 again.
	later := t0.Add(6 * time.Second)
	n := 0
	for range 10 {
		if allow(t, m, "a", later).Allowed {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("after refill: %d allowed, want 5", n)
	}
}

func TestMemory_Defaults(t *testing.T) {
	m := newMemory(t, Config{RequestsPerMinute: 1.5})
	d := allow(t, m, "a", t0)
	if !d.Allowed || d.Remaining != 0 || d.Limit != 90 || d.Window != time.Hour || d.Policy != "default" {
		t.Fatalf("got %+v, want burst 1 and 90 per hour", d)
	}
	if d := allow(t, m, "a", t0); d.Allowed || d.RetryAfter != 40*time.Second {
		t.Fatalf("got %+v, want denied for 40s", d)
	}
}

func TestMemory_PerKeyIsolation(t *testing.T) {
	m := newMemory(t, Config{RequestsPerMinute: 60, Burst: 2})
	for _, key := range []string{"a", "a", "b", "b", "c"} {
		if d := allow(t, m, key, t0); !d.Allowed {
			t.Fatalf("key %s: denied, want allowed", key)
		}
	}
	if allow(t, m, "a", t0).Allowed || allow(t, m, "b", t0).Allowed {
		t.Fatal("a or b allowed a 3rd request")
	}
	if !allow(t, m, "c", t0).Allowed {
		t.Fatal("c denied its 2nd request")
	}
}

func TestMemory_IdleKeysEvicted(t *testing.T) {
	// 60 rpm, burst 5: a bucket is full 5s after its last use.
	m := newMemory(t, Config{RequestsPerMinute: 60, Burst: 5, SweepInterval: -1})
	for i := range 100 {
		allow(t, m, strconv.Itoa(i), t0)
	}
	if n := m.Len(); n != 100 {
		t.Fatalf("Len = %d, want 100", n)
	}
	// Not idle long enough: nothing goes.
	m.sweep()
	allow(t, m, "x", t0.Add(5*time.Second))
	m.sweep()
	if n := m.Len(); n != 101 {
		t.Fatalf("Len after 5s = %d, want 101", n)
	}
	// Past the refill time every old key is dropped.
	allow(t, m, "y", t0.Add(5*time.Second+2*time.Microsecond))
	m.sweep()
	if n := m.Len(); n != 2 {
		t.Fatalf("Len after sweep = %d, want 2 (x and y)", n)
	}
}

func TestMemory_EvictionIsExact(t *testing.T) {
	// Evicting an idle key must not change any decision: compare with a
	// limiter that never evicts (MaxKeys large, no sweeper).
	cfg := Config{RequestsPerMinute: 120, Burst: 3, SweepInterval: -1}
	evicting := newMemory(t, cfg)
	keeping := newMemory(t, cfg)
	now := t0
	for i := range 5000 {
		key := strconv.Itoa(i * 7919 % 13)
		now = now.Add(time.Duration(i*104729%900) * time.Millisecond)
		a := allow(t, evicting, key, now)
		b := allow(t, keeping, key, now)
		if i%50 == 0 {
			evicting.sweep()
		}
		if a != b {
			t.Fatalf("step %d key %s: evicting %+v, keeping %+v", i, key, a, b)
		}
	}
}

func TestMemory_MaxKeys(t *testing.T) {
	const maxKeys = 100_000
	m := newMemory(t, Config{RequestsPerMinute: 60, Burst: 5, MaxKeys: maxKeys})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// A flood of 1,000,000 distinct keys at one instant: nothing is idle, so
	// only the cap bounds memory.
	const total = 1_000_000
	ctx := context.Background()
	buf := make([]byte, 0, 16)
	for i := range total {
		buf = strconv.AppendInt(buf[:0], int64(i), 10)
		if _, err := m.Allow(ctx, string(buf), t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n > maxKeys || n < maxKeys*9/10 {
		t.Fatalf("Len = %d, want ≤ %d (and near it)", n, maxKeys)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d keys hold %.1f MiB (%d B/key)", m.Len(), float64(grown)/(1<<20), grown/int64(m.Len()))
	if grown > 64<<20 {
		t.Fatalf("heap grew by %d MiB for %d keys, want < 64 MiB", grown>>20, m.Len())
	}
	// The newest key was kept.
	if d := allow(t, m, strconv.Itoa(total-1), t0); d.Remaining != 3 {
		t.Fatalf("newest key: got %+v, want its 2nd request allowed with 3 left", d)
	}
}

func TestMemory_SmallMaxKeys(t *testing.T) {
	m := newMemory(t, Config{RequestsPerMinute: 60, MaxKeys: 3})
	for i := range 10 {
		allow(t, m, strconv.Itoa(i), t0)
		if n := m.Len(); n > 3 {
			t.Fatalf("after %d keys Len = %d, want ≤ 3", i+1, n)
		}
	}
}

func TestMemory_Concurrent(t *testing.T) {
	// 4 goroutines share 10 keys with burst 20 at a fixed instant: exactly
	// 20 requests per key are allowed, however they interleave.
	m := newMemory(t, Config{RequestsPerMinute: 60, Burst: 20, MaxKeys: 1000})
	var mu sync.Mutex
	allowed := map[string]int{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				key := fmt.Sprint("k", (i+g)%10)
				d, err := m.Allow(context.Background(), key, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					mu.Lock()
					allowed[key]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for i := range 10 {
		if n := allowed[fmt.Sprint("k", i)]; n != 20 {
			t.Errorf("key k%d: %d allowed, want 20", i, n)
		}
	}
}

func TestMemory_SweeperStops(t *testing.T) {
	before := runtime.NumGoroutine()
	m := NewMemory(Config{RequestsPerMinute: 60, SweepInterval: time.Millisecond})
	allow(t, m, "a", t0)
	allow(t, m, "b", t0.Add(time.Hour))
	deadline := time.Now().Add(2 * time.Second)
	for m.Len() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := m.Len(); n != 1 {
		t.Errorf("sweeper left %d keys, want 1", n)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before NewMemory, %d after Close", before, after)
	}
	// Allow still works after Close.
	allow(t, m, "c", t0)
}

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{RequestsPerMinute: 1}, ""},
		{Config{}, "requests_per_minute: must be > 0 (got 0)"},
		{Config{RequestsPerMinute: -1}, "requests_per_minute: must be > 0 (got -1)"},
		{Config{RequestsPerMinute: 1, Burst: -2}, "burst: must be >= 0 (got -2)"},
		{Config{RequestsPerMinute: 1, MaxKeys: -1}, "max_keys: must be >= 0 (got -1)"},
	} {
		err := tc.cfg.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.cfg, err)
			}
			continue
		}
		if err == nil || err.Error() != "ratelimit: "+tc.want {
			t.Errorf("%+v: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("NewMemory with an invalid config did not panic")
		}
	}()
	NewMemory(Config{})
}

func BenchmarkAllow(b *testing.B) {
	m := NewMemory(Config{RequestsPerMinute: 600, Burst: 50})
	defer m.Close()
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("ip:10.0.%d.%d", i/256, i%256)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := 0
		for pb.Next() {
			if _, err := m.Allow(ctx, keys[i%len(keys)], time.Now()); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}
