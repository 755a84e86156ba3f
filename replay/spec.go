package replay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/backworks/bw/infer"
	"github.com/backworks/bw/store"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// InferSpec returns the OpenAPI document bw infer would write for the
// recordings (of host, or of the busiest host when host is empty): the
// spec responses are checked against when the user names none.
func InferSpec(ctx context.Context, db *store.DB, host string) (*openapi3.T, error) {
	doc, _, err := inferSpec(ctx, db, host)
	return doc, err
}

// inferSpec is InferSpec that also returns the service it describes.
func inferSpec(ctx context.Context, db *store.DB, host string) (*openapi3.T, string, error) {
	a, err := infer.Infer(ctx, db, infer.Options{Host: host})
	if err != nil {
		return nil, "", err // "infer: ..." already
	}
	data, err := a.OpenAPI("3.0", true)
	if err != nil {
		return nil, "", fmt.Errorf("infer the spec: %w", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, "", fmt.Errorf("load the inferred spec: %w", err)
	}
	return doc, a.Host, nil
}

// specIndex finds the operation of a recorded request in a spec.
type specIndex struct {
	doc    *openapi3.T
	bases  []string            // path prefixes from servers, longest first; "" last
	routes map[string][]*route // by method, most literal first
}

// route is one operation of the spec.
type route struct {
	method   string
	template string
	segs     []string // template segments
	literal  int      // segments without parameters
	item     *openapi3.PathItem
	op       *openapi3.Operation
	scope    string // the template up to its first parameter
}

func newSpecIndex(doc *openapi3.T) *specIndex {
	s := &specIndex{doc: doc, routes: make(map[string][]*route)}
	seen := map[string]bool{"": true}
	for _, srv := range doc.Servers {
		u, err := url.Parse(srv.URL)
		if err != nil {
			continue
		}
		p := strings.TrimRight(u.Path, "/")
		if !seen[p] && !strings.Contains(p, "{") {
			seen[p] = true
			s.bases = append(s.bases, p)
		}
	}
	sort.Slice(s.bases, func(i, j int) bool { return len(s.bases[i]) > len(s.bases[j]) })
	s.bases = append(s.bases, "")
	if doc.Paths == nil {
		return s
	}
	for tmpl, item := range doc.Paths.Map() {
		if item == nil {
			continue
		}
		segs := strings.Split(strings.Trim(tmpl, "/"), "/")
		lit, scope := 0, ""
		for i, sg := range segs {
			if !strings.Contains(sg, "{") {
				lit++
				continue
			}
			if scope == "" {
				scope = "/" + strings.Join(segs[:i], "/")
			}
		}
		if scope == "" {
			scope = tmpl
		}
		for m, op := range item.Operations() {
			m = strings.ToUpper(m)
			s.routes[m] = append(s.routes[m], &route{method: m, template: tmpl, segs: segs, literal: lit, item: item, op: op, scope: scope})
		}
	}
	for _, rs := range s.routes {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].literal != rs[j].literal {
				return rs[i].literal > rs[j].literal
			}
			return rs[i].template < rs[j].template
		})
	}
	return s
}

// find returns the operation for method and path, and its path parameters.
func (s *specIndex) find(method, path string) (*route, map[string]string) {
	rs := s.routes[strings.ToUpper(method)]
	for _, base := range s.bases {
		if base != "" && !strings.HasPrefix(path, base+"/") && path != base {
			continue
		}
		segs := strings.Split(strings.Trim(strings.TrimPrefix(path, base), "/"), "/")
		for _, r := range rs {
			if params, ok := r.match(segs); ok {
				return r, params
			}
		}
	}
	return nil, nil
}

func (r *route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(r.segs) {
		return nil, false
	}
	var params map[string]string
	for i, t := range r.segs {
		s, err := url.PathUnescape(segs[i])
		if err != nil {
			s = segs[i]
		}
		open := strings.IndexByte(t, '{')
		if open < 0 {
			if s != t {
				return nil, false
			}
			continue
		}
		close := strings.LastIndexByte(t, '}')
		if close < open {
			return nil, false
		}
		pre, suf := t[:open], t[close+1:]
		if len(s) < len(pre)+len(suf)+1 || !strings.HasPrefix(s, pre) || !strings.HasSuffix(s, suf) {
			return nil, false
		}
		if params == nil {
			params = make(map[string]string)
		}
		params[strings.TrimSuffix(t[open+1:close], "*")] = s[len(pre) : len(s)-len(suf)]
	}
	return params, true
}

// validate checks a live response against the operation's responses.
func (s *specIndex) validate(ctx context.Context, r *route, params map[string]string, method string, status int, h http.Header, data []byte) []Diff {
	req := &http.Request{Method: method, URL: &url.URL{Path: r.template}, Header: http.Header{}}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      &routers.Route{Spec: s.doc, Path: r.template, PathItem: r.item, Method: r.method, Operation: r.op},
		},
		Status:  status,
		Header:  h,
		Body:    io.NopCloser(bytes.NewReader(data)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	err := openapi3filter.ValidateResponse(ctx, in)
	if err == nil {
		return nil
	}
	var out []Diff
	flattenSpecError(err, "", &out)
	return out
}

func flattenSpecError(err error, where string, out *[]Diff) {
	add := func(p, msg string) {
		*out = append(*out, Diff{Layer: LayerSpec, Path: p, Message: "spec: " + msg})
	}
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, x := range e {
			flattenSpecError(x, where, out)
		}
	case *openapi3filter.ResponseError:
		w := where
		if h := headerOf(e.Reason); h != "" {
			w = h
		}
		switch e.Err.(type) {
		case nil:
			add(w, e.Reason)
		case openapi3.MultiError, *openapi3.SchemaError, *openapi3filter.ParseError:
			flattenSpecError(e.Err, w, out)
		default:
			add(w, e.Reason+": "+e.Err.Error())
		}
	case *openapi3.SchemaError:
		p := where
		if p == "" {
			p = "$" + pointerPath(e.JSONPointer())
		}
		add(p, e.Reason)
	case *openapi3filter.ParseError:
		if e.Kind == openapi3filter.KindUnsupportedFormat {
			return // a media type kin-openapi cannot decode: not the service's fault
		}
		if where == "" {
			where = "$"
		}
		add(where, e.Error())
	default:
		add(where, err.Error())
	}
}

// headerOf names the header a kin-openapi reason is about, as a diff path.
func headerOf(reason string) string {
	if !strings.Contains(reason, "header") {
		return ""
	}
	if i := strings.IndexByte(reason, '"'); i >= 0 {
		if j := strings.IndexByte(reason[i+1:], '"'); j >= 0 {
			return "header " + reason[i+1:i+1+j]
		}
	}
	return ""
}

// pointerPath turns JSON pointer tokens into JSON path steps.
func pointerPath(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		if isInteger(t) && !strings.HasPrefix(t, "-") {
			b.WriteString("[" + t + "]")
			continue
		}
		writeSeg(&b, keySeg(t), false)
	}
	return b.String()
}
