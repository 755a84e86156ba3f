package har

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/backworks/bw/store"
)

// Browsers list HTTP/2 and HTTP/3 pseudo-headers (":authority", ":method",
// ":path", ":scheme", ":status", ":protocol") among an entry's headers.
// They are the request and status lines, which the exchange holds in its
// own fields: Import takes them out of the headers, uses them for what the
// entry's URL, method or status leave out, and keeps them, with their
// places, in Meta under keyPseudo, so that Export writes the entry back as
// it was.

// keyPseudo holds, in a Meta patch's request or response object, the
// pseudo-headers taken out of its headers.
const keyPseudo = "bw:pseudo"

// pseudoField is a pseudo-header and its index among the entry's headers.
type pseudoField struct {
	index       int
	name, value string
}

// splitPseudo returns h without its pseudo-headers, and those.
func splitPseudo(h store.Header) (store.Header, []pseudoField) {
	var ps []pseudoField
	for i, f := range h {
		if store.IsPseudoHeader(f.Name) {
			ps = append(ps, pseudoField{i, f.Name, f.Value})
		}
	}
	if ps == nil {
		return h, nil
	}
	return h.Regular(), ps
}

// pseudoValue is the value of the first pseudo-header called name; names
// are lower case on the wire (RFC 9113, 8.2), but a HAR tool may not say so.
func pseudoValue(ps []pseudoField, name string) string {
	for _, p := range ps {
		if strings.EqualFold(p.name, name) {
			return p.value
		}
	}
	return ""
}

// fillRequest completes the request line from the pseudo-headers where the
// entry's URL and method leave it out: a URL that is only a path, or no
// URL, or no method. The URL stays the authority otherwise, as it is what
// the browser asked for. Host follows HTTP/1's Host header first, then
// :authority (HTTP/2 sends no Host header).
func fillRequest(r *store.Request, rawURL string, ps []pseudoField) {
	if r.Method == "" {
		r.Method = pseudoValue(ps, ":method")
	}
	if r.Scheme == "" {
		r.Scheme = pseudoValue(ps, ":scheme")
	}
	if r.Host == "" {
		if r.Host = r.Header.Get("Host"); r.Host == "" {
			r.Host = pseudoValue(ps, ":authority")
		}
	}
	if p := pseudoValue(ps, ":path"); p != "" && !urlHasPath(rawURL) {
		if i := strings.IndexByte(p, '#'); i >= 0 {
			p = p[:i]
		}
		r.Path, r.RawQuery, _ = strings.Cut(p, "?")
	}
}

// urlHasPath reports whether a HAR URL names a path or query of its own.
func urlHasPath(raw string) bool {
	rest := raw
	if i := strings.Index(raw, "://"); i > 0 && validScheme(raw[:i]) {
		rest = raw[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			return false
		}
		rest = rest[end:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	return rest != ""
}

// pseudoStatus is the status a ":status" pseudo-header gives, 0 if none.
func pseudoStatus(ps []pseudoField) int {
	s := pseudoValue(ps, ":status")
	if len(s) != 3 {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 {
		return 0
	}
	return n
}

// withPseudo returns a header array with the pseudo-headers put back at
// their indexes (in increasing order, each index is where it was among the
// whole list).
func withPseudo(a []any, ps []pseudoField) []any {
	for _, p := range ps {
		i := min(max(p.index, 0), len(a))
		a = slices.Insert(a, i, any(object{{"name", p.name}, {"value", p.value}}))
	}
	return a
}

// setPseudo records ps at patch[k][keyPseudo].
func setPseudo(patch map[string]any, ps []pseudoField, k string) map[string]any {
	if len(ps) == 0 {
		return patch
	}
	if patch == nil {
		patch = map[string]any{}
	}
	m, ok := patch[k].(map[string]any)
	if !ok {
		m = map[string]any{}
		patch[k] = m
	}
	a := make([]any, len(ps))
	for i, p := range ps {
		a[i] = map[string]any{"index": json.Number(strconv.Itoa(p.index)), "name": p.name, "value": p.value}
	}
	m[keyPseudo] = a
	return patch
}

// readPseudo reads what setPseudo recorded, dropping items it cannot have
// written, and sorts it by index.
func readPseudo(v any) []pseudoField {
	a, _ := v.([]any)
	var ps []pseudoField
	for _, e := range a {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		n, _ := m["index"].(json.Number)
		i, err := strconv.Atoi(string(n))
		name, _ := m["name"].(string)
		value, _ := m["value"].(string)
		if err != nil || i < 0 || !store.IsPseudoHeader(name) {
			continue
		}
		ps = append(ps, pseudoField{i, name, value})
	}
	slices.SortStableFunc(ps, func(a, b pseudoField) int { return a.index - b.index })
	return ps
}

// redactPseudo redacts the secret query parameters in a recorded ":path",
// which the store's writer redacts in the request's query.
func redactPseudo(v any, r *store.Redactor) {
	a, _ := v.([]any)
	for _, e := range a {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if name, _ := m["name"].(string); strings.EqualFold(name, ":path") {
			if val, ok := m["value"].(string); ok {
				m["value"] = redactURL(val, r)
			}
		}
	}
}
