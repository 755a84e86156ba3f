package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// TestBuiltOpenAPIValidates checks that the document built from Backworks
// YAML works with openapi3filter, as bw serve uses it: requests and
// responses are checked against the endpoints' schemas, 3.1 type arrays
// and $refs into components included.
func TestBuiltOpenAPIValidates(t *testing.T) {
	doc, err := Load("testdata/load/security.yaml")
	if err != nil {
		t.Fatal(err)
	}
	router, err := legacy.NewRouter(doc.OpenAPI)
	if err != nil {
		t.Fatalf("router over the built document: %v", err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	ctx := context.Background()

	check := func(method, target, body string, status int, respBody string) (reqErr, respErr error) {
		t.Helper()
		req := httptest.NewRequest(method, "http://bw.test"+target, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: no route: %v", method, target, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
		reqErr = openapi3filter.ValidateRequest(ctx, in)
		if respBody == "" {
			return reqErr, nil
		}
		h := http.Header{"Content-Type": {"application/json"}}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: h,
			Body: io.NopCloser(strings.NewReader(respBody)), Options: opts}
		return reqErr, openapi3filter.ValidateResponse(ctx, out)
	}

	const id = "0b7c5e9e-1f2a-4c2b-9a53-3f1f3c1f0c11"
	if reqErr, respErr := check("GET", "/orders/"+id, "", 200, `{"id":"x","total":1.5,"note":null}`); reqErr != nil || respErr != nil {
		t.Errorf("valid exchange rejected: request %v, response %v", reqErr, respErr)
	}
	if _, respErr := check("GET", "/orders/"+id, "", 200, `{"id":"x","total":"lots"}`); respErr == nil {
		t.Error("a string total passed the response schema (a $ref into components)")
	}
	if _, respErr := check("GET", "/orders/"+id, "", 200, `{"id":"x","total":1,"note":7}`); respErr == nil {
		t.Error(`note 7 passed type [string, "null"]`)
	}
	if reqErr, _ := check("GET", "/orders/not-a-uuid", "", 0, ""); reqErr != nil {
		t.Logf("uuid format not enforced on path parameters is fine; got %v", reqErr)
	}
	if reqErr, _ := check("POST", "/orders", `{"items":["a"]}`, 0, ""); reqErr != nil {
		t.Errorf("valid body rejected: %v", reqErr)
	}
	if reqErr, _ := check("POST", "/orders", `{"items":[]}`, 0, ""); reqErr == nil {
		t.Error("minItems not enforced on the request body")
	}
	if reqErr, _ := check("POST", "/orders", `{}`, 0, ""); reqErr == nil {
		t.Error("required not enforced on the request body")
	}
}

// TestBuiltOpenAPIShape checks what the built document holds for each
// endpoint, and that endpoint schemas are the resolved ones.
func TestBuiltOpenAPIShape(t *testing.T) {
	doc, err := Load("testdata/load/security.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := doc.OpenAPI
	if d.OpenAPI != "3.1.0" || d.Info.Title != "Shop" || d.Info.Version != "2.1" {
		t.Errorf("header: %s %+v", d.OpenAPI, d.Info)
	}
	if err := d.Validate(context.Background()); err != nil {
		t.Errorf("built document does not validate: %v", err)
	}
	op := d.Paths.Value("/orders/{id}").Get
	if op == nil || op.OperationID != "get_order" || op.Extensions["x-bw-endpoint"] != "get_order" {
		t.Fatalf("GET /orders/{id}: %+v", op)
	}
	if len(op.Parameters) != 3 || op.Parameters[0].Value.In != "path" {
		t.Errorf("parameters: %d", len(op.Parameters))
	}
	if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["bearerAuth"] == nil {
		t.Errorf("security: %+v", op.Security)
	}
	r := op.Responses.Status(200).Value
	if r.Headers["X-Request-Id"] == nil || r.Content.Get("application/json") == nil || *r.Description != "OK" {
		t.Errorf("200 response: %+v", r)
	}
	for name := range d.Components.Schemas {
		if strings.HasPrefix(name, sitePrefix) {
			t.Errorf("working component %s left in the document", name)
		}
	}
	ep := doc.Endpoints[0]
	s := ep.Responses[200].Schema
	if s == nil || s.Properties["total"] == nil || !s.Properties["total"].Value.Type.Is(openapi3.TypeNumber) {
		t.Errorf("endpoint schema not resolved: %+v", s)
	}
	if !ep.Parameters[1].Schema.Type.Includes("null") {
		t.Errorf("type array lost: %v", ep.Parameters[1].Schema.Type)
	}

	// Endpoints without an operation: wildcards and proxies of every method.
	doc, err = Load("testdata/load/original-proxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := doc.OpenAPI.Paths.Len(); n != 0 {
		t.Errorf("%d paths for wildcard and any-method endpoints", n)
	}
	if s := doc.Endpoints[0].Parameters[0].Schema; s == nil || !s.Type.Is("string") {
		t.Errorf("wildcard parameter schema: %+v", s)
	}

	// Endpoints without responses get a default one.
	doc, err = Load("testdata/load/original-map.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if op := doc.OpenAPI.Paths.Value("/users").Post; op == nil || op.Responses.Default() == nil || op.OperationID != "users_post" {
		t.Errorf("POST /users: %+v", op)
	}
}
