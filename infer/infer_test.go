package infer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/backworks/bw/store"
	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// ex is a compact way to write a test exchange.
type ex struct {
	method, path string
	status       int
	resp         string // JSON unless respType says otherwise
	req          string
	respType     string
	reqType      string
	header       [][2]string
}

func (e ex) exchange(i int) *store.Exchange {
	path, query, _ := strings.Cut(e.path, "?")
	x := &store.Exchange{
		Source: store.SourceProxy,
		Start:  time.Unix(1700000000, 0).Add(time.Duration(i) * time.Second),
		Request: store.Request{Method: e.method, Scheme: "http", Host: "api.test", Path: path,
			RawQuery: query, Proto: "HTTP/1.1"},
		Response: store.Response{Status: e.status, Proto: "HTTP/1.1"},
	}
	if x.Response.Status == 0 {
		x.Response.Status = 200
	}
	for _, h := range e.header {
		x.Request.Header = append(x.Request.Header, store.Field{Name: h[0], Value: h[1]})
	}
	if e.resp != "" {
		ct := e.respType
		if ct == "" {
			ct = "application/json"
		}
		x.Response.Header = store.Header{{Name: "Content-Type", Value: ct}}
		x.Response.Body = store.Body{Data: []byte(e.resp), Size: int64(len(e.resp))}
	}
	if e.req != "" {
		ct := e.reqType
		if ct == "" {
			ct = "application/json"
		}
		x.Request.Header = append(x.Request.Header, store.Field{Name: "Content-Type", Value: ct})
		x.Request.Body = store.Body{Data: []byte(e.req), Size: int64(len(e.req))}
	}
	return x
}

func buildDB(t testing.TB, exs []ex, redact bool) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "bw.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := db.NewWriter(store.WriterOptions{NoRedact: !redact})
	for i, e := range exs {
		w.Write(context.Background(), e.exchange(i))
	}
	w.Close()
	return db
}

// openapi infers exs and returns the OpenAPI 3.1 document, parsed.
func openapi(t testing.TB, exs []ex, opts Options) (map[string]any, string) {
	t.Helper()
	return openapiFrom(t, buildDB(t, exs, false), opts)
}

func openapiFrom(t testing.TB, db *store.DB, opts Options) (map[string]any, string) {
	t.Helper()
	api, err := Infer(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.OpenAPI("3.1", false)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, out)
	}
	return doc, string(out)
}

func pathKeys(doc map[string]any) []string {
	return sortedKeys(doc["paths"].(map[string]any))
}

// dig walks a parsed document: dig(doc, "paths", "/x", "get").
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestPathTemplates(t *testing.T) {
	user := `{"id":1,"name":"ann","email":"a@b.co"}`
	pet := `{"id":42,"name":"rex","status":"available"}`
	var exs []ex
	for _, id := range []string{"1", "23", "456", "7890"} {
		exs = append(exs, ex{method: "GET", path: "/users/" + id, resp: user})
		exs = append(exs, ex{method: "GET", path: "/pets/" + id, resp: pet})
	}
	exs = append(exs,
		ex{method: "GET", path: "/users/me", resp: user},
		ex{method: "GET", path: "/pets/findByStatus?status=available", resp: "[" + pet + "]"},
		ex{method: "GET", path: "/pets/findByTags?tags=a", resp: "[" + pet + "]"},
		// dates and short codes are parameters on one sample
		ex{method: "GET", path: "/reports/2024-05-01", resp: `{"total":1}`},
		ex{method: "GET", path: "/orders/ab12cd34", resp: `{"total":1}`},
		ex{method: "GET", path: "/orders/550e8400-e29b-41d4-a716-446655440000", resp: `{"total":1}`},
		// two text values are no evidence: Optic's over-parameterization
		ex{method: "GET", path: "/teams/alpha", resp: `{"members":[]}`},
		ex{method: "GET", path: "/teams/beta", resp: `{"members":[]}`},
		// version tokens and the first segment stay literal
		ex{method: "GET", path: "/v1/status", resp: `{"ok":true}`},
		ex{method: "GET", path: "/v2/status", resp: `{"ok":true}`},
	)
	doc, out := openapi(t, exs, Options{})
	want := []string{
		"/orders/{orderId}", "/pets/findByStatus", "/pets/findByTags", "/pets/{petId}",
		"/reports/{date}", "/teams/alpha", "/teams/beta", "/users/me", "/users/{userId}",
		"/v1/status", "/v2/status",
	}
	if got := pathKeys(doc); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paths:\n got %v\nwant %v\n%s", got, want, out)
	}
}

func TestTextParametersNeedEvidence(t *testing.T) {
	article := func(slug string) string { return `{"article":{"slug":"` + slug + `","title":"t"}}` }
	var exs []ex
	// Slugs made of dictionary words, each seen once, beside a literal that is
	// hit again and again with its own shape.
	for _, s := range []string{"spring-maple", "river", "cedar-harbor-stone", "blue-orbit", "north"} {
		exs = append(exs, ex{method: "GET", path: "/articles/" + s, resp: article(s)})
	}
	for range 5 {
		exs = append(exs, ex{method: "GET", path: "/articles/feed", resp: `{"articles":[],"articlesCount":0}`})
	}
	// Person names (not dictionary words) with a literal child route.
	for _, u := range []string{"alice-smith", "bob-jones", "carol-chen", "dave-kim"} {
		exs = append(exs, ex{method: "POST", path: "/profiles/" + u + "/follow", resp: `{"profile":{"username":"x"}}`})
	}
	exs = append(exs, ex{method: "GET", path: "/profiles/erin-patel", resp: `{"profile":{"username":"x"}}`})
	doc, out := openapi(t, exs, Options{})
	want := []string{"/articles/feed", "/articles/{article}", "/profiles/{profile}", "/profiles/{profile}/follow"}
	if got := pathKeys(doc); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paths:\n got %v\nwant %v\n%s", got, want, out)
	}
}

func TestHintsOverride(t *testing.T) {
	var exs []ex
	for _, id := range []string{"1", "2", "3", "4"} {
		exs = append(exs, ex{method: "GET", path: "/files/" + id + "/raw", resp: `{"a":1}`})
	}
	exs = append(exs,
		ex{method: "GET", path: "/repos/octo/hello", resp: `{"a":1}`},
		ex{method: "GET", path: "/users/42", resp: `{"a":1}`},
	)
	doc, out := openapi(t, exs, Options{Paths: []string{"/repos/{owner}/{repo}", "^/users/42"}})
	want := []string{"/files/{fileId}/raw", "/repos/{owner}/{repo}", "/users/42"}
	if got := pathKeys(doc); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paths:\n got %v\nwant %v\n%s", got, want, out)
	}
}

func TestSchemaMerging(t *testing.T) {
	exs := []ex{
		{method: "GET", path: "/items/1", resp: `{"id":1,"price":10,"note":null,"tags":[],"gone":null,"kind":"a","when":"2024-05-01T10:00:00Z","owner":{"id":1}}`},
		{method: "GET", path: "/items/2", resp: `{"id":2,"price":10.5,"note":"x","tags":["a"],"gone":null,"kind":"b","when":"2024-05-02T10:00:00Z","extra":1,"owner":{"id":2}}`},
		{method: "GET", path: "/items/3", resp: `{"id":3,"price":3,"note":"y","tags":["b","c"],"gone":null,"kind":"a","when":"not a date","owner":{"id":"x"}}`},
	}
	doc, out := openapi(t, exs, Options{})
	s := dig(doc, "paths", "/items/{itemId}", "get", "responses", "200", "content", "application/json", "schema")
	props := dig(s, "properties").(map[string]any)
	check := func(name string, want string) {
		t.Helper()
		var w any
		if err := yaml.Unmarshal([]byte(want), &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(props[name], w) {
			got, _ := yaml.Marshal(props[name])
			t.Errorf("%s:\n%s\nwant\n%s\n\n%s", name, got, want, out)
		}
	}
	check("id", "type: integer")
	check("price", "type: number")                       // integer + number widens (rule 13)
	check("note", "type:\n    - string\n    - \"null\"") // null is not absence (rule 12)
	check("gone", "description: only null was observed") // only ever null: nullable, no type, optional
	check("tags", "type: array\nitems:\n    type: string")
	check("when", "type: string") // one value is not a date-time: no format (rule 17)
	check("owner", "type: object\nproperties:\n    id:\n        oneOf:\n            - type: integer\n            - type: string\nrequired:\n    - id")
	req := fmt.Sprint(dig(s, "required"))
	if req != "[id kind note owner price tags when]" {
		t.Errorf("required = %s (extra appears once: optional; first sample does not win)", req)
	}
}

func TestFormatsEnumsAndQuery(t *testing.T) {
	var exs []ex
	for i := range 16 {
		status := []string{"open", "closed"}[i%2]
		exs = append(exs, ex{method: "GET",
			path: fmt.Sprintf("/tickets?page=%d&sort=%s&ids=1,2&tag=a&tag=b&flag=true", i, status),
			resp: fmt.Sprintf(`[{"id":"%s","email":"u%d@example.com","ip":"10.0.0.%d","day":"2024-05-%02d","status":"%s","url":"https://x.example/%d"}]`,
				[]string{"550e8400-e29b-41d4-a716-446655440000", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"}[i%2], i, i, i+1, status, i)})
	}
	exs = append(exs, ex{method: "GET", path: "/tickets?page=1", resp: `[]`})
	doc, out := openapi(t, exs, Options{})
	item := dig(doc, "paths", "/tickets", "get", "responses", "200", "content", "application/json", "schema", "items", "properties")
	for field, format := range map[string]string{"id": "uuid", "email": "email", "ip": "ipv4", "day": "date", "url": "uri"} {
		if got := dig(item, field, "format"); got != format {
			t.Errorf("%s format = %v, want %s", field, got, format)
		}
	}
	if got := fmt.Sprint(dig(item, "status", "enum")); got != "[closed open]" {
		t.Errorf("status enum = %s\n%s", got, out)
	}
	params := map[string]map[string]any{}
	for _, p := range dig(doc, "paths", "/tickets", "get", "parameters").([]any) {
		params[p.(map[string]any)["name"].(string)] = p.(map[string]any)
	}
	// Always sent, never shown rejected without it: optional (rule 18).
	if p := params["page"]; p["required"] != false || dig(p, "schema", "type") != "integer" {
		t.Errorf("page = %v", p)
	}
	if p := params["sort"]; p["required"] != false {
		t.Errorf("sort seen in 16 of 17 requests is optional: %v", p)
	}
	if p := params["tag"]; dig(p, "schema", "type") != "array" {
		t.Errorf("repeated tag is an array: %v", p)
	}
	if p := params["ids"]; dig(p, "schema", "type") != "array" || dig(p, "schema", "items", "type") != "integer" || p["explode"] != false {
		t.Errorf("comma list ids is an array of integers: %v", p)
	}
	if p := params["flag"]; dig(p, "schema", "type") != "boolean" {
		t.Errorf("flag = %v", p)
	}
}

func TestAuthAndSecrets(t *testing.T) {
	// Recorded with redaction on: the JWT is still recognised from its header.
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2ln"
	exs := []ex{
		{method: "POST", path: "/login", req: `{"user":"ann","password":"hunter2"}`,
			resp: `{"access_token":"s3cr3t-value","expires_in":3600}`},
		{method: "GET", path: "/me", resp: `{"id":1}`, header: [][2]string{{"Authorization", "Bearer " + jwt}}},
		{method: "GET", path: "/me", resp: `{"id":1}`, header: [][2]string{{"Authorization", "Bearer " + jwt}}},
		{method: "GET", path: "/keys?api_key=abc123", resp: `{"id":1}`},
		{method: "GET", path: "/keys?api_key=abc123", resp: `{"id":1}`},
	}
	// With redaction off at capture time, examples must still hold no secret;
	// with it on, the JWT is still recognised from its kept header.
	for _, redact := range []bool{false, true} {
		_, out := openapiFrom(t, buildDB(t, exs, redact), Options{})
		for _, secret := range []string{"hunter2", "s3cr3t-value", "abc123", "c2ln"} {
			if strings.Contains(out, secret) {
				t.Errorf("redact=%v: secret %q in output:\n%s", redact, secret, out)
			}
		}
		for _, want := range []string{"bearerFormat: JWT", "scheme: bearer", "in: query\n      name: api_key", "- bearerAuth: []", "- queryApiKey: []"} {
			if !strings.Contains(out, want) {
				t.Errorf("redact=%v: missing %q:\n%s", redact, want, out)
			}
		}
		if strings.Contains(out, "name: api_key\n          in: query") {
			t.Errorf("credential documented as a parameter:\n%s", out)
		}
	}
}

func TestNonJSONBodiesKept(t *testing.T) {
	exs := []ex{
		{method: "GET", path: "/feed.xml", resp: `<rss><channel/></rss>`, respType: "application/rss+xml"},
		{method: "GET", path: "/page", resp: `<html>hi</html>`, respType: "text/html; charset=utf-8"},
		{method: "GET", path: "/logo", resp: "\x89PNG\x00\x01", respType: "image/png"},
		{method: "POST", path: "/form", req: "name=ann&age=31", reqType: "application/x-www-form-urlencoded", resp: `{"ok":true}`},
		{method: "GET", path: "/mislabelled", resp: `{"a":1}`, respType: "text/plain"},
	}
	doc, out := openapi(t, exs, Options{})
	if got := pathKeys(doc); len(got) != 5 {
		t.Fatalf("paths = %v\n%s", got, out)
	}
	if dig(doc, "paths", "/page", "get", "responses", "200", "content", "text/html", "schema", "type") != "string" {
		t.Errorf("html kept as string:\n%s", out)
	}
	if dig(doc, "paths", "/logo", "get", "responses", "200", "content", "image/png", "schema", "format") != "binary" {
		t.Errorf("binary:\n%s", out)
	}
	form := dig(doc, "paths", "/form", "post", "requestBody", "content", "application/x-www-form-urlencoded", "schema", "properties")
	if dig(form, "age", "type") != "integer" || dig(form, "name", "type") != "string" {
		t.Errorf("form fields:\n%s", out)
	}
	if dig(doc, "paths", "/mislabelled", "get", "responses", "200", "content", "application/json", "schema", "properties", "a", "type") != "integer" {
		t.Errorf("sniffed JSON:\n%s", out)
	}
}

func TestNoise(t *testing.T) {
	exs := []ex{
		{method: "GET", path: "/api/things", resp: `[]`},
		{method: "GET", path: "/static/app.js", resp: "x", respType: "application/javascript"},
		{method: "GET", path: "/wp-admin", status: 404, resp: `{"error":"nf"}`},
		{method: "OPTIONS", path: "/api/things", header: [][2]string{{"Access-Control-Request-Method", "POST"}}},
		{method: "GET", path: "/api/things/1", status: 404, resp: `{"error":"nf"}`},
		{method: "DELETE", path: "/api/things/1", status: 204},
	}
	doc, out := openapi(t, exs, Options{})
	if got := fmt.Sprint(pathKeys(doc)); got != "[/api/things /api/things/{thingId}]" {
		t.Fatalf("paths = %s\n%s", got, out)
	}
	if dig(doc, "paths", "/api/things/{thingId}", "get", "responses", "404") == nil {
		t.Errorf("the 404 of a path that exists is documented:\n%s", out)
	}
}

// TestDeterministic: shuffling the recordings never changes a byte (rule 10).
func TestDeterministic(t *testing.T) {
	var exs []ex
	for i := range 60 {
		exs = append(exs,
			ex{method: "GET", path: fmt.Sprintf("/users/%d?limit=%d", i, i%7),
				resp: fmt.Sprintf(`{"id":%d,"name":"u%d","tags":["t%d"],"addr":{"city":"c%d","zip":"%05d"}%s}`, i, i, i%3, i%5, i, []string{"", `,"x":null`}[i%2])},
			ex{method: "POST", path: "/users", req: fmt.Sprintf(`{"name":"u%d","age":%d}`, i, i), status: 201, resp: fmt.Sprintf(`{"id":%d}`, i)},
			ex{method: "GET", path: fmt.Sprintf("/orders/%d/items", i), resp: fmt.Sprintf(`[{"sku":"s%d","qty":%d}]`, i, i%4)},
		)
	}
	render := func(exs []ex) string {
		api, err := Infer(context.Background(), buildDB(t, exs, true), Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := api.OpenAPI("3.1", false)
		b, _ := api.OpenAPI("3.0", true)
		c, _ := api.Backworks()
		return string(a) + string(b) + string(c)
	}
	want := render(exs)
	r := rand.New(rand.NewSource(1))
	for range 5 {
		r.Shuffle(len(exs), func(i, j int) { exs[i], exs[j] = exs[j], exs[i] })
		if got := render(exs); got != want {
			t.Fatalf("output depends on input order:\n%s", firstDiff(want, got))
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return "lengths differ"
}

// TestOpenAPIValid loads both versions with kin-openapi and validates them.
func TestOpenAPIValid(t *testing.T) {
	exs := []ex{
		{method: "GET", path: "/users/1?limit=1", resp: `{"id":1,"tags":["a"],"note":null,"addr":{"city":"x","zip":"1"},"home":{"city":"y","zip":"2"}}`},
		{method: "GET", path: "/users/2", resp: `{"id":2,"tags":[],"note":"n","addr":{"city":"x","zip":"1"},"home":{"city":"y","zip":"2"}}`},
		{method: "POST", path: "/users", req: `{"name":"a"}`, status: 201, resp: `{"id":3}`},
		{method: "GET", path: "/only-null", resp: `{"x":null}`},
		{method: "GET", path: "/mixed", resp: `{"x":1}`},
		{method: "GET", path: "/mixed", resp: `{"x":"a"}`},
		{method: "GET", path: "/mixed", resp: `{"x":null}`},
	}
	api, err := Infer(context.Background(), buildDB(t, exs, true), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"3.0", "3.1"} {
		for _, asJSON := range []bool{false, true} {
			out, err := api.OpenAPI(v, asJSON)
			if err != nil {
				t.Fatal(err)
			}
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData(out)
			if err != nil {
				t.Fatalf("%s json=%v: load: %v\n%s", v, asJSON, err, out)
			}
			if err := doc.Validate(context.Background()); err != nil {
				t.Errorf("%s json=%v: %v\n%s", v, asJSON, err, out)
			}
			if !bytes.Contains(out, []byte("x-bw-samples")) {
				t.Errorf("no provenance in output")
			}
		}
	}
}

// TestRedoclyLint runs Redocly's linter on every form of output; `make test`
// installs it and sets BW_REQUIRE_REDOCLY so that a missing linter fails.
func TestRedoclyLint(t *testing.T) {
	redocly, err := exec.LookPath("redocly")
	if err != nil {
		if os.Getenv("BW_REQUIRE_REDOCLY") != "" {
			t.Fatal("redocly is not installed (make redocly)")
		}
		t.Skip("redocly not installed")
	}
	var exs []ex
	for i := range 8 {
		exs = append(exs,
			ex{method: "GET", path: fmt.Sprintf("/users/%d?limit=%d", i, i), resp: fmt.Sprintf(`{"id":%d,"tags":["a"],"note":null,"addr":{"city":"x","zip":"1"}}`, i),
				header: [][2]string{{"Authorization", "Bearer x.y.z"}}},
			ex{method: "POST", path: "/users", req: `{"name":"a","age":3}`, status: 201, resp: fmt.Sprintf(`{"id":%d,"addr":{"city":"x","zip":"1"}}`, i)},
			ex{method: "GET", path: "/mixed", resp: []string{`{"x":1}`, `{"x":"a"}`, `{"x":null}`}[i%3]},
			ex{method: "GET", path: "/page", resp: "<p>hi</p>", respType: "text/html"},
			ex{method: "DELETE", path: fmt.Sprintf("/users/%d", i), status: 404, resp: `{"error":"not found"}`},
		)
	}
	api, err := Infer(context.Background(), buildDB(t, exs, true), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, v := range []string{"3.0", "3.1"} {
		for _, ext := range []string{"yaml", "json"} {
			out, err := api.OpenAPI(v, ext == "json")
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "api-"+v+"."+ext)
			os.WriteFile(file, out, 0o644)
			cmd := exec.Command(redocly, "lint", file)
			cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("redocly lint %s: %v\n%s\n%s", file, err, msg, out)
			}
		}
	}
}

// TestNullableEnum: a nullable enum lists null, so its own examples validate.
func TestNullableEnum(t *testing.T) {
	var exs []ex
	for i := range 20 {
		v := []string{`"a"`, `"b"`, `null`}[i%3]
		exs = append(exs, ex{method: "GET", path: "/x", resp: `{"k":` + v + `}`})
	}
	doc, out := openapi(t, exs, Options{})
	enum := dig(doc, "paths", "/x", "get", "responses", "200", "content", "application/json", "schema", "properties", "k", "enum")
	if fmt.Sprint(enum) != "[a b <nil>]" {
		t.Fatalf("enum = %v\n%s", enum, out)
	}
}

// TestValuesWithOptionalFieldsAndReuse: siblings whose responses carry
// different subsets of optional fields still agree, and a slug reused by
// several calls (PUT it, favorite it, list its comments) is still a value.
func TestValuesWithOptionalFieldsAndReuse(t *testing.T) {
	fields := []string{"id", "username", "firstName", "lastName", "email", "phone", "status", "password"}
	var exs []ex
	for i, name := range []string{"ann-lee", "bo-chan", "cy-diaz", "di-egan", "ed-fox", "flo-gil"} {
		var kv []string
		for j, f := range fields {
			if (i+j)%3 != 0 { // a different subset each time
				kv = append(kv, fmt.Sprintf(`"%s":"v"`, f))
			}
		}
		exs = append(exs, ex{method: "GET", path: "/user/" + name, resp: "{" + strings.Join(kv, ",") + "}"})
	}
	for range 6 {
		exs = append(exs, ex{method: "GET", path: "/user/logout", resp: `"ok"`, respType: "application/json"})
	}
	// A name made of dictionary words, requested once.
	exs = append(exs, ex{method: "GET", path: "/user/frank-smith", resp: `{"id":"v","email":"v"}`})
	for _, slug := range []string{"lunar", "stone", "maple-river", "cedar", "north-pixel-blue", "pixel-blue-river"} {
		exs = append(exs,
			ex{method: "PUT", path: "/articles/" + slug, req: `{"article":{}}`, resp: `{"article":{"slug":"x"}}`},
			ex{method: "DELETE", path: "/articles/" + slug + "/favorite", resp: `{"article":{"slug":"x"}}`},
			ex{method: "GET", path: "/articles/" + slug + "/comments", resp: `{"comments":[]}`},
		)
	}
	for range 6 {
		exs = append(exs, ex{method: "GET", path: "/articles/feed", resp: `{"articles":[],"articlesCount":0}`})
	}
	doc, out := openapi(t, exs, Options{})
	want := []string{"/articles/feed", "/articles/{article}", "/articles/{article}/comments",
		"/articles/{article}/favorite", "/user/logout", "/user/{user}"}
	if got := pathKeys(doc); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paths:\n got %v\nwant %v\n%s", got, want, out)
	}
}

// TestMergeKeepsEdits: bw infer -o over an existing file replaces what bw
// wrote and nobody touched, keeps what the user edited or added.
func TestMergeKeepsEdits(t *testing.T) {
	render := func(exs []ex) []byte {
		api, err := Infer(context.Background(), buildDB(t, exs, false), Options{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := api.Backworks()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := render([]ex{
		{method: "GET", path: "/a", resp: `{"x":1}`},
		{method: "GET", path: "/b", resp: `{"y":1}`},
	})
	// The user renames the API, comments and edits /b, adds an endpoint.
	edited := strings.Replace(string(first), "name: api.test", "name: My API # mine", 1)
	edited = strings.Replace(edited, "  get_b:\n", "  # hand-tuned\n  get_b:\n", 1)
	edited = strings.Replace(edited, "  get_b:\n    path: /b\n", "  get_b:\n    path: /b\n    description: tuned by hand\n", 1)
	edited += "  mine:\n    path: /mine\n    methods: [GET]\n"
	if !strings.Contains(edited, "tuned by hand") {
		t.Fatalf("test edit did not apply:\n%s", edited)
	}
	// New evidence: /a gains a field, /b too, /c appears.
	second := render([]ex{
		{method: "GET", path: "/a", resp: `{"x":1,"z":"s"}`},
		{method: "GET", path: "/b", resp: `{"y":1,"w":true}`},
		{method: "GET", path: "/c", resp: `{"c":1}`},
	})
	merged, err := MergeBackworks([]byte(edited), second)
	if err != nil {
		t.Fatal(err)
	}
	out := string(merged)
	for _, want := range []string{"name: My API # mine", "# hand-tuned", "description: tuned by hand", "mine:", "get_c:", "      z:\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("merged output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "w:") {
		t.Errorf("the edited endpoint was replaced:\n%s", out)
	}
	// What merged loads again, and a second merge of the same output changes nothing.
	again, err := MergeBackworks(merged, second)
	if err != nil || string(again) != out {
		t.Errorf("merge is not stable:\n%s", firstDiff(out, string(again)))
	}
}
