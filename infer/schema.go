package infer

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Limits that keep merged state bounded by the API's shape, not by traffic.
const (
	maxDepth      = 24  // deeper values are typed as opaque objects/arrays
	maxProps      = 200 // an object with more distinct keys is merged as a map
	maxEnumValues = 32  // distinct strings tracked for enum detection
	maxStrLen     = 256 // longer strings are never enum candidates
)

// shape accumulates every value seen at one place in a document. Merging is
// commutative, so the order of samples never shows in the result.
type shape struct {
	n, nulls, bools, ints, nums, strs int
	bins                              int // file parts of multipart bodies

	// strings
	formats     formatMask // formats every string so far matched
	values      map[string]int
	tooMany     bool // more than maxEnumValues distinct, or a long or numeric-looking one
	numericLike bool

	// objects
	objs  int
	props map[string]*prop
	asMap *shape // set once the object had too many keys to be a record

	// arrays
	arrs, nonEmpty int
	items          *shape

	pool *pool // set by poolObjects before rendering
}

type prop struct {
	count int // objects that had this key
	s     *shape
}

func newShape() *shape { return &shape{formats: fmtAll} }

// add merges one decoded JSON value (from json.Decoder with UseNumber).
func (s *shape) add(v any, depth int) {
	s.n++
	switch v := v.(type) {
	case nil:
		s.nulls++
	case bool:
		s.bools++
	case json.Number:
		if isIntegral(string(v)) {
			s.ints++
		} else {
			s.nums++
		}
	case string:
		s.addString(v)
	case binaryMarker:
		s.strs++
		s.bins++
		s.tooMany, s.formats = true, 0
	case map[string]any:
		s.objs++
		if depth >= maxDepth {
			return
		}
		if s.asMap != nil {
			for _, pv := range v {
				s.asMap.add(pv, depth+1)
			}
			return
		}
		if s.props == nil {
			s.props = make(map[string]*prop, len(v))
		}
		for k, pv := range v {
			p := s.props[k]
			if p == nil {
				p = &prop{s: newShape()}
				s.props[k] = p
			}
			p.count++
			p.s.add(pv, depth+1)
		}
		if len(s.props) > maxProps {
			s.toMap()
		}
	case []any:
		s.arrs++
		if len(v) > 0 {
			s.nonEmpty++
		}
		if depth >= maxDepth {
			return
		}
		if s.items == nil && len(v) > 0 {
			s.items = newShape()
		}
		for _, e := range v {
			s.items.add(e, depth+1)
		}
	}
}

func (s *shape) addString(v string) {
	s.strs++
	if s.formats != 0 {
		s.formats &= formatsOf(v)
	}
	if s.tooMany {
		return
	}
	if len(v) > maxStrLen || isNumeric(v) {
		s.tooMany, s.numericLike, s.values = true, true, nil
		return
	}
	if s.values == nil {
		s.values = map[string]int{}
	}
	s.values[v]++
	if len(s.values) > maxEnumValues {
		s.tooMany, s.values = true, nil
	}
}

// toMap folds the per-key shapes into one value shape.
func (s *shape) toMap() {
	m := newShape()
	keys := sortedKeys(s.props)
	for _, k := range keys {
		m.merge(s.props[k].s)
	}
	s.asMap, s.props = m, nil
}

// merge adds everything o saw into s.
func (s *shape) merge(o *shape) {
	if o == nil {
		return
	}
	s.n += o.n
	s.nulls += o.nulls
	s.bools += o.bools
	s.ints += o.ints
	s.nums += o.nums
	if o.strs > 0 {
		s.formats &= o.formats
	}
	s.strs += o.strs
	s.bins += o.bins
	if o.tooMany || s.tooMany {
		s.tooMany = true
		s.numericLike = s.numericLike || o.numericLike
		s.values = nil
	} else {
		for v, c := range o.values {
			if s.values == nil {
				s.values = map[string]int{}
			}
			s.values[v] += c
		}
		if len(s.values) > maxEnumValues {
			s.tooMany, s.values = true, nil
		}
	}
	s.objs += o.objs
	switch {
	case o.asMap != nil || s.asMap != nil:
		if s.asMap == nil && s.props != nil {
			s.toMap()
		} else if s.asMap == nil {
			s.asMap = newShape()
		}
		if o.asMap != nil {
			s.asMap.merge(o.asMap)
		}
		for _, k := range sortedKeys(o.props) {
			s.asMap.merge(o.props[k].s)
		}
	default:
		for _, k := range sortedKeys(o.props) {
			op := o.props[k]
			if s.props == nil {
				s.props = map[string]*prop{}
			}
			p := s.props[k]
			if p == nil {
				p = &prop{s: newShape()}
				s.props[k] = p
			}
			p.count += op.count
			p.s.merge(op.s)
		}
		if len(s.props) > maxProps {
			s.toMap()
		}
	}
	s.arrs += o.arrs
	s.nonEmpty += o.nonEmpty
	if o.items != nil {
		if s.items == nil {
			s.items = newShape()
		}
		s.items.merge(o.items)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isIntegral(num string) bool {
	return !strings.ContainsAny(num, ".eE")
}

func isNumeric(s string) bool {
	if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

// Required-ness pools evidence across objects of one type (rule 11): the
// same object (a Pet, a Tag) appears in many responses and requests, and an
// optional property that happened to be present in every instance of one
// place is missing from some instance elsewhere. Objects whose key sets
// overlap strongly (Jaccard >= poolJaccard) are taken as one type. Only
// partial presence elsewhere is evidence: a key that another member never
// has at all marks a variant (a list item without the body, a create request
// without the id), not an optional property.
const (
	poolJaccard = 0.7
	maxPooled   = 4000 // beyond this many object shapes, places have samples enough
)

type pool struct {
	partial map[string]bool // keys present in some but not all instances of a member
	// full counts, per key set, the instances of members with that key
	// set that had the key every time. An object seen once takes its
	// required keys only from members whose key set is the same: pooling
	// makes keys optional on partial evidence anywhere, required only where
	// the key sets really agree.
	full map[string]map[string]int
	sig  map[*shape]string
}

// poolObjects links every object shape reachable from roots to its pool.
// Roots pool only with roots of the same side: responses with responses,
// request bodies with those of the same method (a PUT's partial update is
// not evidence about a POST's create).
func poolObjects(roots []*shape, sides []string) {
	var all []*shape
	var side []string
	var walk func(s *shape, label string)
	walk = func(s *shape, label string) {
		if s == nil {
			return
		}
		if len(s.props) > 0 {
			all = append(all, s)
			side = append(side, label)
			for _, k := range sortedKeys(s.props) {
				walk(s.props[k].s, label)
			}
		}
		walk(s.items, label)
		walk(s.asMap, label)
	}
	for i, r := range roots {
		walk(r, sides[i])
	}
	if len(all) > maxPooled {
		return
	}
	parent := make([]int, len(all))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if side[i] == side[j] && find(i) != find(j) && keyJaccard(all[i], all[j]) >= poolJaccard {
				parent[find(j)] = find(i)
			}
		}
	}
	groups := map[int][]*shape{}
	for i, s := range all {
		groups[find(i)] = append(groups[find(i)], s)
	}
	for _, g := range groups {
		p := &pool{partial: map[string]bool{}, full: map[string]map[string]int{}, sig: map[*shape]string{}}
		for _, s := range g {
			sig := strings.Join(sortedKeys(s.props), "\x00")
			p.sig[s] = sig
			full := p.full[sig]
			if full == nil {
				full = map[string]int{}
				p.full[sig] = full
			}
			for k, pr := range s.props {
				if pr.count < s.objs {
					p.partial[k] = true
				} else {
					full[k] += s.objs
				}
			}
		}
		for _, s := range g {
			s.pool = p
		}
	}
}

func keyJaccard(a, b *shape) float64 {
	inter := 0
	for k := range a.props {
		if b.props[k] != nil {
			inter++
		}
	}
	union := len(a.props) + len(b.props) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// required reports whether key was present in every instance of its object,
// given at least two instances of its type, and never missing from an
// instance of the same type elsewhere.
func (s *shape) required(key string) bool {
	p := s.props[key]
	if p == nil || p.count < s.objs || p.s.nulls == p.s.n {
		return false // only ever null is no evidence of presence (rule 12)
	}
	if s.pool == nil {
		return s.objs >= 2
	}
	return !s.pool.partial[key] && (s.objs >= 2 || s.pool.full[s.pool.sig[s]][key] >= 2)
}
