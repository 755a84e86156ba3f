package api

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v4"
)

func TestNormalizePath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		names    []string
		err      string
	}{
		{in: "/", want: "/"},
		{in: "/users/{id}", want: "/users/{id}", names: []string{"id"}},
		{in: "/users/:id/posts/:post_id", want: "/users/{id}/posts/{post_id}", names: []string{"id", "post_id"}},
		{in: "/api/*", want: "/api/{rest*}", names: []string{"rest"}},
		{in: "/api/*path", want: "/api/{path*}", names: []string{"path"}},
		{in: "/api/{*path}", want: "/api/{path*}", names: []string{"path"}},
		{in: "/api/{path*}", want: "/api/{path*}", names: []string{"path"}},
		{in: "/files/{name}.json", want: "/files/{name}.json", names: []string{"name"}},
		{in: "users", err: "must start with /"},
		{in: "/a/*/b", err: "must be the last segment"},
		{in: "/a/{id}/{id}", err: "appears twice"},
		{in: "/a/{}", err: "bad parameter name"},
		{in: "/a/{b", err: "unbalanced"},
		{in: "/a/b}", err: "unexpected"},
		{in: "/a?x=1", err: "query"},
	} {
		got, names, err := normalizePath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want || strings.Join(names, ",") != strings.Join(tc.names, ",") {
			t.Errorf("%s: %q %v %v, want %q %v", tc.in, got, names, err, tc.want, tc.names)
		}
	}
	if templateKey("/a/{id}/b/{rest*}") != "/a/{}/b/{*}" {
		t.Error(templateKey("/a/{id}/b/{rest*}"))
	}
}

// node parses one YAML value.
func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("v: "+src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0].Content[1]
}

func TestDuration(t *testing.T) {
	for src, want := range map[string]time.Duration{
		"30":                         30 * time.Second,
		"1.5":                        1500 * time.Millisecond,
		`"30s"`:                      30 * time.Second,
		`"30"`:                       30 * time.Second,
		"1m30s":                      90 * time.Second,
		"{secs: 5, nanos: 0}":        5 * time.Second,
		"{secs: 1, nanos: 20000000}": 1020 * time.Millisecond,
		"0":                          0,
	} {
		p := &parser{file: "f"}
		got, ok := p.duration(node(t, src), "d")
		if !ok || got != want {
			t.Errorf("%s: %v %v %v, want %v", src, got, ok, p.probs, want)
		}
	}
	for _, src := range []string{"soon", "-5", `"-1s"`, "{secs: 5, nanos: 0, extra: 1}", "[1]", "null", "{secs: x}"} {
		p := &parser{file: "f"}
		if got, ok := p.duration(node(t, src), "d"); ok || len(p.probs) == 0 {
			t.Errorf("%s: accepted as %v", src, got)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1048576": 1 << 20, "10MiB": 10 << 20, "10 MiB": 10 << 20, "10MB": 10e6, "512KB": 512e3,
		"512kib": 512 << 10, "1G": 1 << 30, "1.5KiB": 1536, "100B": 100,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ten", "10 parsecs", "-1", "1e3MB", "99999999PiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("%q: accepted as %d", in, got)
		}
	}
}

func TestEnum(t *testing.T) {
	for in, want := range map[string]string{
		"RoundRobin": "round_robin", "round_robin": "round_robin", "round-robin": "round_robin",
		"IpHash": "ip_hash", "IPHash": "ip_hash", "LeastConnections": "least_connections",
		"Weighted": "weighted", "mock": "mock", "Proxy": "proxy", "IpAddress": "ip_address", "ApiKey": "api_key",
		"Report": "report", "ENFORCE": "enforce",
	} {
		if got := enum(in); got != want {
			t.Errorf("enum(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRateLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"ip": "ip", "IpAddress": "ip", "client_ip": "ip", "api_key": "api_key", "ApiKey": "api_key",
		"header:X-Client-Id": "header:X-Client-Id", "Header: X-Key": "header:X-Key",
	} {
		if got, err := rateLimitKey(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"user", "header:", "cookie"} {
		if _, err := rateLimitKey(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestIntWeights(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want string
	}{
		{[]float64{3, 1}, "[3 1]"},
		{[]float64{0.7, 0.3}, "[7 3]"},
		{[]float64{1.0, 2.0, 1.0}, "[1 2 1]"},
		{[]float64{0.25, 0.5}, "[1 2]"},
		{[]float64{0.0001, 1.5}, "[1 1500]"},
	} {
		if got := fmt.Sprint(intWeights(tc.in)); got != tc.want {
			t.Errorf("%v: %v, want %s", tc.in, got, tc.want)
		}
	}
}

func TestProblems(t *testing.T) {
	ps := sortProblems(Problems{
		{File: "a.yaml", Pos: Position{Line: 9, Col: 3}, Message: "later", Warning: true},
		{File: "a.yaml", Pos: Position{Line: 12, Col: 5}, Message: "second"},
		{File: "a.yaml", Pos: Position{Line: 2, Col: 1}, Message: "first"},
		{File: "a.yaml", Pos: Position{Line: 2, Col: 1}, Message: "first"},
		{File: "a.yaml", Message: "no position"},
		{File: "a.yaml", Pos: Position{Line: 4}, Message: "no column"},
	})
	want := "a.yaml: no position\n" +
		"a.yaml:2:1: first\n" +
		"a.yaml:4: no column\n" +
		"a.yaml:12:5: second\n" +
		"a.yaml:9:3: warning: later"
	if ps.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", ps.Error(), want)
	}
	if len(ps.Errors()) != 4 {
		t.Errorf("Errors: %v", ps.Errors())
	}
}

// TestParseErrorType checks that every failure is a Problems whose first
// entry is an error with the file name, and that Load names unreadable files.
func TestParseErrorType(t *testing.T) {
	for _, src := range []string{"", "   \n", "- a\n- b\n", "just text", "name: x\n---\nname: y\n", "{", "name: [", "openapi: 2.0\n",
		"openapi: 3.0.0\n", "name: x\nendpoints: 5\n", "name: x\nendpoints:\n  a: {path: /a, mode: proxy}\n"} {
		doc, err := Parse("in.yaml", []byte(src))
		var ps Problems
		if err == nil || doc != nil || !errors.As(err, &ps) || len(ps) == 0 || ps[0].Warning || ps[0].File != "in.yaml" || ps[0].Message == "" {
			t.Errorf("%q: %v %T %v", src, doc, err, err)
		}
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	var ps Problems
	if !errors.As(err, &ps) || !strings.HasSuffix(ps.Error(), "missing.yaml: cannot read: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
}

// TestAliases checks that YAML aliases, merge keys and alias loops are read
// without hanging or blowing up.
func TestAliases(t *testing.T) {
	src := `
name: x
base: &base {status: 200, body: {ok: true}}
endpoints:
  a:
    path: /a
    mock_responses:
      GET: *base
      POST: {<<: *base, status: 201}
`
	doc, err := Parse("a.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	m := doc.Endpoints[0].Mock
	if m["GET"].Status != 200 || m["POST"].Status != 201 || m["POST"].Body == nil {
		t.Errorf("mock: %+v %+v", m["GET"], m["POST"])
	}

	loop := "name: x\nendpoints:\n  a:\n    path: /a\n    responses:\n      \"200\":\n        example: &e [*e]\n"
	if _, err := Parse("loop.yaml", []byte(loop)); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("alias loop: %v", err)
	}

	var bomb strings.Builder
	bomb.WriteString("name: x\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		bomb.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [" + strings.Repeat("*a"+strconv.Itoa(i-1)+", ", 9) + "*a" + strconv.Itoa(i-1) + "]\n")
	}
	bomb.WriteString("endpoints:\n  a:\n    path: /a\n    responses:\n      \"200\":\n        example: *a8\n")
	start := time.Now()
	if _, err := Parse("bomb.yaml", []byte(bomb.String())); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("alias bomb: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("alias bomb took %v", d)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/load/*")
	for _, name := range files {
		if strings.HasSuffix(name, ".golden") || strings.HasSuffix(name, ".md") {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"name: x\nendpoints: []\n", "{}", "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
		"name: a\nendpoints:\n  - {path: '/x/:id', method: [get]}\n", "a: &a [*a]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("fuzz.yaml", data)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if doc != nil || len(ps) == 0 || ps[0].Warning {
				t.Fatalf("failure without an error first: %v", ps)
			}
			for _, p := range ps {
				if p.File != "fuzz.yaml" || p.Message == "" || p.Pos.Line < 0 || p.Pos.Col < 0 {
					t.Fatalf("bad problem %+v", p)
				}
			}
			return
		}
		if doc == nil || doc.OpenAPI == nil {
			t.Fatalf("success without a document: %+v", doc)
		}
		for _, w := range doc.Warnings {
			if !w.Warning {
				t.Fatalf("error among the warnings: %v", w)
			}
		}
		for _, e := range doc.Endpoints {
			if !strings.HasPrefix(e.Path, "/") || e.Name == "" {
				t.Fatalf("endpoint %+v", e)
			}
		}
	})
}
