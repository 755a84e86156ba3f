package api

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	yaml "go.yaml.in/yaml/v4"
)

// Limits on generic values (schemas, examples, bodies), so that a small file
// full of aliases cannot expand into gigabytes.
const (
	maxValueNodes = 1 << 20
	maxDepth      = 200
)

// parser collects the problems of one file; it never stops at the first.
type parser struct {
	file   string
	probs  Problems
	nodes  int  // generic value nodes converted so far
	capped bool // maxValueNodes was reported
}

func pos(n *yaml.Node) Position {
	if n == nil {
		return Position{}
	}
	return Position{Line: n.Line, Col: n.Column}
}

func (p *parser) add(n *yaml.Node, warning bool, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	p.probs = append(p.probs, Problem{File: p.file, Pos: pos(n), Message: msg, Warning: warning})
}

func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	p.add(n, false, path, format, args...)
}

func (p *parser) warnf(n *yaml.Node, path, format string, args ...any) {
	p.add(n, true, path, format, args...)
}

// failed reports whether an error (not a warning) was recorded.
func (p *parser) failed() bool {
	return p.errorCount() > 0
}

func (p *parser) errorCount() int {
	n := 0
	for _, pr := range p.probs {
		if !pr.Warning {
			n++
		}
	}
	return n
}

// deref follows aliases; it returns nil for nil or an alias chain that does
// not end.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.ShortTag() == "!!null":
		return "null"
	case n.ShortTag() == "!!str":
		return fmt.Sprintf("string %q", n.Value)
	default:
		return n.Value
	}
}

// field is one key and value of a mapping; path is the value's YAML path.
type field struct {
	key, val *yaml.Node
	name     string
	path     string
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields returns the pairs of a mapping in file order, with merge keys (<<)
// expanded and duplicate or non-string keys reported. Null reads as an empty
// mapping; anything else is reported and ok is false.
func (p *parser) fields(n *yaml.Node, path string) (fs []field, ok bool) {
	if isNull(n) {
		return nil, true
	}
	m := deref(n)
	if m.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping (got %s)", kindName(m))
		return nil, false
	}
	seen := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		dk := deref(k)
		if dk == nil || dk.Kind != yaml.ScalarNode {
			p.errorf(k, path, "keys must be strings (got %s)", kindName(dk))
			continue
		}
		if prev, dup := seen[dk.Value]; dup {
			p.errorf(k, join(path, dk.Value), "duplicate key (first at line %d)", prev.Line)
			continue
		}
		seen[dk.Value] = k
		fs = append(fs, field{key: k, val: v, name: dk.Value, path: join(path, dk.Value)})
	}
	// Merged keys never override the mapping's own (YAML merge key rules).
	for _, v := range merges {
		srcs := []*yaml.Node{v}
		if d := deref(v); d != nil && d.Kind == yaml.SequenceNode {
			srcs = d.Content
		}
		for _, src := range srcs {
			d := deref(src)
			if d == nil || d.Kind != yaml.MappingNode {
				p.errorf(src, path, "<< must merge a mapping (got %s)", kindName(d))
				continue
			}
			for i := 0; i+1 < len(d.Content); i += 2 {
				k := deref(d.Content[i])
				if k == nil || k.Kind != yaml.ScalarNode || k.Value == "<<" {
					continue
				}
				if _, dup := seen[k.Value]; dup {
					continue
				}
				seen[k.Value] = k
				fs = append(fs, field{key: k, val: d.Content[i+1], name: k.Value, path: join(path, k.Value)})
			}
		}
	}
	return fs, true
}

// items returns the entries of a list; null reads as an empty list.
func (p *parser) items(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if isNull(n) {
		return nil, true
	}
	s := deref(n)
	if s.Kind != yaml.SequenceNode {
		p.errorf(n, path, "must be a list (got %s)", kindName(s))
		return nil, false
	}
	return s.Content, true
}

// scalar returns the text of a scalar; null reads as "".
func (p *parser) scalar(n *yaml.Node, path, what string) (string, bool) {
	if isNull(n) {
		return "", true
	}
	s := deref(n)
	if s.Kind != yaml.ScalarNode {
		p.errorf(n, path, "must be %s (got %s)", what, kindName(s))
		return "", false
	}
	return s.Value, true
}

func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	return p.scalar(n, path, "a string")
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	s := deref(n)
	if s != nil && s.Kind == yaml.ScalarNode && s.ShortTag() == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(s.Value))
		if err == nil {
			return b, true
		}
	}
	p.errorf(n, path, "must be true or false (got %s)", kindName(s))
	return false, false
}

// number reads an int or a float.
func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	s := deref(n)
	if s != nil && s.Kind == yaml.ScalarNode && (s.ShortTag() == "!!int" || s.ShortTag() == "!!float") {
		if f, ok := parseNumber(s.Value); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	p.errorf(n, path, "must be a number (got %s)", kindName(s))
	return 0, false
}

// integer reads a whole number.
func (p *parser) integer(n *yaml.Node, path string) (int64, bool) {
	s := deref(n)
	if s != nil && s.Kind == yaml.ScalarNode && (s.ShortTag() == "!!int" || s.ShortTag() == "!!float") {
		if f, ok := parseNumber(s.Value); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	}
	p.errorf(n, path, "must be a whole number (got %s)", kindName(s))
	return 0, false
}

func parseNumber(s string) (float64, bool) {
	s = strings.ReplaceAll(s, "_", "")
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(i), true
	}
	switch strings.ToLower(s) {
	case ".inf", "+.inf", "-.inf", ".nan":
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// strs reads a list of strings; a single string reads as a list of one.
func (p *parser) strs(n *yaml.Node, path string) ([]string, bool) {
	s := deref(n)
	if s != nil && s.Kind == yaml.ScalarNode && !isNull(s) {
		return []string{s.Value}, true
	}
	items, ok := p.items(n, path)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		v, ok := p.str(it, fmt.Sprintf("%s[%d]", path, i))
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// strMap reads a mapping of strings (headers); numbers and booleans keep
// their text.
func (p *parser) strMap(n *yaml.Node, path string) (map[string]string, bool) {
	fs, ok := p.fields(n, path)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		v, ok := p.str(f.val, f.path)
		if !ok {
			return nil, false
		}
		out[f.name] = v
	}
	return out, true
}

// duration reads 30 (seconds), "30s", "1m30s", "30" or {secs: 30, nanos: 0}
// (the original Backworks' serialised std::time::Duration).
func (p *parser) duration(n *yaml.Node, path string) (time.Duration, bool) {
	s := deref(n)
	const hint = `a duration like 30s, 1m or 30 (seconds), or {secs: 30, nanos: 0}`
	bad := func() (time.Duration, bool) {
		p.errorf(n, path, "must be %s (got %s)", hint, kindName(s))
		return 0, false
	}
	var d time.Duration
	switch {
	case s == nil || isNull(s):
		return bad()
	case s.Kind == yaml.MappingNode:
		fs, _ := p.fields(s, path)
		var secs, nanos float64
		for _, f := range fs {
			var ok bool
			switch f.name {
			case "secs":
				secs, ok = p.number(f.val, f.path)
			case "nanos":
				nanos, ok = p.number(f.val, f.path)
			default:
				p.errorf(f.key, f.path, "unknown key in a {secs, nanos} duration")
			}
			if !ok {
				return 0, false
			}
		}
		if secs < 0 || nanos < 0 || secs > 1e9 {
			return bad()
		}
		d = time.Duration(secs*float64(time.Second)) + time.Duration(nanos)
	case s.Kind != yaml.ScalarNode:
		return bad()
	default:
		if f, ok := parseNumber(s.Value); ok {
			if f < 0 || f > 1e9 {
				return bad()
			}
			d = time.Duration(f * float64(time.Second))
			break
		}
		var err error
		if d, err = time.ParseDuration(strings.TrimSpace(s.Value)); err != nil {
			return bad()
		}
	}
	if d < 0 {
		p.errorf(n, path, "must not be negative (got %s)", s.Value)
		return 0, false
	}
	return d, true
}

// size reads a byte count: 1048576, "512KiB", "10MiB", "10MB", "1G".
func (p *parser) size(n *yaml.Node, path string) (int64, bool) {
	s := deref(n)
	if s == nil || s.Kind != yaml.ScalarNode || isNull(s) {
		p.errorf(n, path, "must be a size like 10MiB (got %s)", kindName(s))
		return 0, false
	}
	v, err := parseSize(s.Value)
	if err != nil {
		p.errorf(n, path, "%v", err)
		return 0, false
	}
	return v, true
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1e3, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1e6, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1e9, "gib": 1 << 30,
	}[strings.ToLower(unit)]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || f < 0 || f*mult > 1<<50 {
		return 0, fmt.Errorf("must be a size like 10MiB, 512KB or 1048576 (got %q)", s)
	}
	return int64(f * mult), nil
}

// enum normalises an original PascalCase or kebab-case value to bw's
// snake_case: RoundRobin, round-robin and round_robin all read round_robin.
func enum(s string) string {
	var b strings.Builder
	rs := []rune(strings.TrimSpace(s))
	for i, r := range rs {
		switch {
		case r == '-' || r == ' ':
			b.WriteByte('_')
		case unicode.IsUpper(r):
			// A new word starts at an upper-case letter after a lower-case
			// one, or before a lower-case one within an upper-case run
			// (IPHash -> ip_hash).
			if i > 0 && rs[i-1] != '_' && rs[i-1] != '-' && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// value converts a generic YAML value (schema, example, body) into what
// encoding/json would decode from its JSON form: map[string]any, []any,
// string, float64 (json.Number for integers a float64 cannot hold), bool
// and nil. Timestamps and other tagged scalars stay strings.
func (p *parser) value(n *yaml.Node, path string) (any, bool) {
	return p.conv(n, path, 0)
}

func (p *parser) conv(n *yaml.Node, path string, depth int) (any, bool) {
	p.nodes++
	if p.nodes > maxValueNodes {
		if !p.capped {
			p.capped = true
			p.errorf(n, path, "too large: more than %d values (aliases expanded)", maxValueNodes)
		}
		return nil, false
	}
	if depth > maxDepth {
		p.errorf(n, path, "nested more than %d levels deep", maxDepth)
		return nil, false
	}
	d := deref(n)
	if d == nil {
		p.errorf(n, path, "alias chain does not end")
		return nil, false
	}
	switch d.Kind {
	case yaml.MappingNode:
		fs, ok := p.fields(d, path)
		if !ok {
			return nil, false
		}
		m := make(map[string]any, len(fs))
		for _, f := range fs {
			v, ok := p.conv(f.val, f.path, depth+1)
			if !ok {
				return nil, false
			}
			m[f.name] = v
		}
		return m, true
	case yaml.SequenceNode:
		s := make([]any, 0, len(d.Content))
		for i, it := range d.Content {
			v, ok := p.conv(it, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if !ok {
				return nil, false
			}
			s = append(s, v)
		}
		return s, true
	case yaml.ScalarNode:
		switch d.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			if b, err := strconv.ParseBool(strings.ToLower(d.Value)); err == nil {
				return b, true
			}
		case "!!int":
			v := strings.ReplaceAll(d.Value, "_", "")
			if i, err := strconv.ParseInt(v, 0, 64); err == nil {
				if i > -(1<<53) && i < 1<<53 {
					return float64(i), true
				}
				return json.Number(strconv.FormatInt(i, 10)), true
			}
			if _, err := strconv.ParseUint(v, 0, 64); err == nil && !strings.HasPrefix(v, "0") {
				return json.Number(v), true
			}
		case "!!float":
			if f, ok := parseNumber(d.Value); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, true
			}
		}
		return d.Value, true
	}
	p.errorf(n, path, "unexpected YAML node")
	return nil, false
}
