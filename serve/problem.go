package serve

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem detail, the body of every error bw serve
// answers itself (Content-Type application/problem+json).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors lists each validation failure.
	Errors []Violation `json:"errors,omitempty"`
	// Candidates are the recordings or routes closest to a request that
	// nothing answered.
	Candidates []candidate `json:"candidates,omitempty"`
}

// Violation is one way a request or response does not match the API
// description. Location is "path.NAME", "query.NAME", "header.NAME",
// "cookie.NAME", "body" or "body.FIELD.0.FIELD" (a JSON path, array
// indexes as numbers).
type Violation struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

// candidate is a near miss listed in a 404 or 501 problem.
type candidate struct {
	Route    string   `json:"route,omitempty"`
	Methods  []string `json:"methods,omitempty"`
	Exchange string   `json:"exchange,omitempty"` // recording id
	Request  string   `json:"request,omitempty"`  // "GET /path?query"
	Score    int      `json:"score,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

// Problem types: stable URNs (RFC 9457 §3.1.1 allows any URI); the title
// says the same in words.
const (
	typeNotFound         = "urn:bw:problem:route-not-found"
	typeMethodNotAllowed = "urn:bw:problem:method-not-allowed"
	typeInvalidRequest   = "urn:bw:problem:invalid-request"
	typeInvalidResponse  = "urn:bw:problem:invalid-response"
	typeTooLarge         = "urn:bw:problem:body-too-large"
	typeMediaType        = "urn:bw:problem:unsupported-media-type"
	typeNoAnswer         = "urn:bw:problem:no-recorded-response"
	typeUpstream         = "urn:bw:problem:upstream-failed"
	typeRateLimited      = "urn:bw:problem:rate-limited"
)

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	body, err := json.Marshal(p)
	if err != nil { // cannot happen: only strings and ints
		body = []byte(`{"type":"about:blank","status":500}`)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(p.Status)
	w.Write(body)
}
