package har

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backworks/bw/store"
)

// This file builds the HAR entry for an exchange from the exchange alone
// (the "derived" entry). Export writes it with the exchange's Meta patch
// applied; Import builds it too and keeps in Meta only how the input entry
// differs from it.

// hints carry what the model does not hold: how a body's text was written
// ("base64" or "text"; empty: decide by content), and the pseudo-headers
// that were among the headers.
type hints struct {
	reqEnc, resEnc       string
	reqPseudo, resPseudo []pseudoField
}

func entryObject(ex *store.Exchange, h hints) object {
	ms := msNumber(ex.Duration)
	e := object{
		{"startedDateTime", formatTime(ex.Start)},
		{"time", ms},
		{"request", requestObject(ex, h.reqEnc, h.reqPseudo)},
		{"response", responseObject(ex, h.resEnc, h.resPseudo)},
		{"cache", object{}},
		{"timings", object{{"send", num(0)}, {"wait", ms}, {"receive", num(0)}}},
	}
	if ex.ServerAddr != "" {
		ip := ex.ServerAddr
		if host, _, err := net.SplitHostPort(ex.ServerAddr); err == nil {
			ip = host
		}
		e.set("serverIPAddress", ip)
		if serverAddr(ip, &ex.Request) != ex.ServerAddr {
			e.set("_serverAddress", ex.ServerAddr)
		}
	}
	if ex.ClientAddr != "" {
		e.set("_clientAddress", ex.ClientAddr)
	}
	return e
}

func requestObject(ex *store.Exchange, enc string, pseudo []pseudoField) object {
	r := &ex.Request
	o := object{
		{"method", r.Method},
		{"url", r.URL()},
		{"httpVersion", r.Proto},
		{"cookies", requestCookies(r.Header)},
		{"headers", withPseudo(headerArray(r.Header), pseudo)},
		{"queryString", queryArray(r.RawQuery)},
	}
	b := &r.Body
	if len(b.Data) > 0 || b.Size > 0 || b.Truncated {
		br := representBody(b, r.Header, enc)
		pd := object{{"mimeType", r.Header.Get("Content-Type")}}
		if br.hasText {
			pd.set("text", br.text)
			if br.base64 {
				pd.set("_encoding", "base64")
			}
		}
		if br.size != int64(br.n) {
			pd.set("_bwSize", num(br.size))
		}
		br.markers(&pd)
		o.set("postData", pd)
	}
	o.set("headersSize", num(-1))
	o.set("bodySize", bodySize(b))
	return o
}

func responseObject(ex *store.Exchange, enc string, pseudo []pseudoField) object {
	s := &ex.Response
	reason := s.Reason
	if reason == "" {
		reason = http.StatusText(s.Status)
	}
	br := representBody(&s.Body, s.Header, enc)
	c := object{{"size", num(br.size)}}
	if br.compression != 0 {
		c.set("compression", num(br.compression))
	}
	c.set("mimeType", s.Header.Get("Content-Type"))
	if br.hasText {
		c.set("text", br.text)
		if br.base64 {
			c.set("encoding", "base64")
		}
	}
	br.markers(&c)
	o := object{
		{"status", num(int64(s.Status))},
		{"statusText", reason},
		{"httpVersion", s.Proto},
		{"cookies", responseCookies(s.Header)},
		{"headers", withPseudo(headerArray(s.Header), pseudo)},
		{"content", c},
		{"redirectURL", s.Header.Get("Location")},
		{"headersSize", num(-1)},
		{"bodySize", bodySize(&s.Body)},
	}
	if ex.Error != "" {
		o.set("_error", ex.Error)
	}
	return o
}

// bodySize is HAR's bodySize: bytes on the wire, unknown (-1) when only the
// decoded body was recorded.
func bodySize(b *store.Body) json.Number {
	if b.Decoded != "" {
		return num(-1)
	}
	return num(b.Size)
}

// bodyRepr is how a body goes into postData or content.
type bodyRepr struct {
	hasText     bool
	text        string
	base64      bool
	n           int   // length of the bytes text holds
	size        int64 // full size of those bytes
	compression int64 // bytes saved by the content coding, when we decoded it
	truncated   bool
	compressed  string // coding still applied to the bytes in text
	decoded     string // Decoded, when Import could not infer it from the headers
}

// markers adds the bw-only fields of a body to o.
func (br *bodyRepr) markers(o *object) {
	if br.truncated {
		o.set("_bwTruncated", true)
	}
	if br.compressed != "" {
		o.set("_bwCompressed", br.compressed)
	}
	if br.decoded != "" {
		o.set("_bwDecoded", br.decoded)
	}
}

// maxInflate bounds what export decompresses for one body.
const maxInflate = 256 << 20

// representBody decides how b is written. HAR content is meant to be the
// decoded body, so a body recorded compressed (Decoded empty, Content-Encoding
// gzip or deflate) is decompressed; when that is impossible (br, zstd, a body
// cut short) its wire bytes go out base64 with "_bwCompressed" naming the
// coding, which Import reads back as wire bytes: the round trip holds either
// way.
func representBody(b *store.Body, h store.Header, enc string) bodyRepr {
	coding := contentCoding(h)
	data := b.Data
	br := bodyRepr{size: b.Size, truncated: b.Truncated}
	if b.Decoded != coding && b.Decoded != "" {
		br.decoded = b.Decoded
	}
	if b.Decoded == "" && coding != "" && len(data) > 0 {
		if dec, ok := inflate(coding, data, b.Truncated); ok {
			data = dec
			br.size = int64(len(dec))
			br.compression = br.size - b.Size
		} else {
			br.compressed = coding
		}
	}
	br.n = len(data)
	if len(data) == 0 {
		return br
	}
	br.hasText = true
	switch {
	case br.compressed != "", enc == encBase64:
		br.base64 = true
	case enc == encText:
		br.base64 = !utf8.Valid(data)
	default:
		br.base64 = !isText(data)
	}
	if br.base64 {
		br.text = base64.StdEncoding.EncodeToString(data)
	} else {
		br.text = string(data)
	}
	return br
}

const (
	encBase64 = "base64"
	encText   = "text"
)

// autoEnc is how a body is written without a hint.
func autoEnc(data []byte) string {
	if isText(data) {
		return encText
	}
	return encBase64
}

// isText reports whether data is valid UTF-8 without control characters
// other than tab, newline, carriage return and form feed.
func isText(data []byte) bool {
	for _, c := range data {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(data)
}

// contentCoding returns the message's content codings, lower case, or ""
// for none or identity.
func contentCoding(h store.Header) string {
	vs := h.Values("Content-Encoding")
	if len(vs) == 0 {
		return ""
	}
	c := strings.ToLower(strings.TrimSpace(strings.Join(vs, ", ")))
	if c == "identity" {
		return ""
	}
	return c
}

// inflate undoes a gzip or deflate content coding. Other codings stay as
// wire bytes in exports (base64 with _bwCompressed).
func inflate(coding string, data []byte, truncated bool) ([]byte, bool) {
	if truncated || (coding != "gzip" && coding != "x-gzip" && coding != "deflate") {
		return nil, false
	}
	out, err := store.Decompress(coding, data, maxInflate)
	return out, err == nil
}

func headerArray(h store.Header) []any {
	a := make([]any, len(h))
	for i, f := range h {
		a[i] = object{{"name", f.Name}, {"value", f.Value}}
	}
	return a
}

func requestCookies(h store.Header) []any {
	a := []any{}
	for _, v := range h.Values("Cookie") {
		for _, part := range strings.Split(v, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, value, _ := strings.Cut(part, "=")
			a = append(a, object{{"name", name}, {"value", value}})
		}
	}
	return a
}

func responseCookies(h store.Header) []any {
	a := []any{}
	for _, v := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(v)
		if err != nil {
			continue
		}
		o := object{{"name", c.Name}, {"value", c.Value}}
		if c.Path != "" {
			o.set("path", c.Path)
		}
		if c.Domain != "" {
			o.set("domain", c.Domain)
		}
		if !c.Expires.IsZero() {
			o.set("expires", formatTime(c.Expires))
		}
		if c.HttpOnly {
			o.set("httpOnly", true)
		}
		if c.Secure {
			o.set("secure", true)
		}
		a = append(a, o)
	}
	return a
}

func queryArray(raw string) []any {
	a := []any{}
	if raw == "" {
		return a
	}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		a = append(a, object{{"name", name}, {"value", value}})
	}
	return a
}

// formatTime writes t in UTC, to the millisecond when that loses nothing.
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02T15:04:05.000Z07:00")
	}
	return t.Format(time.RFC3339Nano)
}

// msNumber is d in milliseconds; it parses back to d exactly.
func msNumber(d time.Duration) json.Number {
	return json.Number(strconv.FormatFloat(float64(d)/1e6, 'f', -1, 64))
}

// serverAddr joins a HAR serverIPAddress with the port the request's URL
// names (or its scheme's default).
func serverAddr(ip string, r *store.Request) string {
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	port := ""
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	} else {
		switch strings.ToLower(r.Scheme) {
		case "https", "wss":
			port = "443"
		case "http", "ws":
			port = "80"
		}
	}
	if port == "" {
		return ip
	}
	return net.JoinHostPort(ip, port)
}
