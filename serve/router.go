package serve

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// A route is one path template and the operations (one per method) that
// answer it.
type route struct {
	template string
	segs     []segment
	nparams  int  // parameter segments, the wildcard included
	wildcard bool // the last segment is {name*}
	order    int  // file order of the first endpoint with this template
	rank     int  // position in the precedence order; lower wins

	ops   map[string]*operation // by method; "*" answers every method
	allow []string              // methods for the Allow header, sorted
}

type segKind uint8

// Segment kinds in precedence order: a literal beats a pattern
// ("{id}.json") beats a parameter beats the wildcard.
const (
	segLiteral segKind = iota
	segPattern
	segParam
	segWild
)

type segment struct {
	kind           segKind
	lit            string // segLiteral
	name           string // the parameter's name
	prefix, suffix string // segPattern
}

// parseTemplate splits a path template into segments. It accepts {name},
// prefix{name}suffix within one segment, and a trailing {name*} (or *) that
// matches the rest of the path.
func parseTemplate(t string) ([]segment, error) {
	if !strings.HasPrefix(t, "/") {
		return nil, fmt.Errorf("path template %q must start with /", t)
	}
	t = trimSlash(t)
	if t == "/" {
		return nil, nil
	}
	parts := strings.Split(t[1:], "/")
	segs := make([]segment, 0, len(parts))
	for i, p := range parts {
		last := i == len(parts)-1
		open := strings.IndexByte(p, '{')
		switch {
		case p == "*" && last:
			segs = append(segs, segment{kind: segWild, name: "*"})
		case open < 0:
			if strings.ContainsAny(p, "}") {
				return nil, fmt.Errorf("path template %q: unbalanced } in %q", t, p)
			}
			segs = append(segs, segment{kind: segLiteral, lit: p})
		default:
			end := strings.IndexByte(p[open:], '}')
			if end < 0 {
				return nil, fmt.Errorf("path template %q: unbalanced { in %q", t, p)
			}
			end += open
			name := p[open+1 : end]
			prefix, suffix := p[:open], p[end+1:]
			if strings.ContainsAny(suffix, "{}") {
				return nil, fmt.Errorf("path template %q: one parameter per segment (%q)", t, p)
			}
			if wild, ok := strings.CutSuffix(name, "*"); ok {
				if !last || prefix != "" || suffix != "" {
					return nil, fmt.Errorf("path template %q: {%s} must be the whole last segment", t, name)
				}
				segs = append(segs, segment{kind: segWild, name: wild})
				continue
			}
			if name == "" {
				return nil, fmt.Errorf("path template %q: empty parameter name", t)
			}
			if prefix == "" && suffix == "" {
				segs = append(segs, segment{kind: segParam, name: name})
			} else {
				segs = append(segs, segment{kind: segPattern, name: name, prefix: prefix, suffix: suffix})
			}
		}
	}
	return segs, nil
}

// trimSlash drops one trailing slash: /pets/ and /pets are the same route.
func trimSlash(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return p[:len(p)-1]
	}
	return p
}

// router finds the route of a request path. Among the templates that match,
// the one without a wildcard wins, then the one with fewer parameters, then
// the one whose first differing segment is more specific (literal, then
// pattern, then parameter), then the template that sorts first.
type router struct {
	root   *node
	routes []*route // by rank
}

type node struct {
	lit      map[string]*node
	patterns []*patternEdge
	param    *node
	end      []*route // templates ending here
	wild     []*route // templates whose wildcard starts here
}

type patternEdge struct {
	prefix, suffix string
	next           *node
}

func newRouter(routes []*route) *router {
	rt := &router{root: &node{}, routes: routes}
	slices.SortStableFunc(rt.routes, compareRoutes)
	for i, r := range rt.routes {
		r.rank = i
		rt.insert(r)
	}
	return rt
}

// compareRoutes orders routes by precedence.
func compareRoutes(a, b *route) int {
	if a.wildcard != b.wildcard {
		if a.wildcard {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(a.nparams, b.nparams); c != 0 {
		return c
	}
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if c := cmp.Compare(a.segs[i].kind, b.segs[i].kind); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(len(b.segs), len(a.segs)); c != 0 {
		return c // longer first: /a/{x}/{rest*} before /a/{rest*}
	}
	if c := strings.Compare(a.template, b.template); c != 0 {
		return c
	}
	return cmp.Compare(a.order, b.order)
}

func (rt *router) insert(r *route) {
	n := rt.root
	for _, s := range r.segs {
		switch s.kind {
		case segLiteral:
			if n.lit == nil {
				n.lit = map[string]*node{}
			}
			next := n.lit[s.lit]
			if next == nil {
				next = &node{}
				n.lit[s.lit] = next
			}
			n = next
		case segPattern:
			var next *node
			for _, e := range n.patterns {
				if e.prefix == s.prefix && e.suffix == s.suffix {
					next = e.next
				}
			}
			if next == nil {
				next = &node{}
				n.patterns = append(n.patterns, &patternEdge{prefix: s.prefix, suffix: s.suffix, next: next})
			}
			n = next
		case segParam:
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
		case segWild:
			n.wild = append(n.wild, r)
			return
		}
	}
	n.end = append(n.end, r)
}

// match calls fn for every route whose template matches path (an escaped
// path, as in URL.EscapedPath).
func (rt *router) match(path string, fn func(*route)) {
	path = trimSlash(path)
	if path == "" || path == "/" {
		rt.root.find("", true, fn)
		return
	}
	if path[0] == '/' {
		path = path[1:]
	}
	rt.root.find(path, false, fn)
}

// find matches rest, the path after the segments matched so far (without its
// leading slash); done says no segment is left.
func (n *node) find(rest string, done bool, fn func(*route)) {
	for _, r := range n.wild {
		fn(r)
	}
	if done {
		for _, r := range n.end {
			fn(r)
		}
		return
	}
	seg, tail, more := strings.Cut(rest, "/")
	if strings.IndexByte(seg, '%') >= 0 {
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
	}
	if next := n.lit[seg]; next != nil {
		next.find(tail, !more, fn)
	}
	for _, e := range n.patterns {
		if len(seg) > len(e.prefix)+len(e.suffix) && strings.HasPrefix(seg, e.prefix) && strings.HasSuffix(seg, e.suffix) {
			e.next.find(tail, !more, fn)
		}
	}
	if n.param != nil && seg != "" {
		n.param.find(tail, !more, fn)
	}
}

// lookup returns the best route for path that has an operation for method,
// the operation, and, when none has one, whether any route matched the path
// at all (a 405 rather than a 404).
func (rt *router) lookup(method, path string) (*route, *operation, bool) {
	var (
		best    *route
		bestOp  *operation
		matched bool
	)
	rt.match(path, func(r *route) {
		matched = true
		if best != nil && best.rank < r.rank {
			return
		}
		if op := r.op(method); op != nil {
			best, bestOp = r, op
		}
	})
	return best, bestOp, matched
}

// allowed returns the methods of every route that matches path, sorted.
func (rt *router) allowed(path string) []string {
	var methods []string
	rt.match(path, func(r *route) {
		for _, m := range r.allow {
			if !slices.Contains(methods, m) {
				methods = append(methods, m)
			}
		}
	})
	slices.Sort(methods)
	return methods
}

// op returns the operation answering method: its own, HEAD served as GET,
// or one for every method.
func (r *route) op(method string) *operation {
	if op := r.ops[method]; op != nil {
		return op
	}
	if method == "HEAD" {
		if op := r.ops["GET"]; op != nil {
			return op
		}
	}
	return r.ops["*"]
}

// params extracts the route's parameters from an escaped path, in template
// order; the wildcard's value is the rest of the path, unescaped.
func (r *route) params(path string) []param {
	if r.nparams == 0 {
		return nil
	}
	path = trimSlash(path)
	if path != "" && path[0] == '/' {
		path = path[1:]
	}
	out := make([]param, 0, r.nparams)
	for _, s := range r.segs {
		seg, tail, _ := strings.Cut(path, "/")
		switch s.kind {
		case segWild:
			v, err := url.PathUnescape(path)
			if err != nil {
				v = path
			}
			out = append(out, param{s.name, v})
			return out
		case segParam, segPattern:
			v, err := url.PathUnescape(seg)
			if err != nil {
				v = seg
			}
			if s.kind == segPattern {
				v = strings.TrimSuffix(strings.TrimPrefix(v, s.prefix), s.suffix)
			}
			out = append(out, param{s.name, v})
		}
		path = tail
	}
	return out
}

type param struct{ name, value string }

// closest returns up to n route templates most like path, for the
// candidates of a 404.
func (rt *router) closest(method, path string, n int) []candidate {
	type scored struct {
		r *route
		d int
	}
	var all []scored
	for _, r := range rt.routes {
		all = append(all, scored{r, templateDistance(r.segs, path)})
	}
	slices.SortStableFunc(all, func(a, b scored) int {
		if c := cmp.Compare(a.d, b.d); c != 0 {
			return c
		}
		return cmp.Compare(a.r.rank, b.r.rank)
	})
	var out []candidate
	for _, s := range all {
		if len(out) == n {
			break
		}
		c := candidate{Route: s.r.template, Methods: s.r.allow}
		if s.r.op(method) == nil {
			c.Reason = "method not allowed"
		}
		out = append(out, c)
	}
	return out
}

// templateDistance is an edit distance between a template's segments and a
// path's, where a parameter matches any segment.
func templateDistance(segs []segment, path string) int {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	prev := make([]int, len(parts)+1)
	cur := make([]int, len(parts)+1)
	for j := range prev {
		prev[j] = j
	}
	for i, s := range segs {
		cur[0] = i + 1
		for j, p := range parts {
			cost := 1
			switch s.kind {
			case segLiteral:
				if s.lit == p {
					cost = 0
				}
			default:
				cost = 0
			}
			cur[j+1] = min(prev[j]+cost, prev[j+1]+1, cur[j]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(parts)]
}
