package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func setVersion(t *testing.T, db *DB, v uint64) {
	t.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, binary.BigEndian.AppendUint64(nil, v))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func openTemp(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "bw.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func sample(i int) *Exchange {
	return &Exchange{
		Session:    "s1",
		Source:     SourceProxy,
		Start:      time.Unix(1700000000, int64(i)*int64(time.Millisecond)),
		Duration:   1500 * time.Microsecond,
		ClientAddr: "127.0.0.1:5000",
		ServerAddr: "127.0.0.1:9000",
		Request: Request{
			Method: "POST", Scheme: "http", Host: "api.example.com", Path: fmt.Sprintf("/users/%d", i),
			RawQuery: "a=1&a=2", Proto: "HTTP/1.1",
			Header: Header{{"Content-Type", "application/json"}, {"X-B", "1"}, {"x-a", "2"}, {"X-B", "3"}},
			Body:   Body{Data: []byte(`{"name":"x"}`), Size: 12},
		},
		Response: Response{
			Status: 201, Reason: "Created", Proto: "HTTP/1.1",
			Header: Header{{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}},
			Body:   Body{Data: []byte{0x1f, 0x8b, 0, 1, 2}, Size: 99, Truncated: true, Decoded: "gzip"},
		},
		Error: "",
		Meta:  []byte(`{"har":{}}`),
	}
}

func writeAll(t testing.TB, db *DB, opts WriterOptions, exs ...*Exchange) {
	t.Helper()
	w := db.NewWriter(opts)
	for _, ex := range exs {
		if err := w.Write(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func scanAll(t testing.TB, db *DB, f Filter) []*Exchange {
	t.Helper()
	var out []*Exchange
	if err := db.Scan(context.Background(), f, func(ex *Exchange) error {
		out = append(out, ex)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	db := openTemp(t)
	want := sample(1)
	writeAll(t, db, WriterOptions{NoRedact: true}, want)
	got, err := db.Get(want.ID)
	if err != nil {
		t.Fatal(err)
	}
	want.Start = want.Start.Local()
	got.Start = got.Start.Local()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if _, err := db.Get(ID{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(unknown) = %v, want ErrNotFound", err)
	}
}

func TestScanOrderAndFilter(t *testing.T) {
	db := openTemp(t)
	var exs []*Exchange
	for i := 0; i < 50; i++ {
		ex := sample(50 - i) // written newest first
		if i%2 == 0 {
			ex.Request.Method = "GET"
		}
		if i%5 == 0 {
			ex.Request.Host = "Other.example.com"
		}
		exs = append(exs, ex)
	}
	writeAll(t, db, WriterOptions{}, exs...)
	all := scanAll(t, db, Filter{})
	if len(all) != 50 {
		t.Fatalf("scan: %d exchanges, want 50", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Start.Before(all[i-1].Start) {
			t.Fatalf("scan out of capture order at %d", i)
		}
	}
	other := scanAll(t, db, Filter{Host: "other.EXAMPLE.com"})
	if len(other) != 10 {
		t.Fatalf("host filter: %d, want 10", len(other))
	}
	get := scanAll(t, db, Filter{Host: "api.example.com", Method: "get"})
	for i, ex := range get {
		if ex.Request.Method != "GET" || ex.Request.Host != "api.example.com" {
			t.Fatalf("host+method filter returned %s %s", ex.Request.Method, ex.Request.Host)
		}
		if i > 0 && ex.Start.Before(get[i-1].Start) {
			t.Fatal("indexed scan out of order")
		}
	}
	if len(get) != 20 {
		t.Fatalf("host+method filter: %d, want 20", len(get))
	}
	if n := len(scanAll(t, db, Filter{Method: "GET"})); n != 25 {
		t.Fatalf("method filter: %d, want 25", n)
	}

	if err := db.Delete([]ID{all[0].ID, all[1].ID}); err != nil {
		t.Fatal(err)
	}
	if n := len(scanAll(t, db, Filter{})); n != 48 {
		t.Fatalf("after delete: %d, want 48", n)
	}
	if n := len(scanAll(t, db, Filter{Host: all[0].Request.Host})); n != countHost(all[2:], all[0].Request.Host) {
		t.Fatalf("index not cleaned on delete: %d", n)
	}
}

func countHost(exs []*Exchange, host string) int {
	n := 0
	for _, ex := range exs {
		if ex.Request.Host == host {
			n++
		}
	}
	return n
}

func TestConcurrentWritesNoLossNoDup(t *testing.T) {
	db := openTemp(t)
	w := db.NewWriter(WriterOptions{QueueSize: 64, MaxBatch: 16})
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				ex := sample(i)
				ex.Request.RawQuery = fmt.Sprintf("g=%d&i=%d", g, i)
				if err := w.Write(context.Background(), ex); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	seen := map[string]bool{}
	for _, ex := range scanAll(t, db, Filter{}) {
		if seen[ex.Request.RawQuery] {
			t.Fatalf("duplicate %s", ex.Request.RawQuery)
		}
		seen[ex.Request.RawQuery] = true
	}
	if len(seen) != 5000 {
		t.Fatalf("stored %d, want 5000", len(seen))
	}
	if s := w.Stats(); s.Written != 5000 || len(s.Dropped) != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestDropsAreCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(WriterOptions{})
	w.Drop("body_error", 3)
	w.Close()
	if err := w.Write(context.Background(), sample(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close = %v", err)
	}
	db.Close()

	db, err = Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	info, err := db.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Drops["body_error"] != 3 {
		t.Fatalf("drops = %v, want body_error 3", info.Drops)
	}
}

func TestQueueFullDropsAfterContext(t *testing.T) {
	db := openTemp(t)
	w := db.NewWriter(WriterOptions{QueueSize: 1, MaxBatch: 1})
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// With a cancelled context, Write drops as soon as the queue is full.
	dropped := 0
	for i := 0; i < 1000; i++ {
		if err := w.Write(ctx, sample(i)); err != nil {
			dropped++
		}
	}
	w.Flush(context.Background())
	if got := w.Stats().Dropped[DropQueueFull]; int(got) != dropped || dropped == 0 {
		t.Fatalf("queue_full = %d, errors = %d", got, dropped)
	}
	if n := len(scanAll(t, db, Filter{})); n != 1000-dropped {
		t.Fatalf("stored %d, want %d", n, 1000-dropped)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	t.Run("ErrInUse", func(t *testing.T) {
		path := filepath.Join(dir, "locked.db")
		db, err := Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		start := time.Now()
		_, err = Open(path, &Options{Timeout: 200 * time.Millisecond})
		if !errors.Is(err, ErrInUse) {
			t.Fatalf("second open = %v, want ErrInUse", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("lock timeout took %s", d)
		}
	})
	t.Run("ErrNotBW", func(t *testing.T) {
		for name, data := range map[string][]byte{
			"short":   []byte("hello"),
			"garbage": bytes.Repeat([]byte("not a database "), 1000),
		} {
			path := filepath.Join(dir, name)
			os.WriteFile(path, data, 0o644)
			if _, err := Open(path, nil); !errors.Is(err, ErrNotBW) {
				t.Fatalf("%s: open = %v, want ErrNotBW", name, err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
				t.Fatalf("%s: open modified a foreign file", name)
			}
		}
	})
	t.Run("ErrNotExist", func(t *testing.T) {
		path := filepath.Join(dir, "missing.db")
		if _, err := Open(path, &Options{ReadOnly: true}); !errors.Is(err, ErrNotExist) {
			t.Fatalf("open = %v, want ErrNotExist", err)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatal("read-only open created the file")
		}
	})
	t.Run("ErrNewer", func(t *testing.T) {
		path := filepath.Join(dir, "newer.db")
		db, err := Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		setVersion(t, db, schemaVersion+1)
		db.Close()
		if _, err := Open(path, nil); !errors.Is(err, ErrNewer) {
			t.Fatalf("open = %v, want ErrNewer", err)
		}
	})
}

func TestMigrationHook(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	setVersion(t, db, 0)
	db.Close()
	if _, err := Open(path, nil); err == nil {
		t.Fatal("open without a migration path succeeded")
	}
	ran := false
	migrations[0] = func(tx *bolt.Tx) error { ran = true; return nil }
	defer delete(migrations, 0)
	db, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if !ran {
		t.Fatal("migration from schema 0 did not run")
	}
}

func TestReadOnlyLeavesFileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, db, WriterOptions{}, sample(1), sample(2))
	db.Close()
	before, _ := os.ReadFile(path)
	db, err = Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	scanAll(t, db, Filter{})
	db.Info()
	db.Close()
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("read-only open changed the file")
	}
}

func FuzzDecodeExchange(f *testing.F) {
	f.Add(encodeExchange(nil, sample(1)))
	f.Add(encodeExchange(nil, &Exchange{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ex Exchange
		if decodeExchange(data, &ex) != nil {
			return
		}
		// Whatever decodes must survive an encode/decode round trip.
		var again Exchange
		if err := decodeExchange(encodeExchange(nil, &ex), &again); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ex, again) {
			t.Fatalf("round trip differs:\n%+v\n%+v", ex, again)
		}
	})
}
