package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/store"
)

// Memory bounds of the replay index. Response bodies up to inlineMax bytes
// are kept in memory while the total stays under inlineBudget (identical
// bodies are kept once); the others are read from the recordings file when
// they are replayed, which then stays open.
const (
	inlineMax    = 256 << 10
	inlineBudget = 128 << 20
)

// replayIndex holds the recordings of one site, indexed per operation.
type replayIndex struct {
	path    string
	db      *store.DB // nil once closed, or when every body is in memory
	red     *store.Redactor
	shaper  *shaper
	indexed int
	skipped int // over MaxRecordings
}

// opRecordings are the recorded exchanges of one operation.
type opRecordings struct {
	replies  []*reply           // in capture order
	exact    map[uint64][]int32 // exact key -> replies, in capture order
	loose    map[uint64][]int32 // loose key (credentials by name only) -> replies
	postings map[uint64][]int32 // feature -> replies that have it
	nfeats   []int32            // features per reply
}

// reply is a fixed answer: a recorded response, an example or a mock.
type reply struct {
	status   int
	header   []store.Field // as recorded, less hop-by-hop and length fields
	body     []byte        // nil when onDisk
	encoding string        // content coding of body; "" is identity
	onDisk   bool          // body to be read from the recordings file
	id       store.ID      // recording; zero for examples and mocks
	match    string        // Bw-Match up to the score: "ID; score=" or "example; score=0"
	kind     string        // "example", "mock", "schema"; "" for recordings
	delay    time.Duration // the recorded response time
	valid    validity
}

// buildReplayIndex reads every exchange of the recordings file and indexes
// those that a mock operation of st answers.
func buildReplayIndex(ctx context.Context, st *site, path string, max int) (*replayIndex, error) {
	if max <= 0 {
		max = DefaultMaxRecordings
	}
	db, err := store.Open(path, &store.Options{ReadOnly: true})
	switch {
	case errors.Is(err, store.ErrInUse):
		return nil, fmt.Errorf("recordings %s are in use by another process (is bw capture running?)", path)
	case errors.Is(err, store.ErrNotExist):
		return nil, fmt.Errorf("recordings %s do not exist; record with 'bw capture' or name another file with --db", path)
	case errors.Is(err, store.ErrNotBW):
		return nil, fmt.Errorf("recordings %s: not a bw recordings file", path)
	case err != nil:
		return nil, fmt.Errorf("recordings: %w", err)
	}
	idx := &replayIndex{path: path, db: db, red: db.Redactor()}
	idx.shaper = &shaper{red: idx.red}
	bodies := map[uint64][]byte{}
	var inline int64
	onDisk := false
	err = db.Scan(ctx, store.Filter{}, func(ex *store.Exchange) error {
		if ex.Response.Status == 0 {
			return nil
		}
		rt, op, _ := st.router.lookup(ex.Request.Method, ex.Request.Path)
		if op == nil || op.mode != api.ModeMock || (op.method != "*" && op.method != ex.Request.Method) {
			return nil
		}
		if op.recs == nil {
			op.recs = &opRecordings{exact: map[uint64][]int32{}, loose: map[uint64][]int32{}, postings: map[uint64][]int32{}}
		}
		recs := op.recs
		if len(recs.replies) >= max {
			idx.skipped++
			return nil
		}
		sh := idx.shaper.shape(reqParts{
			method:      ex.Request.Method,
			path:        ex.Request.Path,
			rawQuery:    ex.Request.RawQuery,
			contentType: ex.Request.Header.Get("Content-Type"),
			encoding:    requestEncoding(&ex.Request),
			body:        ex.Request.Body.Data,
			params:      rt.params(ex.Request.Path),
			credentials: credentialHeaders(recordedFields(ex.Request.Header)),
		})
		rp := recordedReply(ex)
		data := ex.Response.Body.Data
		switch {
		case len(data) == 0:
		case len(data) <= inlineMax && inline+int64(len(data)) <= inlineBudget:
			h := hashBytes(data)
			if b, ok := bodies[h]; ok && bytes.Equal(b, data) {
				rp.body = b
			} else {
				rp.body = bytes.Clone(data)
				bodies[h] = rp.body
				inline += int64(len(data))
			}
		default:
			rp.onDisk = true
			onDisk = true
		}
		i := int32(len(recs.replies))
		recs.replies = append(recs.replies, rp)
		recs.exact[sh.exact] = append(recs.exact[sh.exact], i)
		recs.loose[sh.loose] = append(recs.loose[sh.loose], i)
		for _, f := range sh.feats {
			recs.postings[f] = append(recs.postings[f], i)
		}
		recs.nfeats = append(recs.nfeats, int32(len(sh.feats)))
		idx.indexed++
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("recordings %s: %w", path, err)
	}
	if !onDisk {
		db.Close()
		idx.db = nil
	}
	if idx.skipped > 0 {
		st.log.Warn("some operations have more recordings than are indexed; the oldest are used",
			"indexed", idx.indexed, "skipped", idx.skipped, "max_per_operation", max)
	}
	st.log.Debug("recordings indexed", "file", path, "exchanges", idx.indexed, "bodies_in_memory_bytes", inline, "bodies_on_disk", onDisk)
	return idx, nil
}

func (idx *replayIndex) close() {
	if idx.db != nil {
		idx.db.Close()
	}
}

// requestEncoding is the content coding of a recorded request body, ""
// when the body was stored decoded.
func requestEncoding(r *store.Request) string {
	if r.Body.Decoded != "" {
		return ""
	}
	return r.Header.Get("Content-Encoding")
}

// hopHeaders are not replayed: they describe the recorded connection, or
// are recomputed for the body sent now.
var hopHeaders = map[string]bool{
	"connection":          true,
	"proxy-connection":    true,
	"keep-alive":          true,
	"te":                  true,
	"trailer":             true,
	"transfer-encoding":   true,
	"upgrade":             true,
	"proxy-authenticate":  true,
	"proxy-authorization": true,
	"content-length":      true,
	"date":                true,
}

// recordedReply makes the reply of a recorded exchange, body aside.
func recordedReply(ex *store.Exchange) *reply {
	res := &ex.Response
	rp := &reply{status: res.Status, id: ex.ID, delay: ex.Duration, match: ex.ID.String() + "; score="}
	// Recordings imported by older versions may hold ":status" and the like:
	// the status line, not headers to send.
	header := res.Header.Regular()
	var conn []string
	for _, f := range header {
		if strings.EqualFold(f.Name, "Connection") {
			for v := range strings.SplitSeq(f.Value, ",") {
				conn = append(conn, strings.ToLower(strings.TrimSpace(v)))
			}
		}
	}
	for _, f := range header {
		n := strings.ToLower(f.Name)
		if hopHeaders[n] || contains(conn, n) {
			continue
		}
		if n == "content-encoding" {
			if res.Body.Decoded != "" {
				continue // stored decoded (HAR): sent as identity
			}
			if v := strings.ToLower(strings.TrimSpace(f.Value)); v != "identity" {
				rp.encoding = v
			}
		}
		rp.header = append(rp.header, store.Field{Name: http.CanonicalHeaderKey(f.Name), Value: f.Value})
	}
	return rp
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// find returns the recording that answers sh, with its score (100 for an
// exact match); nil when the operation has none. Identical requests walk
// through their recorded sequence and stay on its last answer.
func (recs *opRecordings) find(sh shape, seqs *sync.Map) (*reply, int) {
	if len(recs.replies) == 0 {
		return nil, 0
	}
	if seq := recs.exact[sh.exact]; len(seq) > 0 {
		return recs.replies[next(seq, sh.exact, seqs)], 100
	}
	if seq := recs.loose[sh.loose]; len(seq) > 0 {
		return recs.replies[next(seq, sh.loose, seqs)], 100
	}
	i, score := recs.best(sh)
	return recs.replies[i], score
}

// next returns the next reply of a recorded sequence of identical
// requests, staying on the last.
func next(seq []int32, key uint64, seqs *sync.Map) int32 {
	if len(seq) == 1 {
		return seq[0]
	}
	c, ok := seqs.Load(key)
	if !ok {
		c, _ = seqs.LoadOrStore(key, new(atomic.Uint32))
	}
	n := int(c.(*atomic.Uint32).Add(1)) - 1
	if n >= len(seq) {
		n = len(seq) - 1
		c.(*atomic.Uint32).Store(uint32(len(seq))) // no wrap-around
	}
	return seq[n]
}

// best scores every recording by the features it shares with the request
// (Jaccard similarity, 0-99) and returns the best, the oldest among equals.
func (recs *opRecordings) best(sh shape) (int, int) {
	cp := countsPool.Get().(*[]int32)
	defer countsPool.Put(cp)
	if cap(*cp) < len(recs.replies) {
		*cp = make([]int32, len(recs.replies))
	}
	counts := (*cp)[:len(recs.replies)]
	clear(counts)
	for _, f := range sh.feats {
		for _, i := range recs.postings[f] {
			counts[i]++
		}
	}
	best, bestScore := 0, -1
	for i, m := range counts {
		union := int32(len(sh.feats)) + recs.nfeats[i] - m
		score := 99
		if union > 0 {
			score = int(99 * m / union)
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	return best, bestScore
}

// countsPool holds the per-recording counters of best.
var countsPool = sync.Pool{New: func() any { return new([]int32) }}

// body returns the reply's body, reading it from the recordings file if it
// is not in memory.
func (idx *replayIndex) body(rp *reply) ([]byte, error) {
	if !rp.onDisk {
		return rp.body, nil
	}
	if idx == nil || idx.db == nil {
		return nil, errors.New("recordings file closed")
	}
	ex, err := idx.db.Get(rp.id)
	if err != nil {
		return nil, err
	}
	return ex.Response.Body.Data, nil
}
