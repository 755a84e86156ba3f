package capture_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/backworks/bw/capture"
	"github.com/backworks/bw/store"
)

// BenchmarkProxy measures one small JSON GET through the recording proxy
// (redaction on, as bw capture runs by default), next to a bare
// httputil.ReverseProxy over the same sockets for comparison.
func BenchmarkProxy(b *testing.B) {
	body := []byte(`{"id":4711,"name":"Ada Lovelace","email":"ada@example.com","roles":["admin","dev"],"active":true}`)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)

	run := func(b *testing.B, target string) {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := client.Get(target + "/api/v1/users/4711")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}

	b.Run("capture", func(b *testing.B) {
		db, err := store.Open(filepath.Join(b.TempDir(), "bw.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		w := db.NewWriter(store.WriterOptions{})
		defer w.Close()
		p, err := capture.New(capture.Config{Upstream: u, Listen: "127.0.0.1:0"}, w)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		defer p.Close(context.Background())
		run(b, "http://"+p.Addr())
	})
	b.Run("reverseproxy", func(b *testing.B) {
		rp := &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
			Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true},
		}
		front := httptest.NewServer(rp)
		defer front.Close()
		run(b, front.URL)
	})
}
