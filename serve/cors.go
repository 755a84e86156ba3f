package serve

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/backworks/bw/api"
)

// corsPolicy applies the document's cors block: it answers preflight
// requests and adds the CORS response headers for allowed origins.
type corsPolicy struct {
	anyOrigin   bool
	origins     []string
	methods     string // "" echoes the requested method
	headers     string // "" echoes the requested headers
	expose      string
	credentials bool
	maxAge      string
}

func newCORS(c *api.CORS) *corsPolicy {
	p := &corsPolicy{
		anyOrigin:   slices.Contains(c.AllowOrigins, "*") || len(c.AllowOrigins) == 0,
		methods:     strings.Join(c.AllowMethods, ", "),
		headers:     strings.Join(c.AllowHeaders, ", "),
		expose:      strings.Join(c.ExposeHeaders, ", "),
		credentials: c.AllowCredentials,
	}
	for _, o := range c.AllowOrigins {
		if o != "*" {
			p.origins = append(p.origins, strings.ToLower(strings.TrimSuffix(o, "/")))
		}
	}
	if c.MaxAge > 0 {
		p.maxAge = strconv.Itoa(int(c.MaxAge.Seconds()))
	}
	return p
}

// allowOrigin is the Access-Control-Allow-Origin value for origin, "" if
// the origin is not allowed.
func (p *corsPolicy) allowOrigin(origin string) string {
	if origin == "" {
		return ""
	}
	if slices.Contains(p.origins, strings.ToLower(origin)) {
		return origin
	}
	if p.anyOrigin {
		if p.credentials {
			return origin // "*" does not work with credentials
		}
		return "*"
	}
	return ""
}

// preflight answers an OPTIONS preflight request with 204; it reports
// whether it did.
func (p *corsPolicy) preflight(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	if allow := p.allowOrigin(origin); allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
		methods := p.methods
		if methods == "" {
			methods = r.Header.Get("Access-Control-Request-Method")
		}
		h.Set("Access-Control-Allow-Methods", methods)
		headers := p.headers
		if headers == "" {
			headers = r.Header.Get("Access-Control-Request-Headers")
		}
		if headers != "" {
			h.Set("Access-Control-Allow-Headers", headers)
		}
		if p.credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if p.maxAge != "" {
			h.Set("Access-Control-Max-Age", p.maxAge)
		}
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// decorate adds the CORS headers of an actual (not preflight) request.
func (p *corsPolicy) decorate(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h.Add("Vary", "Origin")
	allow := p.allowOrigin(origin)
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.expose != "" {
		h.Set("Access-Control-Expose-Headers", p.expose)
	}
}
