package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"strings"
)

// RedactedPrefix starts every value the store replaced.
const RedactedPrefix = "redacted:"

// Redactor replaces secrets in exchanges by stable placeholders: the same
// secret gives the same placeholder within one database, so equal secrets
// still match each other, but the value cannot be recovered.
// It is safe for concurrent use.
type Redactor struct {
	key []byte
}

// NewRedactor returns a Redactor whose placeholders are keyed by key.
func NewRedactor(key []byte) *Redactor { return &Redactor{key: key} }

// Value returns the placeholder for a secret value; placeholders and empty
// values are returned unchanged, so redacting twice changes nothing.
func (r *Redactor) Value(v string) string {
	if v == "" || strings.HasPrefix(v, RedactedPrefix) {
		return v
	}
	m := hmac.New(sha256.New, r.key)
	io.WriteString(m, v)
	return RedactedPrefix + hex.EncodeToString(m.Sum(nil)[:6])
}

// credential redacts a token; of a JWT it keeps the header part ("alg",
// "typ": no secret), so that inference can still tell a JWT from an opaque
// token.
func (r *Redactor) credential(cred string) string {
	head, rest, ok := strings.Cut(cred, ".")
	switch {
	case !ok || !strings.HasPrefix(head, "eyJ"):
		return r.Value(cred)
	case strings.HasPrefix(rest, RedactedPrefix):
		return cred // redacted already
	}
	return head + "." + r.Value(cred)
}

var secretHeaders = map[string]bool{
	"authorization":        true,
	"proxy-authorization":  true,
	"cookie":               true,
	"set-cookie":           true,
	"x-api-key":            true,
	"api-key":              true,
	"apikey":               true,
	"x-auth-token":         true,
	"x-access-token":       true,
	"x-csrf-token":         true,
	"x-xsrf-token":         true,
	"x-amz-security-token": true,
}

// IsSecretHeader reports whether a header's value is redacted.
func IsSecretHeader(name string) bool {
	n := strings.ToLower(name)
	if secretHeaders[n] {
		return true
	}
	return strings.HasSuffix(n, "-api-key") || strings.HasSuffix(n, "-token") ||
		strings.HasSuffix(n, "-secret") || strings.HasSuffix(n, "-apikey")
}

var secretParams = map[string]bool{
	"api_key": true, "apikey": true, "api-key": true, "access_token": true, "refresh_token": true,
	"id_token": true, "token": true, "key": true, "x-api-key": true, "client_secret": true,
	"password": true, "passwd": true, "secret": true, "signature": true, "sig": true,
	"auth": true, "session": true, "sessionid": true,
}

// IsSecretName reports whether a query parameter or JSON field of this name
// holds a secret.
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	if secretParams[n] {
		return true
	}
	for _, s := range []string{"password", "passwd", "secret", "apikey", "api_key", "private_key"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	// accessToken, refresh_token, x-auth-token; not max_tokens or tokenCount.
	return strings.HasSuffix(n, "token")
}

// Exchange redacts ex in place: secret headers, query parameters and JSON
// body fields of both request and response.
func (r *Redactor) Exchange(ex *Exchange) {
	r.header(ex.Request.Header)
	r.header(ex.Response.Header)
	ex.Request.RawQuery = r.query(ex.Request.RawQuery)
	r.body(&ex.Request.Body, ex.Request.Header)
	r.body(&ex.Response.Body, ex.Response.Header)
}

func (r *Redactor) header(h Header) {
	for i, f := range h {
		if !IsSecretHeader(f.Name) {
			continue
		}
		switch strings.ToLower(f.Name) {
		case "authorization", "proxy-authorization":
			// Keep the scheme: "Bearer redacted:…" still says how clients authenticate.
			if scheme, cred, ok := strings.Cut(f.Value, " "); ok && !strings.HasPrefix(f.Value, RedactedPrefix) {
				h[i].Value = scheme + " " + r.credential(cred)
				continue
			}
		case "cookie":
			h[i].Value = r.pairs(f.Value, "; ", false)
			continue
		case "set-cookie":
			name, rest, _ := strings.Cut(f.Value, ";")
			if k, v, ok := strings.Cut(name, "="); ok {
				h[i].Value = k + "=" + r.Value(v)
				if rest != "" {
					h[i].Value += ";" + rest
				}
				continue
			}
		}
		h[i].Value = r.Value(f.Value)
	}
}

// pairs redacts the values of k=v pairs joined by sep; with onlySecrets it
// redacts only the values whose names look secret.
func (r *Redactor) pairs(s, sep string, onlySecrets bool) string {
	parts := strings.Split(s, sep)
	changed := false
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			continue
		}
		if onlySecrets {
			name, err := url.QueryUnescape(k)
			if err != nil || !IsSecretName(name) {
				continue
			}
		}
		if nv := r.Value(v); nv != v {
			parts[i] = k + "=" + nv
			changed = true
		}
	}
	if !changed {
		return s
	}
	return strings.Join(parts, sep)
}

func (r *Redactor) query(q string) string {
	if q == "" {
		return q
	}
	return r.pairs(q, "&", true)
}

func (r *Redactor) body(b *Body, h Header) {
	if len(b.Data) == 0 || b.Decoded == "" && h.Get("Content-Encoding") != "" {
		return // compressed on the wire: nothing readable to redact
	}
	ct := strings.ToLower(h.Get("Content-Type"))
	switch {
	case strings.Contains(ct, "json") || ct == "" && looksJSON(b.Data):
		if mayHoldSecret(b.Data) {
			if out, ok := r.json(b.Data); ok {
				b.Data = out
			}
		}
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		b.Data = []byte(r.pairs(string(b.Data), "&", true))
	}
}

func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// mayHoldSecret is a cheap test that spares the JSON walk for most bodies.
func mayHoldSecret(b []byte) bool {
	l := bytes.ToLower(b)
	for _, s := range []string{"pass", "secret", "token", "key", "auth", "sig", "session"} {
		if bytes.Contains(l, []byte(s)) {
			return true
		}
	}
	return false
}

// json replaces scalar values of secret-named fields in place, leaving every
// other byte of the document as it was.
func (r *Redactor) json(data []byte) ([]byte, bool) {
	if !json.Valid(data) {
		return data, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type span struct{ start, end int64 }
	var spans []span
	// stack of "expecting key" flags for the open objects/arrays
	var inObject []bool
	expectKey := false
	secretNext := false
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false
		}
		switch t := tok.(type) {
		case json.Delim:
			secretNext = false
			switch t {
			case '{':
				inObject = append(inObject, true)
				expectKey = true
			case '[':
				inObject = append(inObject, false)
				expectKey = false
			default:
				inObject = inObject[:len(inObject)-1]
				expectKey = len(inObject) > 0 && inObject[len(inObject)-1]
			}
			continue
		}
		if expectKey {
			secretNext = IsSecretName(tok.(string))
			expectKey = false
			continue
		}
		if secretNext {
			switch tok.(type) {
			case string, json.Number:
				spans = append(spans, span{before, dec.InputOffset()})
			}
		}
		secretNext = false
		expectKey = len(inObject) > 0 && inObject[len(inObject)-1]
	}
	if len(spans) == 0 {
		return data, false
	}
	var out []byte
	last := int64(0)
	for _, s := range spans {
		// The span may start with the ':' and blanks before the value.
		start := s.start
		for start < s.end && strings.IndexByte(": \t\r\n,", data[start]) >= 0 {
			start++
		}
		raw := data[start:s.end]
		val := string(raw)
		if len(raw) >= 2 && raw[0] == '"' {
			var str string
			if json.Unmarshal(raw, &str) != nil {
				continue
			}
			val = str
		}
		red, _ := json.Marshal(r.Value(val))
		out = append(out, data[last:start]...)
		out = append(out, red...)
		last = s.end
	}
	out = append(out, data[last:]...)
	return out, true
}
