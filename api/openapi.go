package api

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	yaml "go.yaml.in/yaml/v4"
)

// loadOpenAPI loads a document with kin-openapi, never following external
// references; origin records positions for error messages.
func loadOpenAPI(data []byte, origin bool) (t *openapi3.T, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("kin-openapi could not load the document: %v", r)
		}
	}()
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	l.IncludeOrigin = origin
	return l.LoadFromData(data)
}

// validateOpenAPI checks a document with every problem reported; examples
// are checked separately, as warnings.
func validateOpenAPI(ctx context.Context, t *openapi3.T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kin-openapi could not validate the document: %v", r)
		}
	}()
	return t.Validate(ctx, openapi3.EnableMultiError(), openapi3.DisableExamplesValidation())
}

// parseOpenAPI reads an OpenAPI 3.0 or 3.1 document: one mock endpoint per
// operation, in file order.
func (p *parser) parseOpenAPI(root *yaml.Node, data []byte) *Doc {
	t, err := loadOpenAPI(data, true)
	if err != nil {
		msg := oneLine(err)
		if n := findRef(root, err.Error()); n != nil {
			p.errorf(n, "", "%s", msg)
		} else if m := lineRE.FindStringSubmatch(msg + ": "); m != nil {
			line, _ := strconv.Atoi(m[1])
			p.probs = append(p.probs, Problem{File: p.file, Pos: Position{Line: line}, Message: msg})
		} else {
			p.errorf(nil, "", "%s", msg)
		}
		return nil
	}
	if err := validateOpenAPI(context.Background(), t); err != nil {
		for _, e := range leaves(err) {
			p.placeOpenAPI(e, root)
		}
	}
	if p.failed() {
		return nil
	}
	doc := defaultDoc()
	doc.OpenAPI = t
	if t.Info != nil {
		doc.Name, doc.Version, doc.Description = t.Info.Title, t.Info.Version, t.Info.Description
	}
	names := map[string]bool{}
	pathsNode := child(root, "paths")
	pfs, _ := p.fields(pathsNode, "paths")
	for _, pf := range pfs {
		item := t.Paths.Value(pf.name)
		if item == nil {
			continue
		}
		ifs, _ := p.fields(pf.val, pf.path)
		for _, mf := range ifs {
			method := strings.ToUpper(mf.name)
			op := item.GetOperation(method)
			if !validMethod(method) || op == nil {
				continue
			}
			ep := p.openAPIEndpoint(t, pf.name, method, item, op, mf)
			ep.Name = op.OperationID
			if ep.Name == "" || names[ep.Name] {
				base := generatedName([]string{method}, pf.name)
				ep.Name = base
				for i := 2; names[ep.Name]; i++ {
					ep.Name = base + "_" + strconv.Itoa(i)
				}
			}
			names[ep.Name] = true
			doc.Endpoints = append(doc.Endpoints, ep)
		}
	}
	return doc
}

func (p *parser) openAPIEndpoint(t *openapi3.T, path, method string, item *openapi3.PathItem, op *openapi3.Operation, at field) *Endpoint {
	ep := &Endpoint{Path: path, Methods: []string{method}, Mode: ModeMock, Pos: pos(at.key), Description: op.Summary}
	if ep.Description == "" {
		ep.Description = op.Description
	}
	// Path-level parameters, overridden by the operation's.
	var params []*openapi3.Parameter
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range list {
			prm := ref.Value
			if prm == nil {
				continue
			}
			replaced := false
			for i, q := range params {
				if q.In == prm.In && q.Name == prm.Name {
					params[i], replaced = prm, true
				}
			}
			if !replaced {
				params = append(params, prm)
			}
		}
	}
	for _, prm := range params {
		var s *openapi3.Schema
		if prm.Schema != nil {
			s = prm.Schema.Value
		} else if _, mt := pickMedia(prm.Content); mt != nil && mt.Schema != nil {
			s = mt.Schema.Value
		}
		ep.Parameters = append(ep.Parameters, Parameter{Name: prm.Name, In: prm.In, Required: prm.Required, Schema: s})
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		rb := op.RequestBody.Value
		req := &Request{Required: rb.Required}
		if ct, mt := pickMedia(rb.Content); mt != nil {
			req.ContentType = ct
			if mt.Schema != nil {
				req.Schema = mt.Schema.Value
			}
		}
		ep.Request = req
	}
	if op.Responses != nil {
		for code, ref := range op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil || status < 100 || status > 599 || ref.Value == nil {
				continue
			}
			if ep.Responses == nil {
				ep.Responses = map[int]*Response{}
			}
			ep.Responses[status] = p.openAPIResponse(t, ref.Value, at, code)
		}
	}
	ep.Security = securityNames(t, op)
	return ep
}

func (p *parser) openAPIResponse(t *openapi3.T, rv *openapi3.Response, at field, code string) *Response {
	r := &Response{}
	if rv.Description != nil {
		r.Description = *rv.Description
	}
	for name, h := range rv.Headers {
		if h.Value == nil || h.Value.Schema == nil || strings.EqualFold(name, "Content-Type") {
			continue
		}
		if r.Headers == nil {
			r.Headers = map[string]*openapi3.Schema{}
		}
		r.Headers[name] = h.Value.Schema.Value
	}
	ct, mt := pickMedia(rv.Content)
	if mt == nil {
		return r
	}
	r.ContentType = ct
	if mt.Schema != nil {
		r.Schema = mt.Schema.Value
	}
	switch {
	case mt.Example != nil:
		r.Example, r.HasExample = mt.Example, true
	case len(mt.Examples) > 0:
		// The first in file order when the response is inline, else by name.
		names := sortedKeys(mt.Examples)
		if n := child(at.val, "responses", code, "content", ct, "examples"); n != nil {
			if d := deref(n); d.Kind == yaml.MappingNode && len(d.Content) > 0 {
				names = append([]string{d.Content[0].Value}, names...)
			}
		}
		for _, name := range names {
			if ex := mt.Examples[name]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
				r.Example, r.HasExample = ex.Value.Value, true
				break
			}
		}
	case r.Schema != nil && r.Schema.Example != nil:
		r.Example, r.HasExample = r.Schema.Example, true
	case r.Schema != nil && len(r.Schema.Examples) > 0:
		r.Example, r.HasExample = r.Schema.Examples[0], true
	}
	if r.HasExample && r.Schema != nil && isJSON(ct) {
		var opts []openapi3.SchemaValidationOption
		if t.IsOpenAPI31OrLater() {
			opts = append(opts, openapi3.EnableJSONSchema2020())
		}
		if err := r.Schema.VisitJSON(r.Example, opts...); err != nil {
			n := at.key
			for _, keys := range [][]string{
				{"responses", code, "content", ct, "example"},
				{"responses", code, "content", ct, "examples"},
				{"responses", code, "content", ct, "schema"},
				{"responses", code},
			} {
				if c := child(at.val, keys...); c != nil {
					n = c
					break
				}
			}
			p.warnf(n, fmt.Sprintf("%s.responses.%s", at.path, code), "example does not match the schema: %s", schemaMismatch(err))
		}
	}
	return r
}

// pickMedia prefers application/json, then any JSON type, then the first
// type by name.
func pickMedia(c openapi3.Content) (string, *openapi3.MediaType) {
	if len(c) == 0 {
		return "", nil
	}
	if mt := c["application/json"]; mt != nil {
		return "application/json", mt
	}
	keys := sortedKeys(c)
	for _, k := range keys {
		if isJSON(k) && c[k] != nil {
			return k, c[k]
		}
	}
	return keys[0], c[keys[0]]
}

// securityNames lists the schemes an operation accepts; nil when it may be
// called without credentials.
func securityNames(t *openapi3.T, op *openapi3.Operation) []string {
	reqs := t.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	var names []string
	for _, req := range reqs {
		if len(req) == 0 {
			return nil
		}
		keys := make([]string, 0, len(req))
		for k := range req {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !contains(names, k) {
				names = append(names, k)
			}
		}
	}
	return names
}

// child walks a mapping by keys; nil when a key is missing.
func child(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		d := deref(n)
		if d == nil || d.Kind != yaml.MappingNode {
			return nil
		}
		n = nil
		for i := 0; i+1 < len(d.Content); i += 2 {
			if k := deref(d.Content[i]); k != nil && k.Value == key {
				n = d.Content[i+1]
				break
			}
		}
		if n == nil {
			return nil
		}
	}
	return n
}

var componentKeys = map[string]string{
	"schema": "schemas", "parameter": "parameters", "header": "headers", "request body": "requestBodies",
	"response": "responses", "security scheme": "securitySchemes", "example": "examples", "link": "links",
	"callback": "callbacks",
}

// placeOpenAPI reports a validation error at the position kin-openapi
// recorded, else at the path, operation or component it names.
func (p *parser) placeOpenAPI(err error, root *yaml.Node) {
	msg := oneLine(err)
	if at, ok := originOf(err); ok {
		p.probs = append(p.probs, Problem{File: p.file, Pos: at, Message: msg})
		return
	}
	w := contextOf(err)
	n := root
	switch {
	case w.path != "":
		if c := child(root, "paths", w.path); c != nil {
			n = c
			if c := child(c, strings.ToLower(w.method)); w.method != "" && c != nil {
				n = c
			}
		}
	case w.compName != "":
		if c := child(root, "components", componentKeys[w.compSection], w.compName); c != nil {
			n = c
		}
	case w.section != "":
		if c := child(root, w.section); c != nil {
			n = c
		}
	}
	p.errorf(n, "", "%s", msg)
}

var originType = reflect.TypeOf((*openapi3.Origin)(nil))

// originOf finds the innermost position kin-openapi recorded in an error
// chain (its error types carry an Origin field when loaded with origins).
func originOf(err error) (Position, bool) {
	var at Position
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		f := v.FieldByName("Origin")
		if !f.IsValid() || f.Type() != originType || f.IsNil() || !f.CanInterface() {
			continue
		}
		if o := f.Interface().(*openapi3.Origin); o.Key != nil && o.Key.Line > 0 {
			at = Position{Line: o.Key.Line, Col: o.Key.Column}
		}
	}
	return at, at.Line > 0
}

// findRef finds the $ref a load error names, for its position.
func findRef(root *yaml.Node, msg string) *yaml.Node {
	var found *yaml.Node
	budget := 1 << 20
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		d := deref(n)
		if found != nil || d == nil || depth > maxDepth || budget <= 0 {
			return
		}
		budget--
		switch d.Kind {
		case yaml.SequenceNode:
			for _, c := range d.Content {
				walk(c, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(d.Content); i += 2 {
				k, v := deref(d.Content[i]), deref(d.Content[i+1])
				if k != nil && k.Value == "$ref" && v != nil && v.Kind == yaml.ScalarNode && v.Value != "" && strings.Contains(msg, v.Value) {
					found = v
					return
				}
				walk(d.Content[i+1], depth+1)
			}
		}
	}
	walk(root, 0)
	return found
}
