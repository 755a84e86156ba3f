package infer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backworks/bw/store"
)

// benchDB writes n exchanges over 50 endpoints with ~1 KiB JSON bodies. With
// BW_BENCH_DB set, the file is kept there and reused by later runs.
func benchDB(b *testing.B, n int) *store.DB {
	path := os.Getenv("BW_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "infer.db")
	}
	_, statErr := os.Stat(path)
	db, err := store.Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if statErr == nil {
		return db
	}
	w := db.NewWriter(store.WriterOptions{NoRedact: true})
	pad := strings.Repeat("x", 700)
	resources := strings.Fields(`users orders items products carts invoices payments refunds customers
		accounts teams projects tasks comments posts pages files folders images videos events tickets
		messages threads channels groups roles permissions sessions tokens devices locations regions
		stores warehouses shipments returns reviews ratings coupons discounts plans subscriptions
		reports metrics alerts logs webhooks jobs queues`)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ep := i % 50
		// Each resource has its own field names, as real ones do.
		f := resources[ep][:3]
		body := fmt.Sprintf(`{"id":%d,"%s_name":"item %d","created":"2024-05-01T10:00:00Z","%s_owner":{"id":%d,"email":"u%d@example.com"},"tags":["a","b"],"%s_price":%d.5,"active":true,"note":"%s"}`,
			i, f, i, f, i%97, i%97, f, i%1000, pad)
		w.Write(context.Background(), &store.Exchange{
			Source: store.SourceProxy,
			Start:  t0.Add(time.Duration(i) * time.Millisecond),
			Request: store.Request{Method: "GET", Scheme: "http", Host: "api.test",
				Path: fmt.Sprintf("/api/v1/%s/%d", resources[ep], i), RawQuery: fmt.Sprintf("limit=%d", i%50), Proto: "HTTP/1.1",
				Header: store.Header{{Name: "Accept", Value: "application/json"}, {Name: "Authorization", Value: "Bearer x"}}},
			Response: store.Response{Status: 200, Proto: "HTTP/1.1",
				Header: store.Header{{Name: "Content-Type", Value: "application/json"}},
				Body:   store.Body{Data: []byte(body), Size: int64(len(body))}},
		})
	}
	w.Close()
	return db
}

// BenchmarkInfer measures whole inference (both passes) over
// BW_BENCH_INFER_N exchanges (default 100,000).
func BenchmarkInfer(b *testing.B) {
	n := 100_000
	if s := os.Getenv("BW_BENCH_INFER_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	db := benchDB(b, n)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		api, err := Infer(context.Background(), db, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(api.ops) != 50 {
			b.Fatalf("%d operations, want 50", len(api.ops))
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "exchanges/s")
}
