package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	yaml "go.yaml.in/yaml/v4"
)

// sitePrefix names the components that carry each endpoint schema through
// kin-openapi's loader, which resolves their $refs; they are removed after.
const sitePrefix = "__bw_site_"

// buildOpenAPI builds doc.OpenAPI from the endpoints: one operation per
// method, with parameters, request body, responses and security, and the
// file's components. Endpoints ending in a wildcard or without methods have
// no operation. It also decodes every schema into the endpoints and checks
// it, reporting each problem at the schema's position.
func (p *parser) buildOpenAPI(doc *Doc, src *bwSource) {
	comps := map[string]any{}
	if c := src.components; c != nil {
		for k, v := range c.value {
			comps[k] = v
		}
	}
	schemas, _ := comps["schemas"].(map[string]any)
	if schemas == nil {
		schemas = map[string]any{}
	}

	// Component schemas in name order, then every endpoint schema.
	type siteRef struct {
		site *schemaSite
		name string // component name it travels under
		set  func(*openapi3.Schema)
	}
	var sites []siteRef
	if c := src.components; c != nil {
		names := make([]string, 0, len(c.schemas))
		for name := range c.schemas {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			n := c.schemas[name]
			sites = append(sites, siteRef{site: &schemaSite{value: schemas[name], node: n, path: "components.schemas." + name}, name: name})
		}
	}
	add := func(s *schemaSite, set func(*openapi3.Schema)) {
		if s == nil {
			return
		}
		name := fmt.Sprintf("%s%d", sitePrefix, len(sites))
		schemas[name] = s.value
		sites = append(sites, siteRef{site: s, name: name, set: set})
	}
	for _, es := range src.eps {
		ep := es.ep
		for i := range ep.Parameters {
			prm := &ep.Parameters[i]
			add(es.params[i], func(s *openapi3.Schema) { prm.Schema = s })
		}
		if es.req != nil {
			req := ep.Request
			add(es.req, func(s *openapi3.Schema) { req.Schema = s })
		}
		for _, code := range sortedCodes(es.resps) {
			rs, r := es.resps[code], ep.Responses[code]
			add(rs.schema, func(s *openapi3.Schema) { r.Schema = s })
			for _, name := range sortedKeys(rs.headers) {
				name := name
				add(rs.headers[name], func(s *openapi3.Schema) {
					if r.Headers == nil {
						r.Headers = map[string]*openapi3.Schema{}
					}
					r.Headers[name] = s
				})
			}
		}
	}
	if len(schemas) > 0 {
		comps["schemas"] = schemas
	}

	// Schema problems are reported even when other parts of the file have
	// errors; the document is built only from a file without any.
	if p.capped {
		return
	}
	// A schema that cannot decode or whose $refs dangle is reported and
	// replaced by {} so that the others are still loaded and checked.
	broken := map[*schemaSite]bool{}
	for _, s := range sites {
		before := p.errorCount()
		p.walkRefs(s.site.node, s.site.path, src.components, 0)
		p.decodeSchema(s.site)
		if p.errorCount() > before {
			broken[s.site] = true
			s.site.value = map[string]any{}
			schemas[s.name] = s.site.value
		}
	}

	paths, opAt := p.operations(doc, src)
	info := map[string]any{"title": doc.Name, "version": doc.Version}
	if doc.Version == "" {
		info["version"] = "0.0.0"
	}
	if doc.Description != "" {
		info["description"] = doc.Description
	}
	root := map[string]any{"openapi": "3.1.0", "info": info, "paths": paths}
	if len(comps) > 0 {
		root["components"] = comps
	}
	data, err := json.Marshal(root)
	if err != nil {
		p.errorf(nil, "", "cannot build the OpenAPI document: %v", err)
		return
	}
	t, err := loadOpenAPI(data, false)
	if err != nil {
		var n *yaml.Node
		if src.components != nil {
			n = src.components.node
		}
		p.errorf(n, "", "cannot resolve schemas: %v", err)
		return
	}

	ctx := context.Background()
	var loaded openapi3.Schemas
	if t.Components != nil {
		loaded = t.Components.Schemas
	}
	for _, s := range sites {
		ref := loaded[s.name]
		if broken[s.site] {
			continue
		}
		if ref == nil || ref.Value == nil {
			p.errorf(s.site.node, s.site.path, "schema did not load")
			continue
		}
		if err := ref.Value.Validate(ctx, openapi3.IsOpenAPI31OrLater()); err != nil {
			p.errorf(s.site.node, s.site.path, "invalid schema: %s", oneLine(err))
			continue
		}
		if s.set != nil {
			s.set(ref.Value)
			delete(loaded, s.name)
		}
	}
	if t.Components != nil && len(t.Components.Schemas) == 0 {
		t.Components.Schemas = nil
	}
	if p.failed() {
		// Other errors make the document moot; these were the schemas'.
		return
	}
	if err := validateOpenAPI(ctx, t); err != nil {
		for _, e := range leaves(err) {
			p.placeBuilt(e, src, opAt)
		}
		if p.failed() {
			return
		}
	}
	p.checkExamples(src)
	doc.OpenAPI = t
}

func sortedCodes(m map[int]*respSource) []int {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	return codes
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// operations lays out the paths of the document; opAt finds the endpoint
// of an operation by path and method.
func (p *parser) operations(doc *Doc, src *bwSource) (paths map[string]any, opAt map[string]*epSource) {
	paths = map[string]any{}
	opAt = map[string]*epSource{}
	ids := map[string]bool{}
	for _, es := range src.eps {
		ep := es.ep
		if ep.Path == "" || isWildcard(ep.Path) || len(ep.Methods) == 0 {
			continue
		}
		item, _ := paths[ep.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[ep.Path] = item
		}
		for _, m := range ep.Methods {
			id := ep.Name
			if len(ep.Methods) > 1 {
				id += "_" + strings.ToLower(m)
			}
			for i := 2; ids[id]; i++ {
				id = fmt.Sprintf("%s_%d", ep.Name, i)
			}
			ids[id] = true
			item[strings.ToLower(m)] = operation(es, id)
			opAt[ep.Path+" "+m] = es
		}
	}
	return paths, opAt
}

func operation(es *epSource, id string) map[string]any {
	ep := es.ep
	op := map[string]any{"operationId": id, "x-bw-endpoint": ep.Name}
	if ep.Description != "" {
		op["description"] = ep.Description
	}
	var params []any
	for i, prm := range ep.Parameters {
		params = append(params, map[string]any{"name": prm.Name, "in": prm.In, "required": prm.Required, "schema": es.params[i].value})
	}
	if params != nil {
		op["parameters"] = params
	}
	if r := ep.Request; r != nil {
		media := map[string]any{}
		if es.req != nil {
			media["schema"] = es.req.value
		}
		op["requestBody"] = map[string]any{"required": r.Required, "content": map[string]any{r.ContentType: media}}
	}
	resps := map[string]any{}
	for code, r := range ep.Responses {
		rs := es.resps[code]
		desc := r.Description
		if desc == "" {
			desc = http.StatusText(code)
		}
		if desc == "" {
			desc = "response"
		}
		out := map[string]any{"description": desc}
		if len(rs.headers) > 0 {
			hs := map[string]any{}
			for name, s := range rs.headers {
				hs[name] = map[string]any{"schema": s.value}
			}
			out["headers"] = hs
		}
		if r.ContentType != "" {
			media := map[string]any{}
			if rs.schema != nil {
				media["schema"] = rs.schema.value
			}
			out["content"] = map[string]any{r.ContentType: media}
		}
		resps[fmt.Sprint(code)] = out
	}
	if len(resps) == 0 {
		resps["default"] = map[string]any{"description": "any response"}
	}
	op["responses"] = resps
	if len(ep.Security) > 0 {
		var reqs []any
		for _, name := range ep.Security {
			reqs = append(reqs, map[string]any{name: []any{}})
		}
		op["security"] = reqs
	}
	return op
}

// walkRefs reports $refs that cannot resolve: bw reads one file, and
// schemas refer to components.schemas.
func (p *parser) walkRefs(n *yaml.Node, path string, c *components, depth int) {
	d := deref(n)
	if d == nil || depth > maxDepth {
		return
	}
	switch d.Kind {
	case yaml.SequenceNode:
		for i, it := range d.Content {
			p.walkRefs(it, fmt.Sprintf("%s[%d]", path, i), c, depth+1)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(d.Content); i += 2 {
			k, v := deref(d.Content[i]), d.Content[i+1]
			if k == nil || k.Kind != yaml.ScalarNode {
				continue
			}
			if k.Value != "$ref" {
				p.walkRefs(v, join(path, k.Value), c, depth+1)
				continue
			}
			ref, ok := p.str(v, join(path, "$ref"))
			if !ok {
				continue
			}
			const prefix = "#/components/schemas/"
			switch {
			case strings.HasPrefix(ref, prefix):
				name, _, _ := strings.Cut(strings.TrimPrefix(ref, prefix), "/")
				name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
				if c == nil || c.schemas[name] == nil {
					p.errorf(v, join(path, "$ref"), "unknown schema %q: components.schemas has no such entry", name)
				}
			case strings.HasPrefix(ref, "#/"):
			default:
				p.errorf(v, join(path, "$ref"), "external reference %q: bw reads one file; move the schema to components.schemas", ref)
			}
		}
	}
}

// decodeSchema reports a schema kin-openapi cannot decode.
func (p *parser) decodeSchema(s *schemaSite) {
	if _, ok := s.value.(map[string]any); !ok {
		if b, ok := s.value.(bool); ok && b {
			return
		}
		p.errorf(s.node, s.path, "must be a mapping (a JSON schema)")
		return
	}
	data, err := json.Marshal(s.value)
	if err != nil {
		p.errorf(s.node, s.path, "invalid schema: %v", err)
		return
	}
	var sch openapi3.Schema
	if err := json.Unmarshal(data, &sch); err != nil {
		p.errorf(s.node, s.path, "invalid schema: %s", oneLine(err))
	}
}

// placeBuilt reports a problem kin-openapi found in the built document at
// the endpoint or component it came from.
func (p *parser) placeBuilt(err error, src *bwSource, opAt map[string]*epSource) {
	where := contextOf(err)
	msg := oneLine(where.cause)
	if es := opAt[where.path+" "+where.method]; es != nil {
		p.errorf(es.node, es.path, "%s", msg)
		return
	}
	if src.components != nil {
		if where.compName != "" && where.compSection == "schema" && src.components.schemas[where.compName] != nil {
			p.errorf(src.components.schemas[where.compName], "components.schemas."+where.compName, "%s", msg)
			return
		}
		p.errorf(src.components.node, "components", "%s", oneLine(err))
		return
	}
	p.errorf(nil, "", "%s", oneLine(err))
}

// checkExamples warns about response examples their schema rejects: they
// are still served as written.
func (p *parser) checkExamples(src *bwSource) {
	for _, es := range src.eps {
		for _, code := range sortedCodes(es.resps) {
			r, rs := es.ep.Responses[code], es.resps[code]
			if !r.HasExample || r.Schema == nil || !isJSON(r.ContentType) {
				continue
			}
			if err := r.Schema.VisitJSON(r.Example, openapi3.EnableJSONSchema2020()); err != nil {
				p.warnf(rs.example, fmt.Sprintf("%s.responses.%d.example", es.path, code), "does not match the schema: %s", schemaMismatch(err))
			}
		}
	}
}

func isJSON(ct string) bool {
	ct = strings.ToLower(ct)
	return strings.Contains(ct, "json")
}

// oneLine keeps an error message to its first line, trimmed.
func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// reMismatch finds each cause in a JSON Schema 2020 validation error.
var reMismatch = regexp.MustCompile(`error at "([^"]*)": ([^\n|]*)`)

// schemaMismatch lists every cause of a schema validation error in a stable
// order: the validator reports them in map order, which varies.
func schemaMismatch(err error) string {
	ms := reMismatch.FindAllStringSubmatch(err.Error(), -1)
	if len(ms) == 0 {
		return oneLine(err)
	}
	causes := make([]string, 0, len(ms))
	for _, m := range ms {
		causes = append(causes, strings.TrimSpace(m[2]))
	}
	sort.Strings(causes)
	return strings.Join(slices.Compact(causes), "; ")
}

// leaves flattens kin-openapi's multi-errors.
func leaves(err error) []error {
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 0 {
		var out []error
		for _, e := range me {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// where is the context kin-openapi wrapped around a validation error.
type where struct {
	section, path, method string
	compSection, compName string
	cause                 error
}

func contextOf(err error) where {
	w := where{cause: err}
	var sve *openapi3.SectionValidationError
	if errors.As(err, &sve) {
		w.section, w.cause = sve.Section, sve.Cause
	}
	var pve *openapi3.PathValidationError
	if errors.As(err, &pve) {
		w.path, w.cause = pve.Path, pve.Cause
	}
	var ove *openapi3.OperationValidationError
	if errors.As(err, &ove) {
		w.method, w.cause = strings.ToUpper(ove.Method), ove.Cause
	}
	var cve *openapi3.ComponentValidationError
	if errors.As(err, &cve) {
		w.compSection, w.compName, w.cause = cve.Section, cve.Name, cve.Cause
	}
	return w
}
