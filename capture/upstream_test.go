package capture

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/backworks/bw/store"
)

// memSink keeps exchanges in memory.
type memSink struct {
	mu  sync.Mutex
	exs []*store.Exchange
}

func (s *memSink) Write(_ context.Context, ex *store.Exchange) error {
	s.mu.Lock()
	s.exs = append(s.exs, ex)
	s.mu.Unlock()
	return nil
}

// TestHTTPSUpstream: the proxy speaks TLS to an https:// upstream and
// records the exchange like any other.
func TestHTTPSUpstream(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
		io.WriteString(w, "secure")
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	sink := &memSink{}
	p, err := New(Config{Upstream: u, Listen: "127.0.0.1:0"}, sink)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(up.Certificate())
	p.upstream.tls.RootCAs = roots
	p.upstream.tls.ServerName = "example.com" // the test certificate's name
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second one over the pooled connection
		res, err := http.Get("http://" + p.Addr() + "/s")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "secure" || res.Header.Get("X-Proto") != "HTTP/1.1" {
			t.Fatalf("got %q, proto %q", b, res.Header.Get("X-Proto"))
		}
	}
	p.Close(context.Background())
	if len(sink.exs) != 2 || sink.exs[1].ServerAddr != u.Host || sink.exs[1].Error != "" {
		t.Fatalf("recorded %+v", sink.exs)
	}
}
