package serve_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/serve"
)

// A Server is an http.Handler: here it answers in process, without Start,
// from a description with one mock response.
func ExampleServer() {
	doc := &api.Doc{Name: "hello", Endpoints: []*api.Endpoint{{
		Name: "greet", Path: "/greet/{name}", Methods: []string{"GET"},
		Mock: map[string]*api.MockResponse{"GET": {Status: 200, Body: map[string]any{"hello": "world"}}},
	}}}
	s, err := serve.New(serve.Config{Doc: doc})
	if err != nil {
		panic(err)
	}
	for _, path := range []string{"/greet/ada", "/nowhere"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(strings.TrimSpace(fmt.Sprint(rec.Code, " ", rec.Header().Get("Content-Type"), " ", rec.Header().Get("Bw-Match"))))
		fmt.Println(strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 application/json mock; score=0
	// {"hello":"world"}
	// 404 application/problem+json
	// {"type":"urn:bw:problem:route-not-found","title":"Not Found","status":404,"detail":"no route matches GET /nowhere","candidates":[{"route":"/greet/{name}","methods":["GET","HEAD"]}]}
}
