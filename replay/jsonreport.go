package replay

import (
	"bufio"
	"encoding/json"
	"io"
	"time"
)

// JSON writes a machine-readable report as one JSON document:
//
//	{"results": [RESULT, ...], "summary": SUMMARY}
//
// Results are written as they come, so memory stays constant. A RESULT has
// id, session, method, path, url, operation, outcome (pass, fail, skip),
// status, want_status, duration_seconds, and when it failed layer, diffs
// ([{layer, path, message}]) and more_diffs, when it was skipped reason,
// and when differences in its values were not counted without_values
// (why). The SUMMARY has target, spec, started, duration_seconds, total,
// passed, failed, errors, skipped, rate (exchanges per second), chained,
// by_layer, skip_reasons, without_values (counts by why) and
// failing_operations.
type JSON struct {
	w   *bufio.Writer
	n   int
	enc *json.Encoder
}

// NewJSON returns a JSON reporter writing to w.
func NewJSON(w io.Writer) *JSON {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &JSON{w: bw, enc: json.NewEncoder(bw)}
}

type jsonDiff struct {
	Layer   Layer  `json:"layer"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

type jsonResult struct {
	ID         string     `json:"id"`
	Session    string     `json:"session,omitempty"`
	Method     string     `json:"method"`
	Path       string     `json:"path"`
	URL        string     `json:"url,omitempty"`
	Operation  string     `json:"operation"`
	Outcome    Outcome    `json:"outcome"`
	Status     int        `json:"status,omitempty"`
	WantStatus int        `json:"want_status"`
	Duration   float64    `json:"duration_seconds"`
	Layer      Layer      `json:"layer,omitempty"`
	Diffs      []jsonDiff `json:"diffs,omitempty"`
	MoreDiffs  int        `json:"more_diffs,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	NoValues   string     `json:"without_values,omitempty"`
}

// Report implements [Reporter].
func (j *JSON) Report(r *Result) error {
	if j.n == 0 {
		j.w.WriteString("{\"results\": [\n")
	} else {
		j.w.WriteString(",\n")
	}
	j.n++
	jr := jsonResult{
		ID: r.ID.String(), Session: r.Session, Method: r.Method, Path: r.Path, URL: r.URL,
		Operation: r.Operation, Outcome: r.Outcome, Status: r.Status, WantStatus: r.WantStatus,
		Duration: r.Duration.Seconds(), Layer: r.Layer(), MoreDiffs: r.MoreDiffs, Reason: r.Reason,
		NoValues: r.WithoutValues,
	}
	for _, d := range r.Diffs {
		jr.Diffs = append(jr.Diffs, jsonDiff(d))
	}
	b, err := json.Marshal(jr)
	if err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

// Finish implements [Reporter].
func (j *JSON) Finish(s *Summary) error {
	if j.n == 0 {
		j.w.WriteString("{\"results\": [")
	}
	j.w.WriteString("\n],\n\"summary\": ")
	ops := make([]map[string]any, 0, len(s.Operations))
	for _, o := range s.Operations {
		ops = append(ops, map[string]any{"operation": o.Operation, "failed": o.Failed})
	}
	err := j.enc.Encode(map[string]any{
		"target": s.Target, "spec": s.Spec, "started": s.Started.UTC().Format(time.RFC3339Nano),
		"duration_seconds": s.Duration.Seconds(), "total": s.Total, "passed": s.Passed,
		"failed": s.Failed, "errors": s.Errors, "skipped": s.Skipped, "rate": s.Rate(),
		"chained": s.Chained, "by_layer": s.ByLayer, "skip_reasons": s.SkipReasons,
		"without_values":     s.WithoutValues,
		"failing_operations": ops, "other_failing_operations": s.OtherFailingOperations,
	})
	if err != nil {
		return err
	}
	j.w.WriteString("}\n")
	return j.w.Flush()
}
