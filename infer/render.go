package infer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/backworks/bw/store"
	"gopkg.in/yaml.v3"
)

// Documents are built as yaml.Node trees so that key order is ours (readable
// and deterministic) and both YAML and JSON can be written from one tree.

func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		put(m, kv[i].(string), kv[i+1])
	}
	return m
}

// put appends key: value to mapping m; nil values are skipped.
func put(m *yaml.Node, key string, v any) {
	var n *yaml.Node
	switch v := v.(type) {
	case nil:
		return
	case *yaml.Node:
		if v == nil {
			return
		}
		n = v
	default:
		n = scalarNode(v)
	}
	m.Content = append(m.Content, str(key), n)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func scalarNode(v any) *yaml.Node {
	switch v := v.(type) {
	case string:
		return str(v)
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
	case []string:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, s := range v {
			seq.Content = append(seq.Content, str(s))
		}
		return seq
	}
	panic(fmt.Sprintf("infer: no node for %T", v))
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

// get returns the value of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// valueNode turns a decoded JSON value into a node, keys sorted.
func valueNode(v any) *yaml.Node {
	switch v := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		return scalarNode(v)
	case json.Number:
		tag := "!!float"
		if isIntegral(string(v)) {
			tag = "!!int"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v)}
	case string:
		return str(v)
	case []any:
		s := seq()
		for _, e := range v {
			s.Content = append(s.Content, valueNode(e))
		}
		return s
	case map[string]any:
		m := mapping()
		for _, k := range sortedKeys(v) {
			put(m, k, valueNode(v[k]))
		}
		return m
	case binaryMarker:
		return str("(binary)")
	}
	return str(fmt.Sprint(v))
}

// sanitize replaces secret-named fields in an example (rule 22): recordings
// made with --no-redact must still not leak into documents.
func sanitize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if store.IsSecretName(k) {
				if _, isObj := e.(map[string]any); !isObj && e != nil {
					v[k] = store.RedactedPrefix + "example"
					continue
				}
			}
			v[k] = sanitize(e)
		}
	case []any:
		for i, e := range v {
			v[i] = sanitize(e)
		}
	}
	return v
}

// schemaBuilder turns shapes into schema nodes for one OpenAPI version and
// registers object schemas for hoisting (rule 16).
type schemaBuilder struct {
	v31     bool
	objects []*hoistable
	// noRequired is set while a request body with too few distinct
	// samples is rendered: none of its fields is required (rule 11).
	noRequired bool
}

type hoistable struct {
	node  *yaml.Node
	hint  string
	canon string
	size  int
}

func (b *schemaBuilder) schema(s *shape, hint string) *yaml.Node {
	if s == nil {
		return mapping()
	}
	var types []string
	if s.bools > 0 {
		types = append(types, "boolean")
	}
	if s.ints > 0 && s.nums == 0 {
		types = append(types, "integer")
	}
	if s.nums > 0 {
		types = append(types, "number")
	}
	if s.strs > 0 {
		types = append(types, "string")
	}
	if s.objs > 0 {
		types = append(types, "object")
	}
	if s.arrs > 0 {
		types = append(types, "array")
	}
	nullable := s.nulls > 0
	switch len(types) {
	case 0:
		if !nullable {
			return mapping()
		}
		// Only null was seen: nullable, type unknown (rule 12). In 3.1 a
		// schema without a type takes null and whatever the real type is.
		if b.v31 {
			return mapping("description", "only null was observed")
		}
		// 3.0 validators let null through only with nullable, and nullable
		// needs a type: say what was seen.
		return mapping("type", "string", "nullable", true, "description", "only null was observed")
	case 1:
		n := b.single(s, types[0], hint)
		if nullable {
			b.makeNullable(n)
		}
		return n
	}
	one := seq()
	for _, t := range types {
		one.Content = append(one.Content, b.single(s, t, hint))
	}
	if nullable {
		if b.v31 {
			one.Content = append(one.Content, mapping("type", "null"))
		} else {
			// One variant takes null, so that null still matches exactly one.
			b.makeNullable(one.Content[0])
		}
	}
	return mapping("oneOf", one)
}

func (b *schemaBuilder) makeNullable(n *yaml.Node) {
	if e := get(n, "enum"); e != nil {
		// An enum lists every allowed value: null is one of them.
		e.Content = append(e.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"})
	}
	if !b.v31 {
		n.Content = append(n.Content, str("nullable"), scalarNode(true))
		return
	}
	t := get(n, "type")
	if t == nil {
		return
	}
	*t = *scalarNode([]string{t.Value, "null"})
	t.Style = yaml.FlowStyle
}

func (b *schemaBuilder) single(s *shape, typ, hint string) *yaml.Node {
	n := mapping("type", typ)
	switch typ {
	case "string":
		if s.bins > 0 {
			put(n, "format", "binary")
		} else if f := formatName(s.formats); f != "" {
			put(n, "format", f)
		} else if enum := enumValues(s); enum != nil {
			put(n, "enum", enum)
		}
	case "array":
		items := mapping()
		if s.items != nil {
			items = b.schema(s.items, itemHint(hint))
		}
		put(n, "items", items)
	case "object":
		if s.asMap != nil || mapLike(s) {
			val := s.asMap
			if val == nil {
				val = newShape()
				for _, k := range sortedKeys(s.props) {
					val.merge(s.props[k].s)
				}
			}
			put(n, "additionalProperties", b.schema(val, itemHint(hint)))
			return n
		}
		if len(s.props) == 0 {
			return n
		}
		props := mapping()
		var required []string
		for _, k := range sortedKeys(s.props) {
			put(props, k, b.schema(s.props[k].s, k))
			if !b.noRequired && s.required(k) {
				required = append(required, k)
			}
		}
		put(n, "properties", props)
		if len(required) > 0 {
			put(n, "required", required)
		}
		if len(s.props) >= 2 {
			b.objects = append(b.objects, &hoistable{node: n, hint: hint})
		}
	}
	return n
}

// enumValues returns the values of a string that is an enum (rule 17): 10+
// observations, fewer distinct values than the square root of the count.
func enumValues(s *shape) []string {
	if s.tooMany || s.strs < 10 || len(s.values) == 0 {
		return nil
	}
	if float64(len(s.values)) >= math.Sqrt(float64(s.strs)) {
		return nil
	}
	return sortedKeys(s.values)
}

// mapLike reports objects keyed by ids (rule 15): every key all digits or
// a UUID, object id or long hex, or very many keys each seen in hardly any
// instance. Variants of one object type (events of a few kinds, each with
// its own keys) also have many optional keys, but each key comes back in a
// good share of the instances: they stay one object with optional keys. Too
// few instances to tell the two apart also leave it an object.
func mapLike(s *shape) bool {
	if len(s.props) == 0 {
		return false
	}
	idKeys := 0
	rare := 0
	for k, p := range s.props {
		if c := classify(k); c == classInt || c == classUUID || c == classObjectID || c == classHex {
			idKeys++
		}
		if p.count == 1 || p.count*10 <= s.objs {
			rare++
		}
	}
	if idKeys == len(s.props) {
		return true
	}
	return len(s.props) >= 24 && s.objs >= minMapInstances && rare*10 >= len(s.props)*9
}

// minMapInstances is how many instances an object needs before keys that
// differ from instance to instance make it a map rather than a record.
const minMapInstances = 4

// hoist moves object schemas that occur in several places into components,
// smallest first so that larger ones refer to the smaller ones.
func (b *schemaBuilder) hoist(schemas *yaml.Node, refPrefix string, taken map[string]bool) {
	groups := map[string][]*hoistable{}
	for _, h := range b.objects {
		h.canon = canonical(h.node)
		h.size = len(h.canon)
		groups[h.canon] = append(groups[h.canon], h)
	}
	keys := sortedKeys(groups)
	sort.SliceStable(keys, func(i, j int) bool { return len(keys[i]) < len(keys[j]) })
	type entry struct {
		name string
		node *yaml.Node
	}
	var out []entry
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		name := componentName(g, taken)
		taken[name] = true
		comp := &yaml.Node{}
		*comp = *g[0].node
		comp.Content = append([]*yaml.Node(nil), g[0].node.Content...)
		out = append(out, entry{name, comp})
		for _, h := range g {
			*h.node = *mapping("$ref", refPrefix+name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	for _, e := range out {
		put(schemas, e.name, e.node)
	}
}

func componentName(g []*hoistable, taken map[string]bool) string {
	strong, weak, sides := map[string]int{}, map[string]int{}, map[string]int{}
	for _, h := range g {
		if stem, side, ok := strings.Cut(strings.TrimPrefix(h.hint, "~"), "|"); ok && strings.HasPrefix(h.hint, "~") {
			weak[pascal(stem)]++
			sides[side]++
		} else if h.hint != "" {
			strong[pascal(h.hint)]++
		}
	}
	var cands []string
	if best := mostCommon(strong); best != "" {
		cands = append(cands, best)
	} else if best := mostCommon(weak); best != "" {
		cands = append(cands, best, best+mostCommon(sides))
	}
	if len(cands) == 0 {
		cands = append(cands, "Object")
	}
	for _, c := range cands {
		if !taken[c] {
			return c
		}
	}
	for i := 2; ; i++ {
		if name := cands[0] + strconv.Itoa(i); !taken[name] {
			return name
		}
	}
}

// mostCommon returns the key with the highest count, the first in order on ties.
func mostCommon(counts map[string]int) string {
	best := ""
	for _, k := range sortedKeys(counts) {
		if k != "" && (best == "" || counts[k] > counts[best]) {
			best = k
		}
	}
	return best
}

// itemHint names the elements of an array or map from the container's hint.
func itemHint(hint string) string {
	if stem, side, ok := strings.Cut(strings.TrimPrefix(hint, "~"), "|"); ok && strings.HasPrefix(hint, "~") {
		return "~" + singular(stem) + "|" + side
	}
	return singular(hint)
}

// pascal turns a hint ("order_items", "user-group") into a component name.
func pascal(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			if up {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}

// canonical serialises a node for equality tests.
func canonical(n *yaml.Node) string {
	var buf bytes.Buffer
	writeJSON(&buf, n, "", "")
	return buf.String()
}

// writeJSON writes n as JSON, keeping mapping order; indent "" is compact.
func writeJSON(buf *bytes.Buffer, n *yaml.Node, prefix, indent string) {
	nl := func(p string) {
		if indent != "" {
			buf.WriteByte('\n')
			buf.WriteString(p)
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		writeJSON(buf, n.Content[0], prefix, indent)
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			buf.WriteString("{}")
			return
		}
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			nl(prefix + indent)
			k, _ := json.Marshal(n.Content[i].Value)
			buf.Write(k)
			buf.WriteByte(':')
			if indent != "" {
				buf.WriteByte(' ')
			}
			writeJSON(buf, n.Content[i+1], prefix+indent, indent)
		}
		nl(prefix)
		buf.WriteByte('}')
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			buf.WriteString("[]")
			return
		}
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			nl(prefix + indent)
			writeJSON(buf, c, prefix+indent, indent)
		}
		nl(prefix)
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float", "!!bool", "!!null":
			buf.WriteString(n.Value)
		default:
			s, _ := json.Marshal(n.Value)
			buf.Write(s)
		}
	case yaml.AliasNode:
		writeJSON(buf, n.Alias, prefix, indent)
	}
}

// encodeYAML writes the document with two-space indentation.
func encodeYAML(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeJSON writes a document tree as indented JSON.
func encodeJSON(doc *yaml.Node) []byte {
	var buf bytes.Buffer
	writeJSON(&buf, doc, "", "  ")
	buf.WriteByte('\n')
	return buf.Bytes()
}
