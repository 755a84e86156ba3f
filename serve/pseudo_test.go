package serve_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/serve"
	"github.com/backworks/bw/store"
)

// Recordings imported from browser HARs by older versions hold HTTP/2
// pseudo-headers: replay neither sends them as headers nor needs a request
// to carry them to match.
func TestReplayLeavesOutPseudoHeaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{})
	body := `{"id":7,"name":"wrench"}`
	err = w.Write(context.Background(), &store.Exchange{
		Source: store.SourceHAR, Start: time.Unix(1700000000, 0),
		Request: store.Request{Method: "GET", Scheme: "https", Host: "shop.test", Path: "/items/7", Proto: "HTTP/2.0",
			Header: store.Header{{Name: ":authority", Value: "shop.test"}, {Name: ":method", Value: "GET"},
				{Name: ":path", Value: "/items/7"}, {Name: ":scheme", Value: "https"}, {Name: "accept", Value: "application/json"}}},
		Response: store.Response{Status: 200, Proto: "HTTP/2.0",
			Header: store.Header{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/json"},
				{Name: ":protocol", Value: "websocket"}, {Name: "x-item-version", Value: "3"}},
			Body: store.Body{Data: []byte(body), Size: int64(len(body))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	doc := &api.Doc{Name: "shop", Endpoints: []*api.Endpoint{{Name: "get_item", Path: "/items/{id}", Methods: []string{"GET"}}}}
	s, base := startServer(t, serve.Config{Doc: doc, DB: path})

	r := do(t, nil, "GET", base+"/items/7", "")
	if r.status != 200 || string(r.body) != body {
		t.Fatalf("GET /items/7: %d %s", r.status, r.body)
	}
	if m := r.header.Get("Bw-Match"); !strings.HasSuffix(m, "; score=100") {
		t.Errorf("Bw-Match = %q: a request without pseudo-headers is the recorded one", m)
	}
	if r.header.Get("X-Item-Version") != "3" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("recorded headers not replayed: %v", r.header)
	}

	// Read the raw response: a pseudo-header on an HTTP/1.1 response is a
	// malformed line that a client may not even report.
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /items/7 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", s.Addr())
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200 ") {
		t.Fatalf("status line %q, %v", status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
		if strings.HasPrefix(line, ":") {
			t.Errorf("replayed header line %q", strings.TrimSpace(line))
		}
	}
}
