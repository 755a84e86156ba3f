package har

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/backworks/bw/store"
)

// hdr is a HAR header list: name, value, name, value...
func hdr(nv ...string) []any {
	a := []any{}
	for i := 0; i+1 < len(nv); i += 2 {
		a = append(a, map[string]any{"name": nv[i], "value": nv[i+1]})
	}
	return a
}

// pseudoDoc is a one-entry HAR document.
func pseudoDoc(t *testing.T, method, url string, status int, reqH, resH []any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"log": map[string]any{"version": "1.2", "entries": []any{map[string]any{
		"startedDateTime": "2024-05-14T09:30:00.000Z", "time": 1,
		"request":  map[string]any{"method": method, "url": url, "httpVersion": "HTTP/2.0", "headers": reqH},
		"response": map[string]any{"status": status, "httpVersion": "HTTP/2.0", "headers": resH, "content": map[string]any{"size": 0}},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readOne(t *testing.T, data []byte) *store.Exchange {
	t.Helper()
	ex, err := NewReader(bytes.NewReader(data), ReaderOptions{}).Next()
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func noPseudo(t *testing.T, where string, h store.Header) {
	t.Helper()
	for _, f := range h {
		if store.IsPseudoHeader(f.Name) {
			t.Errorf("%s: stored header %q", where, f.Name)
		}
	}
}

// Each pseudo-header goes where the exchange holds it, never among the
// headers; the URL stays the authority when it has the part; export gives
// the entry's headers back in their order.
func TestPseudoHeaders(t *testing.T) {
	tests := []struct {
		name   string
		method string
		url    string
		status int
		reqH   []any
		resH   []any
		want   store.Exchange // Method, Scheme, Host, Path, RawQuery, Status
		header []string       // names of the stored request headers
	}{
		{name: ":authority gives the host of a path-only URL", method: "GET", url: "/orders?x=1", status: 200,
			reqH:   hdr(":authority", "api.test:8443", ":method", "GET", ":path", "/orders?x=1", ":scheme", "https", "accept", "*/*"),
			want:   store.Exchange{Request: store.Request{Method: "GET", Scheme: "https", Host: "api.test:8443", Path: "/orders", RawQuery: "x=1"}, Response: store.Response{Status: 200}},
			header: []string{"accept"}},
		{name: "a Host header comes before :authority", method: "GET", url: "/orders", status: 200,
			reqH:   hdr("Host", "h1.test", ":authority", "h2.test"),
			want:   store.Exchange{Request: store.Request{Method: "GET", Host: "h1.test", Path: "/orders"}, Response: store.Response{Status: 200}},
			header: []string{"Host"}},
		{name: "the URL's host comes first", method: "GET", url: "https://url.test/a", status: 200,
			reqH:   hdr(":authority", "other.test", ":scheme", "http", ":path", "/b"),
			want:   store.Exchange{Request: store.Request{Method: "GET", Scheme: "https", Host: "url.test", Path: "/a"}, Response: store.Response{Status: 200}},
			header: nil},
		{name: ":method gives a missing method", method: "", url: "https://api.test/a", status: 200,
			reqH:   hdr(":method", "PATCH", "x-tenant", "a"),
			want:   store.Exchange{Request: store.Request{Method: "PATCH", Scheme: "https", Host: "api.test", Path: "/a"}, Response: store.Response{Status: 200}},
			header: []string{"x-tenant"}},
		{name: ":path gives the path of a URL without one", method: "GET", url: "https://api.test", status: 200,
			reqH:   hdr(":path", "/v1/items?page=2"),
			want:   store.Exchange{Request: store.Request{Method: "GET", Scheme: "https", Host: "api.test", Path: "/v1/items", RawQuery: "page=2"}, Response: store.Response{Status: 200}},
			header: nil},
		{name: ":scheme gives the scheme of a path-only URL", method: "GET", url: "/x", status: 200,
			reqH:   hdr(":scheme", "https", "Host", "api.test"),
			want:   store.Exchange{Request: store.Request{Method: "GET", Scheme: "https", Host: "api.test", Path: "/x"}, Response: store.Response{Status: 200}},
			header: []string{"Host"}},
		{name: ":status gives a missing status", method: "GET", url: "https://api.test/x", status: 0,
			resH: hdr(":status", "201", "location", "/x/1"),
			want: store.Exchange{Request: store.Request{Method: "GET", Scheme: "https", Host: "api.test", Path: "/x"}, Response: store.Response{Status: 201}}},
		{name: ":status does not override the status", method: "GET", url: "https://api.test/x", status: 404,
			resH: hdr(":status", "200"),
			want: store.Exchange{Request: store.Request{Method: "GET", Scheme: "https", Host: "api.test", Path: "/x"}, Response: store.Response{Status: 404}}},
		{name: ":protocol is dropped", method: "CONNECT", url: "https://api.test/chat", status: 200,
			reqH:   hdr(":method", "CONNECT", ":protocol", "websocket", "sec-websocket-version", "13"),
			want:   store.Exchange{Request: store.Request{Method: "CONNECT", Scheme: "https", Host: "api.test", Path: "/chat"}, Response: store.Response{Status: 200}},
			header: []string{"sec-websocket-version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reqH == nil {
				tt.reqH = []any{}
			}
			if tt.resH == nil {
				tt.resH = []any{}
			}
			data := pseudoDoc(t, tt.method, tt.url, tt.status, tt.reqH, tt.resH)
			ex := readOne(t, data)
			r, w := ex.Request, tt.want.Request
			if r.Method != w.Method || r.Scheme != w.Scheme || r.Host != w.Host || r.Path != w.Path || r.RawQuery != w.RawQuery {
				t.Errorf("request %s %s://%s %s ? %s, want %s %s://%s %s ? %s",
					r.Method, r.Scheme, r.Host, r.Path, r.RawQuery, w.Method, w.Scheme, w.Host, w.Path, w.RawQuery)
			}
			if ex.Response.Status != tt.want.Response.Status {
				t.Errorf("status %d, want %d", ex.Response.Status, tt.want.Response.Status)
			}
			noPseudo(t, "request", ex.Request.Header)
			noPseudo(t, "response", ex.Response.Header)
			var names []string
			for _, f := range ex.Request.Header {
				names = append(names, f.Name)
			}
			if !reflect.DeepEqual(names, tt.header) {
				t.Errorf("request headers %v, want %v", names, tt.header)
			}

			// Export puts them back where they were.
			out := roundTrip(t, "p.har", data)
			e := logOf(normalize(t, out))["entries"].([]any)[0].(map[string]any)
			in := logOf(normalize(t, data))["entries"].([]any)[0].(map[string]any)
			for _, k := range []string{"request", "response"} {
				got, want := e[k].(map[string]any)["headers"], in[k].(map[string]any)["headers"]
				if !reflect.DeepEqual(got, want) {
					t.Errorf("exported %s headers %v, want %v", k, got, want)
				}
			}
		})
	}
}

// A secret in ":path" is redacted like the query it repeats.
func TestPseudoPathRedacted(t *testing.T) {
	data := pseudoDoc(t, "GET", "https://api.test/a?api_key=k-fixture-42&page=1", 200,
		hdr(":authority", "api.test", ":path", "/a?api_key=k-fixture-42&page=1"), []any{})
	db := openDB(t)
	if _, err := importBytes(t, db, "p.har", data, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	out := export(t, db)
	if bytes.Contains(out, []byte("k-fixture-42")) {
		t.Errorf("export holds the secret:\n%s", out)
	}
	if !bytes.Contains(out, []byte(`"value": "/a?api_key=redacted:`)) || !bytes.Contains(out, []byte("&page=1")) {
		t.Errorf("export lacks the redacted :path:\n%s", out)
	}
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("k-fixture-42")) {
		t.Error("db file holds the secret")
	}
}

// fixtures/har/chromium-h2.har was written by Chromium over HTTP/2 (make
// fixtures-har): its pseudo-headers give the request lines and are stored
// nowhere among the headers.
func TestChromiumH2(t *testing.T) {
	data := readFixture(t, "chromium-h2.har")
	var doc struct {
		Log struct {
			Entries []struct {
				Request struct {
					Method, URL string
					Headers     []store.Field
				}
				Response struct{ Status int }
			}
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	n, err := importBytes(t, db, "chromium-h2.har", data, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(doc.Log.Entries) {
		t.Fatalf("imported %d of %d entries", n, len(doc.Log.Entries))
	}
	var exs []*store.Exchange
	if err := db.Scan(context.Background(), store.Filter{}, func(ex *store.Exchange) error {
		exs = append(exs, ex)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var refused, ws int
	for i, e := range doc.Log.Entries {
		ex := exs[i]
		noPseudo(t, e.Request.URL, ex.Request.Header)
		noPseudo(t, e.Request.URL, ex.Response.Header)
		if got := ex.Request.URL(); got != e.Request.URL {
			t.Errorf("entry %d: URL %s, want %s", i, got, e.Request.URL)
		}
		ps := store.Header(e.Request.Headers)
		for _, f := range ps {
			if store.IsPseudoHeader(f.Name) {
				seen[f.Name]++
			}
		}
		if a := ps.Get(":authority"); a != "" {
			r := ex.Request
			path := r.Path
			if r.RawQuery != "" {
				path += "?" + r.RawQuery
			}
			if r.Host != a || r.Method != ps.Get(":method") || r.Scheme != ps.Get(":scheme") || path != ps.Get(":path") {
				t.Errorf("entry %d: %s %s://%s%s, pseudo-headers say %v", i, r.Method, r.Scheme, r.Host, path, ps[:4])
			}
		}
		switch {
		case ex.Error == "net::ERR_CONNECTION_REFUSED":
			refused++
			if ex.Response.Status != 0 || e.Response.Status != -1 {
				t.Errorf("refused request: status %d (HAR %d)", ex.Response.Status, e.Response.Status)
			}
		case ex.Request.Scheme == "wss":
			ws++
			if ex.Response.Status != 101 || ex.Request.Header.Get("Upgrade") != "websocket" {
				t.Errorf("WebSocket: %d %v", ex.Response.Status, ex.Request.Header)
			}
		}
	}
	for _, name := range []string{":authority", ":method", ":path", ":scheme"} {
		if seen[name] < 5 {
			t.Errorf("the fixture has %s in %d entries; regenerate it over HTTP/2 (make fixtures-har)", name, seen[name])
		}
	}
	if refused != 1 || ws != 1 {
		t.Errorf("%d refused requests and %d WebSockets, want one of each", refused, ws)
	}
	// Its made-up credentials are redacted like real ones.
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"fixture-token-not-a-secret", "fixture-password-1", "fixture-session-1"} {
		if !bytes.Contains(data, []byte(secret)) {
			t.Errorf("the fixture lacks %q; the test checks nothing", secret)
		}
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("db file holds %q", secret)
		}
	}
}

// The reader alone, without a database, leaves pseudo-headers out too.
func TestReaderLeavesOutPseudoHeaders(t *testing.T) {
	rd := NewReader(bytes.NewReader(readFixture(t, "chromium-h2.har")), ReaderOptions{})
	n := 0
	for {
		ex, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		noPseudo(t, ex.Request.URL(), ex.Request.Header)
		noPseudo(t, ex.Request.URL(), ex.Response.Header)
		if strings.Contains(string(ex.Meta), `"bw:pseudo"`) != (ex.Request.Proto == "HTTP/2.0") {
			t.Errorf("%s (%s): Meta %s", ex.Request.URL(), ex.Request.Proto, ex.Meta)
		}
	}
	if n == 0 {
		t.Fatal("no entries")
	}
}

// fixtures/har/mitmproxy-h2.har is the same session through mitmproxy 8
// (its har_dump.py addon, make fixtures-har): HTTP/2 entries with neither
// pseudo-headers nor a Host header, so the URL alone gives the host.
func TestMitmproxyH2(t *testing.T) {
	data := readFixture(t, "mitmproxy-h2.har")
	db := openDB(t)
	n, err := importBytes(t, db, "mitmproxy-h2.har", data, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var h2 int
	if err := db.Scan(context.Background(), store.Filter{}, func(ex *store.Exchange) error {
		noPseudo(t, ex.Request.URL(), ex.Request.Header)
		noPseudo(t, ex.Request.URL(), ex.Response.Header)
		if !strings.HasPrefix(ex.Request.Host, "127.0.0.1:") || ex.Response.Status == 0 {
			t.Errorf("%s: host %q status %d", ex.Request.URL(), ex.Request.Host, ex.Response.Status)
		}
		if ex.Request.Proto == "HTTP/2.0" {
			h2++
			if h := ex.Request.Header.Get("Host"); h != "" {
				t.Errorf("%s: Host header %q in an HTTP/2 request", ex.Request.URL(), h)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n < 10 || h2 < n-1 {
		t.Errorf("%d exchanges, %d over HTTP/2; regenerate the fixture (make fixtures-har)", n, h2)
	}
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"fixture-token-not-a-secret", "fixture-password-1", "fixture-session-1"} {
		if !bytes.Contains(data, []byte(secret)) {
			t.Errorf("the fixture lacks %q; the test checks nothing", secret)
		}
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("db file holds %q", secret)
		}
	}
}
