package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/backworks/bw/store"
)

// checker compares one live response with its recording, layer by layer.
type checker struct {
	rules   *noiseRules
	learned *opNoise
	m       mapping         // recorded value → live value, from earlier exchanges
	own     map[string]bool // values this response hands out itself
	unknown map[string]bool // values handed out earlier whose live value is not known
	write   bool
	// tainted drops differences in values: an earlier write of the
	// response's collection was skipped, or one ran alongside it at
	// capture (see caveat); excused counts them.
	tainted bool
	excused int
	diffs   []Diff
	more    int
	seen    map[string]bool // shape diffs reported, by normalized path
}

func (r *runner) newChecker(j *job, m mapping) *checker {
	c := &checker{rules: r.rules, learned: r.recNoise.op(j.op), m: m, write: j.write}
	for v, p := range j.soft {
		if p.isDone() {
			if lv, ok := p.live[v]; ok {
				if _, set := c.m[v]; !set {
					c.m[v] = lv
				}
				continue
			}
		}
		if c.unknown == nil {
			c.unknown = make(map[string]bool)
		}
		c.unknown[v] = true
	}
	if len(j.produced) > 0 {
		c.own = make(map[string]bool, len(j.produced))
		for _, p := range j.produced {
			c.own[p.value] = true
		}
	}
	return c
}

func (c *checker) add(l Layer, path, msg string) {
	if c.tainted && l == LayerValues {
		c.excused++
		return
	}
	if len(c.diffs) >= MaxDiffs {
		c.more++
		return
	}
	c.diffs = append(c.diffs, Diff{Layer: l, Path: path, Message: msg})
}

// result returns the diffs in layer order.
func (c *checker) result() ([]Diff, int) {
	slices.SortStableFunc(c.diffs, func(a, b Diff) int { return layerIndex(a.Layer) - layerIndex(b.Layer) })
	return c.diffs, c.more
}

func layerIndex(l Layer) int { return slices.Index(Layers, l) }

// check runs the layers: transport, status and content type stop at the
// first failure; the others all run.
func (c *checker) check(ctx context.Context, r *runner, j *job, live *liveResp) {
	rec := &j.ex.Response
	if live.err != nil {
		c.add(LayerTransport, "", "transport: "+live.err.Error())
		return
	}
	if live.status != rec.Status {
		c.add(LayerStatus, "", fmt.Sprintf("status %d, want %d", live.status, rec.Status))
		return
	}
	rm, lm := mediaType(rec.Header.Get("Content-Type")), mediaType(live.header.Get("Content-Type"))
	if rm != "" && rm != lm && len(j.rec.data) > 0 {
		if lm == "" {
			lm = "none"
		}
		c.add(LayerContentType, "", fmt.Sprintf("content-type %s, want %s", lm, rm))
		return
	}

	// Required headers: every recorded one but the optional ones, whatever
	// its value.
	type hdr struct {
		name   string
		values []string
	}
	var hdrs []hdr
	for _, f := range rec.Header {
		if store.IsPseudoHeader(f.Name) {
			continue // ":status" and the like: part of the status line
		}
		i := slices.IndexFunc(hdrs, func(h hdr) bool { return strings.EqualFold(h.name, f.Name) })
		if i < 0 {
			hdrs = append(hdrs, hdr{name: f.Name})
			i = len(hdrs) - 1
		}
		hdrs[i].values = append(hdrs[i].values, f.Value)
	}
	for _, h := range hdrs {
		ln := strings.ToLower(h.name)
		if !ignoredHeaders[ln] && !optionalHeaders[ln] && len(live.header.Values(h.name)) == 0 {
			c.add(LayerHeaders, "header "+h.name, "missing")
		}
	}

	bodyOK := j.rec.err == nil && live.body.err == nil
	if live.body.err != nil {
		c.add(LayerShape, "$", "cannot read the body: "+live.body.err.Error())
	}
	if bodyOK && j.rec.isJSON {
		if !live.body.isJSON {
			c.add(LayerShape, "$", fmt.Sprintf("not JSON (%d bytes of %s)", len(live.body.data), orNone(live.body.media)))
			bodyOK = false
		} else {
			c.shape(nil, j.rec.value, live.body.value)
		}
	}
	if r.spec != nil && j.route != nil && live.body.err == nil {
		for _, d := range r.spec.validate(ctx, j.route, nil, j.ex.Request.Method, live.status, live.header, live.body.data) {
			c.add(d.Layer, d.Path, d.Message)
		}
	}

	// Values: headers, then the body.
	hm := c.m
	if len(j.live) > 0 {
		hm = make(mapping, len(c.m)+len(j.live))
		for k, v := range j.live {
			hm[k] = v
		}
		for k, v := range c.m {
			hm[k] = v
		}
	}
	for _, h := range hdrs {
		ln := strings.ToLower(h.name)
		lv := live.header.Values(h.name)
		if ignoredHeaders[ln] || ln == "content-type" || len(lv) == 0 {
			continue
		}
		want, got := strings.Join(h.values, ", "), strings.Join(lv, ", ")
		learned := c.learned != nil && c.learned.headers[ln]
		if c.rules.headerNoisy(h.name, learned) || stringFormat(want).volatile() && !globMatch(c.rules.delHeader, ln) {
			if f, ok := c.formatDiff(want, got); ok {
				c.add(LayerShape, "header "+h.name, f)
			}
			continue
		}
		if want = rewriteTokens(h.name, want, hm); want != got {
			c.add(LayerValues, "header "+h.name, fmt.Sprintf("%s, want %s", clip(strconv.Quote(got)), clip(strconv.Quote(want))))
		}
	}
	if !bodyOK {
		return
	}
	switch {
	case j.rec.isJSON:
		c.values(nil, "", j.rec.value, live.body.value, 0)
	case len(j.rec.data) == 0 && len(live.body.data) == 0:
	case !bytes.Equal(j.rec.data, live.body.data):
		if c.nodeState(nil, "", 0) == 1 {
			return
		}
		c.add(LayerValues, "body", fmt.Sprintf("%d bytes differ from the recorded %d", len(live.body.data), len(j.rec.data)))
	}
}

func orNone(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64, int:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// shape checks that live has every recorded field, with its type. A
// recorded null says nothing about the type; a live null is a value
// difference, reported by values. Array items are checked against what
// every recorded item has in common.
func (c *checker) shape(path []seg, rec, live any) {
	if rec == nil || live == nil {
		return
	}
	rt, lt := typeName(rec), typeName(live)
	if rt != lt {
		c.shapeDiff(path, fmt.Sprintf("type %s, want %s", lt, rt))
		return
	}
	switch rv := rec.(type) {
	case map[string]any:
		lv := live.(map[string]any)
		for _, k := range sortedKeys(rv) {
			p := append(path[:len(path):len(path)], keySeg(k))
			l, ok := lv[k]
			if !ok {
				c.shapeDiff(p, "missing")
				continue
			}
			c.shape(p, rv[k], l)
		}
	case []any:
		la := live.([]any)
		if len(rv) == 0 || len(la) == 0 {
			return
		}
		tmpl := mergeItems(rv)
		for i, it := range la {
			c.shape(append(path[:len(path):len(path)], indexSeg(i)), tmpl, it)
		}
	}
}

// shapeDiff reports a shape difference once per normalized path: a type
// change in every item of a list is one diff, at the first item.
func (c *checker) shapeDiff(path []seg, msg string) {
	norm := pathString(path, true) + "\x00" + msg
	if c.seen[norm] {
		return
	}
	if c.seen == nil {
		c.seen = make(map[string]bool)
	}
	c.seen[norm] = true
	c.add(LayerShape, pathString(path, false), msg)
}

// mergeItems returns what the items of a recorded array have in common:
// for objects, the fields every item has; nil when their types differ.
func mergeItems(items []any) any {
	if len(items) == 1 {
		return items[0]
	}
	var first any
	for _, it := range items {
		if it != nil {
			first = it
			break
		}
	}
	switch first.(type) {
	case map[string]any:
		objs := make([]map[string]any, 0, len(items))
		for _, it := range items {
			o, ok := it.(map[string]any)
			if !ok {
				if it == nil {
					continue
				}
				return nil
			}
			objs = append(objs, o)
		}
		out := make(map[string]any, len(objs[0]))
		for k := range objs[0] {
			vals := make([]any, 0, len(objs))
			for _, o := range objs {
				v, ok := o[k]
				if !ok {
					vals = nil
					break
				}
				vals = append(vals, v)
			}
			if vals != nil {
				out[k] = mergeItems(vals)
			}
		}
		return out
	case []any:
		var all []any
		for _, it := range items {
			a, ok := it.([]any)
			if !ok {
				if it == nil {
					continue
				}
				return nil
			}
			all = append(all, a...)
		}
		if len(all) == 0 {
			return []any{}
		}
		return []any{mergeItems(all)}
	}
	t := typeName(first)
	for _, it := range items {
		if it != nil && typeName(it) != t {
			return nil
		}
	}
	return first
}

// nodeState says how the node at path is compared: 1 noisy (type and
// format), -1 by value (the user said so), 0 by value unless it looks
// volatile. inherited is the parent's state.
func (c *checker) nodeState(path []seg, key string, inherited int) int {
	if rule := c.rules.bodyRule(path); rule != 0 {
		return rule
	}
	if inherited != 0 {
		return inherited
	}
	if c.learned != nil && len(c.learned.body) > 0 && c.learned.body[pathString(path, true)] {
		return 1
	}
	if volatileName(key) {
		return 1
	}
	return 0
}

// values compares the values of stable fields.
func (c *checker) values(path []seg, key string, rec, live any, inherited int) {
	state := c.nodeState(path, key, inherited)
	if live == nil && rec != nil {
		if state != 1 {
			c.add(LayerValues, pathString(path, false), fmt.Sprintf("null, want %s", show(rec)))
		}
		return
	}
	switch rv := rec.(type) {
	case map[string]any:
		lv, ok := live.(map[string]any)
		if !ok {
			return // shape reported it
		}
		for _, k := range sortedKeys(rv) {
			if l, ok := lv[k]; ok {
				c.values(append(path[:len(path):len(path)], keySeg(k)), k, rv[k], l, state)
			}
		}
	case []any:
		la, ok := live.([]any)
		if !ok {
			return
		}
		if len(rv) != len(la) && state != 1 {
			c.add(LayerValues, pathString(path, false), fmt.Sprintf("%d items, want %d", len(la), len(rv)))
			return
		}
		for i := 0; i < min(len(rv), len(la)); i++ {
			c.values(append(path[:len(path):len(path)], indexSeg(i)), itemKey(key), rv[i], la[i], state)
		}
	default:
		c.leaf(path, key, rec, live, state)
	}
}

func (c *checker) leaf(path []seg, key string, rec, live any, state int) {
	if state == 1 {
		c.format(path, rec, live)
		return
	}
	if rs, ok := canon(rec); ok && chainable(key, rec) {
		if lv, ok := c.m[rs]; ok {
			if ls, _ := canon(live); ls != lv.s {
				want := lv.s
				if !lv.num {
					want = strconv.Quote(want)
				}
				if lv.s != rs {
					want += " (the live value of recorded " + show(rec) + ")"
				}
				c.add(LayerValues, pathString(path, false), fmt.Sprintf("%s, want %s", show(live), want))
			}
			return
		}
		if c.unknown[rs] || c.own[rs] && c.write {
			c.format(path, rec, live)
			return
		}
	}
	if state == 0 && formatOf(rec).volatile() {
		c.format(path, rec, live)
		return
	}
	if rs, ok := rec.(string); ok && len(c.m) > 0 {
		// A chained value inside a string: "no item 7" is "no item 12" live.
		if ls, ok := live.(string); ok && rewriteTokens("", rs, c.m) == ls {
			return
		}
	}
	if rec == nil || typeName(rec) == typeName(live) && !sameValue(rec, live) {
		if rec != nil || live != nil {
			c.add(LayerValues, pathString(path, false), fmt.Sprintf("%s, want %s", show(live), show(rec)))
		}
	}
}

// format checks that a noisy value kept its format.
func (c *checker) format(path []seg, rec, live any) {
	if rec == nil || live == nil || typeName(rec) != typeName(live) {
		return
	}
	rf, lf := formatOf(rec), formatOf(live)
	if rf == lf {
		return
	}
	switch rf {
	case fmtString, fmtEmpty, fmtRedacted, fmtToken, fmtHex, fmtOther, fmtNumber:
		return // any string; a number may happen to be whole
	}
	c.add(LayerShape, pathString(path, false), fmt.Sprintf("format %s, want %s", lf, rf))
}

// formatDiff compares the formats of two header values.
func (c *checker) formatDiff(want, got string) (string, bool) {
	rf, lf := stringFormat(want), stringFormat(got)
	switch {
	case rf == lf:
		return "", false
	case rf == fmtString, rf == fmtEmpty, rf == fmtRedacted, rf == fmtToken, rf == fmtHex:
		return "", false
	}
	return fmt.Sprintf("format %s, want %s", lf, rf), true
}

func sameValue(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		if a == bn {
			return true
		}
		x, err1 := a.Float64()
		y, err2 := bn.Float64()
		return err1 == nil && err2 == nil && x == y
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case nil:
		return b == nil
	}
	return false
}

// show formats a JSON value for a diff message, shortened.
func show(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return fmt.Sprintf("array of %d", len(v))
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return clip(string(b))
}

func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:77] + "..."
}

// itemKey is the key array items are checked under: the array's, so that
// the items of "ids" are identifiers, but not volatile because the array
// is named so.
func itemKey(key string) string {
	if volatileName(key) {
		return ""
	}
	return key
}
