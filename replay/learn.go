package replay

import (
	"context"
	"sort"
	"strings"

	"github.com/backworks/bw/store"
)

// LearnNoise finds what changes on its own: it replays the selected
// exchanges against the target like [Run], sending each read (GET, HEAD,
// OPTIONS) twice in a row, and returns as rules the response fields and
// headers whose values differ between the two answers. Writes are sent
// once, so that flows keep their state; what they generate (ids,
// timestamps) is noise bw test already knows. Rules bw applies anyway
// (volatile names, formats and headers) are left out.
//
// opts is read as by Run; Spec, NoSpec and Reporters are not used.
func LearnNoise(ctx context.Context, db *store.DB, opts Options) (Noise, *Summary, error) {
	opts.Reporters = nil
	r, err := newRunner(ctx, db, opts, true)
	if err != nil {
		return Noise{}, nil, err
	}
	s, err := r.run(ctx)
	if err != nil {
		return Noise{}, s, err
	}
	return r.learn.rules(), s, nil
}

// learner collects what differs between two answers to the same request.
type learner struct {
	body    map[string]bool
	headers map[string]bool
}

const maxLearned = 1024

func (l *learner) compare(r *runner, a, b *liveResp) {
	if a.err != nil || b.err != nil || a.status != b.status {
		return
	}
	var body []string
	var headers []string
	for name, av := range a.header {
		ln := strings.ToLower(name)
		if ignoredHeaders[ln] || r.rules.headerNoisy(name, false) {
			continue
		}
		if strings.Join(av, "\n") != strings.Join(b.header.Values(name), "\n") {
			headers = append(headers, name)
		}
	}
	if a.body.isJSON && b.body.isJSON {
		learnDiff(nil, "", a.body.value, b.body.value, func(path []seg) {
			body = append(body, pathString(path, true))
		})
	} else if string(a.body.data) != string(b.body.data) {
		body = append(body, "$")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range body {
		if len(l.body) < maxLearned {
			l.body[p] = true
		}
	}
	for _, h := range headers {
		if len(l.headers) < maxLearned {
			l.headers[h] = true
		}
	}
}

// learnDiff calls out with the paths where a and b differ, leaving out
// values bw treats as volatile anyway.
func learnDiff(path []seg, key string, a, b any, out func([]seg)) {
	if volatileName(key) {
		return
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			out(path)
			return
		}
		for k, x := range av {
			p := append(path[:len(path):len(path)], keySeg(k))
			y, ok := bv[k]
			if !ok {
				if !volatileName(k) {
					out(p)
				}
				continue
			}
			learnDiff(p, k, x, y, out)
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			out(path)
			return
		}
		for i := range av {
			learnDiff(append(path[:len(path):len(path)], indexSeg(i)), "", av[i], bv[i], out)
		}
	default:
		if sameValue(a, b) || formatOf(a).volatile() || formatOf(b).volatile() {
			return
		}
		out(path)
	}
}

// rules returns what was learned, sorted, without paths under another.
func (l *learner) rules() Noise {
	var n Noise
	paths := sortedKeys(l.body)
	for _, p := range paths {
		covered := false
		for _, q := range paths {
			if q != p && (strings.HasPrefix(p, q+".") || strings.HasPrefix(p, q+"[")) || q == "$" && p != "$" {
				covered = true
				break
			}
		}
		if !covered {
			n.Body = append(n.Body, p)
		}
	}
	for h := range l.headers {
		n.Headers = append(n.Headers, h)
	}
	sort.Strings(n.Headers)
	return n
}
