package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v4"
)

// keyTable says what a mapping may hold besides the keys its parser reads:
// keys bw cannot honour (an error, with the reason) and keys it ignores (a
// warning, with the reason). Any other key is an unknown-key warning, except
// x- extensions, which are kept silently.
type keyTable struct {
	known       []string
	unsupported map[string]string
	ignored     map[string]string
}

// keys sorts the fields of a mapping: it returns the known ones by name and
// reports the rest.
func (p *parser) keys(fs []field, t keyTable) map[string]field {
	out := make(map[string]field, len(fs))
	for _, f := range fs {
		switch {
		case contains(t.known, f.name):
			out[f.name] = f
		case t.unsupported[f.name] != "":
			p.errorf(f.key, f.path, "not supported by bw: %s", t.unsupported[f.name])
		case t.ignored[f.name] != "":
			p.warnf(f.key, f.path, "ignored: %s", t.ignored[f.name])
		case strings.HasPrefix(f.name, "x-"):
		default:
			p.warnf(f.key, f.path, "unknown key; ignored")
		}
	}
	return out
}

// hasUnsupported reports whether a mapping holds a key bw cannot honour
// (already reported).
func hasUnsupported(fs []field, t keyTable) bool {
	for _, f := range fs {
		if t.unsupported[f.name] != "" {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

const (
	noCode     = "bw runs no handler code; describe answers with mock_responses or responses, or proxy to a running service"
	noDatabase = "bw has no database mode; answer with mock_responses, recordings or a proxy"
	noPlugins  = "bw has no plugins"
	noAI       = "bw has no AI features"
	noTransf   = "bw forwards requests and responses unchanged"
)

var topKeys = keyTable{
	known: []string{"name", "version", "description", "mode", "server", "security", "cors", "recordings",
		"infer", "test", "endpoints", "components", "global_headers"},
	unsupported: map[string]string{
		"runtime":       noCode,
		"database":      noDatabase,
		"plugins":       noPlugins,
		"middleware":    "bw has no middleware; use security.rate_limiting and security.validation",
		"external_apis": "bw does not call external APIs; add proxy endpoints instead",
	},
	ignored: map[string]string{
		"dashboard":  "bw serve's admin endpoints are under /__bw/",
		"logging":    "use bw's --log-format, -v and -q flags",
		"monitoring": "metrics are at /__bw/metrics",
		"capture":    "record traffic with bw capture",
		"ai":         noAI,
		"cache":      "bw does not cache responses",
		"apis":       "only runtime handlers used them",
	},
}

// parseBackworks reads bw's Backworks YAML and the original project's map
// and list files.
func (p *parser) parseBackworks(root *yaml.Node) (*Doc, *bwSource) {
	doc := defaultDoc()
	src := &bwSource{}
	fs, _ := p.fields(root, "")
	k := p.keys(fs, topKeys)

	if f, ok := k["name"]; ok {
		doc.Name, _ = p.str(f.val, f.path)
	}
	if doc.Name == "" {
		n := root
		if f, ok := k["name"]; ok {
			n = f.val
		}
		p.errorf(n, "name", "required: the API's name")
	}
	if f, ok := k["version"]; ok {
		doc.Version, _ = p.str(f.val, f.path)
	}
	if f, ok := k["description"]; ok {
		doc.Description, _ = p.str(f.val, f.path)
	}
	var topMode *field
	if f, ok := k["mode"]; ok {
		s, _ := p.str(f.val, f.path)
		switch m := enum(s); m {
		case "mock", "proxy":
			doc.Mode = Mode(m)
		default:
			// Reported where an endpoint depends on it: the original's
			// files often say mode: runtime while every endpoint sets
			// its own block.
			topMode = &f
		}
	}
	if f, ok := k["server"]; ok {
		p.parseServer(f, &doc.Server)
	}
	if f, ok := k["global_headers"]; ok {
		if h, ok := p.strMap(f.val, f.path); ok {
			doc.Headers = h
		}
	}
	if f, ok := k["security"]; ok {
		p.parseSecurity(f, doc)
	}
	if f, ok := k["cors"]; ok {
		doc.CORS = p.parseCORS(f)
	}
	if f, ok := k["recordings"]; ok {
		doc.Recordings, _ = p.str(f.val, f.path)
	}
	if f, ok := k["infer"]; ok {
		fs, _ := p.fields(f.val, f.path)
		ik := p.keys(fs, keyTable{known: []string{"paths", "source"}})
		if f, ok := ik["paths"]; ok {
			doc.Hints, _ = p.strs(f.val, f.path)
		}
		if f, ok := ik["source"]; ok {
			p.str(f.val, f.path)
		}
	}
	if f, ok := k["test"]; ok {
		p.parseTest(f, &doc.Test)
	}
	if f, ok := k["components"]; ok {
		src.components = p.parseComponents(f)
	}
	if f, ok := k["endpoints"]; ok {
		p.parseEndpoints(f, doc, src, topMode)
	}
	if len(doc.Endpoints) == 0 && !p.failed() {
		n := root
		if f, ok := k["endpoints"]; ok {
			n = f.key
		}
		p.warnf(n, "endpoints", "no endpoints: bw serve will answer 404 to everything")
	}
	if topMode != nil {
		s, _ := p.str(topMode.val, topMode.path)
		if !src.topModeUsed {
			p.warnf(topMode.key, topMode.path, "%q is not a bw mode (mock or proxy); no endpoint relies on it", s)
		}
	}
	return doc, src
}

// defaultDoc is a Doc with every default filled in.
func defaultDoc() *Doc {
	return &Doc{
		Mode:     ModeMock,
		Security: Security{Validation: Validation{Requests: Enforce, Responses: Report, MaxBodySize: 10 << 20}},
	}
}

func (p *parser) parseServer(f field, s *Server) {
	fs, _ := p.fields(f.val, f.path)
	k := p.keys(fs, keyTable{known: []string{"host", "port"}})
	if f, ok := k["host"]; ok {
		s.Host, _ = p.str(f.val, f.path)
	}
	if f, ok := k["port"]; ok {
		if v, ok := p.integer(f.val, f.path); ok {
			if v < 0 || v > 65535 {
				p.errorf(f.val, f.path, "must be 0-65535 (got %d)", v)
			} else {
				s.Port = int(v)
			}
		}
	}
}

func (p *parser) parseSecurity(f field, doc *Doc) {
	fs, _ := p.fields(f.val, f.path)
	k := p.keys(fs, keyTable{
		known: []string{"rate_limiting", "validation", "cors", "headers"},
		unsupported: map[string]string{
			"authentication": "bw does not check credentials; document schemes in components.securitySchemes",
		},
	})
	if f, ok := k["rate_limiting"]; ok {
		doc.Security.RateLimit = p.parseRateLimit(f)
	}
	if f, ok := k["validation"]; ok {
		p.parseValidation(f, &doc.Security.Validation)
	}
	if f, ok := k["cors"]; ok {
		doc.CORS = p.parseCORS(f)
	}
	if f, ok := k["headers"]; ok {
		if h, ok := p.strMap(f.val, f.path); ok {
			if doc.Headers == nil {
				doc.Headers = map[string]string{}
			}
			for name, v := range h {
				doc.Headers[name] = v
			}
		}
	}
}

// parseRateLimit reads a token bucket; nil when disabled.
func (p *parser) parseRateLimit(f field) *RateLimit {
	fs, ok := p.fields(f.val, f.path)
	if !ok {
		return nil
	}
	k := p.keys(fs, keyTable{known: []string{"enabled", "requests_per_minute", "requests_per_second",
		"burst_size", "burst", "key_generator", "key", "trusted_proxies"}})
	rl := &RateLimit{Key: "ip"}
	if f, ok := k["enabled"]; ok {
		if on, ok := p.boolean(f.val, f.path); ok && !on {
			return nil
		}
	}
	rpm, hasRate := k["requests_per_minute"]
	if f, ok := k["requests_per_second"]; ok {
		if hasRate {
			p.errorf(f.key, f.path, "set requests_per_minute or requests_per_second, not both")
		}
		rpm, hasRate = f, true
	}
	if !hasRate {
		p.errorf(f.key, join(f.path, "requests_per_minute"), "required when rate limiting is enabled")
	} else if v, ok := p.number(rpm.val, rpm.path); ok {
		if v <= 0 {
			p.errorf(rpm.val, rpm.path, "must be > 0 (got %s)", deref(rpm.val).Value)
		}
		if rpm.name == "requests_per_second" {
			v *= 60
		}
		rl.RequestsPerMinute = v
	}
	for _, name := range []string{"burst_size", "burst"} {
		if f, ok := k[name]; ok {
			if v, ok := p.integer(f.val, f.path); ok {
				if v < 0 || v > math.MaxInt32 {
					p.errorf(f.val, f.path, "must be >= 0 (got %d)", v)
				}
				rl.Burst = int(v)
			}
		}
	}
	for _, name := range []string{"key_generator", "key"} {
		if f, ok := k[name]; ok {
			if s, ok := p.str(f.val, f.path); ok {
				key, err := rateLimitKey(s)
				if err != nil {
					p.errorf(f.val, f.path, "%v", err)
				}
				rl.Key = key
			}
		}
	}
	if f, ok := k["trusted_proxies"]; ok {
		if v, ok := p.integer(f.val, f.path); ok {
			if v < 0 || v > 100 {
				p.errorf(f.val, f.path, "must be a hop count 0-100 (got %d)", v)
			}
			rl.TrustedProxies = int(v)
		}
	}
	return rl
}

// rateLimitKey reads ip, header:NAME or api_key, and the original names.
func rateLimitKey(s string) (string, error) {
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.EqualFold(s[:i], "header") {
		if name := strings.TrimSpace(s[i+1:]); name != "" {
			return "header:" + name, nil
		}
	}
	switch enum(s) {
	case "ip", "ip_address", "client_ip", "remote_addr", "remote_ip":
		return "ip", nil
	case "api_key", "apikey":
		return "api_key", nil
	case "user", "user_id":
		return "ip", fmt.Errorf("%q is not supported by bw: it does not authenticate users; use ip, header:NAME or api_key", s)
	}
	return "ip", fmt.Errorf("must be ip, header:NAME or api_key (got %q)", s)
}

func (p *parser) parseValidation(f field, v *Validation) {
	fs, _ := p.fields(f.val, f.path)
	k := p.keys(fs, keyTable{
		known: []string{"requests", "responses", "max_body_size"},
		ignored: map[string]string{
			"require_content_type": "bw checks bodies against request.schema; see security.validation.requests",
			"validate_json":        "bw checks bodies against request.schema; see security.validation.requests",
		},
	})
	for name, dst := range map[string]*Enforcement{"requests": &v.Requests, "responses": &v.Responses} {
		f, ok := k[name]
		if !ok {
			continue
		}
		s := deref(f.val)
		if s != nil && s.Kind == yaml.ScalarNode && s.ShortTag() == "!!bool" {
			if on, ok := p.boolean(f.val, f.path); ok {
				*dst = map[bool]Enforcement{true: Enforce, false: Off}[on]
			}
			continue
		}
		str, ok := p.str(f.val, f.path)
		if !ok {
			continue
		}
		switch e := Enforcement(enum(str)); e {
		case Enforce, Report, Off:
			*dst = e
		default:
			p.errorf(f.val, f.path, "must be enforce, report or off (got %q)", str)
		}
	}
	if f, ok := k["max_body_size"]; ok {
		if n, ok := p.size(f.val, f.path); ok {
			if n <= 0 {
				p.errorf(f.val, f.path, "must be > 0 (got %s)", deref(f.val).Value)
			} else {
				v.MaxBodySize = n
			}
		}
	}
}

// parseCORS reads bw's names and the original's (origins, methods, headers,
// credentials, enabled); cors: true allows every origin.
func (p *parser) parseCORS(f field) *CORS {
	if s := deref(f.val); s != nil && s.Kind == yaml.ScalarNode && s.ShortTag() == "!!bool" {
		if on, ok := p.boolean(f.val, f.path); ok && on {
			return &CORS{AllowOrigins: []string{"*"}}
		}
		return nil
	}
	fs, ok := p.fields(f.val, f.path)
	if !ok {
		return nil
	}
	k := p.keys(fs, keyTable{known: []string{"enabled", "allow_origins", "origins", "allow_methods", "methods",
		"allow_headers", "headers", "expose_headers", "allow_credentials", "credentials", "max_age"}})
	if f, ok := k["enabled"]; ok {
		if on, ok := p.boolean(f.val, f.path); ok && !on {
			return nil
		}
	}
	c := &CORS{}
	lists := []struct {
		names []string
		dst   *[]string
	}{
		{[]string{"allow_origins", "origins"}, &c.AllowOrigins},
		{[]string{"allow_methods", "methods"}, &c.AllowMethods},
		{[]string{"allow_headers", "headers"}, &c.AllowHeaders},
		{[]string{"expose_headers"}, &c.ExposeHeaders},
	}
	for _, l := range lists {
		for _, name := range l.names {
			if f, ok := k[name]; ok {
				*l.dst, _ = p.strs(f.val, f.path)
				if l.dst != &c.AllowMethods {
					continue
				}
				for i, m := range c.AllowMethods {
					if c.AllowMethods[i] = strings.ToUpper(m); !validMethod(c.AllowMethods[i]) && m != "*" {
						p.errorf(f.val, f.path, "%q is not an HTTP method", m)
					}
				}
			}
		}
	}
	for _, name := range []string{"allow_credentials", "credentials"} {
		if f, ok := k[name]; ok {
			c.AllowCredentials, _ = p.boolean(f.val, f.path)
			if c.AllowCredentials && contains(c.AllowOrigins, "*") {
				p.warnf(f.val, f.path, "browsers refuse credentials with allow_origins \"*\"; list the origins")
			}
		}
	}
	if f, ok := k["max_age"]; ok {
		c.MaxAge, _ = p.duration(f.val, f.path)
	}
	if len(c.AllowOrigins) == 0 {
		c.AllowOrigins = []string{"*"}
	}
	return c
}

func (p *parser) parseTest(f field, t *TestConfig) {
	fs, _ := p.fields(f.val, f.path)
	k := p.keys(fs, keyTable{known: []string{"noise"}})
	if f, ok := k["noise"]; ok {
		fs, _ := p.fields(f.val, f.path)
		nk := p.keys(fs, keyTable{known: []string{"body", "headers"}})
		if f, ok := nk["body"]; ok {
			t.NoiseBody, _ = p.strs(f.val, f.path)
		}
		if f, ok := nk["headers"]; ok {
			t.NoiseHeaders, _ = p.strs(f.val, f.path)
		}
	}
}

// components is the components block as read: the value for the OpenAPI
// document, and the schema and security scheme names with their nodes.
type components struct {
	value   map[string]any
	schemas map[string]*yaml.Node // by name
	schemes map[string]bool
	node    *yaml.Node
}

var componentKinds = []string{"schemas", "securitySchemes", "parameters", "responses", "requestBodies",
	"headers", "examples", "links", "callbacks", "pathItems"}

func (p *parser) parseComponents(f field) *components {
	c := &components{schemas: map[string]*yaml.Node{}, schemes: map[string]bool{}, node: f.key}
	fs, ok := p.fields(f.val, f.path)
	if !ok {
		return c
	}
	k := p.keys(fs, keyTable{known: componentKinds})
	if f, ok := k["schemas"]; ok {
		sfs, _ := p.fields(f.val, f.path)
		for _, s := range sfs {
			c.schemas[s.name] = s.key
		}
	}
	if f, ok := k["securitySchemes"]; ok {
		sfs, _ := p.fields(f.val, f.path)
		for _, s := range sfs {
			c.schemes[s.name] = true
		}
	}
	if v, ok := p.value(f.val, f.path); ok {
		c.value, _ = v.(map[string]any)
	}
	return c
}

// bwSource keeps what building the OpenAPI document needs from the YAML.
type bwSource struct {
	components  *components
	eps         []*epSource
	topModeUsed bool
}

// epSource is one endpoint with the nodes its schemas came from.
type epSource struct {
	ep     *Endpoint
	node   *yaml.Node
	path   string // YAML path, endpoints.NAME
	params []*schemaSite
	req    *schemaSite
	resps  map[int]*respSource
}

type respSource struct {
	schema  *schemaSite
	headers map[string]*schemaSite
	example *yaml.Node
}

// schemaSite is one schema in the file: its value, where it is, and where
// the decoded schema goes.
type schemaSite struct {
	value any
	node  *yaml.Node
	path  string
}

var endpointKeys = keyTable{
	known: []string{"name", "path", "methods", "method", "description", "summary", "mode", "mock", "mock_responses",
		"proxy", "parameters", "request", "responses", "rate_limit", "security", "x-bw-samples"},
	unsupported: map[string]string{
		"runtime":  noCode,
		"handler":  noCode,
		"config":   "it configures a handler, and " + noCode,
		"database": noDatabase,
		"plugin":   noPlugins,
	},
	ignored: map[string]string{
		"capture":        "record traffic with bw capture",
		"ai_enhanced":    noAI,
		"ai_suggestions": noAI,
		"apis":           "only runtime handlers used them",
		"validation":     "the original's validation rules are not applied; describe the body in request.schema",
		"monitoring":     "metrics are at /__bw/metrics",
		"cache":          "bw does not cache responses",
	},
}

func (p *parser) parseEndpoints(f field, doc *Doc, src *bwSource, topMode *field) {
	type item struct {
		name  string
		named bool
		key   *yaml.Node // name key, or the list item
		val   *yaml.Node
		path  string
	}
	var list []item
	if s := deref(f.val); s != nil && s.Kind == yaml.SequenceNode {
		for i, n := range s.Content {
			list = append(list, item{key: n, val: n, path: fmt.Sprintf("endpoints[%d]", i)})
		}
	} else {
		fs, _ := p.fields(f.val, f.path)
		for _, e := range fs {
			list = append(list, item{name: e.name, named: true, key: e.key, val: e.val, path: e.path})
		}
	}
	used := map[string]bool{}
	for _, it := range list {
		if it.named {
			used[it.name] = true
		}
	}
	type route struct {
		name string
		path string
		node *yaml.Node
	}
	routes := map[string]route{} // "METHOD templateKey" -> first endpoint
	for _, it := range list {
		if it.named && strings.TrimSpace(it.name) == "" {
			p.errorf(it.key, "endpoints", "an endpoint needs a name")
			continue
		}
		es := p.parseEndpoint(it.key, it.val, it.path, doc, src, topMode)
		if es == nil {
			continue
		}
		if es.ep.Path == "" {
			src.eps = append(src.eps, es) // for its schemas' problems
			continue
		}
		ep := es.ep
		if it.named {
			ep.Name = it.name
		} else if ep.Name == "" {
			base := generatedName(ep.Methods, ep.Path)
			ep.Name = base
			for i := 2; used[ep.Name]; i++ {
				ep.Name = base + "_" + strconv.Itoa(i)
			}
		} else if used[ep.Name] {
			p.errorf(it.key, it.path+".name", "duplicate endpoint name %q", ep.Name)
		}
		used[ep.Name] = true
		es.path = it.path
		if it.named {
			es.path = "endpoints." + ep.Name
		}
		methods := ep.Methods
		if len(methods) == 0 {
			methods = []string{"*"}
		}
		for _, m := range methods {
			key := m + " " + templateKey(ep.Path)
			if prev, dup := routes[key]; dup {
				if prev.path == ep.Path {
					p.errorf(it.key, es.path, "%s %s is already served by endpoint %q (line %d)", m, ep.Path, prev.name, prev.node.Line)
				} else {
					p.errorf(it.key, es.path, "%s %s clashes with %s of endpoint %q (line %d); use the same parameter names",
						m, ep.Path, prev.path, prev.name, prev.node.Line)
				}
				continue
			}
			routes[key] = route{ep.Name, ep.Path, it.key}
		}
		doc.Endpoints = append(doc.Endpoints, ep)
		src.eps = append(src.eps, es)
	}
}

func (p *parser) parseEndpoint(key, n *yaml.Node, path string, doc *Doc, src *bwSource, topMode *field) *epSource {
	fs, ok := p.fields(n, path)
	if !ok {
		return nil
	}
	k := p.keys(fs, endpointKeys)
	ep := &Endpoint{Pos: pos(key)}
	es := &epSource{ep: ep, node: key, path: path, resps: map[int]*respSource{}}

	if f, ok := k["name"]; ok {
		ep.Name, _ = p.str(f.val, f.path)
	}
	var pathNames []string
	if f, ok := k["path"]; ok {
		raw, _ := p.str(f.val, f.path)
		if norm, names, err := normalizePath(raw); err != nil {
			p.errorf(f.val, f.path, "%v", err)
		} else {
			ep.Path, pathNames = norm, names
		}
	} else {
		p.errorf(key, join(path, "path"), "required: the endpoint's URL path, like /users/{id}")
	}
	if f, ok := k["description"]; ok {
		ep.Description, _ = p.str(f.val, f.path)
	} else if f, ok := k["summary"]; ok {
		ep.Description, _ = p.str(f.val, f.path)
	}
	explicitMethods := false
	for _, name := range []string{"methods", "method"} {
		f, ok := k[name]
		if !ok {
			continue
		}
		if explicitMethods {
			p.errorf(f.key, f.path, "set methods or method, not both")
			continue
		}
		explicitMethods = true
		ms, _ := p.strs(f.val, f.path)
		every := false
		for _, m := range ms {
			m = strings.ToUpper(strings.TrimSpace(m))
			if m == "*" || m == "ANY" {
				every = true
				continue
			}
			if !validMethod(m) {
				p.errorf(f.val, f.path, "%q is not an HTTP method (%s)", m, strings.Join(httpMethods, ", "))
				continue
			}
			if !contains(ep.Methods, m) {
				ep.Methods = append(ep.Methods, m)
			}
		}
		if every {
			ep.Methods = nil // every method
		}
	}

	// Mode: said, or implied by the block present, or the file's default.
	if f, ok := k["mode"]; ok {
		s, _ := p.str(f.val, f.path)
		switch m := enum(s); m {
		case "mock", "proxy":
			ep.Mode = Mode(m)
		default:
			p.errorf(f.val, f.path, "%q is not supported by bw (mock or proxy)", s)
		}
	} else if _, ok := k["proxy"]; ok {
		ep.Mode = ModeProxy
	} else if _, ok := k["mock"]; ok {
		ep.Mode = ModeMock
	} else if _, ok := k["mock_responses"]; ok {
		ep.Mode = ModeMock
	} else if topMode != nil && !hasUnsupported(fs, endpointKeys) {
		src.topModeUsed = true
		s, _ := p.str(topMode.val, topMode.path)
		p.errorf(key, path, "uses the file's mode %q (line %d), which bw does not support (mock or proxy); give it a mock_responses or proxy block",
			s, topMode.val.Line)
	} else {
		ep.Mode = doc.Mode
	}

	if f, ok := k["mock_responses"]; ok {
		p.parseMockResponses(f, ep)
	}
	// Without methods: a proxy forwards every method; a mock answers GET
	// (the original's default) and the methods its mock_responses name.
	if !explicitMethods && ep.Mode != ModeProxy {
		ep.Methods = []string{"GET"}
		for key := range ep.Mock {
			m, _, _ := strings.Cut(key, " ")
			if !contains(ep.Methods, m) {
				ep.Methods = append(ep.Methods, m)
			}
		}
		sort.Slice(ep.Methods[1:], func(i, j int) bool { return ep.Methods[1+i] < ep.Methods[1+j] })
	}
	if f, ok := k["mock_responses"]; ok && explicitMethods && len(ep.Methods) > 0 {
		fs, _ := p.fields(f.val, f.path)
		for _, e := range fs {
			key, err := mockKey(e.name, ep.Path)
			if m, _, _ := strings.Cut(key, " "); err == nil && !contains(ep.Methods, m) {
				p.warnf(e.key, e.path, "never used: %s is not among the endpoint's methods %v", m, ep.Methods)
			}
		}
	}
	if f, ok := k["mock"]; ok {
		p.parseMock(f, ep)
	}
	if f, ok := k["proxy"]; ok {
		ep.Proxy = p.parseProxy(f, ep.Path)
	}
	if ep.Mode == ModeProxy && ep.Proxy == nil {
		p.errorf(key, path, "mode proxy needs a proxy block with targets")
	}

	if f, ok := k["parameters"]; ok {
		p.parseParameters(f, es, pathNames)
	}
	// Path parameters the file does not declare are strings.
	for _, name := range pathNames {
		found := false
		for _, prm := range ep.Parameters {
			found = found || prm.In == "path" && prm.Name == name
		}
		if !found {
			ep.Parameters = append(ep.Parameters, Parameter{Name: name, In: "path", Required: true})
			es.params = append(es.params, &schemaSite{value: map[string]any{"type": "string"}, node: key, path: path})
		}
	}
	if f, ok := k["request"]; ok {
		p.parseRequest(f, es)
	}
	if f, ok := k["responses"]; ok {
		p.parseResponses(f, es)
	}
	if f, ok := k["rate_limit"]; ok {
		ep.RateLimit = p.parseRateLimit(f)
	}
	if f, ok := k["security"]; ok {
		ep.Security = p.parseSecurityNames(f, src.components)
	}
	if f, ok := k["x-bw-samples"]; ok {
		if v, ok := p.integer(f.val, f.path); ok {
			if v < 0 || v > math.MaxInt32 {
				p.errorf(f.val, f.path, "must be >= 0 (got %d)", v)
			}
			ep.Samples = int(v)
		}
	}
	return es
}

// mockKey reads a mock_responses key: a method, or "METHOD /path". A path
// equal to the endpoint's reads as the method alone.
func mockKey(key, epPath string) (string, error) {
	parts := strings.Fields(key)
	if len(parts) == 0 || len(parts) > 2 {
		return "", fmt.Errorf("must be a method or \"METHOD /path\" (got %q)", key)
	}
	m := strings.ToUpper(parts[0])
	if !validMethod(m) {
		return "", fmt.Errorf("%q is not an HTTP method (%s)", parts[0], strings.Join(httpMethods, ", "))
	}
	if len(parts) == 1 {
		return m, nil
	}
	path, _, err := normalizePath(parts[1])
	if err != nil {
		return "", err
	}
	if path == epPath {
		return m, nil
	}
	return m + " " + path, nil
}

func (p *parser) parseMockResponses(f field, ep *Endpoint) {
	fs, _ := p.fields(f.val, f.path)
	for _, e := range fs {
		key, err := mockKey(e.name, ep.Path)
		if err != nil {
			p.errorf(e.key, e.path, "%v", err)
			continue
		}
		if ep.Mock[key] != nil {
			p.errorf(e.key, e.path, "a second answer for %s", key)
			continue
		}
		if m := p.parseMockResponse(e.val, e.path, keyTable{}); m != nil {
			if ep.Mock == nil {
				ep.Mock = map[string]*MockResponse{}
			}
			ep.Mock[key] = m
		}
	}
}

// parseMockResponse reads {status, headers, body}; extra names keys the
// caller reads itself.
func (p *parser) parseMockResponse(n *yaml.Node, path string, extra keyTable) *MockResponse {
	fs, ok := p.fields(n, path)
	if !ok {
		return nil
	}
	extra.known = append(extra.known, "status", "headers", "body")
	k := p.keys(fs, extra)
	m := &MockResponse{Status: 200}
	if f, ok := k["status"]; ok {
		m.Status = p.status(f.val, f.path)
	}
	if f, ok := k["headers"]; ok {
		m.Headers, _ = p.strMap(f.val, f.path)
	}
	if f, ok := k["body"]; ok {
		m.Body = p.body(f, m.Headers)
	}
	return m
}

// body reads a mock body: any YAML value is JSON; a string holding JSON (the
// original's `body: |` blocks) is decoded unless the headers say otherwise.
func (p *parser) body(f field, headers map[string]string) any {
	v, ok := p.value(f.val, f.path)
	if !ok {
		return nil
	}
	if hasTemplate(v, 0) {
		p.warnf(f.val, f.path, "template expressions ({{...}}, ${...}) are not evaluated by bw; sent as written")
	}
	s, isStr := v.(string)
	if !isStr {
		return v
	}
	ct := ""
	for name, val := range headers {
		if strings.EqualFold(name, "Content-Type") {
			ct = strings.ToLower(val)
		}
	}
	t := strings.TrimSpace(s)
	if (ct == "" || strings.Contains(ct, "json")) && (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) {
		var j any
		if json.Unmarshal([]byte(t), &j) == nil {
			return j
		}
	}
	return s
}

func hasTemplate(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch v := v.(type) {
	case string:
		return strings.Contains(v, "{{") && strings.Contains(v, "}}") || strings.Contains(v, "${")
	case map[string]any:
		for _, e := range v {
			if hasTemplate(e, depth+1) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasTemplate(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// parseMock reads the original mock block: data (a 200 for the endpoint's
// methods), or the list form's status/headers/body.
func (p *parser) parseMock(f field, ep *Endpoint) {
	m := p.parseMockResponse(f.val, f.path, keyTable{
		known: []string{"data"},
		ignored: map[string]string{
			"ai_generated":      noAI,
			"based_on_patterns": noAI,
			"count":             "bw answers data as written",
			"patterns":          "bw answers data as written",
			"condition":         "bw does not evaluate conditions",
		},
	})
	if m == nil {
		return
	}
	fs, _ := p.fields(f.val, f.path)
	for _, e := range fs {
		if e.name == "data" {
			if _, hasBody := findField(fs, "body"); hasBody {
				p.errorf(e.key, e.path, "set data or body, not both")
			}
			m.Body = p.body(e, m.Headers)
		}
	}
	methods := ep.Methods
	if len(methods) == 0 {
		methods = []string{"*"} // an endpoint of every method answers them all
	}
	for _, method := range methods {
		if ep.Mock[method] != nil {
			continue
		}
		if ep.Mock == nil {
			ep.Mock = map[string]*MockResponse{}
		}
		ep.Mock[method] = m
	}
}

func findField(fs []field, name string) (field, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func (p *parser) status(n *yaml.Node, path string) int {
	v, ok := p.integer(n, path)
	if !ok {
		return 0
	}
	if v < 100 || v > 599 {
		p.errorf(n, path, "must be a status code 100-599 (got %d)", v)
		return 0
	}
	return int(v)
}

var proxyKeys = keyTable{
	known: []string{"target", "targets", "strip_prefix", "timeout", "headers", "load_balancing", "health_checks"},
	unsupported: map[string]string{
		"transform_request":  noTransf,
		"transform_response": noTransf,
		"request_transform":  noTransf,
		"response_transform": noTransf,
		"transform":          noTransf,
	},
	ignored: map[string]string{
		"capture":         "record traffic with bw capture",
		"circuit_breaker": "bw does not break circuits; unhealthy targets leave the pool",
	},
}

var targetKeys = keyTable{
	known: []string{"name", "url", "weight", "health_check"},
	ignored: map[string]string{
		"timeout":         "bw has one timeout per proxy (proxy.timeout)",
		"retry_attempts":  "bw does not retry requests",
		"circuit_breaker": "bw does not break circuits; unhealthy targets leave the pool",
	},
}

var lbPolicies = []string{"round_robin", "weighted", "ip_hash", "least_connections", "consistent_hash"}

func (p *parser) parseProxy(f field, epPath string) *Proxy {
	fs, ok := p.fields(f.val, f.path)
	if !ok {
		return nil
	}
	k := p.keys(fs, proxyKeys)
	px := &Proxy{LoadBalancing: "round_robin"}
	var weights []float64
	if f, ok := k["targets"]; ok {
		if t, ok := k["target"]; ok {
			p.warnf(t.key, t.path, "ignored: targets is set")
		}
		items, _ := p.items(f.val, f.path)
		for i, it := range items {
			t, w := p.parseTarget(it, fmt.Sprintf("%s[%d]", f.path, i))
			if t != nil {
				px.Targets = append(px.Targets, t)
				weights = append(weights, w)
			}
		}
	} else if f, ok := k["target"]; ok {
		s, _ := p.str(f.val, f.path)
		if p.checkURL(f.val, f.path, s) {
			px.Targets = append(px.Targets, &Target{URL: s, Weight: 1})
			weights = append(weights, 1)
		}
	}
	if len(px.Targets) == 0 {
		p.errorf(f.key, join(f.path, "targets"), "required: at least one target with an http or https url")
	}
	// Names: given, else the target's host; unique.
	names := map[string]bool{}
	for i, t := range px.Targets {
		if t.Name == "" {
			u, _ := url.Parse(t.URL)
			t.Name = u.Host
			for j := 2; names[t.Name]; j++ {
				t.Name = u.Host + "#" + strconv.Itoa(j)
			}
		} else if names[t.Name] {
			p.errorf(f.key, fmt.Sprintf("%s.targets[%d].name", f.path, i), "duplicate target name %q", t.Name)
		}
		names[t.Name] = true
	}
	// The original's weights are floats (0.7, 0.3): keep their ratio in ints.
	for i, w := range intWeights(weights) {
		px.Targets[i].Weight = w
	}
	if f, ok := k["strip_prefix"]; ok {
		px.StripPrefix, _ = p.str(f.val, f.path)
		if px.StripPrefix != "" && !strings.HasPrefix(px.StripPrefix, "/") {
			p.errorf(f.val, f.path, "must start with / (got %q)", px.StripPrefix)
		}
		if tpl := strings.SplitN(epPath, "{", 2)[0]; epPath != "" && !strings.HasPrefix(tpl, strings.TrimSuffix(px.StripPrefix, "/")) {
			p.warnf(f.val, f.path, "%q is not a prefix of the endpoint path %s", px.StripPrefix, epPath)
		}
	}
	if f, ok := k["timeout"]; ok {
		px.Timeout, _ = p.duration(f.val, f.path)
	}
	if f, ok := k["headers"]; ok {
		px.Headers, _ = p.strMap(f.val, f.path)
	}
	if f, ok := k["load_balancing"]; ok {
		n := f.val
		path := f.path
		if s := deref(f.val); s != nil && s.Kind == yaml.MappingNode {
			lfs, _ := p.fields(f.val, f.path)
			lk := p.keys(lfs, keyTable{known: []string{"algorithm"}})
			a, ok := lk["algorithm"]
			n, path = a.val, a.path
			if !ok {
				p.errorf(f.key, join(f.path, "algorithm"), "required: one of %s", strings.Join(lbPolicies, ", "))
			}
		}
		if n != nil {
			s, _ := p.str(n, path)
			switch a := enum(s); a {
			case "weighted_round_robin", "weighted":
				px.LoadBalancing = "weighted"
			case "random":
				p.warnf(n, path, "random is served as round_robin")
			default:
				if !contains(lbPolicies, a) {
					p.errorf(n, path, "must be one of %s (got %q)", strings.Join(lbPolicies, ", "), s)
				} else {
					px.LoadBalancing = a
				}
			}
		}
	}
	if f, ok := k["health_checks"]; ok {
		if on, ok := p.boolean(f.val, f.path); ok && on {
			checked := false
			for _, t := range px.Targets {
				checked = checked || t.HealthCheck != nil
			}
			if !checked {
				p.warnf(f.val, f.path, "no target has a health_check, so none is checked; add targets[].health_check")
			}
		}
	}
	return px
}

func (p *parser) checkURL(n *yaml.Node, path, s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errorf(n, path, "must be an absolute http or https URL (got %q)", s)
		return false
	}
	return true
}

func (p *parser) parseTarget(n *yaml.Node, path string) (*Target, float64) {
	fs, ok := p.fields(n, path)
	if !ok {
		return nil, 0
	}
	k := p.keys(fs, targetKeys)
	t := &Target{Weight: 1}
	w := 1.0
	if f, ok := k["name"]; ok {
		t.Name, _ = p.str(f.val, f.path)
	}
	f, ok := k["url"]
	if !ok {
		p.errorf(n, join(path, "url"), "required: the target's http or https URL")
		return nil, 0
	}
	t.URL, _ = p.str(f.val, f.path)
	urlOK := p.checkURL(f.val, f.path, t.URL)
	if f, ok := k["weight"]; ok {
		if v, ok := p.number(f.val, f.path); ok {
			if v <= 0 || v > 1e6 {
				p.errorf(f.val, f.path, "must be > 0 (got %s)", deref(f.val).Value)
			} else {
				w = v
			}
		}
	}
	if f, ok := k["health_check"]; ok {
		t.HealthCheck = p.parseHealthCheck(f)
	}
	if !urlOK {
		return nil, 0
	}
	return t, w
}

// intWeights scales weights to whole numbers with the same ratios.
func intWeights(ws []float64) []int {
	out := make([]int, len(ws))
	whole := true
	for _, w := range ws {
		whole = whole && w == math.Trunc(w)
	}
	if whole {
		for i, w := range ws {
			out[i] = int(w)
		}
		return out
	}
	g := 0
	for i, w := range ws {
		out[i] = max(1, int(math.Round(w*1000)))
		g = gcd(g, out[i])
	}
	for i := range out {
		out[i] /= g
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (p *parser) parseHealthCheck(f field) *HealthCheck {
	fs, ok := p.fields(f.val, f.path)
	if !ok {
		return nil
	}
	k := p.keys(fs, keyTable{known: []string{"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"}})
	hc := &HealthCheck{Path: "/health", Interval: 10e9, Timeout: 2e9, HealthyThreshold: 2, UnhealthyThreshold: 3}
	if f, ok := k["path"]; ok {
		hc.Path, _ = p.str(f.val, f.path)
		if !strings.HasPrefix(hc.Path, "/") {
			p.errorf(f.val, f.path, "must start with / (got %q)", hc.Path)
		}
	}
	for name, dst := range map[string]*int{"healthy_threshold": &hc.HealthyThreshold, "unhealthy_threshold": &hc.UnhealthyThreshold} {
		if f, ok := k[name]; ok {
			if v, ok := p.integer(f.val, f.path); ok {
				if v < 1 || v > 1000 {
					p.errorf(f.val, f.path, "must be 1-1000 (got %d)", v)
				}
				*dst = int(v)
			}
		}
	}
	if f, ok := k["interval"]; ok {
		if d, ok := p.duration(f.val, f.path); ok {
			if d <= 0 {
				p.errorf(f.val, f.path, "must be > 0")
			}
			hc.Interval = d
		}
	}
	if f, ok := k["timeout"]; ok {
		if d, ok := p.duration(f.val, f.path); ok {
			if d <= 0 {
				p.errorf(f.val, f.path, "must be > 0")
			}
			hc.Timeout = d
			if d > hc.Interval && hc.Interval > 0 {
				p.warnf(f.val, f.path, "longer than the interval (%s)", hc.Interval)
			}
		}
	}
	return hc
}

var paramKeys = keyTable{known: []string{"name", "in", "required", "schema", "description", "deprecated",
	"type", "format", "minimum", "maximum", "min_length", "max_length", "pattern", "enum"}}

// parseParameters reads bw's {name, in, required, schema} and the original's
// {name, type, required, minimum, maximum, max_length, format}.
func (p *parser) parseParameters(f field, es *epSource, pathNames []string) {
	items, _ := p.items(f.val, f.path)
	seen := map[string]bool{}
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", f.path, i)
		fs, ok := p.fields(it, path)
		if !ok {
			continue
		}
		k := p.keys(fs, paramKeys)
		var prm Parameter
		if f, ok := k["name"]; ok {
			prm.Name, _ = p.str(f.val, f.path)
		}
		if prm.Name == "" {
			p.errorf(it, join(path, "name"), "required")
			continue
		}
		if f, ok := k["in"]; ok {
			prm.In, _ = p.str(f.val, f.path)
			switch prm.In {
			case "query", "header", "path", "cookie":
			default:
				p.errorf(f.val, f.path, "must be query, header, path or cookie (got %q)", prm.In)
				continue
			}
		} else if contains(pathNames, prm.Name) {
			prm.In, prm.Required = "path", true
		} else {
			prm.In = "query"
		}
		if f, ok := k["required"]; ok {
			req, _ := p.boolean(f.val, f.path)
			if prm.In == "path" && !req {
				p.errorf(f.val, f.path, "path parameters are always required")
			}
			prm.Required = req || prm.In == "path"
		}
		if prm.In == "path" {
			prm.Required = true
			if !contains(pathNames, prm.Name) {
				p.errorf(it, path, "path parameter %q is not in the endpoint's path", prm.Name)
				continue
			}
		}
		id := prm.In + " " + prm.Name
		if prm.In == "header" {
			id = strings.ToLower(id)
		}
		if seen[id] {
			p.errorf(it, path, "parameter %q in %s is declared twice", prm.Name, prm.In)
			continue
		}
		seen[id] = true
		site := &schemaSite{value: map[string]any{"type": "string"}, node: it, path: path}
		if f, ok := k["schema"]; ok {
			if v, ok := p.value(f.val, f.path); ok {
				site = &schemaSite{value: v, node: f.val, path: f.path}
			}
		} else if legacy := p.legacySchema(k); legacy != nil {
			site.value = legacy
		}
		es.ep.Parameters = append(es.ep.Parameters, prm)
		es.params = append(es.params, site)
	}
}

// legacySchema builds a schema from the original's parameter keys.
func (p *parser) legacySchema(k map[string]field) map[string]any {
	s := map[string]any{}
	names := map[string]string{"type": "type", "format": "format", "minimum": "minimum", "maximum": "maximum",
		"min_length": "minLength", "max_length": "maxLength", "pattern": "pattern", "enum": "enum"}
	for from, to := range names {
		if f, ok := k[from]; ok {
			if v, ok := p.value(f.val, f.path); ok {
				s[to] = v
			}
		}
	}
	if len(s) == 0 {
		return nil
	}
	if s["type"] == "email" {
		s["type"], s["format"] = "string", "email"
	}
	return s
}

func (p *parser) parseRequest(f field, es *epSource) {
	fs, ok := p.fields(f.val, f.path)
	if !ok {
		return
	}
	k := p.keys(fs, keyTable{known: []string{"content_type", "required", "schema", "description"}})
	req := &Request{}
	if f, ok := k["content_type"]; ok {
		req.ContentType, _ = p.str(f.val, f.path)
	}
	if f, ok := k["required"]; ok {
		req.Required, _ = p.boolean(f.val, f.path)
	}
	if f, ok := k["schema"]; ok {
		if v, ok := p.value(f.val, f.path); ok {
			es.req = &schemaSite{value: v, node: f.val, path: f.path}
		}
	}
	if req.ContentType == "" {
		req.ContentType = "application/json"
	}
	es.ep.Request = req
}

func (p *parser) parseResponses(f field, es *epSource) {
	fs, _ := p.fields(f.val, f.path)
	for _, e := range fs {
		code, err := strconv.Atoi(e.name)
		if err != nil || code < 100 || code > 599 {
			p.errorf(e.key, e.path, "must be a status code 100-599 (got %q)", e.name)
			continue
		}
		rfs, ok := p.fields(e.val, e.path)
		if !ok {
			continue
		}
		k := p.keys(rfs, keyTable{known: []string{"description", "content_type", "headers", "schema", "example"}})
		r := &Response{}
		rs := &respSource{}
		if f, ok := k["description"]; ok {
			r.Description, _ = p.str(f.val, f.path)
		}
		if f, ok := k["content_type"]; ok {
			r.ContentType, _ = p.str(f.val, f.path)
		}
		if f, ok := k["schema"]; ok {
			if v, ok := p.value(f.val, f.path); ok {
				rs.schema = &schemaSite{value: v, node: f.val, path: f.path}
			}
		}
		if f, ok := k["example"]; ok {
			if v, ok := p.value(f.val, f.path); ok {
				r.Example, r.HasExample, rs.example = v, true, f.val
			}
		}
		if r.ContentType == "" && (rs.schema != nil || r.HasExample) {
			r.ContentType = "application/json"
		}
		if f, ok := k["headers"]; ok {
			hfs, _ := p.fields(f.val, f.path)
			for _, h := range hfs {
				site := p.headerSchema(h)
				if site == nil {
					continue
				}
				if rs.headers == nil {
					rs.headers = map[string]*schemaSite{}
				}
				rs.headers[h.name] = site
			}
		}
		if es.ep.Responses == nil {
			es.ep.Responses = map[int]*Response{}
		}
		es.ep.Responses[code] = r
		es.resps[code] = rs
	}
}

// headerSchema reads {schema, description, required}, or a bare schema.
func (p *parser) headerSchema(h field) *schemaSite {
	hfs, ok := p.fields(h.val, h.path)
	if !ok {
		return nil
	}
	if _, ok := findField(hfs, "schema"); !ok {
		if v, ok := p.value(h.val, h.path); ok {
			return &schemaSite{value: v, node: h.val, path: h.path}
		}
		return nil
	}
	k := p.keys(hfs, keyTable{known: []string{"schema", "description", "required"}})
	f := k["schema"]
	if v, ok := p.value(f.val, f.path); ok {
		return &schemaSite{value: v, node: f.val, path: f.path}
	}
	return nil
}

// parseSecurityNames reads [name, ...] or OpenAPI's [{name: [scopes]}].
func (p *parser) parseSecurityNames(f field, c *components) []string {
	items, _ := p.items(f.val, f.path)
	var names []string
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", f.path, i)
		var these []*yaml.Node
		if d := deref(it); d != nil && d.Kind == yaml.MappingNode {
			fs, _ := p.fields(it, path)
			for _, e := range fs {
				these = append(these, e.key)
			}
		} else {
			these = append(these, it)
		}
		for _, n := range these {
			name, ok := p.str(n, path)
			if !ok {
				continue
			}
			if c == nil || !c.schemes[name] {
				p.errorf(n, path, "unknown security scheme %q; declare it in components.securitySchemes", name)
				continue
			}
			if !contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}
