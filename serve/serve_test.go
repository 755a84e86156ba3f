package serve_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/serve"
	"github.com/getkin/kin-openapi/openapi3"
)

const petstore = `
openapi: 3.0.3
info: {title: Petstore, version: "1.0"}
paths:
  /pets:
    get:
      x-bw-strict-query: true
      parameters:
        - {name: limit, in: query, required: true, schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: tag, in: query, schema: {type: string, enum: [dog, cat]}}
        - {name: X-Request-Id, in: header, schema: {type: string, format: uuid}}
      responses:
        "200":
          description: pets
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Pet'}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewPet'}
      responses:
        "201":
          description: created
          headers:
            Location: {required: true, schema: {type: string, format: uri-reference}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
  /pets/{petId}:
    get:
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer, format: int64, minimum: 1}}
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
              example: {id: 1, name: Rex, tag: dog, born: "2020-02-02"}
        "404":
          description: none
  /orders:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [sku, quantity]
              properties:
                sku: {type: string, pattern: "^[A-Z]{3}-[0-9]+$"}
                quantity: {type: integer, minimum: 1}
      responses:
        "201":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {order: {type: string}}}
        "422":
          description: invalid
          content:
            application/json:
              example: {code: invalid_order, message: "the order is invalid"}
components:
  schemas:
    NewPet:
      type: object
      required: [name, born]
      properties:
        name: {type: string, minLength: 2, maxLength: 20}
        tag: {type: string, enum: [dog, cat]}
        born: {type: string, format: date}
        email: {type: string, format: email}
        weight: {type: number, minimum: 0.5, exclusiveMaximum: true, maximum: 100}
    Pet:
      allOf:
        - $ref: '#/components/schemas/NewPet'
        - type: object
          required: [id]
          properties:
            id: {type: integer, format: int64, minimum: 1}
            owners:
              type: array
              minItems: 2
              uniqueItems: true
              items: {type: string, format: uuid}
`

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	_, base := startServer(t, serve.Config{Doc: docFromOpenAPI(t, petstore)})

	r := do(t, nil, "GET", base+"/pet/1", "")
	if r.status != 404 {
		t.Fatalf("status %d, want 404: %s", r.status, r.body)
	}
	p := problem(t, r)
	if !strings.Contains(p.Detail, "GET /pet/1") || len(p.Candidates) == 0 || p.Candidates[0].Route != "/pets/{petId}" {
		t.Errorf("404 problem: %s", r.body)
	}

	r = do(t, nil, "DELETE", base+"/pets/1", "")
	if r.status != 405 {
		t.Fatalf("status %d, want 405: %s", r.status, r.body)
	}
	problem(t, r)
	if got := r.header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow %q, want GET, HEAD", got)
	}
	r = do(t, nil, "PATCH", base+"/pets", "")
	if got := r.header.Get("Allow"); r.status != 405 || got != "GET, HEAD, POST" {
		t.Errorf("PATCH /pets: %d Allow %q", r.status, got)
	}
}

func TestValidation(t *testing.T) {
	_, base := startServer(t, serve.Config{Doc: docFromOpenAPI(t, petstore)})
	type viol = serve.Violation
	tests := []struct {
		name          string
		method, path  string
		body          string
		headers       []string
		status        int
		want          []viol // locations, and a message substring
		wantBodyMatch string // for non-problem answers
	}{
		{name: "OK", method: "GET", path: "/pets?limit=10&tag=dog", status: 200},
		{name: "MissingRequiredQuery", method: "GET", path: "/pets", status: 400,
			want: []viol{{"query.limit", "required query parameter is missing"}}},
		{name: "WrongTypes", method: "GET", path: "/pets?limit=ten&tag=bird", status: 400,
			want: []viol{{"query.limit", "integer"}, {"query.tag", "one of"}}},
		{name: "OutOfRange", method: "GET", path: "/pets?limit=1000", status: 400,
			want: []viol{{"query.limit", "at most 100"}}},
		{name: "BadHeaderFormat", method: "GET", path: "/pets?limit=1", headers: []string{"X-Request-Id: nope"}, status: 400,
			want: []viol{{"header.X-Request-Id", "uuid"}}},
		{name: "UnknownQueryForbidden", method: "GET", path: "/pets?limit=1&color=red&size=xl", status: 400,
			want: []viol{{"query.color", "unknown query parameter"}, {"query.size", "unknown query parameter"}}},
		{name: "UnknownQueryAllowedElsewhere", method: "GET", path: "/pets/3?color=red", status: 200},
		{name: "BadPathParam", method: "GET", path: "/pets/abc", status: 400,
			want: []viol{{"path.petId", "integer"}}},
		{name: "BodyOK", method: "POST", path: "/pets", body: `{"name":"Rex","born":"2020-01-01"}`, status: 201},
		{name: "BodyMissingFields", method: "POST", path: "/pets", body: `{"tag":"dog"}`, status: 400,
			want: []viol{{"body.name", `"name" is missing`}, {"body.born", `"born" is missing`}}},
		{name: "BodyWrongTypesAndFormats", method: "POST", path: "/pets",
			body:   `{"name":"R","born":"yesterday","email":"not-an-email","weight":100,"tag":5}`,
			status: 400,
			want: []viol{
				{"body.name", "length"}, {"body.born", "date"}, {"body.email", "email"},
				{"body.weight", "less than 100"}, {"body.tag", ""},
			}},
		{name: "BodyMissing", method: "POST", path: "/pets", status: 400,
			want: []viol{{"body", "request body is required"}}},
		{name: "BodyNotJSON", method: "POST", path: "/pets", body: `{"name":`, status: 400,
			want: []viol{{"body", ""}}},
		{name: "DocumentedErrorExample", method: "POST", path: "/orders", body: `{"sku":"bad"}`, status: 422,
			wantBodyMatch: `"code":"invalid_order"`},
		{name: "UnsupportedMediaType", method: "POST", path: "/pets", body: `name=Rex`,
			headers: []string{"Content-Type: application/x-www-form-urlencoded"}, status: 415,
			want: []viol{{"header.Content-Type", "unsupported media type"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, nil, tt.method, base+tt.path, tt.body, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.wantBodyMatch != "" {
				if !strings.Contains(string(r.body), tt.wantBodyMatch) {
					t.Errorf("body %s, want %s in it", r.body, tt.wantBodyMatch)
				}
				return
			}
			if tt.status < 400 {
				return
			}
			p := problem(t, r)
			if len(p.Errors) != len(tt.want) {
				t.Errorf("%d violations, want %d: %s", len(p.Errors), len(tt.want), r.body)
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(p.Errors, func(v serve.Violation) bool {
					return v.Location == w.Location && strings.Contains(v.Message, w.Message)
				}) {
					t.Errorf("no violation at %s with %q in: %s", w.Location, w.Message, r.body)
				}
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	doc := docFromOpenAPI(t, petstore)
	doc.Security.Validation.MaxBodySize = 64
	_, base := startServer(t, serve.Config{Doc: doc})
	big := fmt.Sprintf(`{"name":"Rex","born":"2020-01-01","tag":"%s"}`, strings.Repeat("x", 100))
	r := do(t, nil, "POST", base+"/pets", big)
	if r.status != 413 {
		t.Fatalf("status %d, want 413: %s", r.status, r.body)
	}
	if p := problem(t, r); !strings.Contains(p.Detail, "64 bytes") {
		t.Errorf("detail %q", p.Detail)
	}
	// chunked, without Content-Length
	req, _ := http.NewRequest("POST", base+"/pets", struct{ *strings.Reader }{strings.NewReader(big)})
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 || req.ContentLength != -1 && req.ContentLength != 0 {
		t.Errorf("chunked: status %d (content length %d)", res.StatusCode, req.ContentLength)
	}
}

func TestExamples(t *testing.T) {
	_, base := startServer(t, serve.Config{Doc: docFromOpenAPI(t, petstore)})

	// the documented example
	r := do(t, nil, "GET", base+"/pets/7", "")
	if r.status != 200 || r.header.Get("Bw-Match") != "example; score=0" {
		t.Fatalf("GET /pets/7: %d %v %s", r.status, r.header, r.body)
	}
	if m := r.json(t); m["name"] != "Rex" {
		t.Errorf("example body %s", r.body)
	}

	// generated from the schema: valid, and the same every time
	r1 := do(t, nil, "GET", base+"/pets?limit=1", "")
	r2 := do(t, nil, "GET", base+"/pets?limit=1", "")
	if r1.status != 200 || r1.header.Get("Bw-Match") != "schema; score=0" || string(r1.body) != string(r2.body) {
		t.Fatalf("generated: %d %q %s / %s", r1.status, r1.header.Get("Bw-Match"), r1.body, r2.body)
	}
	if v := r1.header.Get("Bw-Validation"); v != "" {
		t.Errorf("generated example does not validate (Bw-Validation %q): %s", v, r1.body)
	}
	var pets []map[string]any
	if err := json.Unmarshal(r1.body, &pets); err != nil || len(pets) != 1 {
		t.Fatalf("generated %s: %v", r1.body, err)
	}
	owners, _ := pets[0]["owners"].([]any)
	if len(owners) != 2 || owners[0] == owners[1] || pets[0]["born"] != "2024-01-01" {
		t.Errorf("generated pet %v", pets[0])
	}
	r = do(t, nil, "POST", base+"/pets", `{"name":"Rex","born":"2020-01-01"}`)
	if r.status != 201 || r.header.Get("Location") == "" || r.header.Get("Bw-Validation") != "" {
		t.Errorf("POST /pets: %d %v %s", r.status, r.header, r.body)
	}
	// concurrent requests share the cached examples and validators
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				path := fmt.Sprintf("/pets?limit=%d", 1+(i+j)%100)
				if j%2 == 0 {
					path = fmt.Sprintf("/pets/%d", 1+i+j)
				}
				if r := do(t, nil, "GET", base+path, ""); r.status != 200 || r.header.Get("Bw-Validation") != "" {
					t.Errorf("GET %s: %d %v", path, r.status, r.header)
				}
			}
			do(t, nil, "POST", base+"/orders", `{"sku":"ABC-1","quantity":0}`)
		})
	}
	wg.Wait()
	// HEAD: headers, no body
	r = do(t, nil, "HEAD", base+"/pets/7", "")
	if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Length") == "0" {
		t.Errorf("HEAD: %d %v %q", r.status, r.header, r.body)
	}
}

func TestExampleFromSchemaIsValid(t *testing.T) {
	// Each schema's generated example must validate against it.
	schemas := []string{
		`{"type":"string","format":"date-time"}`,
		`{"type":"string","format":"uuid"}`,
		`{"type":"string","format":"ipv6"}`,
		`{"type":"string","minLength":12,"maxLength":14}`,
		`{"type":"string","maxLength":3}`,
		`{"type":"integer","minimum":5,"maximum":9}`,
		`{"type":"integer","minimum":-10,"maximum":-3}`,
		`{"type":"integer","minimum":0,"exclusiveMinimum":true}`,
		`{"type":"number","multipleOf":7,"minimum":10}`,
		`{"type":"number","maximum":-0.5}`,
		`{"type":"array","items":{"type":"integer"},"minItems":3,"maxItems":3,"uniqueItems":true}`,
		`{"type":"array","items":{"type":"string","enum":["a","b","c"]},"minItems":2,"uniqueItems":true}`,
		`{"type":"array","maxItems":0}`,
		`{"type":"object","required":["a","b"],"properties":{"a":{"type":"boolean"},"b":{"type":"string","nullable":true}}}`,
		`{"type":"object","minProperties":2,"additionalProperties":{"type":"integer"}}`,
		`{"oneOf":[{"type":"string","format":"email"},{"type":"integer"}]}`,
		`{"allOf":[{"type":"object","properties":{"x":{"type":"integer"}}},{"type":"object","required":["y"],"properties":{"y":{"type":"string"}}}]}`,
		`{"enum":["on","off"]}`,
		`{"type":"string","default":"d"}`,
	}
	for _, src := range schemas {
		var s openapi3.Schema
		if err := json.Unmarshal([]byte(src), &s); err != nil {
			t.Fatal(err)
		}
		v := serve.ExampleFromSchema(&s)
		if err := s.VisitJSON(v); err != nil {
			b, _ := json.Marshal(v)
			t.Errorf("%s: example %s: %v", src, b, err)
		}
	}
	// recursion stops
	node := &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{}}
	node.Properties["child"] = &openapi3.SchemaRef{Value: node}
	node.Properties["name"] = openapi3.NewStringSchema().NewRef()
	if b, err := json.Marshal(serve.ExampleFromSchema(node)); err != nil || len(b) > 200 {
		t.Errorf("recursive: %s %v", b, err)
	}
}

func TestMockResponses(t *testing.T) {
	doc := &api.Doc{Name: "mocks", Endpoints: []*api.Endpoint{
		{Name: "items", Path: "/items/{id}", Methods: []string{"GET", "DELETE"}, Mock: map[string]*api.MockResponse{
			"GET":            {Status: 200, Body: map[string]any{"id": 1}},
			"GET /items/42":  {Status: 200, Body: map[string]any{"id": 42}, Headers: map[string]string{"X-Answer": "yes"}},
			"DELETE":         {Status: 204},
			"GET /items/txt": {Body: "plain text"},
		}},
		{Name: "nothing", Path: "/nothing", Methods: []string{"GET"}},
	}}
	_, base := startServer(t, serve.Config{Doc: doc})
	tests := []struct {
		method, path string
		status       int
		body, ct     string
	}{
		{"GET", "/items/1", 200, `{"id":1}`, "application/json"},
		{"GET", "/items/42", 200, `{"id":42}`, "application/json"},
		{"GET", "/items/txt", 200, `plain text`, "text/plain; charset=utf-8"},
		{"DELETE", "/items/1", 204, ``, ""},
	}
	for _, tt := range tests {
		r := do(t, nil, tt.method, base+tt.path, "")
		if r.status != tt.status || string(r.body) != tt.body || r.header.Get("Content-Type") != tt.ct ||
			r.header.Get("Bw-Match") != "mock; score=0" {
			t.Errorf("%s %s: %d %q %q %q", tt.method, tt.path, r.status, r.body, r.header.Get("Content-Type"), r.header.Get("Bw-Match"))
		}
	}
	if r := do(t, nil, "GET", base+"/items/42", ""); r.header.Get("X-Answer") != "yes" {
		t.Errorf("mock header missing: %v", r.header)
	}
	r := do(t, nil, "GET", base+"/nothing", "")
	if r.status != 501 {
		t.Fatalf("GET /nothing: %d %s", r.status, r.body)
	}
	if p := problem(t, r); len(p.Candidates) == 0 {
		t.Errorf("501 without candidates: %s", r.body)
	}
}

func TestCORS(t *testing.T) {
	doc := docFromOpenAPI(t, petstore)
	doc.CORS = &api.CORS{AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"Content-Type"}, ExposeHeaders: []string{"Bw-Match"}, MaxAge: 600e9}
	_, base := startServer(t, serve.Config{Doc: doc})

	r := do(t, nil, "OPTIONS", base+"/pets", "", "Origin: https://app.example", "Access-Control-Request-Method: POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		r.header.Get("Access-Control-Allow-Methods") != "GET, POST" || r.header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	r = do(t, nil, "GET", base+"/pets/1", "", "Origin: https://app.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		r.header.Get("Access-Control-Expose-Headers") != "Bw-Match" {
		t.Errorf("simple request: %d %v", r.status, r.header)
	}
	r = do(t, nil, "GET", base+"/pets/1", "", "Origin: https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin allowed: %v", r.header)
	}
}

func TestValidationOpenAPI31(t *testing.T) {
	// /a needs the JSON Schema 2020-12 validator (const); /b does not.
	src := `
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [kind, n]
              properties:
                kind: {const: fixed}
                n: {type: [integer, "null"], minimum: 1}
                tags: {type: array, prefixItems: [{type: string}], items: {type: integer}}
      responses: {"204": {description: ok}}
  /b:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [n]
              properties:
                n: {type: [integer, "null"], minimum: 1, exclusiveMaximum: 10}
      responses: {"204": {description: ok}}
`
	_, base := startServer(t, serve.Config{Doc: docFromOpenAPI(t, src)})
	for _, tt := range []struct {
		path, body string
		status     int
		locs       []string
	}{
		{"/a", `{"kind":"fixed","n":null,"tags":["x",1]}`, 204, nil},
		{"/a", `{"kind":"other","n":0,"tags":[1,"x"]}`, 400, []string{"body.kind", "body.n", "body.tags.0", "body.tags.1"}},
		{"/b", `{"n":null}`, 204, nil},
		{"/b", `{"n":10}`, 400, []string{"body.n"}},
		{"/b", `{}`, 400, []string{"body.n"}},
	} {
		r := do(t, nil, "POST", base+tt.path, tt.body)
		if r.status != tt.status {
			t.Errorf("%s %s: %d, want %d: %s", tt.path, tt.body, r.status, tt.status, r.body)
			continue
		}
		if r.status != 400 {
			continue
		}
		p := problem(t, r)
		var locs []string
		for _, v := range p.Errors {
			locs = append(locs, v.Location)
			if strings.Contains(v.Message, "\n") || strings.HasPrefix(v.Message, "error at") {
				t.Errorf("message %q", v.Message)
			}
		}
		slices.Sort(locs)
		if !slices.Equal(locs, tt.locs) {
			t.Errorf("%s %s: locations %v, want %v: %s", tt.path, tt.body, locs, tt.locs, r.body)
		}
	}
}
