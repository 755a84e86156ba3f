package infer

import (
	"context"
	"strings"
	"testing"

	"github.com/backworks/bw/store"
	"gopkg.in/yaml.v3"
)

// Recordings imported by older versions hold HTTP/2 pseudo-headers among
// the headers; they are the request and status lines, never parameters or
// documented response headers.
func TestPseudoHeadersAreNotParameters(t *testing.T) {
	var exs []ex
	for i := range 4 {
		exs = append(exs, ex{method: "GET", path: "/orders?page=1", resp: `{"items":[]}`, header: [][2]string{
			{":authority", "api.test"}, {":method", "GET"}, {":path", "/orders?page=1"}, {":scheme", "https"},
			{":protocol", "websocket"}, {"X-Tenant", []string{"a", "b"}[i%2]},
		}})
	}
	db := buildDB(t, exs, false)
	// Responses with ":status" and a pseudo-header named like a useful one.
	w := db.NewWriter(store.WriterOptions{NoRedact: true})
	for i := range 2 {
		x := ex{method: "POST", path: "/orders", req: `{"sku":"a"}`, resp: `{"id":1}`, status: 201,
			header: [][2]string{{":method", "POST"}, {":path", "/orders"}}}.exchange(10 + i)
		x.Response.Header = append(store.Header{{Name: ":status", Value: "201"}, {Name: ":location", Value: "/x"}},
			append(x.Response.Header, store.Field{Name: "Location", Value: "/orders/1"})...)
		if err := w.Write(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	doc, out := openapiFrom(t, db, Options{})
	var names []string
	for _, p := range dig(doc, "paths", "/orders", "get", "parameters").([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "page,X-Tenant" {
		t.Errorf("GET /orders parameters = %v, want page and X-Tenant\n%s", names, out)
	}
	hs, _ := dig(doc, "paths", "/orders", "post", "responses", "201", "headers").(map[string]any)
	if len(hs) != 1 || hs["Location"] == nil {
		t.Errorf("201 headers = %v, want Location only", hs)
	}

	api, err := Infer(context.Background(), db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bw, err := api.Backworks()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{out, string(bw)} {
		var v any
		if err := yaml.Unmarshal([]byte(o), &v); err != nil {
			t.Fatal(err)
		}
		if k := pseudoKey(v); k != "" {
			t.Errorf("output holds %q:\n%s", k, o)
		}
	}
	if !strings.Contains(string(bw), "X-Tenant") {
		t.Errorf("Backworks output lacks the X-Tenant header:\n%s", bw)
	}
}

// pseudoKey returns a parameter name or map key starting with ':' in a
// parsed document, or "".
func pseudoKey(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.HasPrefix(k, ":") {
				return k
			}
			if s, ok := e.(string); ok && k == "name" && strings.HasPrefix(s, ":") {
				return s
			}
			if k := pseudoKey(e); k != "" {
				return k
			}
		}
	case []any:
		for _, e := range x {
			if k := pseudoKey(e); k != "" {
				return k
			}
		}
	}
	return ""
}
