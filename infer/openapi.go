package infer

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// OpenAPI renders the API as an OpenAPI document of the given version
// ("3.0" or "3.1"), as JSON when asJSON is set, else YAML.
func (a *API) OpenAPI(version string, asJSON bool) ([]byte, error) {
	doc, err := a.openAPIDoc(version)
	if err != nil {
		return nil, err
	}
	if asJSON {
		return encodeJSON(doc), nil
	}
	return encodeYAML(doc)
}

func (a *API) openAPIDoc(version string) (*yaml.Node, error) {
	var oas string
	switch version {
	case "", "3.1":
		oas = "3.1.0"
	case "3.0":
		oas = "3.0.3"
	default:
		return nil, fmt.Errorf("infer: unsupported OpenAPI version %q (want 3.0 or 3.1)", version)
	}
	b := &schemaBuilder{v31: oas == "3.1.0"}
	root := mapping("openapi", oas)
	put(root, "info", mapping(
		"title", a.Title,
		"version", "1.0.0",
		"description", a.description(),
	))
	if len(a.Servers) > 0 {
		servers := seq()
		for _, s := range a.Servers {
			servers.Content = append(servers.Content, mapping("url", s))
		}
		put(root, "servers", servers)
	}
	paths := mapping()
	schemes := map[string]authScheme{}
	var pathItem *yaml.Node
	lastTemplate := ""
	ids := map[string]int{}
	for _, op := range a.ops {
		if op.node.template != lastTemplate || pathItem == nil {
			pathItem = mapping()
			tpl := op.node.template
			if tpl == "" {
				tpl = "/"
			}
			put(paths, tpl, pathItem)
			lastTemplate = op.node.template
		}
		put(pathItem, strings.ToLower(op.method), a.operationNode(b, op, schemes, ids))
	}
	put(root, "paths", paths)

	if c := b.components(schemes); c != nil {
		put(root, "components", c)
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}, nil
}

func (a *API) description() string {
	return fmt.Sprintf("Inferred by bw from %d exchanges with %s.", a.Exchanges, a.Host)
}

func (a *API) operationNode(b *schemaBuilder, op *operation, schemes map[string]authScheme, ids map[string]int) *yaml.Node {
	n := mapping("operationId", operationID(op, ids), "summary", op.method+" "+op.node.template)
	if params := b.parameters(op); params != nil {
		put(n, "parameters", params)
	}
	if op.reqSeen > 0 {
		content := mapping()
		for _, media := range sortedKeys(op.request) {
			content.Content = append(content.Content, str(media), b.requestNode(op.request[media], bodyHint(op, "Request")))
		}
		put(n, "requestBody", mapping("required", op.reqSeen == op.base(), "content", content))
	}
	resps := mapping()
	for _, st := range op.statuses() {
		r := op.resps[st]
		k := strconv.Itoa(st)
		desc := http.StatusText(st)
		if desc == "" {
			desc = "Status " + k
		}
		rn := mapping("description", desc)
		if hs := responseHeaders(b, r); hs != nil {
			put(rn, "headers", hs)
		}
		if len(r.content) > 0 {
			content := mapping()
			for _, media := range sortedKeys(r.content) {
				content.Content = append(content.Content, str(media), b.mediaNode(r.content[media], bodyHint(op, "Response")))
			}
			put(rn, "content", content)
		}
		put(resps, k, rn)
	}
	put(n, "responses", resps)
	sec := op.security(schemes)
	if sec == nil {
		sec = seq() // no credentials seen: say so rather than leave it open
	}
	put(n, "security", sec)
	put(n, "x-bw-samples", op.samples)
	if op.ok == 0 {
		put(n, "x-bw-only-errors", true)
	}
	return n
}

// parameters lists the path, query and header parameters of op, or nil.
func (b *schemaBuilder) parameters(op *operation) *yaml.Node {
	params := seq()
	for i, name := range op.paramNames() {
		params.Content = append(params.Content, mapping(
			"name", name, "in", "path", "required", true,
			"schema", b.schema(op.pathVals[i], name)))
	}
	for _, name := range sortedKeys(op.query) {
		params.Content = append(params.Content, b.queryParam(op, name))
	}
	for _, name := range sortedKeys(op.headers) {
		p := op.headers[name]
		if 2*p.count <= op.base() {
			continue // only headers on most requests are part of the contract
		}
		params.Content = append(params.Content, mapping(
			"name", canonicalHeader(name), "in", "header", "required", op.paramRequired(p, name, true),
			"schema", b.schema(p.s, name)))
	}
	if len(params.Content) == 0 {
		return nil
	}
	return params
}

// components holds the hoisted schemas and the security schemes, or nil.
func (b *schemaBuilder) components(schemes map[string]authScheme) *yaml.Node {
	components := mapping()
	schemas := mapping()
	b.hoist(schemas, "#/components/schemas/", map[string]bool{})
	if len(schemas.Content) > 0 {
		put(components, "schemas", schemas)
	}
	if len(schemes) > 0 {
		ss := mapping()
		for _, name := range sortedKeys(schemes) {
			ss.Content = append(ss.Content, str(name), schemeNode(schemes[name]))
		}
		put(components, "securitySchemes", ss)
	}
	if len(components.Content) == 0 {
		return nil
	}
	return components
}

func (b *schemaBuilder) queryParam(op *operation, name string) *yaml.Node {
	p := op.query[name]
	schema := b.schema(p.s, name)
	n := mapping("name", name, "in", "query", "required", op.paramRequired(p, name, false))
	if p.repeated || p.split {
		put(n, "schema", mapping("type", "array", "items", schema))
		if p.split && !p.repeated {
			put(n, "style", "form")
			put(n, "explode", false)
		}
		return n
	}
	put(n, "schema", schema)
	return n
}

func responseHeaders(b *schemaBuilder, r *response) *yaml.Node {
	hs := mapping()
	for _, name := range sortedKeys(r.headers) {
		p := r.headers[name]
		if 2*p.count < r.count {
			continue
		}
		schema := b.schema(p.s, name)
		// Header values vary per response; a learned enum would be noise.
		if e := get(schema, "enum"); e != nil {
			schema = mapping("type", "string")
		}
		put(hs, canonicalHeader(name), mapping("schema", schema))
	}
	if len(hs.Content) == 0 {
		return nil
	}
	return hs
}

// requestNode renders a request body: its fields are required only with
// enough distinct samples (minRequestBodies).
func (b *schemaBuilder) requestNode(c *content, hint string) *yaml.Node {
	b.noRequired = len(c.distinct) < minRequestBodies
	defer func() { b.noRequired = false }()
	return b.mediaNode(c, hint)
}

func (b *schemaBuilder) mediaNode(c *content, hint string) *yaml.Node {
	var schema *yaml.Node
	switch c.kind {
	case kindBinary:
		schema = mapping("type", "string", "format", "binary")
	case kindText:
		schema = mapping("type", "string")
	default:
		schema = b.schema(c.s, hint)
	}
	n := mapping("schema", schema)
	if ex := c.exampleNode(); ex != nil {
		put(n, "example", ex)
	}
	return n
}

func (c *content) exampleNode() *yaml.Node {
	if c.example == nil || c.kind == kindBinary {
		return nil
	}
	switch c.kind {
	case kindJSON:
		v, ok := parseJSON(c.example)
		if !ok {
			return nil
		}
		return valueNode(sanitize(v))
	case kindText:
		return str(string(c.example))
	}
	return nil
}

// statuses lists the response codes seen, in order.
func (op *operation) statuses() []int {
	codes := make([]int, 0, len(op.resps))
	for st := range op.resps {
		codes = append(codes, st)
	}
	sort.Ints(codes)
	return codes
}

// paramNames lists the path's parameter names, in order.
func (op *operation) paramNames() []string {
	var names []string
	for _, seg := range strings.Split(op.node.template, "/") {
		if isParamSeg(seg) {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

// security lists the schemes seen on most successful requests, as
// alternatives (rule 20).
func (op *operation) security(schemes map[string]authScheme) *yaml.Node {
	var names []string
	for _, k := range sortedKeys(op.auth) {
		u := op.auth[k]
		if 2*u.count < op.base() {
			continue
		}
		name := schemeName(u.scheme)
		if prev, ok := schemes[name]; ok && prev.jwt != u.scheme.jwt {
			u.scheme.jwt = false
		}
		schemes[name] = u.scheme
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil
	}
	s := seq()
	for _, n := range names {
		s.Content = append(s.Content, mapping(n, seq()))
	}
	return s
}

func schemeName(a authScheme) string {
	if a.kind == "http" {
		return a.scheme + "Auth"
	}
	return a.in + pascal(a.name)
}

func schemeNode(a authScheme) *yaml.Node {
	if a.kind == "http" {
		n := mapping("type", "http", "scheme", a.scheme)
		if a.jwt {
			put(n, "bearerFormat", "JWT")
		}
		return n
	}
	return mapping("type", "apiKey", "in", a.in, "name", a.name)
}

// operationID names an operation from its method and path: getUsersByUserId.
func operationID(op *operation, used map[string]int) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(op.method))
	for _, seg := range strings.Split(op.node.template, "/") {
		if seg == "" {
			continue
		}
		if isParamSeg(seg) {
			b.WriteString("By")
			seg = seg[1 : len(seg)-1]
		}
		b.WriteString(pascal(seg))
	}
	id := b.String()
	used[id]++
	if n := used[id]; n > 1 {
		id += strconv.Itoa(n)
	}
	return id
}

func canonicalHeader(name string) string { return http.CanonicalHeaderKey(name) }

// bodyHint names a top-level body schema after the last literal path
// segment ("articles", or "article" under /articles/{slug}). It is a weak
// hint ("~stem|Side"): names from property keys win over it.
func bodyHint(op *operation, side string) string {
	segs := strings.Split(op.node.template, "/")
	endsInParam := len(segs) > 0 && isParamSeg(segs[len(segs)-1])
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i] != "" && !isParamSeg(segs[i]) && !isVersion(segs[i]) {
			stem := segs[i]
			if endsInParam {
				stem = singular(stem)
			}
			return "~" + stem + "|" + side
		}
	}
	return ""
}
