package infer

import (
	"hash/fnv"
	"net/url"
	"sort"
	"strings"

	"github.com/backworks/bw/store"
)

// Path templating (rules 4-9): every concrete path goes into a trie in pass
// one; segments that are ids by their value alone go straight to the node's
// parameter child, so the trie grows with the API, not with the traffic. Text
// segments stay literal until resolve finds evidence for them: an identifier
// class, a response that named the value (an id-like field of the list or
// the item, a link, Location), or enough siblings of one shape.

const (
	minCardinality = 4   // distinct sibling values that make a text segment a parameter
	maxLiterals    = 512 // literal children beyond which a node's text children are values

	maxScans  = 32    // responses per node read for identifier values
	maxEchoes = 1024  // identifier values kept per node
	maxLinks  = 16384 // links kept per service
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

	// Identifier evidence (rule 6): hashes of the string values of id-like
	// fields in this node's responses (capped), and how many responses were
	// read for them. On the root only: the links seen (Location, href).
	listed hashSet // values in lists: they name the node's children
	named  hashSet // values outside lists: they name the node itself
	scans  int
	links  *linkSet
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
	n.scans += o.scans
	n.listed.merge(&o.listed)
	n.named.merge(&o.named)
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
	n.resolveAt(0, "", false, n.links)
	n.finish("", nil)
}

// resolveAt resolves the node reached by segment seg ("" for a parameter).
// Under a parameter made from text values, only identifier evidence makes a
// parameter unless two values or more were merged and one had two text
// children or more: never two adjacent parameters from one merge step
// (/zones/{zone}/records), and the routes under the one server seen
// (/servers/{server}/config, /statistics, ...) stay routes.
func (n *pathNode) resolveAt(depth int, seg string, inCountedParam bool, links *linkSet) {
	if depth > 0 {
		n.mergeValues(seg, links, inCountedParam && (n.srcKids < 2 || n.classes[classText] < 2))
	}
	for _, k := range sortedKeys(n.lit) {
		n.lit[k].resolveAt(depth+1, k, false, links)
	}
	if n.param != nil {
		n.param.resolveAt(depth+1, "", n.param.byCount, links)
	}
}

// mergeValues moves text children that are values into the parameter child
// (rules 5-7). With evidenceOnly, only identifiers move.
func (n *pathNode) mergeValues(seg string, links *linkSet, evidenceOnly bool) {
	n.mergeIdentifiers(seg, links)
	if evidenceOnly {
		return
	}
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
		ref := keysByMethod(n.param.sig)
		var keep []string
		for _, k := range others {
			if agrees(n.lit[k].sig, ref, nil) {
				n.mergeIntoParam(k)
			} else {
				keep = append(keep, k)
			}
		}
		others = keep
	}
	others = n.mergeGroup(others)
	// Dictionary words need more: many distinct values, each requested
	// rarely (slugs, used once by this call and once by that one), not a few
	// routes requested again and again (/users/me, /pets/findByStatus).
	if len(words) >= minCardinality {
		reps := make([]int, len(words))
		for i, k := range words {
			reps[i] = n.lit[k].maxRepeat()
		}
		sorted := append([]int(nil), reps...)
		sort.Ints(sorted)
		limit := 2 * max(sorted[len(sorted)/2], 1)
		var rare []string
		total := 0
		for i, k := range words {
			if reps[i] <= limit {
				rare = append(rare, k)
				total += reps[i]
			}
		}
		if len(rare) >= minCardinality && 2*len(rare) >= total {
			words = n.mergeGroup(rare)
		}
	}
	// Words and non-words too few to make a parameter apart count together
	// when they share the endpoint's shapes: a word's siblings are then not
	// all words (rule 5). Words must be requested rarely, as values are.
	if len(others) > 0 && len(words) > 0 && len(others)+len(words) >= minCardinality {
		mixed := append([]string(nil), others...)
		for _, k := range words {
			if n.lit[k].maxRepeat() <= 2 {
				mixed = append(mixed, k)
			}
		}
		// Routes are requested rarely too in a short capture: words may not
		// outnumber the non-words they join.
		if len(mixed) > 2*len(others) {
			mixed = nil
		}
		if left := n.mergeGroup(mixed); len(left) < len(mixed) {
			others, words = stillLiteral(n, others), stillLiteral(n, words)
		}
	}
	// Values too few to make a parameter on their own join one that others
	// made, when they agree with it: non-words, and slug-like word
	// compounds ("frank-smith") requested rarely. A single word or a
	// camelCase name (/users/me, /pets/findByStatus) stays a route.
	if n.param == nil {
		return
	}
	ref := keysByMethod(n.param.sig)
	for _, k := range others {
		if agrees(n.lit[k].sig, ref, nil) {
			n.mergeIntoParam(k)
		}
	}
	semver := n.param.classes[classSemver] > 0
	for _, k := range words {
		c := n.lit[k]
		if c == nil || !agrees(c.sig, ref, nil) {
			continue
		}
		if (strings.ContainsAny(k, "-_") && c.maxRepeat() <= 2) || (semver && tagWords[strings.ToLower(k)]) {
			n.mergeIntoParam(k)
		}
	}
}

// stillLiteral returns the keys of ks that are still literal children of n.
func stillLiteral(n *pathNode, ks []string) []string {
	var out []string
	for _, k := range ks {
		if n.lit[k] != nil {
			out = append(out, k)
		}
	}
	return out
}

// mergeIdentifiers moves the literal children that are identifiers into the
// parameter child (rule 6): by their class (DNS names, e-mails, semver,
// prefixed ids, ...), or because a response named them: an id-like field of
// this node's responses (the collection they were listed in) or of their
// own, a link (href, self, Location) ending in them. A literal whose shape
// differs from the parameter's stays a route (rule 7).
func (n *pathNode) mergeIdentifiers(seg string, links *linkSet) {
	var ids []string
	var classes []segClass
	for _, k := range sortedKeys(n.lit) {
		c := n.lit[k]
		if c.protected || isVersion(k) || strings.EqualFold(k, "api") {
			continue
		}
		class := identClass(k)
		if class == classText && !n.names(k, seg, links) {
			continue
		}
		ids = append(ids, k)
		classes = append(classes, class)
	}
	if len(ids) == 0 {
		return
	}
	var ref map[string]map[string]int
	if n.param != nil {
		ref = keysByMethod(n.param.sig)
	}
	for i, k := range ids {
		if ref != nil && !agrees(n.lit[k].sig, ref, nil) {
			continue
		}
		created := n.param == nil
		p := n.paramChild()
		p.absorb(n.lit[k])
		delete(n.lit, k)
		switch classes[i] {
		case classPrefixed, classSemver:
			p.classes[classes[i]]++
		default:
			p.classes[classText]++
		}
		if created && classes[i] != classPrefixed {
			p.byCount = true // named like the resource: /zones/{zone}
		}
		if created {
			ref = keysByMethod(p.sig)
		}
	}
}

// names reports whether a response named the value k of a child of n: an
// id-like field of an object in a list n answered, an id-like field of k's
// own responses outside lists (a list k answered names k's children, not
// k), or a link ending in it.
func (n *pathNode) names(k, seg string, links *linkSet) bool {
	h := hashString(k)
	return n.listed.has(h) || n.lit[k].named.has(h) || links.has(seg, k)
}

// maxRepeat is how often the most repeated identical request (one method
// on one path) under n was made.
func (n *pathNode) maxRepeat() int {
	m := 0
	for _, s := range n.sig {
		m = max(m, s.hits)
	}
	for _, c := range n.lit {
		m = max(m, c.maxRepeat())
	}
	if n.param != nil {
		m = max(m, n.param.maxRepeat())
	}
	return m
}

// mergeGroup turns a group of sibling text values into the parameter when
// at least minCardinality of them agree in shape.
// It returns the keys it left literal.
func (n *pathNode) mergeGroup(keys []string) []string {
	if len(keys) < minCardinality {
		return keys
	}
	// How many members show each (method, key): a member agrees when most
	// of its keys are shown by other members too.
	support := map[string]map[string]int{}
	for _, k := range keys {
		for m, ks := range keysByMethod(n.lit[k].sig) {
			if support[m] == nil {
				support[m] = map[string]int{}
			}
			for key := range ks {
				support[m][key]++
			}
		}
	}
	var agree, rest []string
	for _, k := range keys {
		if agrees(n.lit[k].sig, support, keysByMethod(n.lit[k].sig)) {
			agree = append(agree, k)
		} else {
			rest = append(rest, k)
		}
	}
	if len(agree) < minCardinality {
		return keys
	}
	created := n.param == nil
	for _, k := range agree {
		n.mergeIntoParam(k)
	}
	if created {
		n.param.byCount = true
	}
	return rest
}

func (n *pathNode) mergeIntoParam(k string) {
	p := n.paramChild()
	p.absorb(n.lit[k])
	p.classes[classText]++
	delete(n.lit, k)
}

// othersHave reports whether the reference holds keys beyond the node's own.
func othersHave(ref, own map[string]int) bool {
	for k, c := range ref {
		if c > own[k] {
			return true
		}
	}
	return false
}

// keysByMethod lists, per method, the top-level keys of 2xx JSON responses.
func keysByMethod(sig map[string]*methodSig) map[string]map[string]int {
	out := map[string]map[string]int{}
	for m, s := range sig {
		if s.keyed == 0 {
			continue
		}
		ks := map[string]int{}
		for k := range s.keys {
			ks[k] = 1
		}
		out[m] = ks
	}
	return out
}

// agrees reports whether a node's exchanges look like those of a reference
// (rule 6, "shapes agree"): for every method both have, at least half of the
// node's top-level response keys must be known to the reference, so that
// objects with many optional fields still agree while a literal route with
// its own shape (/articles/feed beside /articles/{slug}) does not. own, when
// set, holds the node's own keys, taken off the reference counts first: a
// node does not vouch for itself. Empty bodies, and methods the reference
// lacks, are no evidence either way.
func agrees(sig map[string]*methodSig, ref map[string]map[string]int, own map[string]map[string]int) bool {
	for m, s := range sig {
		r := ref[m]
		if r == nil || s.keyed == 0 || !othersHave(r, own[m]) {
			continue
		}
		known := 0
		for k := range s.keys {
			c := r[k]
			if own != nil && own[m][k] > 0 {
				c--
			}
			if c > 0 {
				known++
			}
		}
		if 2*known < len(s.keys) {
			return false
		}
	}
	return true
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
		if c != classText && c != classDate && c != className && c != classSemver {
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

// linkSet holds the last two segments of the links responses carried
// (Location, Content-Location, href/self/url fields), hashed: a link's
// last segment is an identifier under the segment before it.
type linkSet struct {
	pairs map[uint64]struct{} // hash(parent, last)
	last  map[uint64]struct{} // hash(last), for children of parameters
}

func (l *linkSet) add(link string) {
	if l == nil || len(link) > 2048 || len(l.pairs) >= maxLinks {
		return
	}
	u, err := url.Parse(link)
	if err != nil || u.EscapedPath() == "" {
		return
	}
	segs := splitPath(u.EscapedPath())
	if len(segs) < 2 {
		return
	}
	last, parent := segs[len(segs)-1], segs[len(segs)-2]
	l.pairs[hashString(parent+"\x00"+last)] = struct{}{}
	l.last[hashString(last)] = struct{}{}
}

func (l *linkSet) has(parent, last string) bool {
	if l == nil {
		return false
	}
	if parent == "" {
		_, ok := l.last[hashString(last)]
		return ok
	}
	_, ok := l.pairs[hashString(parent+"\x00"+last)]
	return ok
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// hashSet is a capped set of value hashes that keeps the maxEchoes
// smallest: the same values added or merged in any order leave the same set.
type hashSet struct {
	m   map[uint64]struct{}
	top uint64 // the largest hash in m, once it is full
}

func (s *hashSet) has(h uint64) bool {
	_, ok := s.m[h]
	return ok
}

func (s *hashSet) add(h uint64) {
	if s.m == nil {
		s.m = map[uint64]struct{}{}
	}
	if _, ok := s.m[h]; ok {
		return
	}
	if len(s.m) < maxEchoes {
		s.m[h] = struct{}{}
		if len(s.m) == maxEchoes {
			s.top = maxKey(s.m)
		}
		return
	}
	if h >= s.top {
		return
	}
	delete(s.m, s.top)
	s.m[h] = struct{}{}
	s.top = maxKey(s.m)
}

func (s *hashSet) merge(o *hashSet) {
	for h := range o.m {
		s.add(h)
	}
}

func maxKey(m map[uint64]struct{}) uint64 {
	var top uint64
	for k := range m {
		top = max(top, k)
	}
	return top
}

// collect gathers identifier evidence from one response that ended at node
// (n is the root): its links, and for the first maxScans responses of each
// node, the values of its id-like fields. Memory grows with the nodes, not
// with the exchanges. (Which responses are the first depends on the order of
// the recordings only for nodes with more than maxScans of them.)
func (n *pathNode) collect(node *pathNode, r *store.Response) {
	if n.links == nil {
		n.links = &linkSet{pairs: map[uint64]struct{}{}, last: map[uint64]struct{}{}}
	}
	for _, name := range []string{"Location", "Content-Location"} {
		if v := r.Header.Get(name); v != "" {
			n.links.add(v)
		}
	}
	if r.Status < 200 || r.Status >= 300 || len(r.Body.Data) == 0 || node.scans >= maxScans {
		return
	}
	if !isJSONMedia(mediaType(r.Header)) && !sniffJSON(mediaType(r.Header), r.Body.Data) {
		return
	}
	node.scans++
	d := decodeBody(r.Header, &r.Body)
	if d.kind != kindJSON {
		return
	}
	walkValues(d.value, "", 0, false, node, n.links)
}

// walkValues records the string values of id-like fields to node's sets,
// listed when they are inside a list (and arrays of strings near the top:
// /tags returning ["go","rust"]), named otherwise; and link-like fields to
// links. It goes down to objects in a list in a wrapper.
func walkValues(v any, key string, depth int, inList bool, node *pathNode, links *linkSet) {
	switch v := v.(type) {
	case string:
		if linkKey(key) {
			links.add(v)
			return
		}
		if !(key == "[]" && depth <= 2) && !(idKey(key) && depth <= 4) {
			return
		}
		if v == "" || len(v) > 256 || strings.ContainsAny(v, "/\n") {
			return
		}
		if inList {
			node.listed.add(hashString(v))
		} else {
			node.named.add(hashString(v))
		}
	case map[string]any:
		if depth > 5 {
			return
		}
		for k, x := range v {
			walkValues(x, k, depth+1, inList, node, links)
		}
	case []any:
		if depth > 3 {
			return
		}
		for _, x := range v {
			walkValues(x, "[]", depth+1, true, node, links)
		}
	}
}

// idKey reports field names whose values name a resource.
func idKey(k string) bool {
	l := strings.ToLower(k)
	switch l {
	case "id", "name", "key", "slug", "username", "login", "handle", "email", "code", "uid", "uuid",
		"ref", "tag", "version", "domain", "host", "hostname", "zone", "server", "fqdn", "label", "kind", "ip":
		return true
	}
	return strings.HasSuffix(l, "_id") || strings.HasSuffix(l, "_name") || strings.HasSuffix(l, "_key") ||
		(len(k) > 2 && (strings.HasSuffix(k, "Id") || strings.HasSuffix(k, "ID") || strings.HasSuffix(k, "Name") || strings.HasSuffix(k, "Key")))
}

// linkKey reports field names whose values are links to a resource.
func linkKey(k string) bool {
	switch strings.ToLower(k) {
	case "href", "self", "url", "uri", "link", "location":
		return true
	}
	return false
}
