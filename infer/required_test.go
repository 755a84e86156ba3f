package infer

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/backworks/bw/serve"
)

// queryParams maps the query and header parameters of an operation by name.
func opParams(doc map[string]any, path, method string) map[string]map[string]any {
	out := map[string]map[string]any{}
	ps, _ := dig(doc, "paths", path, method, "parameters").([]any)
	for _, p := range ps {
		m := p.(map[string]any)
		out[m["name"].(string)] = m
	}
	return out
}

// alwaysLimit is a client that always sends ?limit= and X-Client.
func alwaysLimit(n int) []ex {
	var exs []ex
	for i := range n {
		exs = append(exs, ex{method: "GET", path: fmt.Sprintf("/items?limit=%d", 10+i),
			header: [][2]string{{"X-Client", "web"}}, resp: `[{"id":1}]`})
	}
	return exs
}

// TestQueryOptionalWithoutRejection: rule 18. A client that always sends a
// parameter proves nothing; a 400 for a request without it, while requests
// with it succeeded, does.
func TestQueryOptionalWithoutRejection(t *testing.T) {
	doc, out := openapi(t, alwaysLimit(8), Options{})
	ps := opParams(doc, "/items", "get")
	if ps["limit"] == nil || ps["limit"]["required"] != false {
		t.Errorf("limit always sent is optional: %v\n%s", ps["limit"], out)
	}
	if ps["X-Client"] == nil || ps["X-Client"]["required"] != false {
		t.Errorf("X-Client always sent is optional: %v\n%s", ps["X-Client"], out)
	}

	exs := append(alwaysLimit(8),
		ex{method: "GET", path: "/items", header: [][2]string{{"X-Client", "web"}}, status: 400, resp: `{"error":"limit is required"}`},
		ex{method: "GET", path: "/items?limit=5", status: 422, resp: `{"error":"X-Client is required"}`},
		// An auth failure without the parameter is no evidence.
		ex{method: "GET", path: "/items?other=1", status: 401, resp: `{"error":"no"}`},
	)
	doc, out = openapi(t, exs, Options{})
	ps = opParams(doc, "/items", "get")
	if ps["limit"]["required"] != true {
		t.Errorf("limit, rejected without it: %v\n%s", ps["limit"], out)
	}
	if ps["X-Client"]["required"] != true {
		t.Errorf("X-Client, rejected without it: %v\n%s", ps["X-Client"], out)
	}

	// Only a 401 without it: still optional.
	exs = append(alwaysLimit(8), ex{method: "GET", path: "/items", status: 401, resp: `{"error":"no"}`})
	doc, out = openapi(t, exs, Options{})
	if p := opParams(doc, "/items", "get")["limit"]; p["required"] != false {
		t.Errorf("limit with only a 401 without it: %v\n%s", p, out)
	}
}

// TestOnlyErrorsLearnRequests: rule 21. An operation answered only with 4xx
// still gets its parameters and request body, from those requests.
func TestOnlyErrorsLearnRequests(t *testing.T) {
	var exs []ex
	for i := range 4 {
		exs = append(exs, ex{method: "POST", path: fmt.Sprintf("/orders?dry=%d", i%2), status: 422,
			req:  fmt.Sprintf(`{"sku":"a%d","qty":%d}`, i, i),
			resp: `{"error":"out of stock"}`})
	}
	exs = append(exs, ex{method: "GET", path: "/orders", resp: `[]`})
	doc, out := openapi(t, exs, Options{})
	op := dig(doc, "paths", "/orders", "post")
	if dig(op, "x-bw-only-errors") != true {
		t.Fatalf("not marked x-bw-only-errors:\n%s", out)
	}
	if p := opParams(doc, "/orders", "post")["dry"]; p == nil || dig(p, "schema", "type") != "integer" {
		t.Errorf("query dry not learned: %v\n%s", p, out)
	}
	props := dig(op, "requestBody", "content", "application/json", "schema", "properties")
	if dig(props, "sku", "type") != "string" || dig(props, "qty", "type") != "integer" {
		t.Errorf("request body not learned from the 422s:\n%s", out)
	}
	if dig(op, "responses", "422") == nil {
		t.Errorf("no 422 response:\n%s", out)
	}
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// inferredLimitSpec writes the OpenAPI (or Backworks YAML) inferred from a
// client that always sent ?limit= to a file and returns its path.
func inferredLimitSpec(t *testing.T, backworks bool) string {
	t.Helper()
	api, err := Infer(context.Background(), buildDB(t, alwaysLimit(8), false), Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.OpenAPI("3.1", false)
	if backworks {
		out, err = api.Backworks()
	}
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// getStatus sends GET url and returns the status code.
func getStatus(t *testing.T, url string, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeAcceptsWithoutAlwaysSentQuery: bw serve of a spec inferred from a
// client that always sent ?limit= accepts a request without it (rule 18),
// over a real socket.
func TestServeAcceptsWithoutAlwaysSentQuery(t *testing.T) {
	for _, backworks := range []bool{false, true} {
		t.Run(map[bool]string{false: "openapi", true: "backworks"}[backworks], func(t *testing.T) {
			serveWithoutLimit(t, inferredLimitSpec(t, backworks))
		})
	}
}

func serveWithoutLimit(t *testing.T, file string) {
	s, err := serve.New(serve.Config{File: file, Listen: "127.0.0.1:0", NoReload: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	base := "http://" + s.Addr()
	if st := getStatus(t, base+"/items", nil); st >= 400 {
		t.Errorf("GET /items without limit or X-Client: %d, want success", st)
	}
	if st := getStatus(t, base+"/items?limit=3", map[string]string{"X-Client": "web"}); st >= 400 {
		t.Errorf("GET /items?limit=3: %d, want success", st)
	}
}

// TestPrismAcceptsWithoutAlwaysSentQuery: Prism, mocking the same spec,
// validates requests against it and must accept one without limit.
func TestPrismAcceptsWithoutAlwaysSentQuery(t *testing.T) {
	prism, err := exec.LookPath("prism")
	if err != nil {
		t.Skip("prism not on PATH (make eval installs it); skipping the Prism check")
	}
	if testing.Short() {
		t.Skip("starts Prism; skipped with -short")
	}
	file := inferredLimitSpec(t, false)
	port := freePort(t)
	cmd := exec.Command(prism, "mock", file, "-h", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/items?limit=3")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prism did not start: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st := getStatus(t, base+"/items", nil); st >= 400 {
		t.Errorf("Prism GET /items without limit or X-Client: %d, want success", st)
	}
}

// TestRequestBodyRequiredNeedsVariedSamples: rule 11. Request-body fields
// are required only with minRequestBodies distinct bodies; the same body
// sent again and again is one sample.
func TestRequestBodyRequiredNeedsVariedSamples(t *testing.T) {
	required := func(bodies ...string) string {
		var exs []ex
		for _, b := range bodies {
			exs = append(exs, ex{method: "POST", path: "/pets", req: b, status: 201, resp: `{"id":1}`})
		}
		doc, out := openapi(t, exs, Options{})
		s := deref(doc, dig(doc, "paths", "/pets", "post", "requestBody", "content", "application/json", "schema"))
		if s == nil {
			t.Fatalf("no request schema:\n%s", out)
		}
		return fmt.Sprint(dig(s, "required"))
	}
	same := `{"name":"rex","tag":"dog"}`
	if got := required(same, same, same, same, same); got != "<nil>" {
		t.Errorf("one body sent five times: required %s, want none", got)
	}
	if got := required(`{"name":"rex","tag":"dog"}`, `{"name":"tom","tag":"cat"}`); got != "<nil>" {
		t.Errorf("two distinct bodies: required %s, want none", got)
	}
	if got := required(`{"name":"rex","tag":"dog"}`, `{"name":"tom","tag":"cat"}`, `{"name":"bo"}`); got != "[name]" {
		t.Errorf("three distinct bodies: required %s, want [name]", got)
	}
}

// TestPoolingNeedsAgreeingKeySets: rule 11. An object seen once takes
// required keys from instances elsewhere only when their key sets agree;
// partial presence elsewhere makes a key optional.
func TestPoolingNeedsAgreeingKeySets(t *testing.T) {
	reqOf := func(exs []ex, path string) string {
		doc, _ := openapi(t, exs, Options{})
		return fmt.Sprint(dig(deref(doc, dig(doc, "paths", path, "get", "responses", "200", "content", "application/json", "schema")), "required"))
	}
	var other []ex
	for i := range 4 {
		other = append(other, ex{method: "GET", path: "/b", resp: fmt.Sprintf(`{"id":%d,"name":"n","tag":"t","x":1}`, i)})
	}
	one := ex{method: "GET", path: "/a", resp: `{"id":1,"name":"n","tag":"t"}`}
	if got := reqOf(append(other, one), "/a"); got != "<nil>" {
		t.Errorf("seen once, key sets differ: required %s, want none", got)
	}
	var same []ex
	for i := range 4 {
		same = append(same, ex{method: "GET", path: "/c", resp: fmt.Sprintf(`{"id":%d,"name":"n","tag":"t"}`, i)})
	}
	if got := reqOf(append(same, one), "/a"); got != "[id name tag]" {
		t.Errorf("seen once, same key set elsewhere: required %s, want [id name tag]", got)
	}
	partial := append([]ex(nil), same...)
	partial[0].resp = `{"id":0,"name":"n"}`
	if got := reqOf(append(partial, ex{method: "GET", path: "/a", resp: `{"id":1,"name":"n","tag":"t"}`},
		ex{method: "GET", path: "/a", resp: `{"id":2,"name":"m","tag":"u"}`}), "/a"); got != "[id name]" {
		t.Errorf("tag missing from an instance elsewhere: required %s, want [id name]", got)
	}
}
