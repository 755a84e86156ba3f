package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/backworks/bw/infer"
	"github.com/backworks/bw/store"
	"github.com/getkin/kin-openapi/openapi3"
)

// Defaults for the zero fields of [Options].
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
)

// ErrNoTarget is returned by [Run] and [LearnNoise] when Options.Target is
// not an absolute http:// or https:// URL.
var ErrNoTarget = errors.New("target must be an absolute http:// or https:// URL")

// Options configures [Run] and [LearnNoise]. Only Target is required; the
// zero value of every other field means its documented default.
type Options struct {
	// Target is the service under test. Recorded paths are appended to
	// its path: with http://host/v2, GET /users goes to http://host/v2/users.
	Target *url.URL
	// Concurrency is how many requests are in flight at once (-j);
	// 0 means DefaultConcurrency. With 1, exchanges run one at a time in
	// capture order.
	Concurrency int
	// Filter selects the exchanges to replay; nil selects all.
	Filter *Filter
	// Host, when set, selects the exchanges of one service, named as bw
	// infer names services (see [infer.ServiceOf]: lower case, no :80 or
	// :443), on top of Filter; "" selects every host. [Services] counts
	// what each would select; bw test picks the busiest by default.
	Host string
	// Spec is the OpenAPI document responses are validated against. When
	// nil, the document bw infer would write for the recordings is used,
	// unless NoSpec is set.
	Spec *openapi3.T
	// SpecName says where Spec came from, for the summary.
	SpecName string
	// NoSpec turns the spec layer off.
	NoSpec bool
	// Noise adds and removes noise rules (see [Noise]).
	Noise Noise
	// Header supplies request headers, credentials above all, since
	// recordings hold redacted values. A header the selected recordings
	// never carry is added to every request. One they carry replaces the
	// recorded value in the requests that had it: all of them, or, when
	// the recordings hold this very secret (the same placeholder), only
	// those that sent it, and a request recorded with another credential
	// (a wrong one, to test a 401) is skipped. "Host" sets the Host header
	// of every request.
	//
	// A redacted placeholder is never sent: an exchange whose request
	// would carry one (in a header, the path, the query or the body) that
	// neither Header nor value chaining replaces is skipped, the reason
	// saying where.
	Header http.Header
	// AllowWrites replays POST, PUT, PATCH, DELETE (every method but GET,
	// HEAD, OPTIONS and TRACE) against a target that is not loopback;
	// without it they are skipped. Loopback targets (127.0.0.0/8, ::1,
	// localhost) always get them.
	AllowWrites bool
	// Order says which exchanges keep their recorded order; "" means
	// OrderSession.
	Order Ordering
	// Timeout bounds each request, response body included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Client sends the requests; nil means a client made for Concurrency.
	// Redirects are never followed.
	Client *http.Client
	// Reporters get every result as it comes, then the summary.
	Reporters []Reporter
	// Logger gets debug lines per exchange; nil discards.
	Logger *slog.Logger
	// Progress, when set, is called after each exchange with the number
	// done and the number selected.
	Progress func(done, total int64)
}

// Ordering says which recorded exchanges keep their order at replay; a
// request sending a value handed out by an earlier response always waits
// for it.
type Ordering string

// The orderings.
const (
	// OrderSession: in each session, a write (any method but GET, HEAD,
	// OPTIONS, TRACE) waits for everything recorded before it, and a read
	// waits for the last write; reads between two writes run concurrently.
	OrderSession Ordering = "session"
	// OrderCollection: the same per session and collection (the path up
	// to its first parameter). More concurrency, but a read may overtake a
	// write to another collection that changes what it returns.
	OrderCollection Ordering = "collection"
	// OrderStrict: each session in capture order, sessions concurrently.
	OrderStrict Ordering = "strict"
)

// Run replays the exchanges of db that opts.Filter selects against
// opts.Target and checks each response; see the package documentation.
// It returns an error only when the run could not be made (bad options,
// a failing store, a reporter that could not write); failed checks are
// counted in the summary and reported to opts.Reporters.
func Run(ctx context.Context, db *store.DB, opts Options) (*Summary, error) {
	r, err := newRunner(ctx, db, opts, false)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

// runner is one run: its settings, then the planner's state (owned by the
// goroutine reading the store) and the totals (guarded by mu).
type runner struct {
	opts     Options
	db       *store.DB
	log      *slog.Logger
	client   *http.Client
	own      *http.Transport // the transport we made, closed at the end
	base     string          // scheme://host/path of the target, no trailing slash
	writesOK bool
	timeout  time.Duration
	conc     int
	rules    *noiseRules
	spec     *specIndex
	recNoise *recNoise
	total    int64
	learn    *learner // LearnNoise's state; nil for Run
	userHdr  map[string]*userHeader
	// specHost is the service an inferred spec describes: exchanges of
	// other hosts are not checked against it, since its paths say nothing
	// about theirs. "" when the spec applies to every exchange.
	specHost string

	// planner state
	seq       uint64
	producers *genMap[string, *handle]
	scopes    map[string]*scope
	taints    *genMap[string, taintSet] // by scope key
	inflight  chan struct{}             // jobs planned and not finished
	workers   chan struct{}             // requests in flight
	wg        sync.WaitGroup

	mu        sync.Mutex
	tally     tally
	done      int64
	reportErr error
}

func newRunner(ctx context.Context, db *store.DB, opts Options, learn bool) (*runner, error) {
	t := opts.Target
	if t == nil || (t.Scheme != "http" && t.Scheme != "https") || t.Host == "" {
		return nil, ErrNoTarget
	}
	if opts.Concurrency < 0 {
		return nil, fmt.Errorf("concurrency must be >= 0 (got %d)", opts.Concurrency)
	}
	switch opts.Order {
	case "":
		opts.Order = OrderSession
	case OrderSession, OrderCollection, OrderStrict:
	default:
		return nil, fmt.Errorf("unknown order %q: use session, collection or strict", opts.Order)
	}
	rules, err := compileNoise(opts.Noise)
	if err != nil {
		return nil, err
	}
	if opts.Host != "" {
		opts.Host = infer.ServiceOf(&store.Request{Host: opts.Host})
	}
	r := &runner{
		opts:      opts,
		db:        db,
		log:       opts.Logger,
		base:      t.Scheme + "://" + t.Host + strings.TrimRight(t.EscapedPath(), "/"),
		writesOK:  opts.AllowWrites || isLoopback(t.Hostname()),
		timeout:   opts.Timeout,
		conc:      opts.Concurrency,
		rules:     rules,
		producers: newGenMap[string, *handle](producerEntries),
		scopes:    make(map[string]*scope),
		taints:    newGenMap[string, taintSet](taintScopes),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.conc == 0 {
		r.conc = DefaultConcurrency
	}
	r.inflight = make(chan struct{}, max(64, 4*r.conc))
	r.workers = make(chan struct{}, r.conc)
	r.userHdr = make(map[string]*userHeader, len(opts.Header))
	for k, vs := range opts.Header {
		k = http.CanonicalHeaderKey(k)
		uh := &userHeader{values: vs}
		if len(vs) == 1 {
			ex := &store.Exchange{Request: store.Request{Header: store.Header{{Name: k, Value: vs[0]}}}}
			db.Redactor().Exchange(ex)
			if red := ex.Request.Header[0].Value; red != vs[0] {
				uh.redacted = red
			}
		}
		r.userHdr[k] = uh
	}
	if learn {
		r.learn = &learner{body: map[string]bool{}, headers: map[string]bool{}}
	}

	switch {
	case opts.Spec != nil:
		r.spec = newSpecIndex(opts.Spec)
		if r.opts.SpecName == "" {
			r.opts.SpecName = "given"
		}
	case opts.NoSpec || learn:
		r.opts.SpecName = "none"
	default:
		host := opts.Host
		if host == "" {
			if h := opts.Filter.scanFilter().Host; h != "" {
				host = infer.ServiceOf(&store.Request{Host: h})
			}
		}
		doc, specHost, err := inferSpec(ctx, db, host)
		if err != nil {
			return nil, fmt.Errorf("%w; name a spec or turn the spec check off", err)
		}
		r.spec, r.specHost = newSpecIndex(doc), specHost
		r.opts.SpecName = "inferred from the recordings"
	}
	if r.recNoise, r.total, err = r.learnRecordings(ctx); err != nil {
		return nil, fmt.Errorf("read the recordings: %w", err)
	}

	r.client = opts.Client
	if r.client == nil {
		r.own = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * r.conc,
			MaxIdleConnsPerHost: 2 * r.conc,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			DisableCompression:  true, // recorded Accept-Encoding is sent; bodies are decoded here
		}
		r.client = &http.Client{Transport: r.own}
	}
	c := *r.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r.client = &c
	return r, nil
}

// selects reports whether the run replays ex.
func (r *runner) selects(ex *store.Exchange) bool {
	return r.opts.Filter.Match(ex) && (r.opts.Host == "" || infer.ServiceOf(&ex.Request) == r.opts.Host)
}

// Services counts the exchanges of db that f selects, by service as bw
// infer names them (see [infer.ServiceOf]); [infer.Busiest] picks the one
// bw infer would describe.
func Services(ctx context.Context, db *store.DB, f *Filter) (map[string]int, error) {
	counts := make(map[string]int)
	err := db.Scan(ctx, f.scanFilter(), func(ex *store.Exchange) error {
		if f.Match(ex) {
			counts[infer.ServiceOf(&ex.Request)]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the recordings: %w", err)
	}
	return counts, nil
}

// userReplaces reports whether Options.Header replaces a recorded header
// (canonical name, value) in the request that carries it.
func (r *runner) userReplaces(name, value string) bool {
	uh := r.userHdr[name]
	return uh != nil && (!uh.matched || value == uh.redacted)
}

// userHeader is a header of Options.Header and what the recordings say
// about it.
type userHeader struct {
	values   []string
	redacted string // the value as the store redacts it; "" if it does not
	seen     bool   // some selected request carries the header
	matched  bool   // some selected request carries this very value
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if i := strings.IndexByte(h, '%'); i >= 0 {
		h = h[:i]
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (r *runner) run(ctx context.Context) (*Summary, error) {
	start := time.Now()
	r.tally.sum = Summary{Target: r.base, Spec: r.opts.SpecName, Started: start}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var w window
	var ready []*held
	dispatch := func() error {
		for i, h := range ready {
			ready[i] = nil
			if err := r.dispatch(ctx, h); err != nil {
				return err
			}
		}
		ready = ready[:0]
		return nil
	}
	err := r.db.Scan(ctx, r.opts.Filter.scanFilter(), func(ex *store.Exchange) error {
		if !r.selects(ex) {
			return nil
		}
		ready = w.add(r.hold(ex), ready)
		return dispatch()
	})
	if err == nil {
		ready = w.drain(ready)
		err = dispatch()
	}
	r.wg.Wait()
	if r.own != nil {
		r.own.CloseIdleConnections()
	}
	r.mu.Lock()
	s := r.tally.summary()
	r.mu.Unlock()
	s.Duration = time.Since(start)
	for _, rep := range r.opts.Reporters {
		if e := rep.Finish(s); e != nil && r.reportErr == nil {
			r.reportErr = fmt.Errorf("write report: %w", e)
		}
	}
	if err != nil {
		return s, err
	}
	return s, r.reportErr
}

// dispatch plans the exchange of h and runs it, or starts it running.
func (r *runner) dispatch(ctx context.Context, h *held) error {
	j := r.plan(h)
	if r.conc == 1 {
		r.exec(ctx, j)
		return ctx.Err()
	}
	select {
	case r.inflight <- struct{}{}:
	case <-ctx.Done():
		r.abandon(j)
		return ctx.Err()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.exec(ctx, j)
		<-r.inflight
	}()
	return nil
}

// job is one exchange on its way through the run.
type job struct {
	seq   uint64
	ex    *store.Exchange
	desc  string // METHOD path, for messages
	write bool
	op    string
	route *route
	skip  string // why it will not be sent, decided when planned

	reqMedia string
	rec      body // the recorded response body
	subs     []sub
	soft     map[string]*handle // values the recorded response shares with earlier ones
	produced []produced
	deps     []*handle
	taints   []taintRef // collections skipped writes may have changed
	overlap  string     // the collection of a write it ran alongside at capture

	*handle
}

// handle is what later exchanges keep of a job: whether it is done, what
// its values became. The job itself is dropped once it is reported.
type handle struct {
	done chan struct{} // closed once live and skipped are final
	live mapping       // what the job's produced values became
	// skipped is set when the exchange was not sent.
	skipped bool
	// planSkipped is set when the planner decided not to send it (read
	// and written by the planner only).
	planSkipped bool
	// write says what a skipped producer means to the reads sending its
	// values: a create that never happened.
	write bool
}

// producerEntries bounds the values remembered for chaining, per
// generation (see genMap): a value handed out more than this many values
// ago may be forgotten, and later requests then send the recorded value.
// A variable so that tests can make the bound bite early.
var producerEntries = 1 << 15

// sub is a value of a recorded request handed out by an earlier response.
type sub struct {
	value string
	from  *handle
}

// scope orders the exchanges of one session (or session and collection):
// a write waits for everything before it, a read for the last write.
type scope struct {
	lastWrite *handle
	readers   []*handle
}

func safeMethod(m string) bool {
	switch strings.ToUpper(m) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// plan builds the job for h's exchange: what it depends on, what it
// hands out.
// Only the goroutine reading the store calls it.
func (r *runner) plan(h *held) *job {
	r.seq++
	ex := h.ex
	req := &ex.Request
	j := &job{seq: r.seq, ex: ex, desc: req.Method + " " + req.Path, handle: &handle{done: make(chan struct{})}}
	j.write = !safeMethod(req.Method)
	j.handle.write = j.write
	j.op, j.route, j.overlap = h.op, h.route, h.overlap
	scopeKey := h.scopeKey
	key := ex.Session
	if r.opts.Order == OrderCollection {
		key += "\x00" + scopeKey
	}
	switch {
	case ex.Error != "":
		j.skip = "the recorded exchange failed upstream"
	case ex.Response.Status == 0:
		j.skip = "no recorded response"
	case ex.Response.Status == http.StatusSwitchingProtocols:
		j.skip = "protocol switches (WebSocket) are not replayed"
	case req.Body.Truncated:
		j.skip = "the request body was truncated at capture"
	case j.write && !r.writesOK:
		j.skip = "writes are replayed only against loopback or with --allow-writes"
	}
	reqBody := decodeStored(req.Header, &req.Body)
	j.reqMedia = reqBody.media
	reqVals := requestValues(r.sentHeaders(req), reqBody.data, reqBody.media)
	fromSkipped, createSkipped := false, false
	for v := range reqVals {
		if p, ok := r.producers.get(v); ok {
			j.subs = append(j.subs, sub{v, p})
			fromSkipped = fromSkipped || p.planSkipped
			createSkipped = createSkipped || p.planSkipped && p.write
		}
	}
	if j.skip == "" && mayHoldPlaceholder(req) {
		// Chained values stand in for the placeholders they replace (the
		// live ones are checked again when the request is built). This
		// comes first since its reason names the fix.
		m := mapping{}
		for _, s := range j.subs {
			if !s.from.planSkipped && strings.Contains(s.value, store.RedactedPrefix) {
				m[s.value] = liveValue{s: "live"}
			}
		}
		j.skip = r.outgoing(j, m).skip
	}
	switch {
	case j.skip != "":
	case createSkipped && !j.write:
		// The live service never had it: a 404 that says nothing about
		// the contract.
		j.skip = "it reads a resource whose create was skipped"
	case fromSkipped:
		j.skip = "it sends a value handed out by a skipped exchange"
	}
	j.rec = decodeStored(ex.Response.Header, &ex.Response.Body)
	if ex.Response.Body.Truncated {
		j.rec.err = errors.New("the recorded response body was truncated")
	}
	var own []produced
	for _, p := range producedValues(j.rec.value, ex.Response.Header, reqVals) {
		if q, ok := r.producers.get(p.value); ok && !q.planSkipped {
			if j.soft == nil {
				j.soft = make(map[string]*handle)
			}
			j.soft[p.value] = q
			continue
		}
		if p.inArray && !j.write {
			continue
		}
		own = append(own, p)
		r.producers.put(p.value, j.handle)
	}
	j.produced = own
	if j.skip != "" {
		j.planSkipped = true
		if j.write && writeTaints(ex.Response.Status) {
			r.taint(key, collectionOf(req.Path, j.route), nil)
		}
		return j
	}
	j.taints = r.taintsOf(key, req.Path)
	if j.write && writeTaints(ex.Response.Status) && mayHoldPlaceholder(req) {
		// Building the request may still find a placeholder that the live
		// value meant to replace it did not.
		r.taint(key, collectionOf(req.Path, j.route), j.handle)
	}
	for _, s := range j.subs {
		j.addDep(s.from)
	}
	sc := r.scopes[key]
	if sc == nil {
		sc = new(scope)
		r.scopes[key] = sc
	}
	if sc.lastWrite != nil {
		j.addDep(sc.lastWrite)
	}
	if j.write || r.opts.Order == OrderStrict {
		for _, rd := range sc.readers {
			j.addDep(rd)
		}
		sc.lastWrite, sc.readers = j.handle, sc.readers[:0]
	} else {
		live := sc.readers[:0]
		for _, rd := range sc.readers {
			if !rd.isDone() {
				live = append(live, rd)
			}
		}
		sc.readers = append(live, j.handle)
	}
	if r.seq%4096 == 0 {
		r.pruneScopes()
	}
	return j
}

func (j *job) addDep(d *handle) {
	if d == nil || d == j.handle || d.isDone() {
		return
	}
	for _, x := range j.deps {
		if x == d {
			return
		}
	}
	j.deps = append(j.deps, d)
}

func (j *handle) isDone() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// pruneScopes forgets scopes with nothing in flight, so that memory does
// not grow with the number of sessions and collections.
func (r *runner) pruneScopes() {
	for k, sc := range r.scopes {
		busy := sc.lastWrite != nil && !sc.lastWrite.isDone()
		for _, rd := range sc.readers {
			busy = busy || !rd.isDone()
		}
		if !busy {
			delete(r.scopes, k)
		}
	}
}

// abandon finishes a planned job that will not run (the run was cancelled).
func (r *runner) abandon(j *job) {
	j.skipped = true
	close(j.done)
}

// liveResp is what the target answered.
type liveResp struct {
	status int
	header http.Header
	body   body
	err    error
}

// exec runs one job: waits for what it depends on, sends the request,
// hands out live values, checks the response and reports it.
func (r *runner) exec(ctx context.Context, j *job) {
	ex := j.ex
	res := &Result{
		ID: ex.ID, Session: ex.Session, Method: ex.Request.Method, Path: ex.Request.Path,
		Operation: j.op, WantStatus: ex.Response.Status,
	}
	if ex.Request.RawQuery != "" {
		res.Path += "?" + ex.Request.RawQuery
	}
	closed := false
	release := func() {
		if !closed {
			closed = true
			close(j.done)
		}
	}
	defer release()
	chained := false
	defer func() { r.finish(j, res, chained) }()

	if j.skip != "" {
		j.skipped = true
		res.Outcome, res.Reason = Skip, j.skip
		return
	}
	for _, d := range j.deps {
		select {
		case <-d.done:
		case <-ctx.Done():
			j.skipped = true
			res.Outcome, res.Reason = Skip, "the run was cancelled"
			return
		}
	}
	caveat, statusSkip := j.caveat()
	m := make(mapping, len(j.subs))
	for _, s := range j.subs {
		if lv, ok := s.from.live[s.value]; ok {
			m[s.value] = lv
			chained = chained || lv.s != s.value
		}
	}
	req, skip, err := r.request(ctx, j, m)
	switch {
	case skip != "":
		j.skipped, chained = true, false
		res.Outcome, res.Reason = Skip, skip
		return
	case err != nil:
		res.Outcome = Fail
		res.Diffs = []Diff{{Layer: LayerTransport, Message: "transport: " + err.Error()}}
		return
	}
	res.URL = req.URL.String()
	start := time.Now()
	live := r.send(ctx, req)
	var again *liveResp
	if r.learn != nil && !j.write && live.err == nil {
		if req2, _, err := r.request(ctx, j, m); err == nil && req2 != nil {
			again = r.send(ctx, req2)
		}
	}
	res.Duration = time.Since(start)
	res.Status = live.status

	if len(j.produced) > 0 && live.err == nil {
		j.live = make(mapping, len(j.produced))
		for i := range j.produced {
			p := &j.produced[i]
			if _, dup := j.live[p.value]; dup {
				continue
			}
			if lv, ok := p.liveOf(live.body.value, live.header); ok {
				j.live[p.value] = lv
			}
		}
	}
	release()

	if r.learn != nil {
		res.Outcome = Pass
		if again != nil {
			r.learn.compare(r, live, again)
		}
		return
	}
	if caveat != "" && live.err == nil && live.status != ex.Response.Status && live.status < http.StatusInternalServerError {
		// A 404 for a user never created, a 201 for one whose duplicate
		// was never sent, a 404 for one deleted while it was read: the
		// caveat explains it, and nothing after the status can be
		// compared. A 5xx is never explained so.
		res.Outcome, res.Reason = Skip, statusSkip
		return
	}
	c := r.newChecker(j, m)
	c.tainted = caveat != ""
	c.check(ctx, r, j, live)
	res.Diffs, res.MoreDiffs = c.result()
	res.Outcome = Pass
	if len(res.Diffs) > 0 {
		res.Outcome = Fail
	}
	if c.excused > 0 {
		res.WithoutValues = caveat
	}
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.Debug("replayed", "id", ex.ID.String(), "method", ex.Request.Method, "path", ex.Request.Path,
			"status", live.status, "outcome", string(res.Outcome), "duration_seconds", res.Duration.Seconds())
	}
}

// finish records a result and lets go of the job's recorded data.
func (r *runner) finish(j *job, res *Result, chained bool) {
	r.mu.Lock()
	r.tally.add(res, chained)
	r.done++
	for _, rep := range r.opts.Reporters {
		if err := rep.Report(res); err != nil && r.reportErr == nil {
			r.reportErr = fmt.Errorf("write report: %w", err)
		}
	}
	if r.opts.Progress != nil {
		r.opts.Progress(r.done, r.total)
	}
	r.mu.Unlock()
	// Later jobs keep this one only for done, live and skipped.
	j.ex, j.rec, j.subs, j.soft, j.produced, j.deps, j.route, j.taints = nil, body{}, nil, nil, nil, nil, nil, nil
}

// hopHeaders are not replayed: they belong to the recorded connection.
var hopHeaders = map[string]bool{
	"host": true, "content-length": true, "connection": true, "keep-alive": true,
	"proxy-connection": true, "proxy-authorization": true, "transfer-encoding": true,
	"te": true, "trailer": true, "upgrade": true, "expect": true,
}

// outgoing is a request as it would be sent, or why it will not be.
type outgoing struct {
	path  string // escaped
	query string
	body  []byte
	head  http.Header
	host  string // Options.Header's Host, if any
	skip  string // where it would carry a redacted placeholder
}

// outgoing rewrites the recorded request of j with the live values of m
// and the headers of Options.Header, leaving out what is not replayed.
func (r *runner) outgoing(j *job, m mapping) *outgoing {
	rq := &j.ex.Request
	o := &outgoing{path: rewritePath(rq.Path, m), query: rewriteQuery(rq.RawQuery, m), body: rq.Body.Data,
		head: make(http.Header, len(rq.Header)+len(r.userHdr)+1)}
	coded := rq.Header.Get("Content-Encoding") != "" && rq.Body.Decoded == ""
	if len(m) > 0 && len(o.body) > 0 && !coded {
		switch {
		case isJSONMedia(j.reqMedia):
			o.body = rewriteJSON(o.body, m)
		case j.reqMedia == "application/x-www-form-urlencoded":
			o.body = []byte(rewriteQuery(string(o.body), m))
		}
	}
	var useUser map[string]bool
	for _, f := range rq.Header {
		if store.IsPseudoHeader(f.Name) {
			continue // part of the HTTP/2 request line, not a header
		}
		name := http.CanonicalHeaderKey(f.Name)
		ln := strings.ToLower(name)
		if hopHeaders[ln] || ln == "content-encoding" && rq.Body.Decoded != "" {
			continue
		}
		if r.userReplaces(name, f.Value) {
			if useUser == nil {
				useUser = make(map[string]bool, len(r.userHdr))
			}
			useUser[name] = true
			continue
		}
		v := rewriteTokens(name, f.Value, m)
		if strings.Contains(v, store.RedactedPrefix) {
			if r.userHdr[name] == nil {
				o.skipFor(fmt.Sprintf("%s was redacted at capture; pass --header '%s: ...'", name, name))
			} else {
				// Sending none, or the given one, would test something
				// else than what was recorded (a wrong token gets another
				// 401 than a missing one).
				o.skipFor(fmt.Sprintf("%s was recorded with another credential than --header gives", name))
			}
			continue
		}
		o.head[name] = append(o.head[name], v)
	}
	for k, uh := range r.userHdr {
		switch {
		case k == "Host":
			o.host = uh.values[0]
		case !uh.seen || useUser[k]:
			o.head[k] = uh.values
		}
	}
	if o.skip == "" {
		o.skip = placeholderIn(o.path, o.query, o.body, j.reqMedia)
	}
	return o
}

func (o *outgoing) skipFor(reason string) {
	if o.skip == "" {
		o.skip = reason
	}
}

// request builds the live request for j with recorded values replaced;
// when it would carry a redacted placeholder, it returns why it is skipped
// instead.
func (r *runner) request(ctx context.Context, j *job, m mapping) (*http.Request, string, error) {
	o := r.outgoing(j, m)
	if o.skip != "" {
		return nil, o.skip, nil
	}
	u := r.base + o.path
	if o.query != "" {
		u += "?" + o.query
	}
	var rd io.Reader = http.NoBody
	if len(o.body) > 0 {
		rd = bytes.NewReader(o.body)
	}
	req, err := http.NewRequestWithContext(ctx, j.ex.Request.Method, u, rd)
	if err != nil {
		return nil, "", fmt.Errorf("build the request: %w", err)
	}
	req.Header = o.head
	if o.host != "" {
		req.Host = o.host
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{"bw-test"}
	}
	return req, "", nil
}

// sentHeaders returns req with only the headers whose recorded values are
// sent (after chaining): not those Options.Header replaces, nor
// pseudo-headers.
func (r *runner) sentHeaders(req *store.Request) *store.Request {
	keep := func(f store.Field) bool {
		return !store.IsPseudoHeader(f.Name) && !r.userReplaces(http.CanonicalHeaderKey(f.Name), f.Value)
	}
	if !slices.ContainsFunc(req.Header, func(f store.Field) bool { return !keep(f) }) {
		return req
	}
	c := *req
	c.Header = make(store.Header, 0, len(req.Header))
	for _, f := range req.Header {
		if keep(f) {
			c.Header = append(c.Header, f)
		}
	}
	return &c
}

// send sends req and reads the whole response.
func (r *runner) send(ctx context.Context, req *http.Request) *liveResp {
	select {
	case r.workers <- struct{}{}:
	case <-ctx.Done():
		return &liveResp{err: ctx.Err()}
	}
	defer func() { <-r.workers }()
	rctx, cancel := context.WithTimeout(req.Context(), r.timeout)
	defer cancel()
	resp, err := r.client.Do(req.WithContext(rctx))
	if err != nil {
		return &liveResp{err: err}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	live := &liveResp{status: resp.StatusCode, header: resp.Header}
	switch {
	case err != nil:
		live.err = fmt.Errorf("read the response body: %w", err)
	case len(data) > maxBody:
		live.err = fmt.Errorf("response body larger than %d MiB", maxBody>>20)
	}
	live.body = decodeLive(resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"), data)
	return live
}
