package api

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/backworks/bw/infer"
	"github.com/backworks/bw/store"
)

// TestLoadInferOutput infers an API from recordings with bw's own infer
// package and loads what it writes: Backworks YAML and OpenAPI 3.0 and 3.1,
// with zero problems. (testdata/load/bw-demo.yaml is the same for the
// sample API that make demo records.)
func TestLoadInferOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(store.WriterOptions{})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	i := 0
	add := func(method, p, query string, reqBody string, status int, ct, body string) {
		ex := &store.Exchange{
			Start:  t0.Add(time.Duration(i) * time.Second),
			Source: store.SourceProxy,
			Request: store.Request{Method: method, Scheme: "http", Host: "shop.test", Path: p, RawQuery: query, Proto: "HTTP/1.1",
				Header: store.Header{{Name: "Authorization", Value: "Bearer abc.def.ghi"}}},
			Response: store.Response{Status: status, Proto: "HTTP/1.1"},
		}
		if reqBody != "" {
			ex.Request.Header = append(ex.Request.Header, store.Field{Name: "Content-Type", Value: "application/json"})
			ex.Request.Body = store.Body{Data: []byte(reqBody), Size: int64(len(reqBody))}
		}
		if body != "" {
			ex.Response.Header = store.Header{{Name: "Content-Type", Value: ct}, {Name: "X-Request-Id", Value: fmt.Sprint("r", i)}}
			ex.Response.Body = store.Body{Data: []byte(body), Size: int64(len(body))}
		}
		w.Write(context.Background(), ex)
		i++
	}
	for n := 1; n <= 30; n++ {
		note := "null"
		if n%3 == 0 {
			note = fmt.Sprintf(`"note number %d, unique"`, n)
		}
		add("GET", fmt.Sprintf("/users/%d", n), "", "", 200, "application/json",
			fmt.Sprintf(`{"id":%d,"name":"user %d","email":"u%d@example.com","note":%s,"tags":["a","b"],"score":%d.5}`, n, n, n, note, n))
		add("GET", "/users", fmt.Sprintf("limit=%d", n), "", 200, "application/json",
			fmt.Sprintf(`{"data":[{"id":%d,"name":"user %d"}],"total":%d}`, n, n, 100+n))
		add("POST", "/users", "", fmt.Sprintf(`{"name":"new %d","email":"n%d@example.com"}`, n, n), 201, "application/json",
			fmt.Sprintf(`{"id":%d,"name":"new %d"}`, 1000+n, n))
	}
	for n := 0; n < 5; n++ {
		add("GET", fmt.Sprintf("/users/%d", 900+n), "", "", 404, "application/problem+json",
			fmt.Sprintf(`{"type":"about:blank","title":"Not Found","status":404,"detail":"user %d does not exist"}`, 900+n))
		add("DELETE", fmt.Sprintf("/users/%d", n+1), "", "", 204, "", "")
	}
	w.Close()
	defer db.Close()

	api, err := infer.Infer(context.Background(), db, infer.Options{Title: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	bw, err := api.Backworks()
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string][]byte{"api.yaml": bw}
	for _, v := range []string{"3.0", "3.1"} {
		for _, asJSON := range []bool{false, true} {
			data, err := api.OpenAPI(v, asJSON)
			if err != nil {
				t.Fatal(err)
			}
			outputs[fmt.Sprintf("openapi-%s-json=%v", v, asJSON)] = data
		}
	}
	for name, data := range outputs {
		doc, err := Parse(name, data)
		if err != nil {
			t.Errorf("%s does not load:\n%v\n%s", name, err, data)
			continue
		}
		if len(doc.Warnings) > 0 {
			t.Errorf("%s: warnings: %v", name, Problems(doc.Warnings))
		}
		if len(doc.Endpoints) != 4 {
			t.Errorf("%s: %d endpoints, want 4", name, len(doc.Endpoints))
		}
		if doc.OpenAPI == nil {
			t.Errorf("%s: no OpenAPI document", name)
		}
	}
}
