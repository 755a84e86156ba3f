package capture_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/backworks/bw/capture"
	"github.com/backworks/bw/store"
)

// rawExchange sends raw bytes on a new connection to the proxy and returns
// everything that comes back until the proxy closes the connection.
func rawExchange(t *testing.T, addr, send string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, send)
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, got)
	}
	return string(got)
}

// TestExpectWithoutContinue: an upstream that never sends 100 Continue gets
// the body anyway after a moment, as net/http's client does.
func TestExpectWithoutContinue(t *testing.T) {
	up := newRawUpstream(t, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
	r := newRig(t, up.url(), capture.Config{}, store.WriterOptions{NoRedact: true})
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("POST", r.url+"/things", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ex := r.one()
	if res.StatusCode != 201 || ex.Response.Status != 201 || string(ex.Request.Body.Data) != "payload" {
		t.Errorf("client %d, stored %d %q", res.StatusCode, ex.Response.Status, ex.Request.Body.Data)
	}
}

// TestStaleUpstreamConnection: an upstream that closes each connection
// after answering, without saying so, costs no request: a GET that finds
// its pooled connection closed is sent again on a new one.
func TestStaleUpstreamConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	r := newRig(t, "http://"+ln.Addr().String(), capture.Config{}, store.WriterOptions{NoRedact: true})
	for i := range 5 {
		res, body := get(t, r.url+fmt.Sprintf("/n%d", i))
		if res.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("request %d: %d %q", i, res.StatusCode, body)
		}
		time.Sleep(10 * time.Millisecond) // let the upstream's close arrive
	}
	// A POST cannot be sent twice: its connection is checked before use.
	for i := range 3 {
		res, err := http.Post(r.url+fmt.Sprintf("/post%d", i), "text/plain", strings.NewReader("once"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("POST %d: %d", i, res.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, ex := range r.exchanges() {
		if ex.Error != "" || ex.Response.Status != 200 {
			t.Errorf("%s: %d %q", ex.Request.Path, ex.Response.Status, ex.Error)
		}
	}
}

// TestFraming: bodies of every kind reach HTTP/1.1 and HTTP/1.0 clients
// framed right, trailers included, and connections are kept or closed as
// they should be.
func TestFraming(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "part one, ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part two")
			w.Header().Set("X-Sum", "42")
		case "/close-delimited":
			c, brw, _ := http.NewResponseController(w).Hijack()
			defer c.Close()
			brw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
			brw.Flush()
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "fixed")
		}
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})

	// HTTP/1.1, one connection for all: chunked with a trailer, a body
	// delimited by the upstream closing (re-chunked), 204, HEAD.
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for _, tc := range []struct{ method, path, body, trailer string }{
		{"GET", "/chunked", "part one, part two", "42"},
		{"GET", "/close-delimited", "until the end", ""},
		{"GET", "/empty", "", ""},
		{"HEAD", "/fixed", "", ""},
		{"GET", "/fixed", "fixed", ""},
	} {
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: f.test\r\n\r\n", tc.method, tc.path)
		res, err := http.ReadResponse(br, &http.Request{Method: tc.method})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || string(b) != tc.body || res.Trailer.Get("X-Sum") != tc.trailer || res.Close {
			t.Errorf("%s %s: %q %v trailer %v close %v", tc.method, tc.path, b, err, res.Trailer, res.Close)
		}
		if tc.method == "HEAD" && res.ContentLength != 5 {
			t.Errorf("HEAD: Content-Length %d", res.ContentLength)
		}
	}

	// HTTP/1.0: no chunking; the connection closes after the response.
	got := rawExchange(t, r.addr, "GET /chunked HTTP/1.0\r\nHost: f.test\r\n\r\n")
	if !strings.HasSuffix(got, "\r\n\r\npart one, part two") || strings.Contains(got, "chunked") ||
		!strings.Contains(got, "Connection: close\r\n") {
		t.Errorf("HTTP/1.0 client got %q", got)
	}
	// Connection: close is honoured.
	got = rawExchange(t, r.addr, "GET /fixed HTTP/1.1\r\nHost: f.test\r\nConnection: close\r\n\r\n")
	if !strings.HasSuffix(got, "Connection: close\r\n\r\nfixed") {
		t.Errorf("Connection: close got %q", got)
	}

	exs := r.exchanges()
	if len(exs) != 7 {
		t.Fatalf("stored %d exchanges", len(exs))
	}
	if b := exs[0].Response.Body; string(b.Data) != "part one, part two" || exs[0].Response.Header.Get("Trailer") != "X-Sum" {
		t.Errorf("chunked stored as %q %v", b.Data, exs[0].Response.Header)
	}
	if b := exs[1].Response.Body; string(b.Data) != "until the end" || b.Truncated {
		t.Errorf("close-delimited stored as %+v", b)
	}
}

// TestBadRequests: what net/http would refuse is refused, and not recorded.
func TestBadRequests(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	for _, tc := range []struct{ send, status string }{
		{"NONSENSE\r\n\r\n", "HTTP/1.1 400 "},
		{"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "HTTP/1.1 405 "},
		{"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501 "},
		{"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 20<<10) + "\r\n\r\n", "HTTP/1.1 431 "},
	} {
		if got := rawExchange(t, r.addr, tc.send); !strings.HasPrefix(got, tc.status) {
			t.Errorf("%.30q: got %.60q, want %q", tc.send, got, tc.status)
		}
	}
	if exs := r.exchanges(); len(exs) != 0 {
		t.Errorf("stored %d exchanges", len(exs))
	}
}
