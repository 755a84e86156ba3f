package replay

import (
	"sort"
	"time"

	"github.com/backworks/bw/store"
)

// Layer is one of the checks a live response goes through, in order.
type Layer string

// The layers, in the order they are checked. A failure at transport,
// status or content type stops the checks of that response; the others
// are all reported.
const (
	LayerTransport   Layer = "transport"    // the request could not be sent or the response read
	LayerStatus      Layer = "status"       // status code differs from the recording
	LayerContentType Layer = "content-type" // media type differs
	LayerHeaders     Layer = "headers"      // a recorded header is missing
	LayerShape       Layer = "shape"        // JSON structure or types differ from the recording
	LayerSpec        Layer = "spec"         // the response breaks the OpenAPI document
	LayerValues      Layer = "values"       // a stable field or header has another value
)

// Layers lists every layer in check order.
var Layers = []Layer{LayerTransport, LayerStatus, LayerContentType, LayerHeaders, LayerShape, LayerSpec, LayerValues}

// Outcome is the verdict on one replayed exchange.
type Outcome string

// The outcomes.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// Diff is one difference found in a live response.
type Diff struct {
	Layer Layer
	// Path is a JSON path ($.items[0].price) for body checks, "header
	// NAME" for header checks, empty for whole-response checks.
	Path    string
	Message string // e.g. "type number, want string"
}

// String formats the diff as "PATH: MESSAGE".
func (d Diff) String() string {
	if d.Path == "" {
		return d.Message
	}
	return d.Path + ": " + d.Message
}

// Result is the verdict on one recorded exchange.
type Result struct {
	ID      store.ID
	Session string
	Method  string
	Path    string // recorded path and query
	URL     string // as sent, after value chaining
	// Operation is "METHOD template" from the spec, or the method and a
	// path with identifier-like segments replaced by {id}.
	Operation  string
	Outcome    Outcome
	Status     int // live status; 0 when nothing came back
	WantStatus int // recorded status
	Duration   time.Duration
	// Diffs are the failures, in layer order, at most MaxDiffs of them;
	// MoreDiffs counts the rest.
	Diffs     []Diff
	MoreDiffs int
	Reason    string // why the exchange was skipped
	// WithoutValues, when set, says why differences in values were not
	// counted: an earlier write to the collection was skipped, so the
	// service holds other data than it did when recorded. The other
	// layers were checked.
	WithoutValues string
}

// MaxDiffs caps the diffs kept per result.
const MaxDiffs = 20

// Layer returns the first failing layer, or "" when the result passed.
func (r *Result) Layer() Layer {
	if len(r.Diffs) == 0 {
		return ""
	}
	return r.Diffs[0].Layer
}

// Name is the test's name in reports: method, recorded path and id.
func (r *Result) Name() string { return r.Method + " " + r.Path + " [" + r.ID.String() + "]" }

// Summary totals a run.
type Summary struct {
	Target   string
	Spec     string // where the spec came from: a file, "inferred", or "none"
	Started  time.Time
	Duration time.Duration
	Total    int
	Passed   int
	Failed   int // including transport errors
	Errors   int // failures at the transport layer
	Skipped  int
	// ByLayer counts failures by their first failing layer.
	ByLayer map[Layer]int
	// SkipReasons counts skips by reason.
	SkipReasons map[string]int
	// WithoutValues counts the exchanges whose differences in values were
	// not counted (see Result.WithoutValues), by reason.
	WithoutValues map[string]int
	// Operations lists the operations with failures, most first (at most
	// 20; OtherFailingOperations counts the rest).
	Operations             []OperationCount
	OtherFailingOperations int
	// Chained counts requests that had a value replaced by a live one.
	Chained int
}

// OperationCount is a number of failures of one operation.
type OperationCount struct {
	Operation string
	Failed    int
}

// Rate returns replayed (not skipped) exchanges per second.
func (s *Summary) Rate() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Total-s.Skipped) / s.Duration.Seconds()
}

// tally keeps the running totals; the failing operations are bounded.
type tally struct {
	sum   Summary
	ops   map[string]int
	other int
}

const maxTallyOps = 4096

func (t *tally) add(r *Result, chained bool) {
	s := &t.sum
	s.Total++
	if chained {
		s.Chained++
	}
	if r.WithoutValues != "" {
		if s.WithoutValues == nil {
			s.WithoutValues = make(map[string]int)
		}
		if len(s.WithoutValues) < 64 || s.WithoutValues[r.WithoutValues] > 0 {
			s.WithoutValues[r.WithoutValues]++
		}
	}
	switch r.Outcome {
	case Pass:
		s.Passed++
	case Skip:
		s.Skipped++
		if s.SkipReasons == nil {
			s.SkipReasons = make(map[string]int)
		}
		if len(s.SkipReasons) < 64 || s.SkipReasons[r.Reason] > 0 {
			s.SkipReasons[r.Reason]++
		}
	case Fail:
		s.Failed++
		l := r.Layer()
		if l == LayerTransport {
			s.Errors++
		}
		if s.ByLayer == nil {
			s.ByLayer = make(map[Layer]int)
		}
		s.ByLayer[l]++
		if t.ops == nil {
			t.ops = make(map[string]int)
		}
		if _, ok := t.ops[r.Operation]; ok || len(t.ops) < maxTallyOps {
			t.ops[r.Operation]++
		} else {
			t.other++
		}
	}
}

func (t *tally) summary() *Summary {
	s := t.sum
	for op, n := range t.ops {
		s.Operations = append(s.Operations, OperationCount{op, n})
	}
	sort.Slice(s.Operations, func(i, j int) bool {
		a, b := s.Operations[i], s.Operations[j]
		if a.Failed != b.Failed {
			return a.Failed > b.Failed
		}
		return a.Operation < b.Operation
	})
	if len(s.Operations) > 20 {
		s.OtherFailingOperations = len(s.Operations) - 20
		s.Operations = s.Operations[:20]
	}
	if t.other > 0 {
		s.OtherFailingOperations++
	}
	return &s
}

// Reporter receives results as they come. A run calls its methods from
// one goroutine at a time; Report is called once per exchange, in the order
// exchanges finish, then Finish once.
type Reporter interface {
	Report(r *Result) error
	Finish(s *Summary) error
}
