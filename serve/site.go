package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/upstream"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// defaultMaxBody is Validation.MaxBodySize's default.
const defaultMaxBody = 10 << 20

// site is one loaded version of the API description with everything built
// from it. A reload builds a new site and swaps it in; the old one is closed
// when its last request ends.
type site struct {
	srv     *Server
	doc     *api.Doc
	log     *slog.Logger
	router  *router
	ops     []*operation
	maxBody int64
	reqMode api.Enforcement
	resMode api.Enforcement
	cors    *corsPolicy
	latency Latency
	proxy   *proxier       // nil without proxy endpoints
	pools   []endpointPool // in file order
	limits  *limits        // nil without rate limits
	replay  *replayIndex   // nil without recordings
	loaded  time.Time

	refs      atomic.Int64
	retired   atomic.Bool
	closeOnce sync.Once
}

// endpointPool is the upstream pool of a proxy endpoint.
type endpointPool struct {
	ep   *api.Endpoint
	pool *upstream.Pool
}

// operation is one method of one route: what answers it and how requests
// and responses are checked.
type operation struct {
	ep     *api.Endpoint
	method string // upper case; "*" for every method
	route  *route
	mode   api.Mode

	// validation, when the document has the operation
	kin         *routers.Route
	oaParams    []string // names of the OpenAPI path's parameters, in order
	strictQuery bool     // x-bw-strict-query: unknown query parameters are errors
	knownQuery  map[string]bool
	reqTypes    []string         // request content types the operation takes; empty: any
	reqContent  openapi3.Content // the same, for media-range matching
	urlOnly     bool             // parameters only in path and query
	validURLs   sync.Map         // hash of path?query -> struct{}: requests without body that validated
	nValid      atomic.Int32

	// answers
	recs     *opRecordings // nil without recordings
	static   staticReplies
	errReply *reply // the documented 400/422 example, for invalid requests

	pool *upstream.Pool // proxy mode
}

// build turns a loaded document into a site; errors name the endpoint.
func (s *Server) build(doc *api.Doc) (*site, error) {
	if doc == nil {
		return nil, errors.New("serve: nil document")
	}
	st := &site{
		srv:     s,
		doc:     doc,
		log:     s.log,
		maxBody: doc.Security.Validation.MaxBodySize,
		reqMode: doc.Security.Validation.Requests,
		resMode: doc.Security.Validation.Responses,
		latency: s.cfg.Latency,
		loaded:  time.Now(),
	}
	if st.maxBody <= 0 {
		st.maxBody = defaultMaxBody
	}
	if st.reqMode == "" {
		st.reqMode = api.Enforce
	}
	if st.resMode == "" {
		st.resMode = api.Report
	}
	if doc.CORS != nil {
		st.cors = newCORS(doc.CORS)
	}
	ok := false
	defer func() {
		if !ok {
			st.close()
		}
	}()

	oa := newOpenAPIIndex(doc.OpenAPI)
	pools := map[*api.Endpoint]*upstream.Pool{} // one per endpoint, whatever its methods
	byTemplate := map[string]*route{}
	var routes []*route
	for i, ep := range doc.Endpoints {
		segs, err := parseTemplate(ep.Path)
		if err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", ep.Name, err)
		}
		key := canonicalTemplate(segs)
		r := byTemplate[key]
		if r == nil {
			r = &route{template: trimSlash(ep.Path), segs: segs, order: i, ops: map[string]*operation{}}
			for _, sg := range segs {
				switch sg.kind {
				case segParam, segPattern:
					r.nparams++
				case segWild:
					r.nparams++
					r.wildcard = true
				}
			}
			byTemplate[key] = r
			routes = append(routes, r)
		}
		methods := ep.Methods
		if len(methods) == 0 {
			methods = []string{"*"}
		}
		mode := ep.Mode
		if mode == "" {
			mode = doc.Mode
		}
		if mode == "" {
			mode = api.ModeMock
		}
		for _, m := range methods {
			m = strings.ToUpper(m)
			if prev := r.ops[m]; prev != nil {
				st.log.Warn("two endpoints answer the same method and path; the first wins",
					"method", m, "path", ep.Path, "first", prev.ep.Name, "ignored", ep.Name)
				continue
			}
			op := &operation{ep: ep, method: m, route: r, mode: mode}
			if mode == api.ModeProxy {
				if ep.Proxy == nil || len(ep.Proxy.Targets) == 0 {
					return nil, fmt.Errorf("endpoint %s: proxy mode needs at least one target", ep.Name)
				}
				if pools[ep] == nil {
					pool, err := newBalancer(ep.Proxy, s)
					if err != nil {
						return nil, fmt.Errorf("endpoint %s: %w", ep.Name, err)
					}
					pools[ep] = pool
					st.pools = append(st.pools, endpointPool{ep, pool})
				}
				op.pool = pools[ep]
			}
			oa.bind(op)
			op.prepare(st)
			r.ops[m] = op
			st.ops = append(st.ops, op)
		}
	}
	for _, r := range routes {
		for m := range r.ops {
			if m == "*" {
				r.allow = []string{"*"}
				break
			}
			r.allow = append(r.allow, m)
			if m == "GET" && r.ops["HEAD"] == nil {
				r.allow = append(r.allow, "HEAD")
			}
		}
		slices.Sort(r.allow)
	}
	st.router = newRouter(routes)
	lim, err := newLimits(st, doc, s.cfg.NewLimiter)
	if err != nil {
		return nil, err
	}
	st.limits = lim
	if len(st.pools) > 0 {
		st.proxy = newProxier(st)
		for _, p := range st.pools {
			if err := p.pool.Start(context.Background()); err != nil {
				return nil, err
			}
		}
	}
	if path := s.recordingsPath(doc); path != "" {
		idx, err := buildReplayIndex(context.Background(), st, path, s.cfg.MaxRecordings)
		if err != nil {
			return nil, err
		}
		st.replay = idx
	}
	ok = true
	return st, nil
}

// canonicalTemplate is a template with its parameter names erased, so that
// /pets/{id} and /pets/{petId} are one route.
func canonicalTemplate(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		switch s.kind {
		case segLiteral:
			b.WriteString(s.lit)
		case segPattern:
			b.WriteString(s.prefix + "{}" + s.suffix)
		case segParam:
			b.WriteString("{}")
		case segWild:
			b.WriteString("{*}")
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// prepare derives what the operation needs per request from the endpoint.
func (op *operation) prepare(st *site) {
	if op.reqContent == nil && op.ep.Request != nil && op.ep.Request.ContentType != "" {
		op.reqTypes = []string{op.ep.Request.ContentType}
		op.reqContent = openapi3.NewContentWithSchema(nil, op.reqTypes)
	}
	op.errReply = errorExample(op)
}

// release ends a request's use of the site.
func (st *site) release() {
	if st.refs.Add(-1) == 0 && st.retired.Load() {
		st.close()
	}
}

// retire marks the site replaced; it closes when its last request ends.
func (st *site) retire() {
	st.retired.Store(true)
	if st.refs.Load() == 0 {
		st.close()
	}
}

// close releases the recordings file and stops health checks.
func (st *site) close() {
	st.closeOnce.Do(func() {
		for _, p := range st.pools {
			p.pool.Close()
		}
		if st.limits != nil {
			st.limits.close()
		}
		if st.proxy != nil {
			st.proxy.close()
		}
		if st.replay != nil {
			st.replay.close()
		}
	})
}

// serve answers one API request.
func (st *site) serve(w *responseWriter, r *http.Request, ri *reqInfo) {
	if st.cors != nil {
		if st.cors.preflight(w, r) {
			ri.route = "OPTIONS *"
			return
		}
		st.cors.decorate(w.Header(), r)
	}
	path := r.URL.EscapedPath()
	rt, op, matched := st.router.lookup(r.Method, path)
	if op == nil {
		if matched {
			allow := st.router.allowed(path)
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, &Problem{Type: typeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
				Detail: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", "))})
			return
		}
		writeProblem(w, &Problem{Type: typeNotFound, Status: http.StatusNotFound,
			Detail:     fmt.Sprintf("no route matches %s %s", r.Method, r.URL.Path),
			Candidates: st.router.closest(r.Method, path, 3)})
		return
	}
	ri.route = rt.template
	if st.limits != nil && !st.limits.allow(w, r, op) {
		return
	}
	params := rt.params(path)
	body, ok := st.readBody(w, r)
	if !ok {
		return
	}
	if !st.checkContentType(w, r, op, body) {
		return
	}
	if !st.validateRequest(w, r, op, params, body) {
		return
	}
	if op.mode == api.ModeProxy {
		st.proxy.serve(w, r, op, body, ri)
		return
	}
	st.answer(w, r, op, params, body, ri)
}

// readBody reads the request body up to the size limit; over it, the
// client gets a 413.
func (st *site) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > st.maxBody {
		st.tooLarge(w, r)
		return nil, false
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true
	}
	body, err := readAllLimit(r.Body, r.ContentLength, st.maxBody)
	if errors.Is(err, errTooLarge) {
		st.tooLarge(w, r)
		return nil, false
	}
	if err != nil {
		writeProblem(w, &Problem{Type: typeInvalidRequest, Status: http.StatusBadRequest,
			Detail: "reading the request body: " + err.Error()})
		return nil, false
	}
	return body, true
}

func (st *site) tooLarge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	writeProblem(w, &Problem{Type: typeTooLarge, Status: http.StatusRequestEntityTooLarge,
		Detail: fmt.Sprintf("the request body is larger than the limit of %d bytes (security.validation.max_body_size)", st.maxBody)})
}

// checkContentType answers 415 when a body comes with a media type the
// operation does not take.
func (st *site) checkContentType(w http.ResponseWriter, r *http.Request, op *operation, body []byte) bool {
	if len(body) == 0 || op.reqContent == nil {
		return true
	}
	ct := r.Header.Get("Content-Type")
	if ct != "" && op.reqContent.Get(ct) != nil {
		return true
	}
	if ct == "" {
		ct = "none"
	}
	w.Header().Set("Accept-Post", strings.Join(op.reqTypes, ", "))
	writeProblem(w, &Problem{Type: typeMediaType, Status: http.StatusUnsupportedMediaType,
		Detail: fmt.Sprintf("Content-Type %s is not accepted by %s %s; send %s", ct, r.Method, op.route.template, strings.Join(op.reqTypes, " or ")),
		Errors: []Violation{{Location: "header.Content-Type", Message: "unsupported media type " + ct}}})
	return false
}
