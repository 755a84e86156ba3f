package har

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

var time0 = time.Date(2024, 5, 14, 9, 30, 0, 0, time.UTC)

func newGzip(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

// writeHAR writes a HAR document of n entries with response bodies of about
// bodySize bytes: JSON text for most, base64 binary for every third.
func writeHAR(w io.Writer, n, bodySize int) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"log":{"version":"1.2","creator":{"name":"gen","version":"1"},"pages":[],"entries":[`)
	text := strings.Repeat(`{"id":1,"name":"widget","tags":["a","b"]},`, bodySize/40+1)[:bodySize]
	bin := make([]byte, bodySize*3/4)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	b64 := base64.StdEncoding.EncodeToString(bin)
	for i := range n {
		if i > 0 {
			bw.WriteByte(',')
		}
		content := map[string]any{"size": len(text), "mimeType": "application/json", "text": text}
		if i%3 == 2 {
			content = map[string]any{"size": len(bin), "mimeType": "image/png", "text": b64, "encoding": "base64"}
		}
		e := map[string]any{
			"startedDateTime": time0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
			"time":            12.5,
			"request": map[string]any{
				"method": "GET", "url": fmt.Sprintf("https://api.example.com/items/%d?page=2", i), "httpVersion": "HTTP/1.1",
				"headers":     []any{map[string]any{"name": "Accept", "value": "application/json"}},
				"cookies":     []any{},
				"queryString": []any{map[string]any{"name": "page", "value": "2"}},
				"headersSize": -1, "bodySize": 0,
			},
			"response": map[string]any{
				"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
				"headers":     []any{map[string]any{"name": "Content-Type", "value": content["mimeType"]}},
				"cookies":     []any{},
				"content":     content,
				"redirectURL": "", "headersSize": -1, "bodySize": len(text),
			},
			"cache":   map[string]any{},
			"timings": map[string]any{"blocked": 0.5, "send": 0.1, "wait": 11.4, "receive": 0.5},
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	bw.WriteString("]}}\n")
	return bw.Flush()
}

func generate(t testing.TB, n, bodySize int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeHAR(&buf, n, bodySize); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// heapPeak samples the live heap until stop is called and returns the
// highest value seen.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// BenchmarkImportLarge imports a generated HAR of about 200 MB (1 MB bodies
// with BW_BENCH_HAR_MB to change the size) and reports the peak live heap:
// streaming keeps it at a few entries and one store batch, whatever the
// file size.
func BenchmarkImportLarge(b *testing.B) {
	mb := 200
	if s := os.Getenv("BW_BENCH_HAR_MB"); s != "" {
		fmt.Sscan(s, &mb)
	}
	const bodySize = 256 << 10
	path := filepath.Join(b.TempDir(), "large.har")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	// An entry is about 1.1 × bodySize on average (base64 for a third).
	if err := writeHAR(f, mb<<20/(bodySize*11/10), bodySize); err != nil {
		b.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		db := openDB(b)
		runtime.GC()
		b.StartTimer()
		stop := heapPeak()
		n, err := ImportFile(context.Background(), db, path, ImportOptions{NoRedact: true})
		peak = max(peak, stop())
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		os.Remove(db.Path())
		b.StartTimer()
		_ = n
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkExport exports 400 exchanges with 64 KiB bodies and reports the
// writer's peak live heap.
func BenchmarkExport(b *testing.B) {
	db := openDB(b)
	if _, err := Import(context.Background(), db, bytes.NewReader(generate(b, 400, 64<<10)), ImportOptions{NoRedact: true}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		stop := heapPeak()
		if _, err := Export(context.Background(), db, io.Discard, WriterOptions{}); err != nil {
			b.Fatal(err)
		}
		peak = max(peak, stop())
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
