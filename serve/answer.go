package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/store"
)

// answer replies to a mock-mode request: the best recording, else the
// documented example, else a mock response, else an example generated
// from the response schema; else a 501 problem.
func (st *site) answer(w *responseWriter, r *http.Request, op *operation, params []param, body []byte, ri *reqInfo) {
	var (
		rp    *reply
		score int
	)
	if op.recs != nil {
		sh := st.replay.shaper.shape(reqParts{
			method:      r.Method,
			path:        r.URL.EscapedPath(),
			rawQuery:    r.URL.RawQuery,
			contentType: r.Header.Get("Content-Type"),
			encoding:    r.Header.Get("Content-Encoding"),
			body:        body,
			params:      params,
			credentials: credentialHeaders(liveFields(r.Header)),
		})
		rp, score = op.recs.find(sh, &st.srv.seqs)
	}
	if rp == nil {
		rp = op.static.get(op, r)
	}
	if rp == nil {
		st.srv.metrics.replayed("miss")
		cands := st.router.closest(r.Method, r.URL.EscapedPath(), 4)
		cands = slices.DeleteFunc(cands, func(c candidate) bool { return c.Route == op.route.template })
		var names []string
		for _, c := range cands {
			names = append(names, c.Route)
		}
		st.log.Info("no answer for request", "method", r.Method, "path", r.URL.Path, "route", op.route.template,
			"candidates", strings.Join(names, " "))
		writeProblem(w, &Problem{Type: typeNoAnswer, Status: http.StatusNotImplemented,
			Detail:     fmt.Sprintf("%s %s has no recording, example or mock response; record it with bw capture or add an example", r.Method, op.route.template),
			Candidates: cands})
		return
	}
	kind := rp.kind
	switch {
	case kind != "":
	case score == 100:
		kind = "exact"
	default:
		kind = "scored"
	}
	st.srv.metrics.replayed(kind)
	ri.match = st.writeReply(w, r, op, rp, score)
}

// matchHeader is the Bw-Match value of a reply.
func (rp *reply) matchHeader(score int) string {
	switch {
	case rp.kind != "" && rp.match != "":
		return rp.match
	case rp.kind != "":
		return rp.kind + "; score=0"
	case score == 100:
		return rp.match + "100"
	}
	return rp.match + strconv.Itoa(score)
}

// writeReply sends rp: its headers (CORS headers set already win), a
// Content-Encoding the client accepts, Content-Length for the body sent,
// Bw-Match, and Bw-Validation when the response does not match the
// description. It returns the Bw-Match value.
func (st *site) writeReply(w http.ResponseWriter, r *http.Request, op *operation, rp *reply, score int) string {
	body, err := st.replay.body(rp)
	if err != nil {
		st.log.Error("reading a recorded body", "exchange", rp.id, "err", err)
		writeProblem(w, &Problem{Type: typeNoAnswer, Status: http.StatusInternalServerError,
			Detail: fmt.Sprintf("recording %s: %v", rp.id, err)})
		return ""
	}
	h := w.Header()
	cors := st.cors != nil && h.Get("Access-Control-Allow-Origin") != ""
	for _, f := range rp.header {
		if cors && strings.HasPrefix(f.Name, "Access-Control-") {
			continue
		}
		h[f.Name] = append(h[f.Name], f.Value)
	}
	raw := body
	encoding := rp.encoding
	if encoding != "" && !acceptsEncoding(r.Header.Get("Accept-Encoding"), encoding) {
		if dec, err := decodeBody(body, encoding, 1<<30); err == nil {
			body, encoding = dec, ""
			h.Del("Content-Encoding")
		}
	}
	match := rp.matchHeader(score)
	h["Bw-Match"] = []string{match}

	status := rp.status
	if st.resMode != api.Off && op.kin != nil && status != 0 {
		if vs := st.checkReply(r, op, rp, raw); len(vs) > 0 {
			st.srv.metrics.validation.WithLabelValues("response", op.route.template).Inc()
			if st.resMode == api.Enforce {
				for k := range h {
					if k != "Bw-Match" && !strings.HasPrefix(k, "Access-Control-") && k != "Vary" {
						delete(h, k)
					}
				}
				writeProblem(w, &Problem{Type: typeInvalidResponse, Status: http.StatusBadGateway,
					Detail: fmt.Sprintf("the %s answer to %s %s does not match the API description", describe(rp), op.method, op.route.template),
					Errors: vs})
				return match
			}
			h["Bw-Validation"] = []string{"failed"}
		}
	}
	if d := st.delay(rp); d > 0 {
		if !sleep(r.Context(), d) {
			return match
		}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return match
}

func describe(rp *reply) string {
	if rp.kind != "" {
		return rp.kind
	}
	return "recorded (" + rp.id.String() + ")"
}

// checkReply validates a fixed answer once and remembers the outcome;
// the first failure is logged. body is the reply's body as stored (still
// in its content coding).
func (st *site) checkReply(r *http.Request, op *operation, rp *reply, body []byte) []Violation {
	if vs := rp.valid.state.Load(); vs != nil {
		return *vs
	}
	header := make(http.Header, len(rp.header))
	for _, f := range rp.header {
		header[f.Name] = append(header[f.Name], f.Value)
	}
	plain := body
	if rp.encoding != "" {
		dec, err := decodeBody(body, rp.encoding, 1<<30)
		if err != nil {
			vs := []Violation{{Location: "body", Message: "cannot decode the " + rp.encoding + " body: " + err.Error()}}
			if rp.valid.state.CompareAndSwap(nil, &vs) {
				st.log.Warn("response body cannot be decoded", "answer", describe(rp), "err", err)
			}
			return vs
		}
		plain = dec
		header.Del("Content-Encoding")
	}
	vs := st.responseViolations(r.Context(), r, op, rp.status, header, plain)
	if vs == nil {
		vs = []Violation{}
	}
	if rp.valid.state.CompareAndSwap(nil, &vs) && len(vs) > 0 {
		st.log.Warn("response does not match the API description", "answer", describe(rp),
			"method", op.method, "route", op.route.template, "status", rp.status,
			"violations", len(vs), "first", vs[0].Location+": "+vs[0].Message)
	}
	return vs
}

// acceptsEncoding reports whether an Accept-Encoding value allows coding.
func acceptsEncoding(accept, coding string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != coding && name != "*" && !(coding == "gzip" && name == "x-gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(strings.TrimSpace(params), " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

func (st *site) delay(rp *reply) time.Duration {
	switch st.latency.Mode {
	case LatencyRecorded:
		if rp.kind == "" {
			return rp.delay
		}
	case LatencyFixed:
		return st.latency.Fixed
	}
	return 0
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// staticReplies are an operation's answers that do not come from
// recordings, built on first use.
type staticReplies struct {
	once    sync.Once
	example *reply            // documented example, or empty documented response
	schema  *reply            // generated from the response schema
	mocks   map[string]*reply // by mock key
}

// get returns the answer to r when no recording answers: the documented
// example, a mock response, or a generated example, in that order.
func (sr *staticReplies) get(op *operation, r *http.Request) *reply {
	sr.once.Do(func() { sr.build(op) })
	if sr.example != nil {
		return sr.example
	}
	if len(sr.mocks) > 0 {
		m := r.Method
		if m == http.MethodHead {
			m = http.MethodGet
		}
		for _, k := range []string{m + " " + r.URL.Path, m + " " + op.route.template, m, "*"} {
			if rp := sr.mocks[k]; rp != nil {
				return rp
			}
		}
	}
	return sr.schema
}

func (sr *staticReplies) build(op *operation) {
	statuses := documentedStatuses(op.ep)
	for _, status := range statuses {
		if res := op.ep.Responses[status]; res.HasExample {
			sr.example = exampleReply(status, res, res.Example, "example")
			break
		}
	}
	for k, m := range op.ep.Mock {
		if sr.mocks == nil {
			sr.mocks = map[string]*reply{}
		}
		sr.mocks[strings.TrimSpace(k)] = mockReply(m)
	}
	if sr.example != nil {
		return
	}
	for _, status := range statuses {
		res := op.ep.Responses[status]
		switch {
		case res.Schema != nil:
			sr.schema = exampleReply(status, res, exampleFromSchema(res.Schema), "schema")
		case status/100 == 2 || len(statuses) == 1:
			// documented without a body (204, say): nothing to make up
			sr.example = exampleReply(status, res, nil, "example")
			sr.example.body = nil
		default:
			continue
		}
		return
	}
}

// documentedStatuses lists an endpoint's response statuses, 2xx first.
func documentedStatuses(ep *api.Endpoint) []int {
	var out []int
	for s := range ep.Responses {
		if ep.Responses[s] != nil {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b int) int {
		a2, b2 := a/100 == 2, b/100 == 2
		if a2 != b2 {
			if a2 {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
	})
	return out
}

// errorExample is the documented example of an operation's 400 (else 422)
// response, sent for invalid requests.
func errorExample(op *operation) *reply {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity} {
		if res := op.ep.Responses[status]; res != nil && res.HasExample {
			return exampleReply(status, res, res.Example, "example")
		}
	}
	return nil
}

// exampleReply makes the reply for a documented response with body value v.
func exampleReply(status int, res *api.Response, v any, kind string) *reply {
	ct := res.ContentType
	if ct == "" {
		ct = "application/json"
	}
	rp := &reply{status: status, kind: kind, match: kind + "; score=0", body: encodeValue(v, ct)}
	rp.header = append(rp.header, store.Field{Name: "Content-Type", Value: ct})
	names := make([]string, 0, len(res.Headers))
	for name := range res.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.EqualFold(name, "Content-Type") || strings.EqualFold(name, "Content-Length") {
			continue
		}
		v := exampleFromSchema(res.Headers[name])
		rp.header = append(rp.header, store.Field{Name: http.CanonicalHeaderKey(name), Value: headerValue(v)})
	}
	return rp
}

func headerValue(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// mockReply makes the reply of a Backworks mock response.
func mockReply(m *api.MockResponse) *reply {
	status := m.Status
	if status == 0 {
		status = http.StatusOK
	}
	rp := &reply{status: status, kind: "mock", match: "mock; score=0"}
	ct := ""
	names := make([]string, 0, len(m.Headers))
	for name := range m.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.EqualFold(name, "Content-Length") {
			continue
		}
		if strings.EqualFold(name, "Content-Type") {
			ct = m.Headers[name]
		}
		rp.header = append(rp.header, store.Field{Name: http.CanonicalHeaderKey(name), Value: m.Headers[name]})
	}
	if ct == "" && m.Body != nil {
		ct = "application/json"
		if _, ok := m.Body.(string); ok {
			ct = "text/plain; charset=utf-8"
		}
		rp.header = append(rp.header, store.Field{Name: "Content-Type", Value: ct})
	}
	if m.Body != nil {
		rp.body = encodeValue(m.Body, ct)
	}
	return rp
}

// encodeValue encodes v as JSON, unless it is a string and the content
// type is not JSON: then it is the body as is.
func encodeValue(v any, ct string) []byte {
	if s, ok := v.(string); ok && !strings.Contains(strings.ToLower(ct), "json") {
		return []byte(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprint(v))
	}
	return b
}
