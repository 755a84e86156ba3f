package replay

import (
	"fmt"
	"strconv"
	"strings"
)

// seg is one step of a path into a JSON value: an object key, or an array
// index when index >= 0.
type seg struct {
	key   string
	index int
}

func keySeg(k string) seg   { return seg{key: k, index: -1} }
func indexSeg(i int) seg    { return seg{index: i} }
func (s seg) isIndex() bool { return s.index >= 0 }

// pathString formats a path as a JSON path: $.items[0].price. With
// normalized set, array indices print as [*].
func pathString(path []seg, normalized bool) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range path {
		writeSeg(&b, s, normalized)
	}
	return b.String()
}

func writeSeg(b *strings.Builder, s seg, normalized bool) {
	switch {
	case s.isIndex() && normalized:
		b.WriteString("[*]")
	case s.isIndex():
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(s.index))
		b.WriteByte(']')
	case plainKey(s.key):
		b.WriteByte('.')
		b.WriteString(s.key)
	default:
		b.WriteString("['")
		b.WriteString(keyEscaper.Replace(s.key))
		b.WriteString("']")
	}
}

var keyEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

// plainKey reports whether k can be written after a dot.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c == '-' && i > 0 || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

// lookup returns the value at path inside v.
func lookup(v any, path []seg) (any, bool) {
	for _, s := range path {
		if s.isIndex() {
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[s.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// A pathRule is a parsed JSON path of a noise rule. Supported: $ (the
// root), .key, ['key'], [N], [*] and .* (any index or key), and ..key
// (key at any depth).
type pathRule struct {
	text string
	segs []ruleSeg
}

type ruleSeg struct {
	any     bool // [*] or .*
	descend bool // preceded by ..
	key     string
	index   int // -1: a key
}

// parsePathRule parses a JSON path such as $.items[*].updated_at.
func parsePathRule(s string) (pathRule, error) {
	r := pathRule{text: s}
	fail := func(at int, msg string) (pathRule, error) {
		return pathRule{}, fmt.Errorf("bad JSON path %q at column %d: %s", s, at+1, msg)
	}
	if !strings.HasPrefix(s, "$") {
		return fail(0, "must start with $")
	}
	i := 1
	for i < len(s) {
		var rs ruleSeg
		rs.index = -1
		switch {
		case strings.HasPrefix(s[i:], ".."):
			rs.descend = true
			i += 2
			if i < len(s) && s[i] == '[' {
				goto bracket
			}
			goto name
		case s[i] == '.':
			i++
			goto name
		case s[i] == '[':
			goto bracket
		default:
			return fail(i, "want . or [")
		}
	name:
		{
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == i {
				return fail(i, "missing name")
			}
			if s[i:j] == "*" {
				rs.any = true
			} else {
				rs.key = s[i:j]
			}
			i = j
			r.segs = append(r.segs, rs)
			continue
		}
	bracket:
		{
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return fail(i, "unclosed [")
			}
			inner := s[i+1 : i+end]
			switch {
			case inner == "*":
				rs.any = true
			case len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0]:
				rs.key = strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\\`, `\`).Replace(inner[1 : len(inner)-1])
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return fail(i, "want an index, * or a quoted name in [ ]")
				}
				rs.index = n
			}
			i += end + 1
			r.segs = append(r.segs, rs)
		}
	}
	return r, nil
}

// match reports whether the rule names exactly the node at path.
func (r *pathRule) match(path []seg) bool { return matchSegs(r.segs, path) }

func matchSegs(rule []ruleSeg, path []seg) bool {
	if len(rule) == 0 {
		return len(path) == 0
	}
	rs := rule[0]
	if rs.descend {
		for k := range path {
			if rs.matches(path[k]) && matchSegs(rule[1:], path[k+1:]) {
				return true
			}
		}
		return false
	}
	return len(path) > 0 && rs.matches(path[0]) && matchSegs(rule[1:], path[1:])
}

func (rs ruleSeg) matches(s seg) bool {
	switch {
	case rs.any:
		return true
	case rs.index >= 0:
		return s.isIndex() && s.index == rs.index
	}
	return !s.isIndex() && s.key == rs.key
}
