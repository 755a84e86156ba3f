package replay

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/backworks/bw/store"
)

// Filter selects the recorded exchanges a run replays. A nil *Filter
// selects every exchange.
//
// It is built from expressions of the form KEY=PATTERN or KEY!=PATTERN:
//
//	method=GET            request method (case-insensitive)
//	path=/api/v1/users*   request path, without the query
//	session=smoke         recording session (--session at capture)
//	host=api.example.com  recorded Host (case-insensitive)
//	status=2*             recorded response status
//	id=01J...             exchange id
//
// A PATTERN is a glob: * matches any run of characters (slashes
// included), ? one character; commas separate alternatives
// (method=GET,HEAD). != selects what does not match. An exchange is
// replayed when it matches every expression.
type Filter struct {
	terms []filterTerm
}

type filterTerm struct {
	key  string
	neg  bool
	pats []string
}

// FilterKeys are the keys a filter expression may use.
var FilterKeys = []string{"method", "path", "session", "host", "status", "id"}

// ParseFilter parses filter expressions; see [Filter]. No expressions
// give a nil filter.
func ParseFilter(exprs ...string) (*Filter, error) {
	if len(exprs) == 0 {
		return nil, nil
	}
	f := new(Filter)
	for _, e := range exprs {
		i := strings.IndexByte(e, '=')
		if i <= 0 {
			return nil, fmt.Errorf("filter %q: want KEY=PATTERN or KEY!=PATTERN, KEY one of %s", e, strings.Join(FilterKeys, ", "))
		}
		t := filterTerm{key: strings.ToLower(strings.TrimSpace(e[:i]))}
		if strings.HasSuffix(t.key, "!") {
			t.neg, t.key = true, strings.TrimSpace(strings.TrimSuffix(t.key, "!"))
		}
		known := false
		for _, k := range FilterKeys {
			known = known || k == t.key
		}
		if !known {
			return nil, fmt.Errorf("filter %q: unknown key %q; use one of %s", e, t.key, strings.Join(FilterKeys, ", "))
		}
		for _, p := range strings.Split(e[i+1:], ",") {
			p = strings.TrimSpace(p)
			if t.key == "method" || t.key == "host" || t.key == "id" {
				p = strings.ToLower(p)
			}
			t.pats = append(t.pats, p)
		}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

// Match reports whether ex is selected.
func (f *Filter) Match(ex *store.Exchange) bool {
	if f == nil {
		return true
	}
	for _, t := range f.terms {
		var v string
		switch t.key {
		case "method":
			v = strings.ToLower(ex.Request.Method)
		case "path":
			v = ex.Request.Path
		case "session":
			v = ex.Session
		case "host":
			v = strings.ToLower(ex.Request.Host)
		case "status":
			v = strconv.Itoa(ex.Response.Status)
		case "id":
			v = strings.ToLower(ex.ID.String())
		}
		hit := false
		for _, p := range t.pats {
			if glob(p, v) {
				hit = true
				break
			}
		}
		if hit == t.neg {
			return false
		}
	}
	return true
}

// scanFilter returns what the store can select by itself: one literal
// host and one literal method.
func (f *Filter) scanFilter() store.Filter {
	var sf store.Filter
	if f == nil {
		return sf
	}
	for _, t := range f.terms {
		if t.neg || len(t.pats) != 1 || strings.ContainsAny(t.pats[0], "*?") {
			continue
		}
		switch t.key {
		case "host":
			sf.Host = t.pats[0]
		case "method":
			sf.Method = t.pats[0]
		}
	}
	return sf
}

// glob matches s against a pattern where * is any run of characters and ?
// one character.
func glob(p, s string) bool {
	px, sx := 0, 0
	nextP, nextS := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				nextP, nextS = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextS > 0 && nextS <= len(s) {
			px, sx = nextP, nextS
			continue
		}
		return false
	}
	return true
}
