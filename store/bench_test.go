package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchExchange is a typical small JSON API exchange with a 1 KiB response body.
func benchExchange(i int) *Exchange {
	body := []byte(`{"id":` + fmt.Sprint(i) + `,"name":"` + strings.Repeat("x", 1000) + `"}`)
	return &Exchange{
		Source: SourceProxy,
		Start:  time.Now(),
		Request: Request{
			Method: "GET", Scheme: "http", Host: "api.example.com", Path: fmt.Sprintf("/items/%d", i%50),
			Proto: "HTTP/1.1", Header: Header{{"Accept", "application/json"}, {"User-Agent", "bench"}},
		},
		Response: Response{
			Status: 200, Proto: "HTTP/1.1",
			Header: Header{{"Content-Type", "application/json"}, {"Content-Length", fmt.Sprint(len(body))}},
			Body:   Body{Data: body, Size: int64(len(body))},
		},
	}
}

// BenchmarkWriterIngest measures group-commit ingest of 1 KiB exchanges from
// 8 concurrent writers, fsync on, redaction on.
func BenchmarkWriterIngest(b *testing.B) {
	db := openTemp(b)
	exs := make([]*Exchange, b.N)
	for i := range exs {
		exs[i] = benchExchange(i)
	}
	w := db.NewWriter(WriterOptions{})
	b.SetBytes(1100)
	b.ResetTimer()
	start := time.Now()
	ch := make(chan *Exchange, 1024)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			for ex := range ch {
				w.Write(context.Background(), ex)
			}
			done <- struct{}{}
		}()
	}
	for _, ex := range exs {
		ch <- ex
	}
	close(ch)
	for g := 0; g < 8; g++ {
		<-done
	}
	w.Close()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "exchanges/s")
	if s := w.Stats(); s.Written != uint64(b.N) {
		b.Fatalf("written %d of %d (%v)", s.Written, b.N, s.Dropped)
	}
}

// BenchmarkScan iterates a file of BW_BENCH_SCAN_N exchanges (default
// 1,000,000), built once per run in a temp dir.
func BenchmarkScan(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("BW_BENCH_SCAN_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	path := filepath.Join(b.TempDir(), "scan.db")
	db, err := Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w := db.NewWriter(WriterOptions{NoRedact: true})
	for i := 0; i < n; i++ {
		w.Write(context.Background(), benchExchange(i))
	}
	w.Close()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		got := 0
		db.Scan(context.Background(), Filter{}, func(*Exchange) error { got++; return nil })
		if got != n {
			b.Fatalf("scanned %d of %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "exchanges/s")
}
