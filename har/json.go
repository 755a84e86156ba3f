package har

import (
	"bufio"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON values in this package are trees of nil, bool, string, json.Number,
// []any, map[string]any (decoded input, patches) and object (built for
// output, where key order matters).

// member is one key of an ordered object.
type member struct {
	key string
	val any
}

// object is a JSON object that keeps its keys in the order they were set.
type object []member

func (o object) get(k string) (any, bool) {
	for _, m := range o {
		if m.key == k {
			return m.val, true
		}
	}
	return nil, false
}

// set replaces k's value in place, or appends k.
func (o *object) set(k string, v any) {
	for i := range *o {
		if (*o)[i].key == k {
			(*o)[i].val = v
			return
		}
	}
	*o = append(*o, member{k, v})
}

func (o *object) del(k string) {
	*o = slices.DeleteFunc(*o, func(m member) bool { return m.key == k })
}

func num(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// fields gives uniform access to both object kinds.
func fields(v any) (keys []string, get func(string) (any, bool), ok bool) {
	switch x := v.(type) {
	case object:
		keys = make([]string, len(x))
		for i, m := range x {
			keys[i] = m.key
		}
		return keys, x.get, true
	case map[string]any:
		keys = make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		return keys, func(k string) (any, bool) { v, ok := x[k]; return v, ok }, true
	}
	return nil, nil, false
}

// equal compares JSON values by meaning: key order and number spelling do
// not matter.
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numEqual(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	ka, ga, ok := fields(a)
	if !ok {
		return false
	}
	kb, gb, ok := fields(b)
	if !ok || len(ka) != len(kb) {
		return false
	}
	for _, k := range ka {
		va, _ := ga(k)
		vb, ok := gb(k)
		if !ok || !equal(va, vb) {
			return false
		}
	}
	return true
}

func numEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	fa, err1 := strconv.ParseFloat(string(a), 64)
	fb, err2 := strconv.ParseFloat(string(b), 64)
	return err1 == nil && err2 == nil && fa == fb
}

// Patches: Meta keeps an entry as a patch over what export derives from the
// exchange. A patch is a JSON merge patch (RFC 7386) except that deletion is
// spelled out: keyAbsent lists keys to remove, so null stays an ordinary
// value. Keys starting with "bw:" are never written out.
const (
	keyAbsent = "bw:absent" // keys the derived object has and the entry had not
	keyEnc    = "bw:enc"    // body text representation to use: "base64" or "text"
)

// required lists, per object path, the keys HAR 1.2 requires: a patch never
// removes them, so exports stay valid even when the input lacked them.
var required = map[string][]string{
	"":                 {"startedDateTime", "time", "request", "response", "cache", "timings"},
	"request":          {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"},
	"response":         {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"},
	"response.content": {"size", "mimeType"},
	"request.postData": {"mimeType"},
	"timings":          {"send", "wait", "receive"},
}

// diff returns the patch that turns derived into orig (nil when equal).
func diff(orig map[string]any, derived object, path string) map[string]any {
	p := map[string]any{}
	for k, ov := range orig {
		if strings.HasPrefix(k, "bw:") {
			continue // reserved for patches; such input keys are dropped
		}
		dv, ok := derived.get(k)
		if !ok {
			p[k] = ov
			continue
		}
		if om, ok := ov.(map[string]any); ok {
			if do, ok := dv.(object); ok {
				sub := path + "." + k
				if path == "" {
					sub = k
				}
				if d := diff(om, do, sub); d != nil {
					p[k] = d
				}
				continue
			}
		}
		if !equal(ov, dv) {
			p[k] = ov
		}
	}
	var absent []any
	for _, m := range derived {
		if _, ok := orig[m.key]; !ok && !slices.Contains(required[path], m.key) {
			absent = append(absent, m.key)
		}
	}
	if absent != nil {
		p[keyAbsent] = absent
	}
	if len(p) == 0 {
		return nil
	}
	return p
}

// apply patches derived in place and returns it.
func apply(derived object, patch map[string]any) object {
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "bw:") {
			continue
		}
		pv := patch[k]
		if pm, ok := pv.(map[string]any); ok {
			if dv, ok := derived.get(k); ok {
				if do, ok := dv.(object); ok {
					derived.set(k, apply(do, pm))
					continue
				}
			}
			pv = clean(pm)
		}
		derived.set(k, pv)
	}
	if absent, ok := patch[keyAbsent].([]any); ok {
		for _, k := range absent {
			if k, ok := k.(string); ok {
				derived.del(k)
			}
		}
	}
	return derived
}

// clean copies a patch used as a plain value, without patch-only keys.
func clean(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if strings.HasPrefix(k, "bw:") {
			continue
		}
		if vm, ok := v.(map[string]any); ok {
			v = clean(vm)
		}
		out[k] = v
	}
	return out
}

// sub returns patch[k1][k2]... as a map, or nil.
func sub(patch map[string]any, keys ...string) map[string]any {
	m := patch
	for _, k := range keys {
		if m == nil {
			return nil
		}
		m, _ = m[k].(map[string]any)
	}
	return m
}

// harOrder is the key order of HAR 1.2's objects, as its spec lists them.
var harOrder = map[string][]string{
	"":                 {"pageref", "startedDateTime", "time", "request", "response", "cache", "timings", "serverIPAddress", "connection", "comment"},
	"request":          {"method", "url", "httpVersion", "cookies", "headers", "queryString", "postData", "headersSize", "bodySize", "comment"},
	"response":         {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize", "comment"},
	"response.content": {"size", "compression", "mimeType", "text", "encoding", "comment"},
	"request.postData": {"mimeType", "params", "text", "comment"},
	"timings":          {"blocked", "dns", "connect", "send", "wait", "receive", "ssl", "comment"},
	"cache":            {"beforeRequest", "afterRequest", "comment"},
}

// reorder sorts the keys of an entry and its known objects: HAR's own keys
// in the spec's order, then the others by name. The output then does not
// depend on whether a key came from the exchange or from its Meta patch.
func reorder(o object, path string) object {
	order := harOrder[path]
	rank := func(k string) int {
		for i, x := range order {
			if x == k {
				return i
			}
		}
		return len(order)
	}
	slices.SortStableFunc(o, func(a, b member) int {
		ra, rb := rank(a.key), rank(b.key)
		if ra != rb {
			return ra - rb
		}
		if ra < len(order) {
			return 0
		}
		return strings.Compare(a.key, b.key)
	})
	for i, m := range o {
		p := m.key
		if path != "" {
			p = path + "." + m.key
		}
		if _, known := harOrder[p]; !known {
			continue
		}
		if so, ok := m.val.(object); ok {
			o[i].val = reorder(so, p)
		}
	}
	return o
}

// jsonWriter writes JSON values indented by two spaces, without escaping
// HTML characters, and keeps the first write error.
type jsonWriter struct {
	w *bufio.Writer
}

func (jw jsonWriter) indent(depth int) {
	jw.w.WriteByte('\n')
	for range depth {
		jw.w.WriteString("  ")
	}
}

func (jw jsonWriter) value(v any, depth int) {
	w := jw.w
	switch x := v.(type) {
	case nil:
		w.WriteString("null")
	case bool:
		w.WriteString(strconv.FormatBool(x))
	case string:
		writeString(w, x)
	case json.Number:
		if x == "" {
			x = "0"
		}
		w.WriteString(string(x))
	case int:
		w.WriteString(strconv.Itoa(x))
	case int64:
		w.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = 0
		}
		w.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case []any:
		if len(x) == 0 {
			w.WriteString("[]")
			return
		}
		w.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				w.WriteByte(',')
			}
			jw.indent(depth + 1)
			jw.value(e, depth+1)
		}
		jw.indent(depth)
		w.WriteByte(']')
	case object:
		if len(x) == 0 {
			w.WriteString("{}")
			return
		}
		w.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				w.WriteByte(',')
			}
			jw.indent(depth + 1)
			writeString(w, m.key)
			w.WriteString(": ")
			jw.value(m.val, depth+1)
		}
		jw.indent(depth)
		w.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		o := make(object, len(keys))
		for i, k := range keys {
			o[i] = member{k, x[k]}
		}
		jw.value(o, depth)
	default:
		// Not produced by this package; write it the standard way.
		b, err := json.Marshal(x)
		if err != nil {
			b = []byte("null")
		}
		w.Write(b)
	}
}

const hexDigits = "0123456789abcdef"

// writeString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func writeString(w *bufio.Writer, s string) {
	w.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			w.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				w.WriteByte('\\')
				w.WriteByte(c)
			case '\n':
				w.WriteString(`\n`)
			case '\r':
				w.WriteString(`\r`)
			case '\t':
				w.WriteString(`\t`)
			default:
				w.WriteString(`\u00`)
				w.WriteByte(hexDigits[c>>4])
				w.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.WriteString(s[start:i])
			w.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			w.WriteString(s[start:i])
			w.WriteString(`\u202`)
			w.WriteByte(hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	w.WriteString(s[start:])
	w.WriteByte('"')
}
