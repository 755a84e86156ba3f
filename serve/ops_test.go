package serve_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/serve"
)

// proxyDoc has one proxy endpoint in front of target and one mock.
func proxyDoc(target string) *api.Doc {
	return &api.Doc{Name: "proxied", Endpoints: []*api.Endpoint{
		{Name: "api", Path: "/api/{rest*}", Mode: api.ModeProxy, Proxy: &api.Proxy{
			Targets:     []*api.Target{{Name: "backend", URL: target + "/base"}},
			StripPrefix: "/api",
		}},
		{Name: "hello", Path: "/hello", Methods: []string{"GET"}, Mock: map[string]*api.MockResponse{
			"GET": {Status: 200, Body: "hi"},
		}},
	}}
}

func TestProxyMode(t *testing.T) {
	var (
		mu  sync.Mutex
		got []*http.Request
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(r.Context()))
		mu.Unlock()
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(202)
		w.Write([]byte(r.Method + " " + r.URL.RequestURI() + " " + string(b)))
	}))
	defer up.Close()
	var logs syncBuffer
	_, base := startServer(t, serve.Config{Doc: proxyDoc(up.URL),
		AccessLog: slog.New(slog.NewJSONHandler(&logs, nil))})

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := do(t, nil, "POST", base+"/api/things/1?x=y", `{"a":1}`, "Traceparent: "+parent)
	if r.status != 202 || string(r.body) != `POST /base/things/1?x=y {"a":1}` || r.header.Get("X-Upstream") != "yes" {
		t.Fatalf("proxied: %d %q %v", r.status, r.body, r.header)
	}
	mu.Lock()
	tp := got[0].Header.Get("Traceparent")
	xff := got[0].Header.Get("X-Forwarded-For")
	mu.Unlock()
	if !strings.HasPrefix(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || strings.Contains(tp, "00f067aa0ba902b7") || !strings.HasSuffix(tp, "-01") {
		t.Errorf("upstream traceparent %q does not continue %q with a new span", tp, parent)
	}
	if xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", xff)
	}

	// the access log line
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("access log line %q: %v", l, err)
		}
	}
	for k, want := range map[string]any{"method": "POST", "route": "/api/{rest*}", "path": "/api/things/1",
		"status": 202.0, "upstream": "backend", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "match": ""} {
		if line[k] != want {
			t.Errorf("access log %s = %v, want %v (%v)", k, line[k], want, line)
		}
	}
	for _, k := range []string{"time", "duration_seconds", "bytes"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access log lacks %s: %v", k, line)
		}
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	_, base := startServer(t, serve.Config{Doc: proxyDoc(dead)})
	r := do(t, nil, "GET", base+"/api/x", "")
	if r.status != 502 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if p := problem(t, r); !strings.Contains(p.Detail, "backend") {
		t.Errorf("detail %q", p.Detail)
	}
}

func TestAdminEndpoints(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	doc := proxyDoc(strings.Replace(up.URL, "http://", "http://user:s3cret@", 1))
	_, base := startServer(t, serve.Config{Doc: doc})

	do(t, nil, "GET", base+"/hello", "")
	do(t, nil, "GET", base+"/api/x", "")
	do(t, nil, "GET", base+"/nope", "")

	r := do(t, nil, "GET", base+"/__bw/health", "")
	var h struct {
		Status     string
		Endpoints  int
		ReloadedAt string `json:"reloaded_at"`
		Upstreams  []struct {
			Name    string
			Healthy bool
		}
	}
	if err := json.Unmarshal(r.body, &h); err != nil || r.status != 200 {
		t.Fatalf("health: %d %s %v", r.status, r.body, err)
	}
	if h.Status != "ok" || h.Endpoints != 2 || h.ReloadedAt == "" || len(h.Upstreams) != 1 || !h.Upstreams[0].Healthy {
		t.Errorf("health %s", r.body)
	}

	r = do(t, nil, "GET", base+"/__bw/config", "")
	if r.status != 200 || strings.Contains(string(r.body), "s3cret") || !strings.Contains(string(r.body), `"/api/{rest*}"`) {
		t.Errorf("config: %d %s", r.status, r.body)
	}

	r = do(t, nil, "GET", base+"/__bw/metrics", "")
	text := string(r.body)
	for _, want := range []string{
		`http_server_request_duration_seconds_count{method="GET",route="/hello",status="200"} 1`,
		`http_server_request_duration_seconds_count{method="GET",route="",status="404"} 1`,
		`http_server_request_duration_seconds_bucket{method="GET",route="/api/{rest*}",status="200",le="0.005"}`,
		`http_client_request_duration_seconds_count{method="GET",status="200",target="backend"} 1`,
		`bw_upstream_healthy{endpoint="api",target="backend"} 1`,
		`bw_validation_failures_total{direction="response",route=""} 0`,
		"# TYPE bw_ratelimit_rejected_total counter",
		`bw_replay_total`,
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, `route="/api/x"`) || strings.Contains(text, `route="/nope"`) {
		t.Error("metrics are labelled by raw path")
	}
	if r := do(t, nil, "GET", base+"/__bw/else", ""); r.status != 404 {
		t.Errorf("/__bw/else: %d", r.status)
	}
}

func TestResponseValidation(t *testing.T) {
	doc := docFromOpenAPI(t, petstore)
	// a mock answer that breaks the Pet schema
	for _, ep := range doc.Endpoints {
		if ep.Path == "/pets/{petId}" {
			ep.Responses[200].HasExample = false
			ep.Mock = map[string]*api.MockResponse{"GET": {Status: 200, Body: map[string]any{"id": "one", "name": "Rex"}}}
		}
	}
	var logs syncBuffer
	_, base := startServer(t, serve.Config{Doc: doc, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 3 {
		r := do(t, nil, "GET", base+"/pets/1", "")
		if r.status != 200 || r.header.Get("Bw-Validation") != "failed" {
			t.Fatalf("report mode: %d %v %s", r.status, r.header, r.body)
		}
	}
	if n := strings.Count(logs.String(), "response does not match"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	m := do(t, nil, "GET", base+"/__bw/metrics", "")
	if !strings.Contains(string(m.body), `bw_validation_failures_total{direction="response",route="/pets/{petId}"} 3`) {
		t.Errorf("metric missing:\n%s", m.body)
	}

	doc.Security.Validation.Responses = api.Enforce
	_, base = startServer(t, serve.Config{Doc: doc})
	r := do(t, nil, "GET", base+"/pets/1", "")
	if r.status != 502 {
		t.Fatalf("enforce mode: %d %s", r.status, r.body)
	}
	if p := problem(t, r); len(p.Errors) == 0 {
		t.Errorf("502 without errors: %s", r.body)
	}
}

func TestTraceparentStartsNewTrace(t *testing.T) {
	var logs syncBuffer
	_, base := startServer(t, serve.Config{Doc: proxyDoc("http://127.0.0.1:1"),
		AccessLog: slog.New(slog.NewJSONHandler(&logs, nil))})
	do(t, nil, "GET", base+"/hello", "", "Traceparent: garbage")
	var line map[string]any
	json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line)
	if id, _ := line["trace_id"].(string); len(id) != 32 || id == strings.Repeat("0", 32) {
		t.Errorf("trace_id %q", line["trace_id"])
	}
	if line["match"] != "mock; score=0" {
		t.Errorf("match %v", line["match"])
	}
}

func TestRateLimit(t *testing.T) {
	doc := proxyDoc("http://127.0.0.1:1")
	doc.Security.RateLimit = &api.RateLimit{RequestsPerMinute: 60, Burst: 2}
	doc.Endpoints[1].RateLimit = &api.RateLimit{RequestsPerMinute: 600, Burst: 5}
	_, base := startServer(t, serve.Config{Doc: doc})
	var codes []int
	var last *response
	for range 3 {
		last = do(t, nil, "GET", base+"/hello", "")
		codes = append(codes, last.status)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("statuses %v, want 200 200 429", codes)
	}
	problem(t, last)
	if last.header.Get("Retry-After") == "" || last.header.Get("RateLimit-Policy") == "" || last.header.Get("RateLimit") == "" {
		t.Errorf("429 headers: %v", last.header)
	}
	m := do(t, nil, "GET", base+"/__bw/metrics", "")
	if !strings.Contains(string(m.body), `bw_ratelimit_rejected_total{route="/hello"} 1`) {
		t.Errorf("metric missing")
	}
}

func TestTLS(t *testing.T) {
	// borrow httptest's certificate and a client that trusts it
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	defer ts.Close()
	s, _ := startServer(t, serve.Config{Doc: proxyDoc("http://127.0.0.1:1"), TLS: ts.TLS.Clone()})
	r := do(t, ts.Client(), "GET", "https://"+s.Addr()+"/hello", "")
	if r.status != 200 || string(r.body) != "hi" {
		t.Errorf("https: %d %q", r.status, r.body)
	}
}
