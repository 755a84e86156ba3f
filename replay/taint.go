package replay

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// A write that is not replayed leaves the service in another state than
// the recording: a skipped create makes every later list of that
// collection shorter, and item reads of it 404. Reporting those as broken
// contracts would blame the service for what bw test left out. So a
// skipped write taints its collection for the exchanges after it in the
// same scope (the unit writes are ordered in, see scope): they are still
// sent and checked, but their differences in values are not counted, and
// a status that differs, unless it is a server error, makes them skipped.
// Other scopes are left alone: they are not ordered against the write,
// so whether one of their reads comes after it depends on timing, and a
// taint that did would make runs differ.

// taintScopes bounds the scopes whose taints are remembered, per
// generation (see genMap); a scope forgotten reports value differences
// again, which is what happened before taints existed.
const taintScopes = 1 << 12

// maxTaintColls bounds the collections remembered per scope: without a
// spec, names in paths (/files/report.pdf) can make them many.
const maxTaintColls = 1024

// taintSet is the collections of one scope that skipped writes touched.
type taintSet map[string]*taintEntry

// taintEntry is one collection: skipped for sure, or written by requests
// in flight that may still be skipped when built (a placeholder that a
// live value was to replace).
type taintEntry struct {
	certain bool
	maybe   []*handle
}

// taintRef is a collection a job is under, and the write that taints it
// if it is skipped (nil: it was).
type taintRef struct {
	coll string
	by   *handle
}

// writeTaints reports whether the recorded write changed what the service
// holds, so that skipping it makes later reads differ: a write the service
// refused changed nothing, and one without a response may not have
// reached it.
func writeTaints(status int) bool {
	return status >= http.StatusOK && status < http.StatusBadRequest
}

// collectionOf is the collection a request to path works on: the path up
// to its first parameter, by the route's template when the spec has one,
// else by segments that look like identifiers. It is the runner's scope
// (see operation) on the recorded path, so that POST /users and DELETE
// /users/7 and POST /users/7/lock all touch /users, base path included.
func collectionOf(path string, rt *route) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	n := len(segs)
	if rt != nil {
		// The template may leave out a base path: align from the end.
		if i := slices.IndexFunc(rt.segs, func(s string) bool { return strings.Contains(s, "{") }); i >= 0 && len(segs) >= len(rt.segs) {
			n = len(segs) - len(rt.segs) + i
		}
	} else {
		for i, s := range segs {
			if u, err := url.PathUnescape(s); err == nil {
				s = u
			}
			if idSegment(s) {
				n = i
				break
			}
		}
	}
	return "/" + strings.Join(segs[:n], "/")
}

// taint records that the write by (nil: a write already skipped) touches
// coll in the scope key. Planner only.
func (r *runner) taint(key, coll string, by *handle) {
	ts, ok := r.taints.get(key)
	if !ok {
		ts = make(taintSet)
		r.taints.put(key, ts)
	}
	e := ts[coll]
	if e == nil {
		if len(ts) >= maxTaintColls {
			return
		}
		e = new(taintEntry)
		ts[coll] = e
	}
	e.settle()
	switch {
	case e.certain:
	case by == nil:
		e.certain, e.maybe = true, nil
	default:
		e.maybe = append(e.maybe, by)
	}
}

// taintsOf returns the tainted collections path is in, broadest first,
// each with the writes that may taint it. Planner only.
func (r *runner) taintsOf(key, path string) []taintRef {
	ts, ok := r.taints.get(key)
	if !ok || len(ts) == 0 {
		return nil
	}
	var refs []taintRef
	check := func(coll string) {
		e := ts[coll]
		if e == nil {
			return
		}
		e.settle()
		switch {
		case e.certain:
			refs = append(refs, taintRef{coll: coll})
		case len(e.maybe) == 0:
			delete(ts, coll)
		default:
			for _, h := range e.maybe {
				refs = append(refs, taintRef{coll: coll, by: h})
			}
		}
	}
	check("/")
	p := strings.TrimRight(path, "/")
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			check(p[:i])
		}
	}
	if p != "" {
		check(p)
	}
	return refs
}

// settle drops the writes that are done: sent ones taint nothing, and a
// skipped one makes the taint certain. It keeps maybe to the writes in
// flight; the outcome is the same whether a write settles here or in the
// job that checks it (see tainted), since that job waits for it.
func (e *taintEntry) settle() {
	keep := e.maybe[:0]
	for _, h := range e.maybe {
		switch {
		case !h.isDone():
			keep = append(keep, h)
		case h.skipped:
			e.certain = true
		}
	}
	clear(e.maybe[len(keep):])
	e.maybe = keep
	if e.certain {
		e.maybe = nil
	}
}

// tainted returns the collection whose skipped write makes the values of
// j's response unreliable, or "". It is called once j's dependencies are
// done, which include every write it refers to: an earlier write of its
// scope that was not skipped when planned is one it waits for.
func (j *job) tainted() string {
	for _, t := range j.taints {
		if t.by == nil || t.by.skipped {
			return t.coll
		}
	}
	return ""
}

// taintReason is why a tainted exchange's values are not counted, also
// the key of Summary.WithoutValues.
func taintReason(coll string) string {
	return "an earlier write to " + coll + " was skipped"
}
