package api

import (
	"fmt"
	"strings"
)

// httpMethods are the methods an endpoint may list.
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

func validMethod(m string) bool {
	for _, v := range httpMethods {
		if m == v {
			return true
		}
	}
	return false
}

// normalizePath rewrites the original Backworks path syntaxes to bw's:
// :id and {id} read {id}; a last segment *, *rest or {*rest} reads {rest*}.
// It returns the path and its parameter names in order.
func normalizePath(s string) (string, []string, error) {
	if !strings.HasPrefix(s, "/") {
		return "", nil, fmt.Errorf("must start with / (got %q)", s)
	}
	if strings.ContainsAny(s, "?#") {
		return "", nil, fmt.Errorf("must not contain a query or fragment (got %q)", s)
	}
	segs := strings.Split(s, "/")
	var names []string
	seen := map[string]bool{}
	addName := func(n string) error {
		if !validParamName(n) {
			return fmt.Errorf("bad parameter name %q in %s", n, s)
		}
		if seen[n] {
			return fmt.Errorf("parameter {%s} appears twice in %s", n, s)
		}
		seen[n] = true
		names = append(names, n)
		return nil
	}
	for i, seg := range segs {
		last := i == len(segs)-1
		var wild string
		switch {
		case seg == "*":
			wild = "rest"
		case strings.HasPrefix(seg, "*"):
			wild = seg[1:]
		case strings.HasPrefix(seg, "{*") && strings.HasSuffix(seg, "}"):
			wild = seg[2 : len(seg)-1]
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "*}"):
			wild = seg[1 : len(seg)-2]
		case strings.HasPrefix(seg, ":") && len(seg) > 1:
			if err := addName(seg[1:]); err != nil {
				return "", nil, err
			}
			segs[i] = "{" + seg[1:] + "}"
			continue
		}
		if wild != "" {
			if !last {
				return "", nil, fmt.Errorf("a wildcard (%s) must be the last segment of %s", seg, s)
			}
			if err := addName(wild); err != nil {
				return "", nil, err
			}
			segs[i] = "{" + wild + "*}"
			continue
		}
		// {name} pieces, possibly with literal text around them ({id}.json).
		rest := seg
		for rest != "" {
			open := strings.IndexByte(rest, '{')
			closing := strings.IndexByte(rest, '}')
			if open < 0 {
				if closing >= 0 || strings.Contains(rest, "*") {
					return "", nil, fmt.Errorf("unexpected %q in %s", rest, s)
				}
				break
			}
			if closing < open {
				return "", nil, fmt.Errorf("unbalanced braces in %s", s)
			}
			if err := addName(rest[open+1 : closing]); err != nil {
				return "", nil, err
			}
			rest = rest[closing+1:]
		}
	}
	return strings.Join(segs, "/"), names, nil
}

func validParamName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// isWildcard reports whether a normalised path ends in {name*}.
func isWildcard(path string) bool {
	return strings.HasSuffix(path, "*}")
}

// templateKey is the path with its parameter names blanked, so that
// /users/{id} and /users/{userId} compare equal.
func templateKey(path string) string {
	var b strings.Builder
	in, star := false, false
	for _, r := range path {
		switch {
		case r == '{':
			in, star = true, false
		case r == '}':
			in = false
			if star {
				b.WriteString("{*}")
			} else {
				b.WriteString("{}")
			}
		case in:
			star = r == '*'
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// generatedName names a list-form endpoint from its methods and path, as
// bw infer names endpoints: get_users_by_id.
func generatedName(methods []string, path string) string {
	var parts []string
	if len(methods) == 0 {
		parts = append(parts, "any")
	}
	for _, m := range methods {
		parts = append(parts, strings.ToLower(m))
	}
	for _, seg := range strings.Split(path, "/") {
		switch {
		case seg == "":
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			parts = append(parts, "by", strings.TrimSuffix(seg[1:len(seg)-1], "*"))
		default:
			var b strings.Builder
			for _, r := range strings.ToLower(seg) {
				if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
					b.WriteRune(r)
				} else {
					b.WriteByte('_')
				}
			}
			if w := strings.Trim(b.String(), "_"); w != "" {
				parts = append(parts, w)
			}
		}
	}
	return strings.Join(parts, "_")
}
