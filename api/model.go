package api

import (
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Doc is an API description as bw serves it, whichever file it came from:
// bw's Backworks YAML, an original Backworks map or list file, or an
// OpenAPI 3.0/3.1 document. The zero value of every optional field means the
// documented default.
type Doc struct {
	File        string // the file it was loaded from
	Name        string
	Version     string
	Description string
	Mode        Mode // default for endpoints
	Server      Server
	Security    Security
	CORS        *CORS  // nil: no CORS headers
	Recordings  string // recordings file to replay from, relative to File's directory; "" none
	Hints       []string
	Test        TestConfig
	Endpoints   []*Endpoint // in file order

	// OpenAPI is the document requests and responses are validated against:
	// the loaded one for OpenAPI input, one built from the endpoints'
	// schemas for Backworks input. Its paths use {name} templates.
	OpenAPI *openapi3.T

	// Warnings are problems that do not stop serving (unknown keys, ...).
	Warnings []Problem

	// Headers are added to every response: the original Backworks
	// global_headers and security.headers.
	Headers map[string]string
}

// Mode says how an endpoint answers.
type Mode string

// The endpoint modes.
const (
	ModeMock  Mode = "mock"  // answer from recordings, examples or mock responses
	ModeProxy Mode = "proxy" // forward to upstream targets
)

// Server is where bw serve listens unless --listen says otherwise.
type Server struct {
	Host string
	Port int
}

// Security holds the cross-cutting request policies.
type Security struct {
	RateLimit  *RateLimit // nil: no global limit
	Validation Validation
}

// Validation says what happens to requests and responses that do not match
// the schema.
type Validation struct {
	Requests    Enforcement // default enforce
	Responses   Enforcement // default report
	MaxBodySize int64       // bytes; 0 means 10 MiB
}

// Enforcement is what a validation failure does.
type Enforcement string

// The enforcement levels.
const (
	Enforce Enforcement = "enforce" // reject (requests: 400/422; responses: 502)
	Report  Enforcement = "report"  // header, metric and log, but pass
	Off     Enforcement = "off"
)

// RateLimit is a token bucket per key.
type RateLimit struct {
	RequestsPerMinute float64
	Burst             int
	// Key is "ip" (the default), "header:NAME" or "api_key".
	Key string
	// TrustedProxies is how many X-Forwarded-For hops to trust for "ip".
	TrustedProxies int
}

// CORS is the cross-origin policy.
type CORS struct {
	AllowOrigins     []string // "*" allowed
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	AllowCredentials bool
	MaxAge           time.Duration
}

// TestConfig configures bw test.
type TestConfig struct {
	NoiseBody    []string // JSON paths compared by type only
	NoiseHeaders []string
}

// Endpoint is one route: a path template and its methods.
type Endpoint struct {
	Name       string
	Path       string   // template with {name} parameters; a trailing {name*} matches the rest
	Methods    []string // upper case; empty means every method
	Mode       Mode
	Parameters []Parameter
	Request    *Request
	Responses  map[int]*Response // by status
	// Mock holds fixed answers by method ("GET"), "METHOD path", or "*" for
	// every method: the original Backworks mock_responses and mock blocks.
	Mock      map[string]*MockResponse
	Proxy     *Proxy
	RateLimit *RateLimit
	Security  []string // names of schemes in OpenAPI components
	Samples   int      // x-bw-samples
	Pos       Position

	Description string // what the file says the endpoint does
}

// Parameter is a query, header, path or cookie parameter.
type Parameter struct {
	Name     string
	In       string // query, header, path, cookie
	Required bool
	Schema   *openapi3.Schema
}

// Request describes the request body.
type Request struct {
	ContentType string
	Required    bool
	Schema      *openapi3.Schema
}

// Response is one documented response of an endpoint.
type Response struct {
	Description string
	ContentType string
	Headers     map[string]*openapi3.Schema
	Schema      *openapi3.Schema
	Example     any  // decoded JSON value, string for text
	HasExample  bool // Example is set (it may be null)
}

// MockResponse is a fixed answer.
type MockResponse struct {
	Status  int
	Headers map[string]string
	Body    any // JSON value, or a string sent as is
}

// Proxy forwards an endpoint to upstream targets.
type Proxy struct {
	Targets       []*Target
	LoadBalancing string // round_robin (default), weighted, ip_hash, least_connections, consistent_hash
	StripPrefix   string

	Timeout time.Duration     // per upstream request; 0 means serve's default
	Headers map[string]string // set on every upstream request
}

// Target is one upstream.
type Target struct {
	Name        string
	URL         string
	Weight      int // default 1
	HealthCheck *HealthCheck
}

// HealthCheck probes a target.
type HealthCheck struct {
	Path               string
	Interval           time.Duration
	Timeout            time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
}

// Position is a place in a file.
type Position struct {
	Line, Col int
}

// Problem is one thing wrong with a file, at a position.
type Problem struct {
	File    string
	Pos     Position
	Message string
	Warning bool
}

// Error formats the problem as FILE:LINE:COL: message.
func (p Problem) Error() string {
	return formatProblem(p)
}
