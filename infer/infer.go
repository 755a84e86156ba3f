// Package infer learns an API from recorded exchanges: endpoints and path
// templates, parameters, request and response schemas, formats and auth.
//
// # Method
//
// [Infer] streams the store twice. The first pass builds a trie of paths
// with per-node evidence (methods, statuses, top-level response keys, the
// identifier values and links responses carried, capped per node) and
// decides which segments are parameters. The second pass maps every exchange
// to its operation and merges its bodies into schema state that grows with
// the API's shape, not with the number of exchanges. The rules are those of
// bw's inference spec; each function names the rule it implements.
//
// # Determinism
//
// Every merge is commutative and every output list is sorted, so the same
// recordings in any order give byte-identical documents.
package infer

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/backworks/bw/store"
)

// Options configures [Infer]; the zero value infers the busiest host.
type Options struct {
	// Host selects the service to infer, as host or host:port; empty means
	// the host with the most exchanges.
	Host string
	// Paths are user hints (infer.paths): templates to use, or "^/path" for
	// paths that stay literal. They override every rule.
	Paths []string
	// Title names the API; empty means the host.
	Title  string
	Logger *slog.Logger
	// Progress, when set, is called now and then with the number of
	// exchanges read so far (each pass reads them all).
	Progress func(read int64)
}

// API is what Infer learned; render it with [API.OpenAPI] or [API.Backworks].
type API struct {
	Title     string
	Host      string   // the service inferred
	Servers   []string // base URLs seen for it
	Exchanges int      // exchanges that went into the result
	Skipped   map[string]int
	Hints     []string

	ops []*operation
}

// Infer reads every exchange of db and returns the API behind them.
func Infer(ctx context.Context, db *store.DB, opts Options) (*API, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := func(int64) {}
	if opts.Progress != nil {
		progress = opts.Progress
	}
	var read int64
	tick := func() {
		if read++; read%4096 == 0 {
			progress(read)
		}
	}
	hints := parseHints(opts.Paths)

	// Pass 1: paths and the evidence to template them, per service, so that
	// the busiest can be chosen without another pass.
	type service struct {
		root      *pathNode
		servers   map[string]bool
		skipped   map[string]int
		exchanges int
	}
	services := map[string]*service{}
	want := strings.ToLower(opts.Host)
	err := db.Scan(ctx, store.Filter{}, func(ex *store.Exchange) error {
		tick()
		name := ServiceOf(&ex.Request)
		if want != "" && name != want {
			return nil
		}
		sv := services[name]
		if sv == nil {
			sv = &service{root: newNode(), servers: map[string]bool{}, skipped: map[string]int{}}
			services[name] = sv
		}
		sv.exchanges++
		if reason := noise(ex); reason != "" {
			sv.skipped[reason]++
			return nil
		}
		sv.servers[ex.Request.Scheme+"://"+ex.Request.Host] = true
		node := sv.root.insert(splitPath(ex.Request.Path), hints)
		var keys []string
		if st := ex.Response.Status; st >= 200 && st < 300 {
			keys = responseKeys(&ex.Response)
		}
		node.record(ex.Request.Method, ex.Response.Status, keys)
		sv.root.collect(node, &ex.Response)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("infer: read recordings: %w", err)
	}
	counts := make(map[string]int, len(services))
	for name, sv := range services {
		counts[name] = sv.exchanges
	}
	host := Busiest(counts)
	switch {
	case host == "" && want != "":
		return nil, fmt.Errorf("infer: no exchanges with host %s in %s; see bw stats for the hosts recorded", opts.Host, db.Path())
	case host == "":
		return nil, fmt.Errorf("infer: no recordings in %s; record with 'bw capture' or 'bw import' first", db.Path())
	case len(services) > 1:
		log.Info("several hosts recorded; inferring the busiest (choose with --host)", "host", host, "hosts", len(services))
	}
	sv := services[host]
	clear(services) // only the chosen service's state is kept
	root := sv.root
	api := &API{Title: opts.Title, Host: host, Skipped: sv.skipped, Hints: opts.Paths}
	if api.Title == "" {
		api.Title = host
	}
	servers := sv.servers
	root.resolve()

	// Pass 2: operations and schemas. Decoding bodies is most of the work
	// and needs no shared state, so it fans out; merging stays in this
	// goroutine, and since merges commute the order results arrive in is
	// of no consequence.
	ops := map[opKey]*operation{}
	samples := make(chan *sample, 256)
	var scanErr error
	go func() {
		defer close(samples)
		scanErr = decodeAll(ctx, db, host, samples, tick)
	}()
	for s := range samples {
		ex := s.ex
		node, values := root.matchValues(splitPath(ex.Request.Path))
		if node == nil {
			api.Skipped["unmatched"]++
			continue
		}
		k := opKey{ex.Request.Method, node}
		op := ops[k]
		if op == nil {
			op = newOperation(ex.Request.Method, node, len(values))
			ops[k] = op
		}
		op.add(s, values)
		api.Exchanges++
	}
	if scanErr != nil {
		return nil, fmt.Errorf("infer: read recordings: %w", scanErr)
	}
	for _, op := range ops {
		if onlyNotFound(op) {
			api.Skipped["only_404"] += op.samples
			api.Exchanges -= op.samples
			continue
		}
		api.ops = append(api.ops, op)
	}
	sort.Slice(api.ops, func(i, j int) bool {
		a, b := api.ops[i], api.ops[j]
		if a.node.template != b.node.template {
			return a.node.template < b.node.template
		}
		return methodRank(a.method) < methodRank(b.method)
	})
	var bodies []*shape
	var sides []string
	for _, op := range api.ops {
		for _, m := range sortedKeys(op.request) {
			bodies = append(bodies, op.request[m].s)
			sides = append(sides, "request "+op.method)
		}
		for _, st := range op.statuses() {
			for _, m := range sortedKeys(op.resps[st].content) {
				bodies = append(bodies, op.resps[st].content[m].s)
				sides = append(sides, "response")
			}
		}
	}
	poolObjects(bodies, sides)
	api.Servers = sortedKeys(servers)
	log.Debug("inferred", "host", host, "operations", len(api.ops), "exchanges", api.Exchanges, "skipped", api.Skipped)
	return api, nil
}

// sample is an exchange with its bodies decoded.
type sample struct {
	ex        *store.Exchange
	req, resp decoded
}

// decodeAll scans the exchanges of host and sends them, bodies decoded by a
// pool of workers, to out; it returns when all are sent.
func decodeAll(ctx context.Context, db *store.DB, host string, out chan<- *sample, tick func()) error {
	in := make(chan *store.Exchange, 256)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ex := range in {
				out <- &sample{
					ex:   ex,
					req:  decodeBody(ex.Request.Header, &ex.Request.Body),
					resp: decodeBody(ex.Response.Header, &ex.Response.Body),
				}
			}
		}()
	}
	err := db.Scan(ctx, store.Filter{}, func(ex *store.Exchange) error {
		tick()
		if ServiceOf(&ex.Request) == host && noise(ex) == "" {
			in <- ex
		}
		return nil
	})
	close(in)
	wg.Wait()
	return err
}

type opKey struct {
	method string
	node   *pathNode
}

// noise says why an exchange is left out (rule 2), or "".
func noise(ex *store.Exchange) string {
	switch {
	case ex.Error != "" || ex.Response.Status == 0:
		return "transport_error"
	case ex.Request.Method == "OPTIONS" && ex.Request.Header.Get("Access-Control-Request-Method") != "":
		return "preflight"
	case isStaticAsset(ex):
		return "static_asset"
	}
	return ""
}

var staticExt = map[string]bool{
	".js": true, ".mjs": true, ".css": true, ".map": true, ".png": true, ".jpg": true, ".jpeg": true,
	".gif": true, ".svg": true, ".ico": true, ".webp": true, ".avif": true, ".woff": true, ".woff2": true,
	".ttf": true, ".otf": true, ".eot": true, ".mp4": true, ".webm": true, ".mp3": true,
}

func isStaticAsset(ex *store.Exchange) bool {
	if ex.Request.Method != "GET" && ex.Request.Method != "HEAD" {
		return false
	}
	if staticExt[strings.ToLower(path.Ext(ex.Request.Path))] {
		return true
	}
	m := mediaType(ex.Response.Header)
	return m == "text/css" || m == "text/javascript" || m == "application/javascript" ||
		strings.HasPrefix(m, "font/") || m == "image/x-icon"
}

func onlyNotFound(op *operation) bool {
	for st := range op.resps {
		if st != 404 {
			return false
		}
	}
	// Another method on the same path answered: the path exists.
	for m, s := range op.node.sig {
		if m == op.method {
			continue
		}
		for st := range s.statuses {
			if st != 404 {
				return false
			}
		}
	}
	return true
}

func methodRank(m string) int {
	for i, x := range []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"} {
		if m == x {
			return i
		}
	}
	return 100
}

// responseKeys returns the top-level keys of a JSON response, cheaply when
// the body is plain JSON on the wire.
func responseKeys(r *store.Response) []string {
	b := &r.Body
	if r.Header.Get("Content-Encoding") == "" || b.Decoded != "" {
		if m := mediaType(r.Header); isJSONMedia(m) {
			if keys, ok := fastTopKeys(b.Data); ok {
				return keys
			}
		}
	}
	return topLevelKeys(decodeBody(r.Header, b))
}

func topLevelKeys(d decoded) []string {
	var v any = d.value
	if arr, ok := v.([]any); ok {
		keys := []string{"[]"}
		if len(arr) > 0 {
			if obj, ok := arr[0].(map[string]any); ok {
				for k := range obj {
					keys = append(keys, k)
				}
			}
		}
		return keys
	}
	obj, ok := v.(map[string]any)
	if !ok || d.kind != kindJSON {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	return keys
}

// matchValues resolves a concrete path and returns the parameter values in it.
func (n *pathNode) matchValues(segs []string) (*pathNode, []string) {
	var vals []string
	for _, s := range segs {
		if c := n.lit[s]; c != nil {
			n = c
		} else if n.param != nil {
			n = n.param
			vals = append(vals, s)
		} else {
			return nil, nil
		}
	}
	return n, vals
}
