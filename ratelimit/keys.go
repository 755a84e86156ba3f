package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// KeyFunc maps a request to the key its rate limit is counted under.
type KeyFunc func(r *http.Request) string

// NewKeyFunc returns the KeyFunc for spec: "ip" (or ""), "header:NAME" or
// "api_key"; trustedProxies is how many reverse proxies in front of bw append
// to X-Forwarded-For.
//
// Keys are prefixed by kind ("ip:", "header:", "key:") so a header value
// never shares a bucket with an IP. An IPv6 client is keyed by its /64, the
// block one host usually controls. API keys are kept only as a SHA-256
// prefix, and header values longer than 64 bytes are hashed the same way,
// so keys stay short and no credential sits in the limiter. When the
// header or API key is missing the request is keyed by client IP.
func NewKeyFunc(spec string, trustedProxies int) (KeyFunc, error) {
	if trustedProxies < 0 {
		return nil, fmt.Errorf("ratelimit: trusted_proxies: must be >= 0 (got %d)", trustedProxies)
	}
	ip := func(r *http.Request) string { return "ip:" + ClientIP(r, trustedProxies) }
	switch {
	case spec == "" || strings.EqualFold(spec, "ip"):
		return ip, nil
	case len(spec) > len("header:") && strings.EqualFold(spec[:len("header:")], "header:"):
		name := http.CanonicalHeaderKey(strings.TrimSpace(spec[len("header:"):]))
		if !validHeaderName(name) {
			return nil, fmt.Errorf("ratelimit: key %q: invalid header name %q", spec, name)
		}
		return func(r *http.Request) string {
			if v := strings.TrimSpace(r.Header.Get(name)); v != "" {
				if len(v) > 64 {
					v = digest(v)
				}
				return "header:" + v
			}
			return ip(r)
		}, nil
	case normalizeSpec(spec) == "apikey":
		return func(r *http.Request) string {
			if v := apiKey(r); v != "" {
				return "key:" + digest(v)
			}
			return ip(r)
		}, nil
	}
	return nil, fmt.Errorf("ratelimit: key %q: unknown (want ip, header:NAME or api_key)", spec)
}

// ClientIP returns the address of the client that sent r. With
// trustedProxies = 0 it is the peer address (RemoteAddr) and
// X-Forwarded-For is ignored, since any client can send it. With N > 0 it is
// the Nth address from the right of X-Forwarded-For: each of the N trusted
// proxies appended the address it received from, so that entry was written
// by the outermost trusted proxy. If the header has fewer than N addresses,
// or that entry is not an IP, the peer address is used. IPv6 addresses are
// reduced to their /64 prefix.
func ClientIP(r *http.Request, trustedProxies int) string {
	if trustedProxies > 0 {
		if a, ok := forwardedFor(r.Header.Values("X-Forwarded-For"), trustedProxies); ok {
			return formatAddr(a)
		}
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return formatAddr(a)
	}
	return host
}

// forwardedFor returns the nth address from the right of the
// X-Forwarded-For lines, which may be repeated and comma-separated.
func forwardedFor(lines []string, n int) (netip.Addr, bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for {
			var part string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				part, line = line[j+1:], line[:j]
			} else {
				part, line = line, ""
			}
			part = strings.TrimSpace(part)
			if part != "" {
				n--
				if n == 0 {
					return parseForwarded(part)
				}
			}
			if line == "" {
				break
			}
		}
	}
	return netip.Addr{}, false
}

// parseForwarded parses one X-Forwarded-For entry: an IP, possibly with a
// port or in brackets.
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a, true
	}
	return netip.Addr{}, false
}

func formatAddr(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// apiKey returns the credential of r: the Authorization value (Bearer,
// Basic or any scheme), else X-API-Key, else the api_key or apikey query
// parameter.
func apiKey(r *http.Request) string {
	if v := strings.TrimSpace(r.Header.Get("Authorization")); v != "" {
		return v
	}
	if v := strings.TrimSpace(r.Header.Get("X-API-Key")); v != "" {
		return v
	}
	q := r.URL.Query()
	for _, name := range []string{"api_key", "apikey"} {
		if v := strings.TrimSpace(q.Get(name)); v != "" {
			return v
		}
	}
	return ""
}

// digest returns a short, stable, one-way form of a secret or long value.
func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:16])
}

// normalizeSpec lowercases s and drops '_' and '-' so that "api_key",
// "ApiKey" and "api-key" compare equal.
func normalizeSpec(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
			c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~' ||
			'0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
