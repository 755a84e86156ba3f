package har

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/backworks/bw/store"
)

// getter reads typed fields out of decoded JSON; the first error sticks and
// later reads return zero values.
type getter struct {
	err *fieldError
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (g *getter) fail(field, msg string) {
	if g.err == nil {
		g.err = &fieldError{field, msg}
	}
}

// lookup returns m[key]; missing required fields are errors.
func (g *getter) lookup(m map[string]any, path, key string, required bool) (any, bool) {
	if g.err != nil || m == nil {
		return nil, false
	}
	v, ok := m[key]
	if !ok {
		if required {
			g.fail(join(path, key), "missing")
		}
		return nil, false
	}
	return v, true
}

func (g *getter) str(m map[string]any, path, key string, required bool) (string, bool) {
	v, ok := g.lookup(m, path, key, required)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		g.fail(join(path, key), "not a string")
	}
	return s, ok
}

func (g *getter) obj(m map[string]any, path, key string, required bool) map[string]any {
	v, ok := g.lookup(m, path, key, required)
	if !ok {
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		g.fail(join(path, key), "not an object")
	}
	return o
}

func (g *getter) float(m map[string]any, path, key string, required bool) (float64, bool) {
	v, ok := g.lookup(m, path, key, required)
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		g.fail(join(path, key), "not a number")
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		g.fail(join(path, key), "number out of range")
		return 0, false
	}
	return f, true
}

func (g *getter) int(m map[string]any, path, key string, required bool, lo, hi int64) (int64, bool) {
	v, ok := g.lookup(m, path, key, required)
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		g.fail(join(path, key), "not a number")
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(n), 64)
		switch {
		case ferr != nil || f < -(1<<63) || f >= 1<<63:
			g.fail(join(path, key), "number out of range")
			return 0, false
		case f != math.Trunc(f):
			g.fail(join(path, key), "not an integer")
			return 0, false
		}
		i = int64(f)
	}
	if i < lo || i > hi {
		g.fail(join(path, key), "out of range ("+strconv.FormatInt(i, 10)+")")
		return 0, false
	}
	return i, true
}

func (g *getter) headers(m map[string]any, path string) store.Header {
	v, ok := g.lookup(m, path, "headers", false)
	if !ok {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		g.fail(join(path, "headers"), "not an array")
		return nil
	}
	h := make(store.Header, 0, len(a))
	for i, e := range a {
		p := join(path, "headers["+strconv.Itoa(i)+"]")
		f, ok := e.(map[string]any)
		if !ok {
			g.fail(p, "not an object")
			return nil
		}
		name, _ := g.str(f, p, "name", true)
		value, _ := g.str(f, p, "value", true)
		h = append(h, store.Field{Name: name, Value: value})
	}
	if g.err != nil {
		return nil
	}
	return h
}

// body reads postData or content: text, decoded from base64 when one of
// encKeys says so.
func (g *getter) body(m map[string]any, path string, encKeys ...string) (data []byte, hasText bool, enc string) {
	text, hasText := g.str(m, path, "text", false)
	base64Text := false
	for _, k := range encKeys {
		if e, ok := m[k].(string); ok && strings.EqualFold(e, "base64") {
			base64Text = true
		}
	}
	if !hasText {
		return nil, false, ""
	}
	if !base64Text {
		return []byte(text), true, encText
	}
	data, err := decodeBase64(text)
	if err != nil {
		g.fail(join(path, "text"), "invalid base64: "+err.Error())
		return nil, false, ""
	}
	return data, true, encBase64
}

// decodeBase64 accepts standard base64 with or without padding, and with
// line breaks.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', ' ', '\t':
			return -1
		}
		return r
	}, s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseEntry checks one decoded entry and maps it to an exchange; hints
// record body representations the exchange cannot hold. It returns a
// *fieldError for bad input.
func parseEntry(v any) (*store.Exchange, hints, error) {
	var h hints
	m, ok := v.(map[string]any)
	if !ok {
		return nil, h, &fieldError{"entry", "not an object"}
	}
	var g getter
	ex := &store.Exchange{Source: store.SourceHAR}

	if s, ok := g.str(m, "", "startedDateTime", true); ok {
		t, ok := parseTime(s)
		switch {
		case !ok:
			g.fail("startedDateTime", "invalid date "+strconv.Quote(s))
		case t.Before(time.Unix(0, 0)):
			// Exchange ids hold the start time from 1970 on.
			g.fail("startedDateTime", "before 1970 ("+s+")")
		}
		ex.Start = t
	}
	if ms, ok := g.float(m, "", "time", false); ok {
		if math.Abs(ms) > float64(math.MaxInt64)/1e6 {
			g.fail("time", "number out of range")
		}
		ex.Duration = time.Duration(math.Round(ms * 1e6))
	}
	req := g.obj(m, "", "request", true)
	res := g.obj(m, "", "response", true)

	// Request.
	r := &ex.Request
	r.Method, _ = g.str(req, "request", "method", true)
	u, ok := g.str(req, "request", "url", true)
	if ok {
		r.Scheme, r.Host, r.Path, r.RawQuery = splitURL(u)
	}
	r.Proto, _ = g.str(req, "request", "httpVersion", false)
	r.Header, h.reqPseudo = splitPseudo(g.headers(req, "request"))
	fillRequest(r, u, h.reqPseudo)
	if pd := g.obj(req, "request", "postData", false); pd != nil {
		data, hasText, enc := g.body(pd, "request.postData", "_encoding", "encoding")
		b := &r.Body
		b.Data = data
		b.Size = int64(len(data))
		if n, ok := pd["_bwSize"].(json.Number); ok {
			if n, err := strconv.ParseInt(string(n), 10, 64); err == nil && n > b.Size {
				b.Size = n
			}
		}
		b.Truncated = pd["_bwTruncated"] == true
		b.Decoded = decodedCoding(pd, r.Header)
		if hasText && enc != autoEnc(data) {
			h.reqEnc = enc
		}
	}

	// Response.
	s := &ex.Response
	// Playwright writes -1, HAR's "not available", for requests that got no
	// response; Chrome writes 0.
	if st, ok := g.int(res, "response", "status", true, -1, 999); ok && st > 0 {
		s.Status = int(st)
	}
	s.Reason, _ = g.str(res, "response", "statusText", false)
	s.Proto, _ = g.str(res, "response", "httpVersion", false)
	s.Header, h.resPseudo = splitPseudo(g.headers(res, "response"))
	if s.Status == 0 {
		s.Status = pseudoStatus(h.resPseudo)
	}
	if c := g.obj(res, "response", "content", false); c != nil {
		data, hasText, enc := g.body(c, "response.content", "encoding")
		b := &s.Body
		b.Data = data
		b.Size = int64(len(data))
		if n, ok := g.int(c, "response.content", "size", false, math.MinInt64, math.MaxInt64); ok && n > b.Size {
			b.Size = n
		}
		b.Truncated = c["_bwTruncated"] == true ||
			b.Size > int64(len(data)) && (!hasText || mentionsTruncation(c))
		b.Decoded = decodedCoding(c, s.Header)
		if hasText && enc != autoEnc(data) {
			h.resEnc = enc
		}
	}
	if e, ok := res["_error"].(string); ok {
		ex.Error = e
	} else if e, ok := res["_failureText"].(string); ok {
		ex.Error = e // Playwright's name for it
	}

	if ip, ok := g.str(m, "", "serverIPAddress", false); ok && ip != "" {
		ex.ServerAddr = serverAddr(ip, r)
	}
	if a, ok := m["_serverAddress"].(string); ok {
		ex.ServerAddr = a
	}
	if a, ok := m["_clientAddress"].(string); ok {
		ex.ClientAddr = a
	}
	if g.err != nil {
		return nil, h, g.err
	}
	return ex, h, nil
}

// decodedCoding is the coding a HAR body had on the wire: HAR tools store
// bodies decoded, so it is the Content-Encoding, unless bw's own markers say
// otherwise.
func decodedCoding(m map[string]any, h store.Header) string {
	if c, ok := m["_bwCompressed"].(string); ok && c != "" {
		return "" // the text holds the wire bytes
	}
	if d, ok := m["_bwDecoded"].(string); ok && d != "" {
		return d
	}
	return contentCoding(h)
}

// mentionsTruncation reports whether a content object's comment or custom
// fields say the text was cut short.
func mentionsTruncation(c map[string]any) bool {
	for k, v := range c {
		if k != "comment" && !strings.HasPrefix(k, "_") {
			continue
		}
		if strings.Contains(strings.ToLower(k), "truncat") && v != false && v != nil {
			return true
		}
		if s, ok := v.(string); ok && strings.Contains(strings.ToLower(s), "truncat") {
			return true
		}
	}
	return false
}

// splitURL cuts an absolute URL into the exchange's request fields without
// normalising anything; what the fields cannot rebuild (a fragment, user
// info, a missing path) stays in Meta.
func splitURL(raw string) (scheme, host, path, query string) {
	rest := raw
	if i := strings.Index(raw, "://"); i > 0 && validScheme(raw[:i]) {
		scheme, rest = raw[:i], raw[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		host = rest[:end]
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			host = host[at+1:]
		}
		rest = rest[end:]
	} else if i := strings.IndexByte(raw, ':'); i > 0 && validScheme(raw[:i]) {
		scheme, rest = raw[:i], raw[i+1:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	path, query, _ = strings.Cut(rest, "?")
	if path == "" {
		path = "/"
	}
	return scheme, host, path, query
}

func validScheme(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// entryMeta is the exchange's Meta: the patch from the derived entry to the
// input entry, and the entry's page and the log's browser.
func entryMeta(ex *store.Exchange, h hints, entry map[string]any, page, browser map[string]any, red *store.Redactor) []byte {
	patch := diff(entry, entryObject(ex, h), "")
	if h.reqEnc != "" {
		patch = setHint(patch, h.reqEnc, "request", "postData")
	}
	if h.resEnc != "" {
		patch = setHint(patch, h.resEnc, "response", "content")
	}
	patch = setPseudo(patch, h.reqPseudo, "request")
	patch = setPseudo(patch, h.resPseudo, "response")
	if red != nil {
		redactTree(patch, red)
	}
	meta := map[string]any{}
	if patch != nil {
		meta["entry"] = patch
	}
	if page != nil {
		meta["page"] = page
	}
	if browser != nil {
		meta["browser"] = browser
	}
	if len(meta) == 0 {
		return nil
	}
	b, err := json.Marshal(map[string]any{"har": meta})
	if err != nil {
		return nil // cannot happen: every value came from a JSON decoder
	}
	return b
}

// setHint records a body representation hint at patch[k1][k2].
func setHint(patch map[string]any, enc string, k1, k2 string) map[string]any {
	if patch == nil {
		patch = map[string]any{}
	}
	m1, ok := patch[k1].(map[string]any)
	if !ok {
		m1 = map[string]any{}
		patch[k1] = m1
	}
	m2, ok := m1[k2].(map[string]any)
	if !ok {
		m2 = map[string]any{}
		m1[k2] = m2
	}
	m2[keyEnc] = enc
	return patch
}

// harMeta is the part of an exchange's Meta this package reads.
type harMeta struct {
	entry, page, browser map[string]any
}

func readMeta(b []byte) harMeta {
	var hm harMeta
	if len(b) == 0 {
		return hm
	}
	var top map[string]any
	if err := decodeJSON(b, &top); err != nil {
		return hm
	}
	m, _ := top["har"].(map[string]any)
	hm.entry, _ = m["entry"].(map[string]any)
	hm.page, _ = m["page"].(map[string]any)
	hm.browser, _ = m["browser"].(map[string]any)
	return hm
}
