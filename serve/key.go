package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/backworks/bw/store"
)

// hashSeed keys every in-memory hash of this process (request keys,
// features, file fingerprints); none is stored.
var hashSeed = maphash.MakeSeed()

func hashBytes(b []byte) uint64 { return maphash.Bytes(hashSeed, b) }

func hashString(s string) uint64 { return maphash.String(hashSeed, s) }

// shape is what the replay knows about a request: the exact key (method,
// path, sorted query, canonical body, credentials), the same key with only
// which credentials were sent, and a set of features (path parameters,
// query pairs, JSON body fields, credentials) for scoring near matches.
//
// Credentials are part of the key because a service answers the same
// request differently without them (401) or with another one; a client
// whose token was never recorded still walks the recorded sequence of
// requests that carried one (the loose key).
type shape struct {
	exact uint64
	loose uint64
	feats []uint64 // sorted, without duplicates
}

// Limits that keep a request's shape small whatever the body.
const (
	maxFeatures  = 128
	maxJSONDepth = 8
	maxDecoded   = 16 << 20 // bytes of a compressed request body inflated for matching
)

// shaper computes request shapes the same way for recordings (at index
// time) and live requests. With a redactor, secrets in the query and the
// body are replaced by the placeholders the recordings hold, so a live
// request with the same secret matches its recording.
type shaper struct {
	red *store.Redactor
}

// reqParts are the parts of a request a shape is computed from.
type reqParts struct {
	method, path, rawQuery string
	contentType, encoding  string // Content-Type, Content-Encoding of body
	body                   []byte
	params                 []param
	credentials            store.Header // the secret headers sent (store.IsSecretHeader)
}

// credentialHeaders returns the request headers that carry credentials.
func credentialHeaders(fields iter.Seq2[string, string]) store.Header {
	var h store.Header
	for name, value := range fields {
		if store.IsSecretHeader(name) && !store.IsPseudoHeader(name) {
			h = append(h, store.Field{Name: strings.ToLower(name), Value: value})
		}
	}
	return h
}

// recordedFields and liveFields list a recorded and a live request's
// header fields for credentialHeaders.
func recordedFields(h store.Header) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range h {
			if !yield(f.Name, f.Value) {
				return
			}
		}
	}
}

func liveFields(h http.Header) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for name, vs := range h {
			for _, v := range vs {
				if !yield(name, v) {
					return
				}
			}
		}
	}
}

func (s *shaper) shape(p reqParts) shape {
	if p.method == "HEAD" {
		p.method = "GET"
	}
	body := p.body
	if len(body) > 0 && p.encoding != "" {
		if dec, err := decodeBody(body, p.encoding, maxDecoded); err == nil {
			body = dec
		}
	}
	creds := slices.Clone(p.credentials)
	if s.red != nil && (p.rawQuery != "" || len(body) > 0 || len(creds) > 0) {
		ex := &store.Exchange{Request: store.Request{
			RawQuery: p.rawQuery,
			Header:   append(store.Header{{Name: "Content-Type", Value: p.contentType}}, creds...),
			Body:     store.Body{Data: body},
		}}
		s.red.Exchange(ex)
		p.rawQuery, body, creds = ex.Request.RawQuery, ex.Request.Body.Data, ex.Request.Header[1:]
	}
	slices.SortFunc(creds, func(a, b store.Field) int {
		return strings.Compare(a.Name+"\x00"+a.Value, b.Name+"\x00"+b.Value)
	})

	var fh, h maphash.Hash
	fh.SetSeed(hashSeed)
	h.SetSeed(hashSeed)
	var feats []uint64
	feature := func(kind byte, name, value string) {
		if len(feats) >= maxFeatures {
			return
		}
		fh.Reset()
		fh.WriteByte(kind)
		fh.WriteString(name)
		fh.WriteByte(0)
		fh.WriteString(value)
		feats = append(feats, fh.Sum64())
	}
	for _, pp := range p.params {
		feature('p', pp.name, pp.value)
	}
	h.WriteString(p.method)
	h.WriteByte(0)
	h.WriteString(trimSlash(p.path))
	h.WriteByte(0)
	sortedQuery(p.rawQuery, func(k, v string) {
		h.WriteString(k)
		h.WriteByte('=')
		h.WriteString(v)
		h.WriteByte('&')
		feature('q', k, v)
	})
	h.WriteByte(0)
	h.Write(canonicalBody(p.contentType, body, func(path, v string) { feature('b', path, v) }))
	h.WriteByte(0)
	loose, exact := h, h
	for _, c := range creds {
		feature('c', c.Name, "")
		feature('a', c.Name, c.Value)
		loose.WriteString(c.Name)
		loose.WriteByte(0)
		exact.WriteString(c.Name)
		exact.WriteByte('=')
		exact.WriteString(c.Value)
		exact.WriteByte(0)
	}
	// The tag keeps a loose key from ever equalling an exact one: both
	// count sequences in one map.
	loose.WriteByte('~')

	slices.Sort(feats)
	return shape{exact: exact.Sum64(), loose: loose.Sum64(), feats: slices.Compact(feats)}
}

// sortedQuery calls pair for each pair of the query, sorted by name then
// value; a query that does not parse is one pair, itself.
func sortedQuery(raw string, pair func(k, v string)) {
	if raw == "" {
		return
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		pair(raw, "")
		return
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := q[k]
		slices.Sort(vs)
		for _, v := range vs {
			pair(k, v)
		}
	}
}

// canonicalBody returns a JSON body re-encoded with sorted keys (and a form
// body with sorted pairs), calling field for each scalar with its path;
// other bodies are returned as they are.
func canonicalBody(contentType string, body []byte, field func(path, v string)) []byte {
	if len(body) == 0 {
		return nil
	}
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "json") || ct == "" && looksJSON(body):
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil || dec.More() {
			return body
		}
		out, err := json.Marshal(v)
		if err != nil {
			return body
		}
		walkJSON(v, "", 0, field)
		return out
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		var b []byte
		sortedQuery(string(body), func(k, v string) {
			b = append(b, url.QueryEscape(k)...)
			b = append(b, '=')
			b = append(b, url.QueryEscape(v)...)
			b = append(b, '&')
			field(k, strconv.Quote(v))
		})
		return b
	}
	return body
}

func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// walkJSON calls field for every scalar of v, with its dotted path.
func walkJSON(v any, path string, depth int, field func(path, v string)) {
	if depth > maxJSONDepth {
		return
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			walkJSON(e, join(k), depth+1, field)
		}
	case []any:
		for i, e := range t {
			if i >= maxFeatures {
				break
			}
			walkJSON(e, join(strconv.Itoa(i)), depth+1, field)
		}
	case string:
		field(path, strconv.Quote(t))
	case json.Number:
		field(path, t.String())
	case bool:
		field(path, strconv.FormatBool(t))
	case nil:
		field(path, "null")
	}
}

var errTooLarge = errors.New("body too large")

// readAllLimit reads r up to limit bytes; more is errTooLarge. size is the
// declared length, -1 if unknown.
func readAllLimit(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, errTooLarge
	}
	n := size
	if n < 0 || n > 1<<20 {
		n = 512
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+1))
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// decodeBody removes a content coding, reading at most limit bytes of output.
func decodeBody(b []byte, encoding string, limit int64) ([]byte, error) {
	switch e := strings.ToLower(strings.TrimSpace(encoding)); e {
	case "", "identity":
		return b, nil
	default:
		return store.Decompress(e, b, limit)
	}
}
