package replay

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/backworks/bw/infer"
	"github.com/backworks/bw/store"
)

// Noise from the recordings themselves: when the same request (method,
// path, query and body) was recorded more than once with the same status,
// the response fields and headers whose values differ between the
// recordings are noisy for that operation.

// recNoise holds what the recordings show to be noisy, by operation.
type recNoise struct {
	ops map[string]*opNoise
}

type opNoise struct {
	body    map[string]bool // normalized JSON paths
	headers map[string]bool // lower-case names
}

// Bounds of what is learned, so that memory does not grow with the store.
const (
	maxNoiseOps   = 8192
	maxNoisePaths = 1024
)

// seenEntries bounds the seen-values map, per generation: recordings of
// the same request further apart than about this many fields are not
// compared. A variable so that tests can make the bound bite early.
var seenEntries = 1 << 16

func (rn *recNoise) op(op string) *opNoise {
	if rn == nil {
		return nil
	}
	return rn.ops[op]
}

func (rn *recNoise) mark(op string, bodyPath, header string) {
	o := rn.ops[op]
	if o == nil {
		if len(rn.ops) >= maxNoiseOps {
			return
		}
		o = &opNoise{body: map[string]bool{}, headers: map[string]bool{}}
		rn.ops[op] = o
	}
	if bodyPath != "" && len(o.body) < maxNoisePaths {
		o.body[bodyPath] = true
	}
	if header != "" && len(o.headers) < maxNoisePaths {
		o.headers[header] = true
	}
}

// learnRecordings reads the selected exchanges once and returns what
// differs between recordings of the same request, and how many exchanges
// were selected.
func (r *runner) learnRecordings(ctx context.Context) (*recNoise, int64, error) {
	rn := &recNoise{ops: make(map[string]*opNoise)}
	seen := newGenMap[uint64, uint64](seenEntries)
	var n int64
	err := r.db.Scan(ctx, r.opts.Filter.scanFilter(), func(ex *store.Exchange) error {
		if !r.selects(ex) {
			return nil
		}
		n++
		for _, f := range ex.Request.Header {
			if uh := r.userHdr[http.CanonicalHeaderKey(f.Name)]; uh != nil {
				uh.seen = true
				uh.matched = uh.matched || uh.redacted != "" && f.Value == uh.redacted
			}
		}
		if ex.Error != "" || ex.Response.Status == 0 || ex.Response.Body.Truncated {
			return nil
		}
		op, _, _ := r.operation(ex)
		h := fnv.New64a()
		for _, s := range []string{ex.Request.Method, ex.Request.Path, ex.Request.RawQuery} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		h.Write(ex.Request.Body.Data)
		binary.Write(h, binary.LittleEndian, int64(ex.Response.Status))
		reqKey := h.Sum64()
		note := func(key string, value []byte, bodyPath, header string) {
			k := hashOf(reqKey, key)
			v := hashOf(0, string(value))
			if old, ok := seen.get(k); ok && old != v {
				rn.mark(op, bodyPath, header)
			} else if !ok {
				seen.put(k, v)
			}
		}
		hdrs := map[string][]string{}
		for _, f := range ex.Response.Header {
			name := strings.ToLower(f.Name)
			if !ignoredHeaders[name] && !store.IsPseudoHeader(name) {
				hdrs[name] = append(hdrs[name], f.Value)
			}
		}
		for name, vs := range hdrs {
			note("h:"+name, []byte(strings.Join(vs, "\n")), "", name)
		}
		b := decodeStored(ex.Response.Header, &ex.Response.Body)
		switch {
		case b.err != nil:
		case b.isJSON:
			walkLeaves(b.value, nil, func(path []seg, v any) {
				raw := leafBytes(v)
				note(pathString(path, false), raw, pathString(path, true), "")
			})
		default:
			note("$", b.data, "$", "")
		}
		return nil
	})
	return rn, n, err
}

// walkLeaves calls fn for every scalar of v and for every array (with its
// length as the value), with the path to it.
func walkLeaves(v any, path []seg, fn func(path []seg, v any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			walkLeaves(c, append(path[:len(path):len(path)], keySeg(k)), fn)
		}
	case []any:
		fn(path, len(v))
		for i, c := range v {
			walkLeaves(c, append(path[:len(path):len(path)], indexSeg(i)), fn)
		}
	default:
		fn(path, v)
	}
}

// leafBytes is a comparable form of a scalar (or an array length).
func leafBytes(v any) []byte {
	switch v := v.(type) {
	case nil:
		return []byte("null")
	case string:
		return []byte("s" + v)
	case bool:
		if v {
			return []byte("true")
		}
		return []byte("false")
	case int:
		return binary.AppendVarint([]byte("#"), int64(v))
	}
	return []byte("n" + toString(v))
}

func toString(v any) string {
	s, _ := canon(v)
	if s == "" {
		if n, ok := v.(interface{ String() string }); ok {
			return n.String()
		}
	}
	return s
}

func hashOf(seed uint64, s string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(s))
	return h.Sum64()
}

// operation names the operation of a recorded request and returns the
// scope writes are ordered in: from the spec when it has the route, else
// from the path with identifier-like segments replaced.
func (r *runner) operation(ex *store.Exchange) (op, scope string, rt *route) {
	method, path := strings.ToUpper(ex.Request.Method), ex.Request.Path
	if r.spec != nil && (r.specHost == "" || infer.ServiceOf(&ex.Request) == r.specHost) {
		if rt, _ = r.spec.find(method, path); rt != nil {
			return method + " " + rt.template, rt.scope, rt
		}
	}
	segs := strings.Split(path, "/")
	scopeEnd := len(segs)
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			u = s
		}
		if idSegment(u) {
			segs[i] = "{id}"
			if scopeEnd == len(segs) {
				scopeEnd = i
			}
		}
	}
	return method + " " + strings.Join(segs, "/"), strings.Join(segs[:scopeEnd], "/"), nil
}

// idSegment reports whether a path segment looks like an identifier.
func idSegment(s string) bool {
	if s == "" {
		return false
	}
	if isInteger(s) {
		return true
	}
	switch stringFormat(s) {
	case fmtUUID, fmtULID, fmtHex, fmtRedacted, fmtToken, fmtJWT:
		return true
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			digits++
		}
	}
	return digits > 0 && len(s) >= 6
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
