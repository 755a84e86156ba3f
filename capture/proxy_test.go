package capture_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backworks/bw/capture"
	"github.com/backworks/bw/store"
)

// rig is a proxy in front of an upstream, recording into a real database.
type rig struct {
	t     *testing.T
	db    *store.DB
	w     *store.Writer
	p     *capture.Proxy
	url   string // the proxy's base URL
	addr  string
	start time.Time
}

func newRig(t *testing.T, upstream string, cfg capture.Config, wopts store.WriterOptions) *rig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "bw.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Upstream = u
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	w := db.NewWriter(wopts)
	p, err := capture.New(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, db: db, w: w, p: p, addr: p.Addr(), url: "http://" + p.Addr(), start: time.Now()}
	t.Cleanup(func() { r.stop() })
	return r
}

// stop closes the proxy and the writer; it may be called more than once.
func (r *rig) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.p.Close(ctx); err != nil {
		r.t.Errorf("close proxy: %v", err)
	}
	r.w.Close()
}

// exchanges stops the rig and returns everything it stored.
func (r *rig) exchanges() []*store.Exchange {
	r.t.Helper()
	r.stop()
	var exs []*store.Exchange
	err := r.db.Scan(context.Background(), store.Filter{}, func(ex *store.Exchange) error {
		exs = append(exs, ex)
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.db.Close()
	return exs
}

func (r *rig) one() *store.Exchange {
	r.t.Helper()
	exs := r.exchanges()
	if len(exs) != 1 {
		r.t.Fatalf("stored %d exchanges, want 1", len(exs))
	}
	return exs[0]
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// rawUpstream is an HTTP/1.1 server that answers every request with the
// same bytes, and keeps the heads of the requests it got.
type rawUpstream struct {
	ln       net.Listener
	response []byte
	mu       sync.Mutex
	heads    []string
	wg       sync.WaitGroup
}

func newRawUpstream(t *testing.T, response string) *rawUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln, response: []byte(response)}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					var head strings.Builder
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						head.WriteString(line)
						if line == "\r\n" {
							break
						}
					}
					req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head.String())))
					if err != nil {
						return
					}
					var body io.Reader = io.LimitReader(br, req.ContentLength)
					if len(req.TransferEncoding) > 0 {
						body = httputilChunked(br)
					}
					io.Copy(io.Discard, body)
					u.mu.Lock()
					u.heads = append(u.heads, head.String())
					u.mu.Unlock()
					if _, err := c.Write(u.response); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); u.wg.Wait() })
	return u
}

func (u *rawUpstream) url() string { return "http://" + u.ln.Addr().String() }

func (u *rawUpstream) received() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.heads...)
}

// httputilChunked reads a chunked body off br (a minimal decoder: sizes,
// data, CRLFs, no trailers).
func httputilChunked(br *bufio.Reader) io.Reader {
	var buf bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return &buf
		}
		var n int
		fmt.Sscanf(strings.TrimSpace(line), "%x", &n)
		if n == 0 {
			br.ReadString('\n')
			return &buf
		}
		io.CopyN(&buf, br, int64(n))
		br.ReadString('\n')
	}
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// TestExactRecording sends requests with repeated headers in a chosen order
// and case over a raw connection, through the proxy, to an upstream that
// answers with repeated Set-Cookie and a gzip body, and checks that every
// field of the stored exchanges is what went over the wire.
func TestExactRecording(t *testing.T) {
	body := gzipped(t, `{"hello":"world"}`)
	resHead := "HTTP/1.1 200 Fine Thanks\r\n" +
		"content-type: application/json\r\n" +
		"Set-Cookie: a=1; Path=/\r\n" +
		"X-Zeta: last-but-first\r\n" +
		"set-cookie: b=2\r\n" +
		"Content-Encoding: gzip\r\n" +
		"X-Empty:\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body)) +
		"\r\n"
	up := newRawUpstream(t, resHead+string(body))
	r := newRig(t, up.url(), capture.Config{Session: "exact"}, store.WriterOptions{NoRedact: true})

	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	type sent struct {
		head string
		body []byte
		req  store.Request
	}
	reqs := []sent{{
		head: "POST /upload/a%2Fb?x=1&y=%20z&x=2 HTTP/1.1\r\n" +
			"Host: api.example.test:8080\r\n" +
			"user-agent: raw-test/1.0\r\n" +
			"X-Multi: one\r\n" +
			"Accept: */*\r\n" +
			"x-multi: two\r\n" +
			"Authorization:   Bearer s3cret  \r\n" +
			"Content-Type: application/octet-stream\r\n" +
			"X-Multi: three\r\n" +
			"Content-Length: 256\r\n" +
			"\r\n",
		body: binary,
		req: store.Request{
			Method: "POST", Scheme: "http", Host: "api.example.test:8080",
			Path: "/upload/a%2Fb", RawQuery: "x=1&y=%20z&x=2", Proto: "HTTP/1.1",
			Header: hdr(
				"Host", "api.example.test:8080",
				"user-agent", "raw-test/1.0",
				"X-Multi", "one",
				"Accept", "*/*",
				"x-multi", "two",
				"Authorization", "Bearer s3cret",
				"Content-Type", "application/octet-stream",
				"X-Multi", "three",
				"Content-Length", "256",
			),
			Body: store.Body{Data: binary, Size: 256},
		},
	}, {
		// Same connection, and a Connection header that is not forwarded.
		head: "GET /second HTTP/1.1\r\n" +
			"Pragma: no-cache\r\n" +
			"host: api.example.test\r\n" +
			"Accept-Encoding: gzip\r\n" +
			"Connection: keep-alive\r\n" +
			"\r\n",
		req: store.Request{
			Method: "GET", Scheme: "http", Host: "api.example.test",
			Path: "/second", Proto: "HTTP/1.1",
			Header: hdr(
				"Pragma", "no-cache",
				"host", "api.example.test",
				"Accept-Encoding", "gzip",
				"Connection", "keep-alive",
			),
		},
	}, {
		head: "PUT /chunked HTTP/1.1\r\n" +
			"Host: api.example.test\r\n" +
			"Transfer-Encoding: chunked\r\n" +
			"X-A: 1\r\n" +
			"\r\n",
		body: []byte("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
		req: store.Request{
			Method: "PUT", Scheme: "http", Host: "api.example.test",
			Path: "/chunked", Proto: "HTTP/1.1",
			Header: hdr(
				"Host", "api.example.test",
				"Transfer-Encoding", "chunked",
				"X-A", "1",
			),
			Body: store.Body{Data: []byte("hello world"), Size: 11},
		},
	}}

	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// The client gets the upstream's head as is, but for the empty value
	// written in the usual form.
	wantHead := strings.Replace(resHead, "X-Empty:\r\n", "X-Empty: \r\n", 1)
	for _, s := range reqs {
		if _, err := c.Write(append([]byte(s.head), s.body...)); err != nil {
			t.Fatal(err)
		}
		var head strings.Builder
		for !strings.HasSuffix(head.String(), "\r\n\r\n") {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			head.WriteString(line)
		}
		got := make([]byte, len(body))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatal(err)
		}
		if head.String() != wantHead || !bytes.Equal(got, body) {
			t.Fatalf("client got\n%q %q\nwant\n%q and the gzip body as sent", head.String(), got, wantHead)
		}
	}
	localAddr := c.LocalAddr().String()
	c.Close()

	wantRes := store.Response{
		Status: 200, Reason: "Fine Thanks", Proto: "HTTP/1.1",
		Header: hdr(
			"content-type", "application/json",
			"Set-Cookie", "a=1; Path=/",
			"X-Zeta", "last-but-first",
			"set-cookie", "b=2",
			"Content-Encoding", "gzip",
			"X-Empty", "",
			"Content-Length", fmt.Sprint(len(body)),
		),
		Body: store.Body{Data: body, Size: int64(len(body))},
	}
	exs := r.exchanges()
	if len(exs) != len(reqs) {
		t.Fatalf("stored %d exchanges, want %d", len(exs), len(reqs))
	}
	for i, ex := range exs {
		if ex.ID.IsZero() || ex.Session != "exact" || ex.Source != store.SourceProxy {
			t.Errorf("exchange %d: id %v session %q source %q", i, ex.ID, ex.Session, ex.Source)
		}
		if ex.Start.Before(r.start) || ex.Start.After(time.Now()) || ex.Duration <= 0 || ex.Duration > 10*time.Second {
			t.Errorf("exchange %d: start %v duration %v", i, ex.Start, ex.Duration)
		}
		if ex.ClientAddr != localAddr || ex.ServerAddr != up.ln.Addr().String() {
			t.Errorf("exchange %d: client %q server %q, want %q %q", i, ex.ClientAddr, ex.ServerAddr, localAddr, up.ln.Addr())
		}
		if ex.Error != "" || ex.Meta != nil {
			t.Errorf("exchange %d: error %q meta %q", i, ex.Error, ex.Meta)
		}
		if !reflect.DeepEqual(ex.Request, reqs[i].req) {
			t.Errorf("exchange %d request:\n got %+v\nwant %+v", i, ex.Request, reqs[i].req)
		}
		if !reflect.DeepEqual(ex.Response, wantRes) {
			t.Errorf("exchange %d response:\n got %+v\nwant %+v", i, ex.Response, wantRes)
		}
	}
	if n := r.p.Stats().RebuiltHeaders; n != 0 {
		t.Errorf("RebuiltHeaders = %d, want 0", n)
	}

	// What the upstream got: the client's fields in the client's order and
	// case, with the upstream's Host and X-Forwarded-* added.
	upHost := up.ln.Addr().String()
	fwd := "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: %s\r\nX-Forwarded-Proto: http\r\n\r\n"
	want := []string{
		"POST /upload/a%2Fb?x=1&y=%20z&x=2 HTTP/1.1\r\n" +
			"Host: " + upHost + "\r\n" +
			"user-agent: raw-test/1.0\r\n" +
			"X-Multi: one\r\n" +
			"Accept: */*\r\n" +
			"x-multi: two\r\n" +
			"Authorization: Bearer s3cret\r\n" +
			"Content-Type: application/octet-stream\r\n" +
			"X-Multi: three\r\n" +
			"Content-Length: 256\r\n" +
			fmt.Sprintf(fwd, "api.example.test:8080"),
		"GET /second HTTP/1.1\r\n" +
			"Pragma: no-cache\r\n" +
			"host: " + upHost + "\r\n" +
			"Accept-Encoding: gzip\r\n" +
			fmt.Sprintf(fwd, "api.example.test"),
		"PUT /chunked HTTP/1.1\r\n" +
			"Host: " + upHost + "\r\n" +
			"Transfer-Encoding: chunked\r\n" +
			"X-A: 1\r\n" +
			fmt.Sprintf(fwd, "api.example.test"),
	}
	heads := up.received()
	if !reflect.DeepEqual(heads, want) {
		t.Errorf("upstream got\n%q\nwant\n%q", heads, want)
	}
}

// TestRedaction: with the writer's default options secrets are stored
// redacted.
func TestRedaction(t *testing.T) {
	up := newRawUpstream(t, "HTTP/1.1 200 OK\r\nSet-Cookie: sid=abc123\r\nContent-Length: 2\r\n\r\nok")
	r := newRig(t, up.url(), capture.Config{}, store.WriterOptions{})
	req, _ := http.NewRequest("GET", r.url+"/me?api_key=k3y&page=2", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	ex := r.one()
	auth := ex.Request.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer "+store.RedactedPrefix) || strings.Contains(auth, "s3cret") {
		t.Errorf("Authorization stored as %q", auth)
	}
	if strings.Contains(ex.Request.RawQuery, "k3y") || !strings.Contains(ex.Request.RawQuery, "page=2") {
		t.Errorf("query stored as %q", ex.Request.RawQuery)
	}
	if c := ex.Response.Header.Get("Set-Cookie"); strings.Contains(c, "abc123") {
		t.Errorf("Set-Cookie stored as %q", c)
	}
}

// TestMaxBody: bodies over the limit are stored truncated with their full
// size; the client still gets everything.
func TestMaxBody(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 5000) // 50,000 bytes
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		if !bytes.Equal(got, big) {
			t.Errorf("upstream got %d bytes of request body", len(got))
		}
		w.Write(big)
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{MaxBody: 1000}, store.WriterOptions{NoRedact: true})
	res, err := http.Post(r.url+"/big", "text/plain", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("client got %d bytes (%v), want %d", len(got), err, len(big))
	}
	ex := r.one()
	for name, b := range map[string]store.Body{"request": ex.Request.Body, "response": ex.Response.Body} {
		if !b.Truncated || b.Size != int64(len(big)) || !bytes.Equal(b.Data, big[:1000]) {
			t.Errorf("%s body: truncated %v size %d data %d bytes", name, b.Truncated, b.Size, len(b.Data))
		}
	}
}

// TestNoBodies: a negative MaxBody keeps sizes only.
func TestNoBodies(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{MaxBody: -1}, store.WriterOptions{NoRedact: true})
	get(t, r.url)
	ex := r.one()
	if b := ex.Response.Body; b.Data != nil || b.Size != 5 || !b.Truncated {
		t.Errorf("response body %+v", b)
	}
}

// TestServerSentEvents: an event reaches the client while the upstream is
// still sending; nothing waits for the end of the stream.
func TestServerSentEvents(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "data: two\n\n")
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	res, err := http.Get(r.url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(res.Body)
	first := make(chan string, 1)
	go func() {
		line, _ := br.ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if line != "data: one\n" {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not arrive before the upstream finished")
	}
	close(release)
	rest, _ := io.ReadAll(br)
	res.Body.Close()
	if string(rest) != "\ndata: two\n\n" {
		t.Errorf("rest of stream %q", rest)
	}
	ex := r.one()
	if string(ex.Response.Body.Data) != "data: one\n\ndata: two\n\n" || ex.Response.Header.Get("Transfer-Encoding") != "chunked" {
		t.Errorf("stored %q, header %v", ex.Response.Body.Data, ex.Response.Header)
	}
}

// wsUpstream answers an upgrade with 101 and echoes the bytes that follow.
func wsUpstream(t *testing.T) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		io.WriteString(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		brw.Flush()
		io.Copy(c, brw)
	}))
}

func dialUpgrade(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", res.StatusCode)
	}
	return c, br
}

// TestWebSocket: an upgrade passes through both ways and is recorded as its
// 101 exchange.
func TestWebSocket(t *testing.T) {
	up := wsUpstream(t)
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	c, br := dialUpgrade(t, r.addr)
	for _, msg := range []string{"ping", "pong and more"} {
		io.WriteString(c, msg)
		got := make([]byte, len(msg))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo: got %q, %v", got, err)
		}
	}
	c.Close()
	ex := r.one()
	if ex.Response.Status != 101 || ex.Request.Header.Get("Upgrade") != "websocket" ||
		ex.Response.Header.Get("Sec-WebSocket-Accept") == "" || ex.Error != "" {
		t.Errorf("stored %+v", ex)
	}
	if got := ex.Request.Header[0]; got != (store.Field{Name: "Host", Value: "ws.test"}) {
		t.Errorf("first request field %v", got)
	}
}

// TestCloseEndsWebSocket: Close does not wait for an open WebSocket forever;
// the exchange is still recorded.
func TestCloseEndsWebSocket(t *testing.T) {
	up := wsUpstream(t)
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	c, br := dialUpgrade(t, r.addr)
	defer c.Close()
	start := time.Now()
	ex := r.one()
	if time.Since(start) > 5*time.Second || ex.Response.Status != 101 {
		t.Errorf("close took %v, stored status %d", time.Since(start), ex.Response.Status)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Error("client connection still open after Close")
	}
}

// TestUpstreamDown: when the upstream goes away the client gets 502, and
// the exchange is stored with the error.
func TestUpstreamDown(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "up")
	}))
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	if res, _ := get(t, r.url+"/a"); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	up.Close()
	if res, _ := get(t, r.url+"/b"); res.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d with the upstream down, want 502", res.StatusCode)
	}
	res, err := http.Post(r.url+"/c", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("POST: status %d with the upstream down, want 502", res.StatusCode)
	}
	exs := r.exchanges()
	if len(exs) != 3 {
		t.Fatalf("stored %d exchanges", len(exs))
	}
	for i, path := range []string{"/b", "/c"} {
		ex := exs[i+1]
		if ex.Request.Path != path || ex.Response.Status != 502 || !strings.Contains(ex.Error, "refused") {
			t.Errorf("stored %s %d, error %q", ex.Request.Path, ex.Response.Status, ex.Error)
		}
	}
	if b := exs[2].Request.Body; string(b.Data) != "payload" || b.Truncated {
		t.Errorf("request body of the failed POST stored as %+v", b)
	}
}

// TestUpstreamDiesMidBody: a response cut short is recorded with what
// arrived, its declared size and the error.
func TestUpstreamDiesMidBody(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		c, _, _ := http.NewResponseController(w).Hijack()
		c.Close()
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	res, err := http.Get(r.url)
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Error("client read the whole body of a response cut short")
	}
	ex := r.one()
	b := ex.Response.Body
	if ex.Response.Status != 200 || string(b.Data) != "partial" || b.Size != 100 || !b.Truncated ||
		!strings.Contains(ex.Error, "unexpected EOF") {
		t.Errorf("stored %d %+v, error %q", ex.Response.Status, b, ex.Error)
	}
}

// TestCloseWaitsForInFlight: Close lets a slow exchange finish and records it.
func TestCloseWaitsForInFlight(t *testing.T) {
	started := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "slow")
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		res, err := http.Get(r.url + "/slow")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		done <- result{string(b), err}
	}()
	<-started
	ex := r.one()
	if res := <-done; res.err != nil || res.body != "slow" {
		t.Errorf("client got %q, %v", res.body, res.err)
	}
	if ex.Request.Path != "/slow" || string(ex.Response.Body.Data) != "slow" {
		t.Errorf("stored %s %q", ex.Request.Path, ex.Response.Body.Data)
	}
	if _, err := http.Get(r.url); err == nil {
		t.Error("proxy still accepts after Close")
	}
}

// TestPreserveHost: Host goes upstream as the client sent it when asked.
func TestPreserveHost(t *testing.T) {
	for _, preserve := range []bool{false, true} {
		var host string
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { host = r.Host }))
		r := newRig(t, up.URL+"/base", capture.Config{PreserveHost: preserve}, store.WriterOptions{NoRedact: true})
		req, _ := http.NewRequest("GET", r.url+"/x", nil)
		req.Host = "front.test"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := strings.TrimPrefix(up.URL, "http://")
		if preserve {
			want = "front.test"
		}
		if host != want {
			t.Errorf("preserve %v: upstream got Host %q, want %q", preserve, host, want)
		}
		r.stop()
		up.Close()
	}
}

// TestConcurrentClients: 100 clients, 200 requests each; every exchange is
// stored exactly once.
func TestConcurrentClients(t *testing.T) {
	const clients, each = 100, 200
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"tag":%q}`, r.URL.Query().Get("tag"))
	}))
	defer up.Close()
	up.Config.ErrorLog = nil
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				tag := fmt.Sprintf("c%d-r%d", i, j)
				res, err := client.Get(r.url + "/items?tag=" + tag)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != 200 || !strings.Contains(string(b), tag) {
					errs <- fmt.Errorf("%s: %d %q %v", tag, res.StatusCode, b, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	exs := r.exchanges()
	if len(exs) != clients*each {
		t.Fatalf("stored %d exchanges, want %d", len(exs), clients*each)
	}
	ids := map[store.ID]bool{}
	tags := map[string]int{}
	for _, ex := range exs {
		ids[ex.ID] = true
		q, _ := url.ParseQuery(ex.Request.RawQuery)
		tags[q.Get("tag")]++
		if want := fmt.Sprintf(`{"tag":%q}`, q.Get("tag")); string(ex.Response.Body.Data) != want {
			t.Fatalf("exchange %s: response %q, want %q", ex.ID, ex.Response.Body.Data, want)
		}
	}
	if len(ids) != clients*each {
		t.Errorf("%d unique ids", len(ids))
	}
	for i := range clients {
		for j := range each {
			if n := tags[fmt.Sprintf("c%d-r%d", i, j)]; n != 1 {
				t.Fatalf("tag c%d-r%d stored %d times", i, j, n)
			}
		}
	}
	st := r.p.Stats()
	if st.Recorded != clients*each || len(st.Dropped) != 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("rebuilt headers: %d of %d", st.RebuiltHeaders, clients*each)
}

// TestPipelining: requests sent back to back on one connection before any
// response are each recorded with their own headers (rebuilt when the raw
// head could not be told apart, never another request's).
func TestPipelining(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 5
	var all strings.Builder
	for i := range n {
		fmt.Fprintf(&all, "GET /p%d HTTP/1.1\r\nHost: pipe.test\r\nX-Only-%d: %d\r\nAccept: */*\r\n\r\n", i, i, i)
	}
	io.WriteString(c, all.String())
	br := bufio.NewReader(c)
	for i := range n {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != fmt.Sprintf("/p%d", i) {
			t.Fatalf("response %d: %q", i, b)
		}
	}
	c.Close()
	exs := r.exchanges()
	if len(exs) != n {
		t.Fatalf("stored %d", len(exs))
	}
	for _, ex := range exs {
		var i int
		fmt.Sscanf(ex.Request.Path, "/p%d", &i)
		want := hdr("Host", "pipe.test", fmt.Sprintf("X-Only-%d", i), fmt.Sprint(i), "Accept", "*/*")
		if !reflect.DeepEqual(ex.Request.Header, want) {
			t.Errorf("%s: header %v, want %v", ex.Request.Path, ex.Request.Header, want)
		}
	}
	if n := r.p.Stats().RebuiltHeaders; n != 0 {
		t.Errorf("rebuilt %d headers", n)
	}
}

// TestFoldedHeader: a head net/http accepts but bw does not parse (an
// obsolete folded line) is recorded from net/http's parse, and counted.
func TestFoldedHeader(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Folded"))
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	got := rawExchange(t, r.addr, "GET /f HTTP/1.1\r\nHost: fold.test\r\nX-Folded: one\r\n two\r\nConnection: close\r\n\r\n")
	if !strings.HasSuffix(got, "\r\n\r\none two") {
		t.Errorf("client got %q", got)
	}
	ex := r.one()
	want := hdr("Host", "fold.test", "Connection", "close", "X-Folded", "one two")
	if !reflect.DeepEqual(ex.Request.Header, want) || r.p.Stats().RebuiltHeaders != 1 {
		t.Errorf("stored %v, rebuilt %d", ex.Request.Header, r.p.Stats().RebuiltHeaders)
	}
}

// TestExpectContinue: the interim 100 Continue of the upstream does not
// take the place of its final response head.
func TestExpectContinue(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Got", fmt.Sprint(len(b)))
		w.WriteHeader(201)
	}))
	defer up.Close()
	r := newRig(t, up.URL, capture.Config{}, store.WriterOptions{NoRedact: true})
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("PUT", r.url+"/upload", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("status %d", res.StatusCode)
	}
	ex := r.one()
	if ex.Response.Status != 201 || ex.Response.Header.Get("X-Got") != "7" || string(ex.Request.Body.Data) != "payload" {
		t.Errorf("stored %d %v %q", ex.Response.Status, ex.Response.Header, ex.Request.Body.Data)
	}
	if n := r.p.Stats().RebuiltHeaders; n != 0 {
		t.Errorf("rebuilt %d headers", n)
	}
}

// hdr builds a header from name, value pairs.
func hdr(kv ...string) store.Header {
	h := make(store.Header, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, store.Field{Name: kv[i], Value: kv[i+1]})
	}
	return h
}
