package serve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/serve"
	"github.com/backworks/bw/store"
)

// genSpec writes an OpenAPI 3.0 document with n operations (n/2 paths,
// each with GET and POST), parameters, request and response schemas that
// share components, and no examples.
func genSpec(n int) []byte {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: generated, version: \"1\"}\npaths:\n")
	for i := range n / 2 {
		fmt.Fprintf(&b, `  /r%d/items/{id}:
    get:
      operationId: get%d
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: q, in: query, schema: {type: string, maxLength: 50}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Item'}
        "404": {description: none}
    post:
      operationId: post%d
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewItem'}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Item'}
`, i, i, i)
	}
	b.WriteString(`components:
  schemas:
    NewItem:
      type: object
      required: [name, price]
      properties:
        name: {type: string, minLength: 1, maxLength: 100}
        price: {type: number, minimum: 0}
        tags: {type: array, items: {type: string}}
        created: {type: string, format: date-time}
    Item:
      allOf:
        - $ref: '#/components/schemas/NewItem'
        - type: object
          required: [id]
          properties:
            id: {type: integer, format: int64}
            owner: {type: string, format: email}
`)
	return []byte(b.String())
}

// BenchmarkStartup500 measures what bw serve does before it listens, for a
// spec of 500 operations without recordings: api.Parse of the file and
// serve.New.
func BenchmarkStartup500(b *testing.B) {
	spec := genSpec(500)
	file := filepath.Join(b.TempDir(), "spec.yaml")
	if err := os.WriteFile(file, spec, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("load+new", func(b *testing.B) {
		for b.Loop() {
			s, err := serve.New(serve.Config{File: file, NoReload: true})
			if err != nil {
				b.Fatal(err)
			}
			s.Close(context.Background())
		}
	})
	doc, err := api.Parse(file, spec)
	if err != nil {
		b.Fatal(err)
	}
	if len(doc.Endpoints) != 500 {
		b.Fatalf("%d endpoints", len(doc.Endpoints))
	}
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			s, err := serve.New(serve.Config{Doc: doc})
			if err != nil {
				b.Fatal(err)
			}
			s.Close(context.Background())
		}
	})
}

// TestStartup500 keeps the startup promise: < 200ms for 500 operations.
func TestStartup500(t *testing.T) {
	file := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(file, genSpec(500), 0o644); err != nil {
		t.Fatal(err)
	}
	best := time.Hour
	for range 3 {
		start := time.Now()
		s, err := serve.New(serve.Config{File: file, NoReload: true})
		if err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
		s.Close(context.Background())
	}
	t.Logf("500 operations: load and build in %v", best)
	limit := 200 * time.Millisecond
	if raceEnabled {
		limit *= 10
	}
	if best > limit {
		t.Errorf("startup took %v, want < %v", best, limit)
	}
	// every operation answers with a generated example that validates
	s, base := startServer(t, serve.Config{File: file, NoReload: true})
	_ = s
	for _, path := range []string{"/r0/items/1", "/r249/items/7?limit=3"} {
		r := do(t, nil, "GET", base+path, "")
		if r.status != 200 || r.header.Get("Bw-Match") != "schema; score=0" || r.header.Get("Bw-Validation") != "" {
			t.Errorf("GET %s: %d %v %s", path, r.status, r.header, r.body)
		}
	}
}

// BenchmarkReplay measures one replayed request in process (no network):
// an exact match with validation on, a scored match, and a generated
// example.
func BenchmarkReplay(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{})
	for i := range 1000 {
		w.Write(context.Background(), &store.Exchange{
			Start: time.Now(),
			Request: store.Request{Method: "GET", Scheme: "http", Host: "api.test", Path: fmt.Sprintf("/r%d/items/%d", i%10, i),
				RawQuery: "limit=10", Proto: "HTTP/1.1"},
			Response: store.Response{Status: 200, Proto: "HTTP/1.1",
				Header: store.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Request-Id", Value: fmt.Sprint(i)}},
				Body:   store.Body{Data: []byte(fmt.Sprintf(`{"id":%d,"name":"item %d","price":9.5,"tags":["a","b"],"created":"2024-01-01T00:00:00Z"}`, i, i))}},
		})
	}
	w.Close()
	db.Close()
	doc, err := api.Parse("spec.yaml", genSpec(22))
	if err != nil {
		b.Fatal(err)
	}
	s, err := serve.New(serve.Config{Doc: doc, DB: path})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	for _, bc := range []struct{ name, url string }{
		{"exact", "/r3/items/13?limit=10"},
		{"scored", "/r3/items/99999?limit=10"},
		{"schema", "/r10/items/1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.url, nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := &discardWriter{h: http.Header{}}
				s.ServeHTTP(rec, req)
				if rec.status != 200 {
					b.Fatalf("status %d", rec.status)
				}
			}
		})
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(b []byte) (int, error) { return io.Discard.Write(b) }
