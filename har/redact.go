package har

import (
	"net/url"
	"strings"

	"github.com/backworks/bw/store"
)

// redactTree replaces, in a Meta patch or page, the secrets the store's
// writer cannot see because they are not in the exchange's headers, query or
// body: cookie values, values of headers and query or form parameters named
// like secrets, and passwords and secret parameters in URLs.
func redactTree(v any, r *store.Redactor) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			switch k {
			case "cookies":
				redactPairs(c, r, func(string) bool { return true })
				continue
			case "headers":
				redactPairs(c, r, store.IsSecretHeader)
				continue
			case "queryString", "params":
				redactPairs(c, r, store.IsSecretName)
				continue
			case keyPseudo:
				redactPseudo(c, r)
				continue
			case "url", "redirectURL", "title":
				if s, ok := c.(string); ok {
					x[k] = redactURL(s, r)
					continue
				}
			}
			redactTree(c, r)
		}
	case []any:
		for _, e := range x {
			redactTree(e, r)
		}
	}
}

// redactPairs redacts the value of each {name, value} item whose name is
// secret.
func redactPairs(v any, r *store.Redactor, secret func(string) bool) {
	a, _ := v.([]any)
	for _, e := range a {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		if val, ok := m["value"].(string); ok && secret(name) {
			m["value"] = r.Value(val)
		}
	}
}

// redactURL redacts a URL's password and the values of its secret query
// parameters, leaving every other byte as it was.
func redactURL(s string, r *store.Redactor) string {
	if i := strings.Index(s, "://"); i >= 0 {
		auth := s[i+3:]
		if end := strings.IndexAny(auth, "/?#"); end >= 0 {
			auth = auth[:end]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			if user, pass, ok := strings.Cut(auth[:at], ":"); ok && pass != "" {
				s = s[:i+3] + user + ":" + r.Value(pass) + s[i+3+at:]
			}
		}
	}
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return s
	}
	end := len(s)
	if h := strings.IndexByte(s[q:], '#'); h >= 0 {
		end = q + h
	}
	parts := strings.Split(s[q+1:end], "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err == nil && store.IsSecretName(name) {
			parts[i] = k + "=" + r.Value(v)
		}
	}
	return s[:q+1] + strings.Join(parts, "&") + s[end:]
}
