package infer

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backworks/bw/store"
)

// dbOf writes exchanges as they are to a store in a temporary directory.
func dbOf(t *testing.T, xs []*store.Exchange) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "bw.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := db.NewWriter(store.WriterOptions{NoRedact: true})
	for _, x := range xs {
		w.Write(context.Background(), x)
	}
	w.Close()
	return db
}

// deref follows a $ref into components/schemas.
func deref(doc map[string]any, s any) any {
	if ref, ok := dig(s, "$ref").(string); ok {
		return dig(doc, "components", "schemas", strings.TrimPrefix(ref, "#/components/schemas/"))
	}
	return s
}

// TestBogusContentEncoding: rule 3. A body whose Content-Encoding names no
// coding bw knows, or a wrong one, but that is JSON as it stands, is JSON.
func TestBogusContentEncoding(t *testing.T) {
	codings := []string{"null", "identity", "", "none", "garbage", "gzip", "br"}
	var xs []*store.Exchange
	for i, enc := range codings {
		for j := range 2 {
			x := ex{method: "POST", path: fmt.Sprintf("/e%d", i), status: 201,
				req:  fmt.Sprintf(`{"name":"n%d","size":%d}`, j, j),
				resp: fmt.Sprintf(`{"id":%d,"ok":true}`, j)}.exchange(2*i + j)
			x.Response.Header = append(x.Response.Header, store.Field{Name: "Content-Encoding", Value: enc})
			x.Request.Header = append(x.Request.Header, store.Field{Name: "Content-Encoding", Value: enc})
			xs = append(xs, x)
		}
	}
	doc, out := openapiFrom(t, dbOf(t, xs), Options{})
	for i, enc := range codings {
		op := dig(doc, "paths", fmt.Sprintf("/e%d", i), "post")
		resp := deref(doc, dig(op, "responses", "201", "content", "application/json", "schema"))
		if dig(resp, "properties", "id", "type") != "integer" || dig(resp, "properties", "ok", "type") != "boolean" {
			t.Errorf("Content-Encoding %q: response not JSON: %v\n%s", enc, resp, out)
		}
		req := deref(doc, dig(op, "requestBody", "content", "application/json", "schema"))
		if dig(req, "properties", "name", "type") != "string" {
			t.Errorf("Content-Encoding %q: request not JSON: %v", enc, req)
		}
	}
	// A body that is not JSON under a coding that does not decode stays
	// binary.
	x := ex{method: "GET", path: "/bin", resp: "\x01\x02garbage"}.exchange(0)
	x.Response.Header = append(x.Response.Header, store.Field{Name: "Content-Encoding", Value: "gzip"})
	doc, out = openapiFrom(t, dbOf(t, []*store.Exchange{x}), Options{})
	if f := dig(doc, "paths", "/bin", "get", "responses", "200", "content", "application/json", "schema", "format"); f != "binary" {
		t.Errorf("undecodable non-JSON body: format %v\n%s", f, out)
	}
}

// TestOnlyNullAndEmptyArrays: rule 12 and 14. A field only ever null is
// nullable with no type and never required; empty arrays claim no items.
func TestOnlyNullAndEmptyArrays(t *testing.T) {
	var exs []ex
	for i := range 4 {
		exs = append(exs, ex{method: "GET", path: "/x", resp: fmt.Sprintf(`{"id":%d,"gone":null,"list":[]}`, i)})
	}
	doc, out := openapi(t, exs, Options{})
	s := dig(doc, "paths", "/x", "get", "responses", "200", "content", "application/json", "schema")
	gone := dig(s, "properties", "gone").(map[string]any)
	if _, typed := gone["type"]; typed {
		t.Errorf("only-null field has a type: %v\n%s", gone, out)
	}
	if items := dig(s, "properties", "list", "items"); fmt.Sprint(items) != "map[]" {
		t.Errorf("empty arrays claimed items %v\n%s", items, out)
	}
	if req := fmt.Sprint(dig(s, "required")); req != "[id list]" {
		t.Errorf("required = %s, want [id list]\n%s", req, out)
	}
}
