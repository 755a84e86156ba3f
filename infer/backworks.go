package infer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
	// Each endpoint and shared schema carries a hash of what bw wrote, so
	// that a re-run can tell what a user edited (kept) from what it may
	// replace.
	for i := 1; i < len(endpoints.Content); i += 2 {
		put(endpoints.Content[i], hashKey, endpointHash(endpoints.Content[i]))
	}
	if schemas := get(get(root, "components"), "schemas"); schemas != nil {
		for i := 1; i < len(schemas.Content); i += 2 {
			put(schemas.Content[i], hashKey, endpointHash(schemas.Content[i]))
		}
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
		req := mapping("content_type", media[0], "required", op.reqSeen == op.base())
		mn := b.requestNode(op.request[media[0]], bodyHint(op, "Request"))
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

// hashKey holds an endpoint's hash as bw wrote it.
const hashKey = "x-bw-hash"

// endpointHash hashes an endpoint's (or a schema's) content, its hash key
// left out.
func endpointHash(n *yaml.Node) string {
	c := *n
	c.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != hashKey {
			c.Content = append(c.Content, n.Content[i], n.Content[i+1])
		}
	}
	sum := sha256.Sum256([]byte(canonical(&c)))
	return hex.EncodeToString(sum[:8])
}

// MergeBackworks merges a fresh Backworks document into the one a user
// keeps (bw infer -o over an existing file): endpoints bw wrote and nobody
// edited since are replaced by their new version; edited endpoints, ones the
// user added, top-level settings and comments are kept; new endpoints and
// components are added.
func MergeBackworks(prev, next []byte) ([]byte, error) {
	var old, fresh yaml.Node
	if err := yaml.Unmarshal(prev, &old); err != nil {
		return nil, fmt.Errorf("read the existing file: %w", err)
	}
	if err := yaml.Unmarshal(next, &fresh); err != nil {
		return nil, err
	}
	if len(old.Content) == 0 || old.Content[0].Kind != yaml.MappingNode {
		return next, nil // nothing to keep
	}
	o, f := old.Content[0], fresh.Content[0]
	// The result follows bw's key order; the user's keys (and their
	// comments) stand where bw has the same key, the user's own keys last.
	merged := &yaml.Node{Kind: yaml.MappingNode, HeadComment: o.HeadComment, FootComment: o.FootComment}
	seen := map[string]bool{}
	for i := 0; i+1 < len(f.Content); i += 2 {
		key, val := f.Content[i].Value, f.Content[i+1]
		seen[key] = true
		pk, pv := pair(o, key)
		switch {
		case pv == nil:
			pk, pv = f.Content[i], val
		case key == "endpoints":
			mergeEndpoints(pv, val)
		case key == "components":
			mergeMissing(pv, val)
		case key == "infer", key == "description" && strings.HasPrefix(pv.Value, "Inferred by bw"):
			pv = val
		}
		merged.Content = append(merged.Content, pk, pv)
	}
	for i := 0; i+1 < len(o.Content); i += 2 {
		if !seen[o.Content[i].Value] {
			merged.Content = append(merged.Content, o.Content[i], o.Content[i+1])
		}
	}
	old.Content[0] = merged
	return encodeYAML(&old)
}

// pair returns the key and value nodes of key in mapping m.
func pair(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// appendPair adds key: val to mapping m, in block style once it has content.
func appendPair(m, key, val *yaml.Node) {
	m.Style &^= yaml.FlowStyle
	m.Content = append(m.Content, key, val)
}

func mergeEndpoints(prev, next *yaml.Node) {
	for i := 0; i+1 < len(next.Content); i += 2 {
		name, ep := next.Content[i].Value, next.Content[i+1]
		cur := get(prev, name)
		switch {
		case cur == nil:
			appendPair(prev, next.Content[i], ep)
		case untouched(cur):
			*cur = *ep
		}
	}
}

// untouched reports whether a node still has the content bw wrote.
func untouched(n *yaml.Node) bool {
	h := get(n, hashKey)
	return h != nil && h.Value == endpointHash(n)
}

// mergeMissing adds to prev every key of next it lacks, one level down
// (components.schemas.X), so that kept endpoints' $refs still resolve and new
// ones find theirs.
func mergeMissing(prev, next *yaml.Node) {
	for i := 0; i+1 < len(next.Content); i += 2 {
		key, val := next.Content[i].Value, next.Content[i+1]
		cur := get(prev, key)
		if cur == nil {
			appendPair(prev, next.Content[i], val)
			continue
		}
		for j := 0; j+1 < len(val.Content); j += 2 {
			if c := get(cur, val.Content[j].Value); c == nil {
				appendPair(cur, val.Content[j], val.Content[j+1])
			} else if untouched(c) {
				*c = *val.Content[j+1]
			}
		}
	}
}
