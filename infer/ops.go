package infer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"hash/maphash"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/backworks/bw/store"
)

// maxExample caps the size of a body kept as an example (rule 22).
const maxExample = 4 << 10

// operation accumulates everything seen for one (method, template).
type operation struct {
	method   string
	node     *pathNode
	samples  int
	ok       int // successful (2xx/3xx) samples: the base for required-ness
	pathVals []*shape
	query    map[string]*param
	headers  map[string]*param
	auth     map[string]*authUse // by scheme key
	request  map[string]*content // by media type, from successful exchanges
	reqSeen  int                 // successful exchanges that had a request body
	resps    map[int]*response

	// errLearned counts the failed requests learned from while the
	// operation has answered only with errors (rule 21); its first success
	// forgets them.
	errLearned int
	// rejected counts the parameter names of requests the service
	// rejected as invalid (400, 422), by name set: the evidence that makes
	// a query parameter or header required (rule 18).
	rejected map[string]int
}

// maxRejectedSets bounds the distinct name sets of rejected requests kept.
const maxRejectedSets = 64

type param struct {
	count    int // successful requests that carried it
	repeated bool
	split    bool // comma-delimited list
	s        *shape
}

type response struct {
	count   int
	content map[string]*content
	headers map[string]*param
	empty   int
}

type content struct {
	kind     bodyKind
	count    int
	s        *shape
	example  []byte
	distinct []uint64 // hashes of the first distinct bodies, up to minRequestBodies
}

// minRequestBodies is how many distinct request bodies a request schema
// needs before any of its fields is required (rule 11). Clients send what
// they happen to need: two bodies that both carry an optional field are a
// coin flip (a field sent 60% of the time is in both a third of the time, in
// three only a fifth), and a mock that requires it rejects valid clients,
// while a required field documented as optional costs nothing at serve time.
const minRequestBodies = 3

var bodySeed = maphash.MakeSeed()

func newOperation(method string, node *pathNode, nparams int) *operation {
	op := &operation{
		method: method, node: node,
		query: map[string]*param{}, headers: map[string]*param{}, auth: map[string]*authUse{},
		request: map[string]*content{}, resps: map[int]*response{},
	}
	op.pathVals = make([]*shape, nparams)
	for i := range op.pathVals {
		op.pathVals[i] = newShape()
	}
	return op
}

// add merges one exchange; params are the values of the path's parameters.
func (op *operation) add(s *sample, params []string) {
	ex := s.ex
	op.samples++
	status := ex.Response.Status
	success := status >= 200 && status < 400
	resp := op.resps[status]
	if resp == nil {
		resp = &response{content: map[string]*content{}, headers: map[string]*param{}}
		op.resps[status] = resp
	}
	resp.count++
	if d := s.resp; d.kind == kindEmpty {
		resp.empty++
	} else {
		addContent(resp.content, d)
	}
	for _, f := range ex.Response.Header.Regular() {
		if name := strings.ToLower(f.Name); usefulResponseHeader(name) {
			p := resp.headers[name]
			if p == nil {
				p = &param{s: newShape()}
				resp.headers[name] = p
			}
			p.count++
			p.s.add(scalar(f.Value), 1)
		}
	}
	if !success {
		if status == 400 || status == 422 {
			op.addRejected(ex)
		}
		if op.ok == 0 {
			op.errLearned++
			op.learn(s, params)
		}
		return
	}
	if op.ok == 0 && op.errLearned > 0 {
		op.forget()
	}
	op.ok++
	op.learn(s, params)
}

// learn merges the request side of an exchange: path values, query,
// headers, credentials and body.
func (op *operation) learn(s *sample, params []string) {
	ex := s.ex
	for i, v := range params {
		if i < len(op.pathVals) {
			op.pathVals[i].add(scalar(v), 1)
		}
	}
	op.addQuery(ex.Request.RawQuery)
	op.addHeaders(ex.Request.Header)
	for _, a := range detectAuth(&ex.Request) {
		u := op.auth[a.key()]
		if u == nil {
			u = &authUse{scheme: a}
			op.auth[a.key()] = u
		}
		u.count++
	}
	if d := s.req; d.kind != kindEmpty {
		op.reqSeen++
		addContent(op.request, d)
	}
}

// base is the number of requests parameters and bodies were learned from:
// the successful ones, or for an operation seen only with errors, those.
func (op *operation) base() int {
	if op.ok > 0 {
		return op.ok
	}
	return op.errLearned
}

// forget drops what was learned from failed requests.
func (op *operation) forget() {
	op.query, op.headers, op.auth = map[string]*param{}, map[string]*param{}, map[string]*authUse{}
	op.request, op.reqSeen = map[string]*content{}, 0
	for i := range op.pathVals {
		op.pathVals[i] = newShape()
	}
}

// addRejected records the query and header names a rejected request had.
func (op *operation) addRejected(ex *store.Exchange) {
	var q, h []string
	if vals, err := url.ParseQuery(ex.Request.RawQuery); err == nil {
		for name := range vals {
			q = append(q, queryBase(name))
		}
	}
	for _, f := range ex.Request.Header.Regular() {
		h = append(h, strings.ToLower(f.Name))
	}
	sort.Strings(q)
	sort.Strings(h)
	key := strings.Join(q, "\x00") + "\x01" + strings.Join(h, "\x00")
	if op.rejected == nil {
		op.rejected = map[string]int{}
	}
	if op.rejected[key] > 0 || len(op.rejected) < maxRejectedSets {
		op.rejected[key]++
	}
}

// rejectedWithout reports whether the service rejected a request that
// lacked the query parameter (header when header is set) name.
func (op *operation) rejectedWithout(name string, header bool) bool {
	for key := range op.rejected {
		q, h, _ := strings.Cut(key, "\x01")
		list := q
		if header {
			list = h
		}
		if !slices.Contains(strings.Split(list, "\x00"), name) {
			return true
		}
	}
	return false
}

// paramRequired: a query parameter or header is required only when every
// successful request had it and the service rejected one without it; a
// client that always sends it proves nothing about the server (rule 18).
func (op *operation) paramRequired(p *param, name string, header bool) bool {
	return op.ok >= 2 && p.count == op.ok && op.rejectedWithout(name, header)
}

func addContent(m map[string]*content, d decoded) {
	c := m[d.media]
	if c == nil {
		c = &content{kind: d.kind, s: newShape()}
		m[d.media] = c
	}
	c.count++
	if len(c.distinct) < minRequestBodies {
		h := maphash.Bytes(bodySeed, d.raw)
		if !slices.Contains(c.distinct, h) {
			c.distinct = append(c.distinct, h)
		}
	}
	switch d.kind {
	case kindJSON, kindForm:
		c.s.add(d.value, 0)
	case kindText:
		c.s.strs++
		c.s.n++
		c.s.tooMany = true
		c.s.formats = 0
	case kindBinary:
		c.kind = kindBinary
	}
	// The example is the largest body under the cap (the one showing the
	// most fields), the smallest in byte order among equals: a choice that
	// does not depend on the order samples arrive in.
	if n := len(d.raw); d.kind != kindBinary && n <= maxExample && n > 0 &&
		(n > len(c.example) || n == len(c.example) && bytes.Compare(d.raw, c.example) < 0) {
		c.example = bytes.Clone(d.raw)
	}
}

// scalar types a string from a URL or header: integers, numbers and booleans
// as such, the rest as strings.
func scalar(v string) any {
	switch {
	case isDigits(v) || (len(v) > 1 && v[0] == '-' && isDigits(v[1:])):
		if len(v) < 19 {
			return json.Number(v)
		}
	case v == "true" || v == "false":
		return v == "true"
	case isNumeric(v) && !strings.ContainsAny(v, "eEinfINF") && strings.Count(v, ".") == 1:
		return json.Number(v)
	}
	return v
}

func (op *operation) addQuery(raw string) {
	if raw == "" {
		return
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return
	}
	for name, vs := range vals {
		base := queryBase(name)
		if isSecretQuery(base) {
			continue // credentials become securitySchemes (rule 20)
		}
		p := op.query[base]
		if p == nil {
			p = &param{s: newShape()}
			op.query[base] = p
		}
		p.count++
		if len(vs) > 1 {
			p.repeated = true
		}
		for _, v := range vs {
			if len(vs) == 1 && strings.Contains(v, ",") && !strings.Contains(v, " ") {
				p.split = true
				for _, part := range strings.Split(v, ",") {
					p.s.add(scalar(part), 1)
				}
				continue
			}
			p.s.add(scalar(v), 1)
		}
	}
}

// queryBase names the parameter of a query key: filter[x] is the deepObject
// parameter filter.
func queryBase(name string) string {
	if i := strings.IndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
		return name[:i]
	}
	return name
}

// addHeaders counts the request's header parameters. Pseudo-headers
// (":path", ...) that recordings imported by older versions still hold are
// the request line, not parameters.
func (op *operation) addHeaders(h store.Header) {
	seen := map[string]bool{}
	for _, f := range h.Regular() {
		name := strings.ToLower(f.Name)
		if seen[name] || standardHeader(name) || authHeader(name) {
			continue
		}
		seen[name] = true
		p := op.headers[name]
		if p == nil {
			p = &param{s: newShape()}
			op.headers[name] = p
		}
		p.count++
		p.s.add(scalar(f.Value), 1)
	}
}

// standardHeader lists the request headers that are not part of an API
// contract: HTTP itself, browsers, proxies, tracing (rule 19).
func standardHeader(name string) bool {
	switch name {
	case "host", "user-agent", "accept", "accept-encoding", "accept-language", "accept-charset",
		"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
		"content-length", "content-type", "content-encoding", "cache-control", "pragma", "expect",
		"origin", "referer", "dnt", "cookie", "if-none-match", "if-modified-since", "if-match",
		"if-unmodified-since", "if-range", "range", "priority", "forwarded", "via", "date",
		"traceparent", "tracestate", "baggage", "x-request-id", "x-correlation-id", "x-amzn-trace-id",
		"x-real-ip", "x-requested-with", "upgrade-insecure-requests", "purpose", "save-data",
		"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol",
		"content-md5", "x-http-method-override", "max-forwards", "authorization", "proxy-authorization":
		return true
	}
	return strings.HasPrefix(name, "sec-") || strings.HasPrefix(name, "x-forwarded-") ||
		strings.HasPrefix(name, "x-b3-") || strings.HasPrefix(name, "cf-") || strings.HasPrefix(name, "x-datadog-")
}

func usefulResponseHeader(name string) bool {
	switch name {
	case "location", "etag", "last-modified", "retry-after", "link", "content-location",
		"x-total-count", "x-request-id", "x-next-page", "x-page", "x-per-page", "x-total":
		return true
	}
	return strings.HasPrefix(name, "ratelimit") || strings.HasPrefix(name, "x-ratelimit") ||
		strings.HasPrefix(name, "x-rate-limit")
}

// authScheme is one way a client authenticated.
type authScheme struct {
	kind   string // http or apiKey
	scheme string // bearer, basic (http)
	in     string // header, query, cookie (apiKey)
	name   string // header/query/cookie name (apiKey)
	jwt    bool
}

func (a authScheme) key() string {
	if a.kind == "http" {
		return "http:" + a.scheme
	}
	return "apiKey:" + a.in + ":" + strings.ToLower(a.name)
}

type authUse struct {
	scheme authScheme
	count  int
}

func authHeader(name string) bool {
	return store.IsSecretHeader(name) && name != "cookie" && name != "set-cookie"
}

func isSecretQuery(name string) bool {
	switch strings.ToLower(name) {
	case "api_key", "apikey", "api-key", "key", "access_token", "token", "auth", "x-api-key", "apitoken", "api_token":
		return true
	}
	return false
}

// detectAuth finds the credentials a request carried (rule 20).
func detectAuth(r *store.Request) []authScheme {
	var out []authScheme
	for _, f := range r.Header.Regular() {
		name := strings.ToLower(f.Name)
		switch {
		case name == "authorization":
			scheme, cred, _ := strings.Cut(strings.TrimSpace(f.Value), " ")
			switch strings.ToLower(scheme) {
			case "bearer":
				out = append(out, authScheme{kind: "http", scheme: "bearer", jwt: looksJWT(cred)})
			case "basic":
				out = append(out, authScheme{kind: "http", scheme: "basic"})
			default:
				// "Token abc" and other custom schemes: an API key in the header.
				out = append(out, authScheme{kind: "apiKey", in: "header", name: f.Name})
			}
		case name == "cookie":
			for _, part := range strings.Split(f.Value, ";") {
				k, _, _ := strings.Cut(strings.TrimSpace(part), "=")
				if store.IsSecretName(k) || strings.Contains(strings.ToLower(k), "sess") {
					out = append(out, authScheme{kind: "apiKey", in: "cookie", name: k})
				}
			}
		case authHeader(name) && name != "proxy-authorization":
			out = append(out, authScheme{kind: "apiKey", in: "header", name: f.Name})
		}
	}
	if vals, err := url.ParseQuery(r.RawQuery); err == nil {
		for _, k := range sortedKeys(vals) {
			if isSecretQuery(k) {
				out = append(out, authScheme{kind: "apiKey", in: "query", name: k})
			}
		}
	}
	return out
}

// looksJWT reports a JWT: three base64url parts whose header names an alg.
// Redaction keeps the header part, so this works on redacted recordings too.
func looksJWT(cred string) bool {
	head, _, ok := strings.Cut(cred, ".")
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return json.Unmarshal(b, &h) == nil && h.Alg != ""
}
