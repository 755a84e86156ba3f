package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/serve"
	"github.com/getkin/kin-openapi/openapi3"
)

// startServer starts a server on a free loopback port and closes it when
// the test ends; it returns the server and its base URL.
func startServer(t *testing.T, cfg serve.Config) (*serve.Server, string) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := serve.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Logf("close took %v", d)
		}
	})
	return s, "http://" + s.Addr()
}

// testLogger logs through t, at debug level with -v.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(&tWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *tWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// response is a finished HTTP exchange as a test sees it.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// do sends a request with an optional body ("" for none) and headers as
// "Name: value" strings.
func do(t *testing.T, client *http.Client, method, url, body string, headers ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

// problem decodes a problem+json body.
func problem(t *testing.T, r *response) serve.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, r.body)
	}
	var p serve.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != r.status || p.Type == "" || p.Title == "" {
		t.Errorf("problem %+v does not match status %d or lacks type/title", p, r.status)
	}
	return p
}

// docFromOpenAPI builds an api.Doc from an OpenAPI document the way
// api.Load does for OpenAPI input: one endpoint per operation, examples
// from the media types.
func docFromOpenAPI(t *testing.T, src string) *api.Doc {
	t.Helper()
	loader := openapi3.NewLoader()
	oa, err := loader.LoadFromData([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := oa.Validate(loader.Context); err != nil {
		t.Fatal(err)
	}
	doc := &api.Doc{Name: oa.Info.Title, OpenAPI: oa}
	paths := oa.Paths.InMatchingOrder()
	slices.Sort(paths)
	for _, p := range paths {
		item := oa.Paths.Value(p)
		methods := make([]string, 0)
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			op := item.Operations()[m]
			ep := &api.Endpoint{Name: strings.ToLower(m) + strings.ReplaceAll(p, "/", "_"), Path: p, Methods: []string{m},
				Responses: map[int]*api.Response{}}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				for ct, mt := range rb.Value.Content {
					ep.Request = &api.Request{ContentType: ct, Required: rb.Value.Required}
					if mt.Schema != nil {
						ep.Request.Schema = mt.Schema.Value
					}
				}
			}
			for code, ref := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil || ref.Value == nil {
					continue
				}
				r := &api.Response{Headers: map[string]*openapi3.Schema{}}
				for ct, mt := range ref.Value.Content {
					r.ContentType = ct
					if mt.Schema != nil {
						r.Schema = mt.Schema.Value
					}
					if mt.Example != nil {
						r.Example, r.HasExample = mt.Example, true
					}
				}
				for name, h := range ref.Value.Headers {
					if h.Value != nil && h.Value.Schema != nil {
						r.Headers[name] = h.Value.Schema.Value
					}
				}
				ep.Responses[status] = r
			}
			doc.Endpoints = append(doc.Endpoints, ep)
		}
	}
	return doc
}
