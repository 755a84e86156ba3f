package replay

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/backworks/bw/store"
)

func TestRewrite(t *testing.T) {
	m := mapping{
		"42":                                   {s: "7", num: true},
		"3f2504e0-4f89-11d3-9a0c-0305e82c3301": {s: "9b2d2c6e-1111-4222-8333-944455556666"},
		"redacted:abcdef123456":                {s: "live-token-value"},
		"a b":                                  {s: "c/d"},
	}
	for _, tc := range []struct{ name, got, want string }{
		{"path", rewritePath("/users/42/orders/142", m), "/users/7/orders/142"},
		{"path escaped", rewritePath("/x/a%20b", m), "/x/c%2Fd"},
		{"query id", rewriteQuery("user_id=42&limit=42&q=a+b", m), "user_id=7&limit=42&q=a+b"},
		{"query uuid", rewriteQuery("ref=3f2504e0-4f89-11d3-9a0c-0305e82c3301", m), "ref=9b2d2c6e-1111-4222-8333-944455556666"},
		{"header", rewriteTokens("Authorization", "Bearer redacted:abcdef123456", m), "Bearer live-token-value"},
		{"header number", rewriteTokens("Accept-Version", "42", m), "42"},
		{"header id", rewriteTokens("X-User-Id", "42", m), "7"},
		{"json", string(rewriteJSON([]byte(`{"user_id": 42, "count": 42, "42": "x", "ids": [42, 142], "ref": "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "n": {"id": "42"}}`), m)),
			`{"user_id": 7, "count": 42, "42": "x", "ids": [7, 142], "ref": "9b2d2c6e-1111-4222-8333-944455556666", "n": {"id": "7"}}`},
		{"json escapes", string(rewriteJSON([]byte(`{"id":"4\u0032","s":"a\"b"}`), m)), `{"id":"7","s":"a\"b"}`},
		{"json untouched", string(rewriteJSON([]byte(`[1, 2.5e3, true, null, "x"]`), m)), `[1, 2.5e3, true, null, "x"]`},
	} {
		if tc.got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestProducedValues(t *testing.T) {
	body, _ := parseJSON([]byte(`{"id": 5, "name": "ann", "count": 3, "owner": {"userId": "u-9"},
		"ref": "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "self": "/things/5", "tags": [{"id": 8}], "echo": "x-1"}`))
	h := store.Header{{Name: "Location", Value: "http://h/things/5"}}
	got := map[string]bool{}
	for _, p := range producedValues(body, h, map[string]bool{"x-1": true}) {
		got[p.value+map[bool]string{true: "[]"}[p.inArray]] = true
	}
	for _, want := range []string{"5", "u-9", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "/things/5", "8[]", "http://h/things/5"} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	for _, not := range []string{"ann", "3", "x-1"} {
		if got[not] {
			t.Errorf("%q is not handed out", not)
		}
	}
	p := produced{value: "5", header: "Location", last: true}
	if lv, ok := p.liveOf(nil, http.Header{"Location": {"/things/77"}}); !ok || lv.s != "77" {
		t.Errorf("live Location: %v %v", lv, ok)
	}
}

func TestRequestValues(t *testing.T) {
	req := &store.Request{Method: "POST", Path: "/users/42/x", RawQuery: "limit=10&cursor=abc",
		Header: store.Header{{Name: "Authorization", Value: "Bearer redacted:abcdef123456"}, {Name: "Accept", Value: "application/json"}}}
	body := []byte(`{"owner_id": 7, "qty": 2}`)
	vals := requestValues(req, body, "application/json")
	for _, want := range []string{"42", "users", "abc", "redacted:abcdef123456", "7"} {
		if !vals[want] {
			t.Errorf("missing %q in %v", want, vals)
		}
	}
	for _, not := range []string{"10", "2", "application/json", "Bearer"} {
		if vals[not] {
			t.Errorf("%q is not a chainable request value", not)
		}
	}
}

func TestPathRules(t *testing.T) {
	path := []seg{keySeg("items"), indexSeg(3), keySeg("updated_at")}
	for _, tc := range []struct {
		rule string
		want bool
	}{
		{"$.items[*].updated_at", true},
		{"$.items[3].updated_at", true},
		{"$.items[2].updated_at", false},
		{"$..updated_at", true},
		{"$.*[*].*", true},
		{"$['items'][*]['updated_at']", true},
		{"$.items", false}, // names the parent: covers the subtree by inheritance, not by match
		{"$.updated_at", false},
	} {
		r, err := parsePathRule(tc.rule)
		if err != nil {
			t.Fatalf("%s: %v", tc.rule, err)
		}
		if got := r.match(path); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.rule, got, tc.want)
		}
	}
	for _, bad := range []string{"items", "$.", "$[", "$[x]", "$..", "$x"} {
		if _, err := parsePathRule(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if s := pathString([]seg{keySeg("a b"), indexSeg(0), keySeg("c")}, false); s != "$['a b'][0].c" {
		t.Errorf("pathString %s", s)
	}
}

func TestFormats(t *testing.T) {
	for s, want := range map[string]format{
		"2024-05-01T10:00:00Z":                 fmtDateTime,
		"2024-05-01T10:00:00.123456+02:00":     fmtDateTime,
		"2024-05-01 10:00:00":                  fmtDateTime,
		"2024-05-01":                           fmtDate,
		"Wed, 01 May 2024 10:00:00 GMT":        fmtHTTPDate,
		"3f2504e0-4f89-11d3-9a0c-0305e82c3301": fmtUUID,
		"01HXYZ8V1K2M3N4P5Q6R7S8T9V":           fmtULID,
		"eyJhbGciOiJIUzI1NiJ9.e30.sig":         fmtJWT,
		"d41d8cd98f00b204e9800998ecf8427e":     fmtHex,
		"redacted:0123456789ab":                fmtRedacted,
		"sk_live_4eC39HqLyjWDarjtT1zdp7dc":     fmtToken,
		"hello world":                          fmtString,
		"sampleapi-demo-token-for-everyone":    fmtString,
		"":                                     fmtEmpty,
	} {
		if got := stringFormat(s); got != want {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
	if formatOf(json.Number("12")) != fmtInteger || formatOf(json.Number("1.5")) != fmtNumber {
		t.Error("number formats")
	}
	for _, k := range []string{"created_at", "updatedAt", "request_id", "uptime_seconds", "timestamp", "traceId"} {
		if !volatileName(k) {
			t.Errorf("%s should be volatile", k)
		}
	}
	for _, k := range []string{"name", "status", "total", "data", "cat", "format"} {
		if volatileName(k) {
			t.Errorf("%s should not be volatile", k)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"/api/v1/users*", "/api/v1/users/42", true},
		{"/api/v1/users*", "/api/v1/orders", false},
		{"*/cancel", "/orders/1/cancel", true},
		{"/a/?", "/a/b", true},
		{"/a/?", "/a/bc", false},
		{"2*", "204", true},
		{"", "", true},
		{"*", "", true},
	} {
		if got := glob(tc.p, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func TestNoiseYAML(t *testing.T) {
	for _, doc := range []string{
		"test:\n  noise:\n    body: [$.a, '!$.b']\n    headers: [X-A]\n",
		"noise:\n  body: [$.a, '!$.b']\n  headers: [X-A]\n",
		"body: [$.a, '!$.b']\nheaders: [X-A]\n",
		"name: api\nendpoints: {}\ntest:\n  noise: {body: [$.a, '!$.b'], headers: [X-A]}\n",
	} {
		n, err := ParseNoise([]byte(doc))
		if err != nil || strings.Join(n.Body, ",") != "$.a,!$.b" || strings.Join(n.Headers, ",") != "X-A" {
			t.Errorf("%q: %+v %v", doc, n, err)
		}
	}
	if _, err := ParseNoise([]byte("test:\n  noise:\n    headers: ['a b']\n")); err == nil || !strings.Contains(err.Error(), "headers[0]") {
		t.Errorf("bad header name: %v", err)
	}
	n := Noise{Body: []string{"$['odd key']", "$.x"}, Headers: []string{"!ETag"}}
	back, err := ParseNoise(n.YAML())
	if err != nil || strings.Join(back.Body, "|") != strings.Join(n.Body, "|") || back.Headers[0] != "!ETag" {
		t.Errorf("round trip: %+v %v\n%s", back, err, n.YAML())
	}
}

func TestIsLoopback(t *testing.T) {
	for h, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "[::1]": true, "localhost": true,
		"api.localhost": true, "LOCALHOST.": true, "10.0.0.1": false, "example.com": false, "0.0.0.0": false,
	} {
		if isLoopback(h) != want {
			t.Errorf("%s: %v", h, !want)
		}
	}
}
