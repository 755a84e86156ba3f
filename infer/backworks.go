package infer

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Backworks renders the API as a self-contained Backworks YAML document
// (formats.md): one endpoint per operation, schemas as in OpenAPI 3.1,
// shared shapes under components.
func (a *API) Backworks() ([]byte, error) {
	b := &schemaBuilder{v31: true}
	root := mapping(
		"name", a.Title,
		"version", "1.0.0",
		"description", a.description(),
		"mode", "mock",
	)
	root.Content[3].Style = yaml.DoubleQuotedStyle
	server := mapping("host", "127.0.0.1", "port", 3000)
	server.Style = yaml.FlowStyle
	put(root, "server", server)
	infer := mapping()
	if len(a.Hints) > 0 {
		put(infer, "paths", a.Hints)
	}
	put(infer, "source", a.Host)
	put(root, "infer", infer)

	endpoints := mapping()
	schemes := map[string]authScheme{}
	names := map[string]int{}
	for _, op := range a.ops {
		endpoints.Content = append(endpoints.Content, str(endpointName(op, names)), a.endpointNode(b, op, schemes))
	}
	put(root, "endpoints", endpoints)

	if c := b.components(schemes); c != nil {
		put(root, "components", c)
	}
	return encodeYAML(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
}

func (a *API) endpointNode(b *schemaBuilder, op *operation, schemes map[string]authScheme) *yaml.Node {
	tpl := op.node.template
	if tpl == "" {
		tpl = "/"
	}
	methods := scalarNode([]string{op.method})
	methods.Style = yaml.FlowStyle
	n := mapping("path", tpl, "methods", methods, "x-bw-samples", op.samples)
	if op.ok == 0 {
		put(n, "x-bw-only-errors", true)
	}
	if params := b.parameters(op); params != nil {
		put(n, "parameters", params)
	}
	if sec := op.security(schemes); sec != nil {
		var names []string
		for _, req := range sec.Content {
			names = append(names, req.Content[0].Value)
		}
		put(n, "security", names)
	}
	if op.reqSeen > 0 {
		media := sortedKeys(op.request)
		req := mapping("content_type", media[0], "required", op.reqSeen == op.ok)
		mn := b.mediaNode(op.request[media[0]], bodyHint(op, "Request"))
		put(req, "schema", get(mn, "schema"))
		put(n, "request", req)
	}
	resps := mapping()
	for _, st := range op.statuses() {
		r := op.resps[st]
		rn := mapping()
		if hs := responseHeaders(b, r); hs != nil {
			put(rn, "headers", hs)
		}
		if len(r.content) > 0 {
			media := sortedKeys(r.content)
			put(rn, "content_type", media[0])
			mn := b.mediaNode(r.content[media[0]], bodyHint(op, "Response"))
			put(rn, "schema", get(mn, "schema"))
			put(rn, "example", get(mn, "example"))
		}
		put(resps, strconv.Itoa(st), rn)
	}
	put(n, "responses", resps)
	return n
}

// endpointName is unique and stable: method and path, get_users_by_userId.
func endpointName(op *operation, used map[string]int) string {
	parts := []string{strings.ToLower(op.method)}
	for _, seg := range strings.Split(op.node.template, "/") {
		switch {
		case seg == "":
		case isParamSeg(seg):
			parts = append(parts, "by", seg[1:len(seg)-1])
		default:
			parts = append(parts, strings.ToLower(strings.Trim(pascalSnake(seg), "_")))
		}
	}
	name := strings.Join(parts, "_")
	used[name]++
	if n := used[name]; n > 1 {
		name += "_" + strconv.Itoa(n)
	}
	return name
}

func pascalSnake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
