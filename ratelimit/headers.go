package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SetHeaders sets RateLimit-Policy and RateLimit on h from d, plus
// Retry-After (whole seconds, at least 1) when d denied the request. The
// syntax is that of draft-ietf-httpapi-ratelimit-headers-11.
func SetHeaders(h http.Header, d Decision) {
	name := sfString(d.Policy)
	var b strings.Builder
	b.Grow(48)

	b.WriteString(name)
	b.WriteString(";q=")
	b.WriteString(strconv.Itoa(max(0, d.Limit)))
	if w := ceilSeconds(d.Window); w > 0 {
		b.WriteString(";w=")
		b.WriteString(strconv.FormatInt(w, 10))
	}
	h.Set("RateLimit-Policy", b.String())

	b.Reset()
	b.WriteString(name)
	b.WriteString(";r=")
	b.WriteString(strconv.Itoa(max(0, d.Remaining)))
	b.WriteString(";t=")
	b.WriteString(strconv.FormatInt(ceilSeconds(d.Reset), 10))
	h.Set("RateLimit", b.String())

	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(d.RetryAfter)), 10))
	}
}

// ceilSeconds rounds d up to whole seconds (delay-seconds in RFC 9110).
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// sfString serializes s as a Structured Field String (RFC 9651 §4.1.6):
// quoted, with '"' and '\' escaped. Characters outside printable ASCII
// cannot appear in one and are dropped; "" becomes "default".
func sfString(s string) string {
	if s == "" {
		s = defaultPolicy
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c <= 0x7e:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
