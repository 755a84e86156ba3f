package infer

import (
	"net/url"
	"sort"
	"strings"
)

// Path templating (rules 4-9): every concrete path goes into a trie in pass
// one; segments that are ids by their value alone go straight to the node's
// parameter child, so the trie grows with the API, not with the traffic. Text
// segments stay literal until resolve finds cardinality evidence for them.

const (
	minCardinality = 4   // distinct sibling values that make a text segment a parameter
	maxLiterals    = 512 // literal children beyond which a node's text children are values
)

type pathNode struct {
	lit   map[string]*pathNode
	param *pathNode

	hits int                   // exchanges whose path ended here
	sig  map[string]*methodSig // what those exchanges looked like, by method

	// parameter children only
	classes   map[segClass]int
	byCount   bool   // made from text values on cardinality evidence
	srcKids   int    // most text children any merged value had (rule 6, adjacent params)
	name      string // from a hint, else set by nameParams
	protected bool   // a hint says this literal stays literal

	template string // set by resolve
}

// methodSig is the evidence used to compare siblings: statuses and top-level
// response keys of the exchanges of one method.
type methodSig struct {
	hits     int
	statuses map[int]int
	keys     map[string]int // top-level keys of 2xx JSON responses
	keyed    int            // responses that had keys
}

func newNode() *pathNode { return &pathNode{} }

// splitPath percent-decodes an escaped path into its non-empty segments.
func splitPath(escaped string) []string {
	raw := strings.Split(escaped, "/")
	segs := raw[:0]
	for _, s := range raw {
		if s == "" {
			continue
		}
		if d, err := url.PathUnescape(s); err == nil {
			s = d
		}
		segs = append(segs, s)
	}
	return segs
}

// hint is a user decision from infer.paths: a template to use, or (with a
// leading ^) a path that stays literal.
type hint struct {
	raw     string
	segs    []string // "{name}" for parameters
	literal bool
}

func parseHints(paths []string) []hint {
	var hs []hint
	for _, p := range paths {
		h := hint{raw: p}
		if strings.HasPrefix(p, "^") {
			h.literal = true
			p = p[1:]
		}
		for _, s := range strings.Split(p, "/") {
			if s == "" {
				continue
			}
			if strings.HasPrefix(s, ":") {
				s = "{" + s[1:] + "}"
			}
			h.segs = append(h.segs, s)
		}
		hs = append(hs, h)
	}
	return hs
}

func (h *hint) matches(segs []string) bool {
	if len(segs) != len(h.segs) {
		return false
	}
	for i, s := range h.segs {
		if !isParamSeg(s) && s != segs[i] {
			return false
		}
	}
	return true
}

func isParamSeg(s string) bool { return len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' }

// insert records one exchange's path and returns its node.
func (n *pathNode) insert(segs []string, hints []hint) *pathNode {
	var h *hint
	for i := range hints {
		if hints[i].matches(segs) {
			h = &hints[i]
			break
		}
	}
	for i, seg := range segs {
		switch {
		case h != nil && h.literal:
			n = n.child(seg)
			n.protected = true
		case h != nil && isParamSeg(h.segs[i]):
			n = n.paramChild()
			n.name = h.segs[i][1 : len(h.segs[i])-1]
			n.protected = true
		case h != nil:
			n = n.child(seg)
			n.protected = true
		default:
			if c := n.lit[seg]; c != nil && c.protected {
				n = c
				continue
			}
			if class := classify(seg); i > 0 && class != classText && !isVersion(seg) {
				n = n.paramChild()
				n.classes[class]++
				continue
			}
			n = n.child(seg)
		}
	}
	return n
}

func (n *pathNode) child(seg string) *pathNode {
	if n.lit == nil {
		n.lit = map[string]*pathNode{}
	}
	c := n.lit[seg]
	if c == nil {
		c = newNode()
		n.lit[seg] = c
		if len(n.lit) > maxLiterals {
			n.foldText()
			if c = n.lit[seg]; c == nil {
				c = n.param
			}
		}
	}
	return c
}

func (n *pathNode) paramChild() *pathNode {
	if n.param == nil {
		n.param = newNode()
		n.param.classes = map[segClass]int{}
	}
	return n.param
}

// foldText merges every unprotected text child into the parameter child: a
// node with that many distinct children has values, not routes.
func (n *pathNode) foldText() {
	p := n.paramChild()
	p.byCount = true
	for _, k := range sortedKeys(n.lit) {
		if c := n.lit[k]; !c.protected && !isVersion(k) {
			p.absorb(c)
			p.classes[classText]++
			delete(n.lit, k)
		}
	}
}

// record adds the evidence of one exchange that ended at n.
func (n *pathNode) record(method string, status int, keys []string) {
	n.hits++
	if n.sig == nil {
		n.sig = map[string]*methodSig{}
	}
	s := n.sig[method]
	if s == nil {
		s = &methodSig{statuses: map[int]int{}}
		n.sig[method] = s
	}
	s.hits++
	s.statuses[status]++
	if len(keys) > 0 && status >= 200 && status < 300 {
		if s.keys == nil {
			s.keys = map[string]int{}
		}
		s.keyed++
		for _, k := range keys {
			if len(s.keys) < maxProps || s.keys[k] > 0 {
				s.keys[k]++
			}
		}
	}
}

// absorb merges the subtree o into n.
func (n *pathNode) absorb(o *pathNode) {
	n.hits += o.hits
	n.srcKids = max(n.srcKids, o.textKids(), o.srcKids)
	for m, s := range o.sig {
		if n.sig == nil {
			n.sig = map[string]*methodSig{}
		}
		if n.sig[m] == nil {
			n.sig[m] = &methodSig{statuses: map[int]int{}}
		}
		n.sig[m].merge(s)
	}
	for _, k := range sortedKeys(o.lit) {
		c := o.lit[k]
		if n.lit == nil {
			n.lit = map[string]*pathNode{}
		}
		if mine := n.lit[k]; mine != nil {
			mine.absorb(c)
		} else {
			n.lit[k] = c
		}
	}
	if o.param != nil {
		p := n.paramChild()
		p.byCount = p.byCount || o.param.byCount
		p.protected = p.protected || o.param.protected
		if p.name == "" {
			p.name = o.param.name
		}
		for c, k := range o.param.classes {
			p.classes[c] += k
		}
		p.absorb(o.param)
	}
	n.protected = n.protected || o.protected
}

func (n *pathNode) textKids() int {
	k := 0
	for s, c := range n.lit {
		if !c.protected && classify(s) == classText {
			k++
		}
	}
	return k
}

func (s *methodSig) merge(o *methodSig) {
	s.hits += o.hits
	for st, c := range o.statuses {
		s.statuses[st] += c
	}
	s.keyed += o.keyed
	for k, c := range o.keys {
		if s.keys == nil {
			s.keys = map[string]int{}
		}
		s.keys[k] += c
	}
}

// resolve decides which text children of every node are parameters, then
// names parameters and sets templates.
func (n *pathNode) resolve() {
	n.template = ""
	n.resolveAt(0, false)
	n.finish("", nil)
}

func (n *pathNode) resolveAt(depth int, inCountedParam bool) {
	if depth > 0 && !(inCountedParam && n.srcKids < 2) {
		n.mergeValues()
	}
	for _, k := range sortedKeys(n.lit) {
		n.lit[k].resolveAt(depth+1, false)
	}
	if n.param != nil {
		n.param.resolveAt(depth+1, n.param.byCount)
	}
}

// mergeValues moves text children that are values into the parameter child
// (rules 5-7).
func (n *pathNode) mergeValues() {
	var words, others []string
	for _, k := range sortedKeys(n.lit) {
		c := n.lit[k]
		if c.protected || isVersion(k) || strings.EqualFold(k, "api") {
			continue
		}
		if isDictionaryWord(k) {
			words = append(words, k)
		} else {
			others = append(others, k)
		}
	}
	// Non-words beside an id parameter are ids too, unless their shape differs.
	if n.param != nil && !n.param.byCount && len(others) > 0 {
		ref := n.param.sig
		var keep []string
		for _, k := range others {
			if agrees(n.lit[k].sig, ref) {
				n.mergeIntoParam(k)
			} else {
				keep = append(keep, k)
			}
		}
		others = keep
	}
	n.mergeGroup(others)
	// Dictionary words need more: many distinct values, each seen rarely
	// (slugs), not a few routes each hit again and again (/users/me, /pets/findByStatus).
	if len(words) >= minCardinality {
		med := medianHits(n.lit, words)
		var rare []string
		total := 0
		for _, k := range words {
			if h := n.lit[k].hits + subtreeHits(n.lit[k]); h <= 2*max(med, 1) {
				rare = append(rare, k)
				total += h
			}
		}
		if len(rare) >= minCardinality && 2*len(rare) >= total {
			n.mergeGroup(rare)
		}
	}
}

// mergeGroup turns a group of sibling text values into the parameter when
// at least minCardinality of them agree in shape.
func (n *pathNode) mergeGroup(keys []string) {
	if len(keys) < minCardinality {
		return
	}
	majority := majoritySig(n.lit, keys)
	var agree []string
	for _, k := range keys {
		if agrees(n.lit[k].sig, majority) {
			agree = append(agree, k)
		}
	}
	if len(agree) < minCardinality {
		return
	}
	created := n.param == nil
	for _, k := range agree {
		n.mergeIntoParam(k)
	}
	if created {
		n.param.byCount = true
	}
}

func (n *pathNode) mergeIntoParam(k string) {
	p := n.paramChild()
	p.absorb(n.lit[k])
	p.classes[classText]++
	delete(n.lit, k)
}

func subtreeHits(n *pathNode) int {
	h := 0
	for _, c := range n.lit {
		h += c.hits + subtreeHits(c)
	}
	if n.param != nil {
		h += n.param.hits + subtreeHits(n.param)
	}
	return h
}

func medianHits(lit map[string]*pathNode, keys []string) int {
	hs := make([]int, len(keys))
	for i, k := range keys {
		hs[i] = lit[k].hits + subtreeHits(lit[k])
	}
	sort.Ints(hs)
	return hs[len(hs)/2]
}

// majoritySig is, per method, the statuses and keys that at least half of
// the group's members with that method showed.
func majoritySig(lit map[string]*pathNode, keys []string) map[string]*methodSig {
	type tally struct {
		members  int
		statuses map[int]int
		keys     map[string]int
		keyed    int
	}
	ts := map[string]*tally{}
	for _, k := range keys {
		for m, s := range lit[k].sig {
			t := ts[m]
			if t == nil {
				t = &tally{statuses: map[int]int{}, keys: map[string]int{}}
				ts[m] = t
			}
			t.members++
			for st := range s.statuses {
				t.statuses[st]++
			}
			if s.keyed > 0 {
				t.keyed++
				for key, c := range s.keys {
					if 2*c >= s.keyed { // present in most of this member's responses
						t.keys[key]++
					}
				}
			}
		}
	}
	out := map[string]*methodSig{}
	for m, t := range ts {
		s := &methodSig{statuses: map[int]int{}}
		for st, c := range t.statuses {
			if 2*c >= t.members {
				s.statuses[st] = c
			}
		}
		if t.keyed > 0 {
			s.keys = map[string]int{}
			for key, c := range t.keys {
				if 2*c >= t.keyed {
					s.keys[key] = 1
				}
			}
			s.keyed = 1
		}
		out[m] = s
	}
	return out
}

// agrees reports whether two nodes' exchanges look alike: for every method
// both saw, some success status in common and top-level response keys within
// about 50% (Jaccard). No common method is no evidence against.
func agrees(a, b map[string]*methodSig) bool {
	for m, sa := range a {
		sb := b[m]
		if sb == nil {
			continue
		}
		if has2xx(sa) && has2xx(sb) && !shareStatus(sa, sb) {
			return false
		}
		ka, kb := commonKeys(sa), commonKeys(sb)
		if len(ka) == 0 || len(kb) == 0 {
			continue // empty bodies are no evidence
		}
		inter := 0
		for k := range ka {
			if kb[k] {
				inter++
			}
		}
		if union := len(ka) + len(kb) - inter; 2*inter < union {
			return false
		}
	}
	return true
}

func has2xx(s *methodSig) bool {
	for st := range s.statuses {
		if st >= 200 && st < 300 {
			return true
		}
	}
	return false
}

func shareStatus(a, b *methodSig) bool {
	for st := range a.statuses {
		if st >= 200 && st < 300 && b.statuses[st] > 0 {
			return true
		}
	}
	return false
}

func commonKeys(s *methodSig) map[string]bool {
	if s.keyed == 0 {
		return nil
	}
	k := map[string]bool{}
	for key, c := range s.keys {
		if 2*c >= s.keyed {
			k[key] = true
		}
	}
	return k
}

// finish names parameters (rule 8) and sets every node's template.
func (n *pathNode) finish(prev string, used map[string]bool) {
	for _, k := range sortedKeys(n.lit) {
		c := n.lit[k]
		c.template = n.template + "/" + escapeSegment(k)
		c.finish(k, used)
	}
	if n.param != nil {
		p := n.param
		name := p.name
		if name == "" || used[name] {
			name = paramName(prev, p.classes, p.byCount, used)
		}
		p.name = name
		p.template = n.template + "/{" + name + "}"
		u := make(map[string]bool, len(used)+1)
		for k := range used {
			u[k] = true
		}
		u[name] = true
		p.finish("", u)
	}
}

func paramName(prev string, classes map[segClass]int, byCount bool, used map[string]bool) string {
	base := ""
	if prev != "" && !isVersion(prev) && !strings.EqualFold(prev, "api") {
		base = singular(prev)
	}
	onlyDates := len(classes) > 0
	idLike := false
	for c := range classes {
		if c != classDate {
			onlyDates = false
		}
		if c != classText && c != classDate {
			idLike = true
		}
	}
	var cands []string
	switch {
	case onlyDates:
		cands = append(cands, "date")
		if base != "" {
			cands = append(cands, base+"Date")
		}
	case base != "" && (idLike || !byCount):
		cands = append(cands, base+"Id")
	case base != "":
		cands = append(cands, base, base+"Id")
	}
	if len(classes) == 1 {
		for c := range classes {
			switch c {
			case classUUID:
				cands = append(cands, "uuid")
			case classDate:
				cands = append(cands, "date")
			}
		}
	}
	cands = append(cands, "id", "key", "name")
	for _, c := range cands {
		if !used[c] {
			return c
		}
	}
	for i := 2; ; i++ {
		if c := cands[0] + string(rune('0'+i)); !used[c] || i > 9 {
			return c
		}
	}
}

func escapeSegment(s string) string {
	e := url.PathEscape(s)
	// Keep characters OpenAPI paths commonly carry unescaped.
	r := strings.NewReplacer("%3A", ":", "%40", "@", "%2C", ",", "%3B", ";", "%3D", "=", "%2B", "+")
	return r.Replace(e)
}
