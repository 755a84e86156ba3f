package replay

import (
	"slices"
	"strings"
	"time"

	"github.com/backworks/bw/store"
)

// Concurrent clients make exchanges that overlapped in time at capture: a
// list that started just before an update and ran while it was applied
// may already show the update, or not, and the recording cannot say which.
// Replay sends them in capture order, so such a list meets the service
// before the update and its values differ for no fault of the service. A
// read that overlapped, at capture, a write of its collection in its
// session is therefore checked as a tainted read is (see taint.go): its
// values are not counted, and a status that differs, unless it is a
// server error, makes it skipped.
//
// The write may start after the read (before the read ended), so the
// planner holds each exchange back until none that could still overlap it
// can come: the store is scanned by ID, whose time is the start to the
// millisecond, so once an exchange of a later millisecond than another's
// end has been seen, nothing scanned after it started before that end.
// The window is bounded: a long poll open for minutes would hold back
// everything recorded meanwhile, so past the bound the oldest goes to the
// planner as it is, not marked for what it may still overlap.
//
// The window also puts exchanges of the same millisecond back in the
// order they started: IDs order them only by the millisecond and then
// roughly by when they were stored, which is when they ended, so a list
// that started after a delete had ended could be replayed before it.
//
// Overlaps are matched per session whatever the ordering: a read and a
// write of the same collection are in one scope in every ordering but
// when a spec's template sets their scopes apart, and results must not
// depend on the ordering. Only the recording decides, so results do not
// depend on -j either.

// Bounds of the look-ahead window; variables so that a test can make them
// bite early.
var (
	holdEntries = 1024
	holdBytes   = 32 << 20
)

// held is a scanned exchange waiting in the window, with what the planner
// and the overlap test need of it.
type held struct {
	ex       *store.Exchange
	op       string
	scopeKey string
	route    *route
	timed    bool      // the recording says when it ran
	at, end  time.Time // its start (the latest one seen when not timed) and end
	coll     string    // a write's collection, when it changed the service's state
	size     int
	// overlap is the collection of a write that ran while this read did.
	overlap string
}

// fifo is a queue of held exchanges by start.
type fifo []*held

// insert puts h after those that started no later: usually last.
func (q *fifo) insert(h *held) {
	i := len(*q)
	for i > 0 && (*q)[i-1].at.After(h.at) {
		i--
	}
	*q = slices.Insert(*q, i, h)
}

func (q *fifo) pop() *held {
	h := (*q)[0]
	(*q)[0] = nil
	*q = (*q)[1:]
	return h
}

// window holds scanned exchanges back until what overlapped them at
// capture has been scanned too. Only the goroutine reading the store uses
// it.
type window struct {
	all fifo
	// The reads and the state-changing writes of all, in the same order,
	// so that marking looks only at those that can match.
	reads, writes fifo
	bytes         int
	latest        time.Time // the latest start seen
	horizon       time.Time // nothing scanned from now on started before it
}

// add puts an exchange in the window, marking the reads it overlapped or
// that overlapped it, and returns those that may go to the planner, in
// the order they started.
func (w *window) add(h *held, out []*held) []*held {
	ex := h.ex
	read := safeMethod(ex.Request.Method)
	if h.timed {
		if read {
			for _, wr := range w.writes {
				if overlaps(h, wr) {
					h.overlap = wr.coll
					break
				}
			}
		} else if h.coll != "" {
			for _, rd := range w.reads {
				if rd.overlap == "" && overlaps(rd, h) {
					rd.overlap = h.coll
				}
			}
		}
		if h.at.After(w.latest) {
			w.latest = h.at
		}
	} else {
		h.at = w.latest
	}
	if t := ex.ID.Time(); t.After(w.horizon) {
		w.horizon = t
	}
	w.all.insert(h)
	w.bytes += h.size
	switch {
	case h.timed && read:
		w.reads.insert(h)
	case h.timed && h.coll != "":
		w.writes.insert(h)
	}
	for len(w.all) > 0 {
		first := w.all[0]
		if first.timed && !first.end.Before(w.horizon) && len(w.all) <= holdEntries && w.bytes <= holdBytes {
			break
		}
		out = append(out, w.release())
	}
	return out
}

// drain returns everything left, the scan having ended.
func (w *window) drain(out []*held) []*held {
	for len(w.all) > 0 {
		out = append(out, w.release())
	}
	return out
}

func (w *window) release() *held {
	h := w.all.pop()
	w.bytes -= h.size
	switch {
	case len(w.reads) > 0 && w.reads[0] == h:
		w.reads.pop()
	case len(w.writes) > 0 && w.writes[0] == h:
		w.writes.pop()
	}
	return h
}

// overlaps reports whether the read rd ran, at least in part, while the
// write wr did, in the same session and on wr's collection.
func overlaps(rd, wr *held) bool {
	return rd.ex.Session == wr.ex.Session &&
		!rd.ex.Start.After(wr.end) && !wr.ex.Start.After(rd.end) &&
		within(rd.ex.Request.Path, wr.coll)
}

// within reports whether path is in the collection coll, as taintsOf
// matches them.
func within(path, coll string) bool {
	path = strings.TrimRight(path, "/")
	return coll == "/" || path == coll || strings.HasPrefix(path, coll+"/")
}

// hold makes the window entry of a scanned exchange.
func (r *runner) hold(ex *store.Exchange) *held {
	h := &held{ex: ex, timed: !ex.Start.IsZero() && ex.Duration >= 0}
	h.op, h.scopeKey, h.route = r.operation(ex)
	h.at, h.end = ex.Start, ex.Start.Add(ex.Duration)
	if !safeMethod(ex.Request.Method) && writeTaints(ex.Response.Status) {
		h.coll = collectionOf(ex.Request.Path, h.route)
	}
	h.size = 512 + len(ex.Request.Body.Data) + len(ex.Response.Body.Data) + len(ex.Meta)
	for _, f := range ex.Request.Header {
		h.size += len(f.Name) + len(f.Value)
	}
	for _, f := range ex.Response.Header {
		h.size += len(f.Name) + len(f.Value)
	}
	return h
}

// overlapReason is why an overlapping read's values are not counted, also
// the key of Summary.WithoutValues.
func overlapReason(coll string) string {
	return "it ran while a write to " + coll + " was in flight at capture"
}

// caveat returns why differences in the values of j's response are not
// counted, and what a status that differs then makes it skipped for; ""
// when they are counted. A skipped write comes first: it also explains a
// read that overlapped another.
func (j *job) caveat() (why, statusSkip string) {
	if coll := j.tainted(); coll != "" {
		why = taintReason(coll)
		return why, "its status differs after " + why
	}
	if j.overlap != "" {
		why = overlapReason(j.overlap)
		return why, "its status differs: " + why
	}
	return "", ""
}
