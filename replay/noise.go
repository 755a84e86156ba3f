package replay

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Noise is what a user says about noisy fields, on top of what bw test finds
// on its own. A noisy field is compared by type and format, not by value.
//
// Body holds JSON paths ($.meta.request_id, $.items[*].updated_at,
// $..etag); a path covers the subtree below it. Headers holds header names,
// case-insensitive, with * globs (X-RateLimit-*). An entry starting with "!"
// removes a rule instead: "!ETag" compares ETag by value although bw thinks
// it volatile, "!$.created_at" compares created_at by value.
//
// In YAML (a Backworks file or a file of its own) it is written as
//
//	test:
//	  noise:
//	    body: [$.items[*].score]
//	    headers: [X-Cache]
type Noise struct {
	Body    []string `yaml:"body,omitempty" json:"body,omitempty"`
	Headers []string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// ParseNoise reads noise rules from YAML: a document with test.noise (a
// Backworks file), one with a top-level noise key, or the body/headers
// lists alone.
func ParseNoise(data []byte) (Noise, error) {
	var doc struct {
		Test struct {
			Noise *Noise `yaml:"noise"`
		} `yaml:"test"`
		Noise   *Noise   `yaml:"noise"`
		Body    []string `yaml:"body"`
		Headers []string `yaml:"headers"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Noise{}, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var n Noise
	switch {
	case doc.Test.Noise != nil:
		n = *doc.Test.Noise
	case doc.Noise != nil:
		n = *doc.Noise
	default:
		n = Noise{Body: doc.Body, Headers: doc.Headers}
	}
	if _, err := compileNoise(n); err != nil {
		return Noise{}, err
	}
	return n, nil
}

// Merge returns the rules of n followed by those of o that n lacks.
func (n Noise) Merge(o Noise) Noise {
	add := func(list []string, items []string) []string {
		out := slices.Clone(list)
		for _, it := range items {
			if !slices.Contains(out, it) {
				out = append(out, it)
			}
		}
		return out
	}
	return Noise{Body: add(n.Body, o.Body), Headers: add(n.Headers, o.Headers)}
}

// IsZero reports whether n has no rules.
func (n Noise) IsZero() bool { return len(n.Body) == 0 && len(n.Headers) == 0 }

// YAML renders n as a test.noise block to paste into a Backworks file or
// to keep as a file for --noise.
func (n Noise) YAML() []byte {
	var b bytes.Buffer
	b.WriteString("test:\n  noise:\n")
	list := func(name string, items []string) {
		if len(items) == 0 {
			fmt.Fprintf(&b, "    %s: []\n", name)
			return
		}
		fmt.Fprintf(&b, "    %s:\n", name)
		for _, it := range items {
			q, _ := yaml.Marshal(it)
			fmt.Fprintf(&b, "      - %s", q)
		}
	}
	list("body", n.Body)
	list("headers", n.Headers)
	return b.Bytes()
}

// noiseRules are the compiled user rules.
type noiseRules struct {
	addBody, delBody     []pathRule
	addHeader, delHeader []string // lower-case globs
}

func compileNoise(n Noise) (*noiseRules, error) {
	r := new(noiseRules)
	for i, s := range n.Body {
		del := strings.HasPrefix(s, "!")
		p, err := parsePathRule(strings.TrimSpace(strings.TrimPrefix(s, "!")))
		if err != nil {
			return nil, fmt.Errorf("noise body[%d]: %w", i, err)
		}
		if del {
			r.delBody = append(r.delBody, p)
		} else {
			r.addBody = append(r.addBody, p)
		}
	}
	for i, s := range n.Headers {
		del := strings.HasPrefix(s, "!")
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(s, "!")))
		if _, err := path.Match(name, ""); err != nil || name == "" || strings.ContainsAny(name, " :/") {
			return nil, fmt.Errorf("noise headers[%d]: bad header name %q", i, s)
		}
		if del {
			r.delHeader = append(r.delHeader, name)
		} else {
			r.addHeader = append(r.addHeader, name)
		}
	}
	return r, nil
}

// bodyRule says what the user rules make of the node at path: +1 noisy,
// -1 compared by value, 0 no rule. A removal wins over an addition.
func (r *noiseRules) bodyRule(p []seg) int {
	for i := range r.delBody {
		if r.delBody[i].match(p) {
			return -1
		}
	}
	for i := range r.addBody {
		if r.addBody[i].match(p) {
			return 1
		}
	}
	return 0
}

// headerNoisy reports whether a response header is compared by format
// only: bw's list of volatile headers plus the user's, minus the user's
// removals. learned holds names found noisy in the recordings.
func (r *noiseRules) headerNoisy(name string, learned bool) bool {
	n := strings.ToLower(name)
	if globMatch(r.delHeader, n) {
		return false
	}
	return learned || globMatch(r.addHeader, n) || globMatch(volatileHeaders, n)
}

func globMatch(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// volatileHeaders change from one response to the next on their own.
var volatileHeaders = []string{
	"date", "expires", "last-modified", "etag", "set-cookie", "age", "retry-after",
	"x-request-id", "request-id", "x-correlation-id", "correlation-id", "x-trace-id", "trace-id",
	"traceparent", "tracestate", "x-b3-*", "b3", "x-amzn-trace-id", "x-amzn-requestid",
	"x-amz-request-id", "x-amz-id-2", "x-runtime", "x-response-time", "server-timing",
	"x-ratelimit-*", "x-rate-limit-*", "ratelimit", "ratelimit-*", "cf-ray", "x-cache", "x-cache-*",
	"via", "x-served-by", "x-timer", "nel", "report-to", "alt-svc", "x-envoy-upstream-service-time",
	"x-envoy-*", "x-vercel-id", "fly-request-id", "x-cloud-trace-context",
}

// ignoredHeaders are never checked: they describe the transfer or the
// software, not the API, or come from bw itself.
var ignoredHeaders = map[string]bool{
	"content-length": true, "transfer-encoding": true, "connection": true, "keep-alive": true,
	"content-encoding": true, "proxy-connection": true, "trailer": true, "upgrade": true,
	"server": true, "x-powered-by": true, "via": true, "age": true,
	"bw-match": true, "bw-validation": true,
}

// optionalHeaders are standard headers about caching, security policy,
// CORS and transport that a response may drop without breaking its API:
// they are compared when both responses have them, but not required.
// Every other recorded header (Location, WWW-Authenticate, Allow, Link,
// X-Total-Count, ...) is.
var optionalHeaders = map[string]bool{
	"cache-control": true, "pragma": true, "expires": true, "vary": true, "date": true,
	"accept-ranges": true, "content-security-policy": true, "strict-transport-security": true,
	"x-content-type-options": true, "x-frame-options": true, "x-xss-protection": true,
	"referrer-policy": true, "permissions-policy": true, "cross-origin-opener-policy": true,
	"cross-origin-resource-policy": true, "cross-origin-embedder-policy": true,
	"access-control-allow-origin": true, "access-control-allow-credentials": true,
	"access-control-expose-headers": true, "access-control-allow-methods": true,
	"access-control-allow-headers": true, "access-control-max-age": true,
	"alt-svc": true, "nel": true, "report-to": true, "server-timing": true,
	"x-dns-prefetch-control": true, "x-download-options": true, "x-permitted-cross-domain-policies": true,
}
