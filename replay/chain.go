package replay

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/backworks/bw/store"
)

// Value chaining. A recorded response hands out values (ids, tokens,
// links): JSON fields named like identifiers, strings that look like
// UUIDs, ULIDs or tokens, and the Location header. When a later recorded
// request carries such a value (in a path segment, a query or form value,
// a JSON value or a header token), the replay waits for the exchange that
// handed it out and sends the live value that exchange got instead.

// liveValue is what a recorded value became on the target.
type liveValue struct {
	s   string
	num bool // a JSON number
}

// mapping maps recorded values to live ones.
type mapping map[string]liveValue

// produced is a value a recorded response hands out, and where to find its
// live counterpart in the live response.
type produced struct {
	value  string
	path   []seg  // in the JSON body; nil for a header
	header string // canonical header name when path is nil
	last   bool   // the value is the last path segment of a link
	// inArray is set for values inside arrays: they are handed out only
	// by writes (what a create returns), since the items of a list are
	// matched by position, which says nothing when the live list holds
	// other items.
	inArray bool
}

// maxProduced caps the values one response hands out (a long list).
const maxProduced = 512

// canon returns the string form under which a JSON scalar is chained:
// strings and integers; other values are not identifiers.
func canon(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, v != "" && len(v) <= 2048
	case json.Number:
		if isInteger(string(v)) {
			return string(v), true
		}
	}
	return "", false
}

// chainable reports whether a response field is an identifier or token
// that later requests may send back.
func chainable(key string, v any) bool {
	if _, ok := canon(v); !ok {
		return false
	}
	if idName(key) {
		return true
	}
	if s, ok := v.(string); ok {
		switch stringFormat(s) {
		case fmtUUID, fmtULID, fmtRedacted, fmtJWT:
			return true
		}
	}
	return false
}

// producedValues lists the chainable values of a recorded response,
// leaving out values its own request carried (an echo is not a new value).
func producedValues(body any, h store.Header, reqVals map[string]bool) []produced {
	var out []produced
	add := func(p produced) {
		if len(out) < maxProduced && p.value != "" && !reqVals[p.value] {
			out = append(out, p)
		}
	}
	var walk func(v any, path []seg)
	walk = func(v any, path []seg) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				p := append(path[:len(path):len(path)], keySeg(k))
				switch c.(type) {
				case map[string]any:
					walk(c, p)
					continue
				case []any:
					walk(c, p)
					continue
				}
				if !chainable(k, c) {
					continue
				}
				s, _ := canon(c)
				inArray := slices.ContainsFunc(p, seg.isIndex)
				add(produced{value: s, path: p, inArray: inArray})
				if urlName(k) && strings.Contains(s, "/") {
					add(produced{value: lastSegment(s), path: p, last: true, inArray: inArray})
				}
			}
		case []any:
			for i, c := range v {
				if len(out) >= maxProduced {
					return
				}
				walk(c, append(path[:len(path):len(path)], indexSeg(i)))
			}
		}
	}
	walk(body, nil)
	for _, name := range []string{"Location", "Content-Location"} {
		if loc := h.Get(name); loc != "" {
			add(produced{value: loc, header: name})
			add(produced{value: lastSegment(loc), header: name, last: true})
		}
	}
	return out
}

// liveOf finds the live counterpart of p in a live response.
func (p *produced) liveOf(body any, h headerGetter) (liveValue, bool) {
	var lv liveValue
	if p.path == nil {
		lv.s = h.Get(p.header)
	} else {
		v, ok := lookup(body, p.path)
		if !ok {
			return lv, false
		}
		s, ok := canon(v)
		if !ok {
			return lv, false
		}
		_, lv.num = v.(json.Number)
		lv.s = s
	}
	if p.last {
		lv.s, lv.num = lastSegment(lv.s), false
	}
	return lv, lv.s != ""
}

type headerGetter interface{ Get(string) string }

// lastSegment returns the last path segment of a URL or path, unescaped.
func lastSegment(s string) string {
	if u, err := url.Parse(s); err == nil {
		s = u.Path
	}
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	return s
}

// skipValueHeaders never carry identifiers worth chaining.
var skipValueHeaders = map[string]bool{
	"accept": true, "accept-encoding": true, "accept-language": true, "content-type": true,
	"user-agent": true, "host": true, "connection": true, "content-length": true,
	"cache-control": true, "pragma": true, "origin": true, "referer": true,
}

// requestValues collects the values a recorded request carries: path
// segments, query and form values, JSON scalars and header tokens.
func requestValues(req *store.Request, body []byte, media string) map[string]bool {
	vals := make(map[string]bool)
	for _, s := range strings.Split(req.Path, "/") {
		if u, err := url.PathUnescape(s); err == nil && u != "" {
			vals[u] = true
		}
	}
	queryValues(req.RawQuery, vals)
	for _, f := range req.Header {
		if skipValueHeaders[strings.ToLower(f.Name)] {
			continue
		}
		if chainSlot(f.Name, f.Value) {
			vals[f.Value] = true
		}
		eachToken(f.Value, func(tok string) {
			if chainSlot(f.Name, tok) {
				vals[tok] = true
			}
		})
	}
	switch {
	case isJSONMedia(media):
		jsonScalars(body, func(key, s string) {
			if chainSlot(key, s) {
				vals[s] = true
			}
		})
	case media == "application/x-www-form-urlencoded":
		queryValues(string(body), vals)
	}
	delete(vals, "")
	return vals
}

func queryValues(raw string, vals map[string]bool) {
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		if u, err := url.QueryUnescape(v); err == nil && u != "" && chainSlot(k, u) {
			vals[u] = true
		}
	}
}

// jsonScalars calls fn with every string and integer value in a JSON
// document and the key it is under (the array's, for array items).
func jsonScalars(data []byte, fn func(key, value string)) {
	scanJSON(data, func(key string, tok []byte, isString bool) []byte {
		if isString {
			if s, ok := unquote(tok); ok {
				fn(key, s)
			}
		} else if isInteger(string(tok)) {
			fn(key, string(tok))
		}
		return nil
	})
}

// tokenSep separates the tokens of a header value that may be chained:
// "Bearer <token>", "id=<value>; path=/", a link.
func tokenSep(c byte) bool {
	switch c {
	case ' ', ',', ';', '=', '"', '\'', '/', '?', '&', '#', '\t':
		return true
	}
	return false
}

func eachToken(s string, fn func(string)) {
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || tokenSep(s[i]) {
			if start >= 0 {
				fn(s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
}

// rewriteTokens replaces the mapped tokens of a header value (or of a
// string, to compare it). name, when set, is the header's: only tokens
// that fit it (see chainSlot) are replaced.
func rewriteTokens(name, s string, m mapping) string {
	if len(m) == 0 {
		return s
	}
	if lv, ok := m[s]; ok && (name == "" || chainSlot(name, s)) {
		return lv.s
	}
	var b strings.Builder
	last, changed := 0, false
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !tokenSep(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if lv, ok := m[s[start:i]]; ok && (name == "" || chainSlot(name, s[start:i])) {
				b.WriteString(s[last:start])
				b.WriteString(lv.s)
				last, changed = i, true
			}
			start = -1
		}
	}
	if !changed {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// rewritePath replaces mapped path segments.
func rewritePath(p string, m mapping) string {
	if len(m) == 0 {
		return p
	}
	segs := strings.Split(p, "/")
	changed := false
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			continue
		}
		if lv, ok := m[u]; ok && lv.s != u {
			segs[i] = url.PathEscape(lv.s)
			changed = true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(segs, "/")
}

// rewriteQuery replaces mapped values of a query or form body, keeping
// the order and encoding of everything else.
func rewriteQuery(raw string, m mapping) string {
	if len(m) == 0 || raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	changed := false
	for i, kv := range parts {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		u, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		name, _ := url.QueryUnescape(k)
		if lv, ok := m[u]; ok && lv.s != u && chainSlot(name, u) {
			parts[i] = k + "=" + url.QueryEscape(lv.s)
			changed = true
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}

// rewriteJSON replaces mapped string and number values of a JSON document,
// byte for byte elsewhere (key order, spacing).
func rewriteJSON(data []byte, m mapping) []byte {
	if len(m) == 0 {
		return data
	}
	return scanJSON(data, func(key string, tok []byte, isString bool) []byte {
		s := string(tok)
		if isString {
			var ok bool
			if s, ok = unquote(tok); !ok {
				return nil
			}
		}
		lv, ok := m[s]
		if !ok || lv.s == s || !chainSlot(key, s) {
			return nil
		}
		if !isString && lv.num {
			return []byte(lv.s)
		}
		q, _ := json.Marshal(lv.s)
		return q
	})
}

// scanJSON calls fn with every string value (quotes included) and number
// of a JSON document, and the object key it is under (for array items, the
// array's; "" at the top); a non-nil return replaces the token. It returns
// the rewritten document, or data itself when nothing was replaced.
func scanJSON(data []byte, fn func(key string, tok []byte, isString bool) []byte) []byte {
	var out []byte
	key := ""
	last := 0
	replace := func(start, end int, with []byte) {
		if with == nil {
			return
		}
		if out == nil {
			out = make([]byte, 0, len(data)+16)
		}
		out = append(out, data[last:start]...)
		out = append(out, with...)
		last = end
	}
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(data) {
				return orig(out, data, last)
			}
			end := j + 1
			k := end
			for k < len(data) && (data[k] == ' ' || data[k] == '\t' || data[k] == '\n' || data[k] == '\r') {
				k++
			}
			if k < len(data) && data[k] == ':' {
				key, _ = unquote(data[i:end])
			} else {
				replace(i, end, fn(key, data[i:end], true))
			}
			i = end
		case c == '-' || '0' <= c && c <= '9':
			j := i + 1
			for j < len(data) && strings.IndexByte("0123456789.eE+-", data[j]) >= 0 {
				j++
			}
			replace(i, j, fn(key, data[i:j], false))
			i = j
		default:
			i++
		}
	}
	return orig(out, data, last)
}

func orig(out, data []byte, last int) []byte {
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

func unquote(tok []byte) (string, bool) {
	if bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1]), true
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return "", false
	}
	return s, true
}

// genMap is a map of bounded size: when the current generation is full it
// becomes the old one and the older is dropped, so recently used entries
// survive and memory stays constant however long the run.
type genMap[K comparable, V any] struct {
	cur, old map[K]V
	max      int
}

func newGenMap[K comparable, V any](max int) *genMap[K, V] {
	return &genMap[K, V]{cur: make(map[K]V), max: max}
}

func (g *genMap[K, V]) get(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.old[k]
	if ok {
		g.put(k, v)
	}
	return v, ok
}

func (g *genMap[K, V]) put(k K, v V) {
	if len(g.cur) >= g.max {
		g.old, g.cur = g.cur, make(map[K]V, g.max/4)
	}
	g.cur[k] = v
}
