package capture

import (
	"bufio"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/backworks/bw/store"
)

func TestParseHead(t *testing.T) {
	start, h, ok := parseHead("GET / HTTP/1.1\r\nHost: a\r\nx-B:  two words \t\r\nX-Empty:\r\nX-B: 3\r\n\r\n")
	want := hdr("Host", "a", "x-B", "two words", "X-Empty", "", "X-B", "3")
	if !ok || start != "GET / HTTP/1.1" || !reflect.DeepEqual(h, want) {
		t.Errorf("got %q %v %v", start, h, ok)
	}
	for _, bad := range []string{
		"GET / HTTP/1.1\nHost: a\n\n",               // bare LF
		"GET / HTTP/1.1\r\nHost: a\r\n",             // not finished
		"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", // obs-fold
		"GET / HTTP/1.1\r\nno colon\r\n\r\n",
		"GET / HTTP/1.1\r\nX : a\r\n\r\n",
		"GET / HTTP/1.1\r\n: a\r\n\r\n",
	} {
		if _, _, ok := parseHead(bad); ok {
			t.Errorf("parseHead(%q) ok", bad)
		}
	}
}

func TestAgrees(t *testing.T) {
	raw := hdr("Host", "h", "x-a", "1", "Accept", "*/*", "X-A", "2", "Transfer-Encoding", "chunked", "Pragma", "no-cache")
	hh := http.Header{"X-A": {"1", "2"}, "Accept": {"*/*"}, "Pragma": {"no-cache"}, "Cache-Control": {"no-cache"}}
	if !agrees(raw, hh) {
		t.Error("equal headers do not agree")
	}
	for name, hh := range map[string]http.Header{
		"order within a name": {"X-A": {"2", "1"}, "Accept": {"*/*"}, "Pragma": {"no-cache"}},
		"missing value":       {"X-A": {"1"}, "Accept": {"*/*"}, "Pragma": {"no-cache"}},
		"extra value":         {"X-A": {"1", "2", "3"}, "Accept": {"*/*"}, "Pragma": {"no-cache"}},
		"extra name":          {"X-A": {"1", "2"}, "Accept": {"*/*"}, "Pragma": {"no-cache"}, "X-B": {""}},
		"other value":         {"X-A": {"1", "2"}, "Accept": {"text/html"}, "Pragma": {"no-cache"}},
	} {
		if agrees(raw, hh) {
			t.Errorf("%s: agrees", name)
		}
	}
}

func TestStartLines(t *testing.T) {
	if !isRequestLine("GET /a?b HTTP/1.1", "GET", "/a?b", "HTTP/1.1") ||
		isRequestLine("GET /a?c HTTP/1.1", "GET", "/a?b", "HTTP/1.1") ||
		isRequestLine("GET /a?b HTTP/1.0", "GET", "/a?b", "HTTP/1.1") ||
		isRequestLine("GET  /a HTTP/1.1", "GET", "/a", "HTTP/1.1") {
		t.Error("isRequestLine")
	}
	if !isStatusLine("HTTP/1.1 200 OK", "HTTP/1.1", "200 OK") ||
		!isStatusLine("HTTP/1.1   204", "HTTP/1.1", "204") ||
		isStatusLine("HTTP/1.1 200 Fine", "HTTP/1.1", "200 OK") ||
		isStatusLine("HTTP/1.0 200 OK", "HTTP/1.1", "200 OK") {
		t.Error("isStatusLine")
	}
}

func TestPeekHead(t *testing.T) {
	r, w := io.Pipe()
	br := bufio.NewReaderSize(r, 64)
	go func() {
		// A head split over writes, then its body and the next head.
		w.Write([]byte("POST /a HTTP/1.1\r\nHost: x\r"))
		w.Write([]byte("\n\r\nbodyGET /b HTTP/1.1\r\n\r\n"))
		w.Write([]byte("GET /c HTTP/1.1\r\nX: " + strings.Repeat("a", 100) + "\r\n\r\n"))
		w.Close()
	}()
	head, got, err := peekHead(br)
	if err != nil || !got || string(head) != "POST /a HTTP/1.1\r\nHost: x\r\n\r\n" {
		t.Fatalf("first head %q %v %v", head, got, err)
	}
	if _, err := http.ReadRequest(br); err != nil {
		t.Fatal(err)
	}
	br.Discard(4) // the body
	if head, _, err := peekHead(br); err != nil || string(head) != "GET /b HTTP/1.1\r\n\r\n" {
		t.Fatalf("second head %q %v", head, err)
	}
	http.ReadRequest(br)
	if _, got, err := peekHead(br); err != errHeadTooLarge || !got {
		t.Fatalf("oversized head: %v %v", got, err)
	}
	br.Discard(br.Buffered())
	io.Copy(io.Discard, br)
	if _, got, err := peekHead(br); err != io.EOF || got {
		t.Fatalf("at EOF: %v %v", got, err)
	}
}

func TestClassify(t *testing.T) {
	for name, want := range map[string]int{
		"host": hdrHost, "HOST": hdrHost, "Content-Length": hdrContentLength, "transfer-encoding": hdrTransferEncoding,
		"TE": hdrTE, "Trailer": hdrTrailer, "upgrade": hdrUpgrade, "Connection": hdrConnection,
		"Keep-Alive": hdrHopByHop, "proxy-connection": hdrHopByHop, "Proxy-Authorization": hdrHopByHop,
		"Proxy-Authenticate": hdrHopByHop, "X-Forwarded-For": hdrForwardedFor, "x-forwarded-host": hdrForwardedHost,
		"X-Forwarded-Proto": hdrForwardedProto, "Accept": hdrOther, "X-Hosts": hdrOther, "Authorization": hdrOther,
	} {
		if got := classify(name); got != want {
			t.Errorf("classify(%q) = %d, want %d", name, got, want)
		}
	}
	if !hasToken([]string{"keep-alive, Upgrade"}, "upgrade") || hasToken([]string{"keep-alive"}, "upgrade") {
		t.Error("hasToken")
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
