package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/ratelimit"
)

// DefaultListen is where a Server listens when neither Config.Listen nor
// the document's server block says otherwise.
const DefaultListen = "127.0.0.1:3000"

// DefaultMaxRecordings is how many recorded exchanges per operation are
// indexed when Config.MaxRecordings is 0.
const DefaultMaxRecordings = 10_000

// Config configures a [Server]. File or Doc is required; the zero value of
// every other field means its documented default.
type Config struct {
	// File is the API description to serve: Backworks YAML or OpenAPI 3.
	// The server reloads it when it changes (see NoReload).
	File string
	// Doc is an API description loaded already, served when File is empty
	// (and then never reloaded).
	Doc *api.Doc
	// Load reads File; nil means api.Load. It must return a whole, valid
	// document or an error: on reload an error keeps the old document.
	Load func(path string) (*api.Doc, error)

	// Listen is the address to listen on; empty means the document's
	// server host and port, else DefaultListen. Port 0 picks a free port
	// (see [Server.Addr]).
	Listen string
	// TLS, when set, makes the server speak HTTPS with this configuration.
	TLS *tls.Config

	// DB is the recordings file to replay from; empty means the
	// document's recordings file (relative to File's directory), if any,
	// else FallbackDB.
	DB string
	// FallbackDB is replayed when neither DB nor the document names a
	// recordings file, and only if it exists: the CLI's default ./bw.db.
	FallbackDB string
	// MaxRecordings caps the recorded exchanges indexed per operation;
	// 0 means DefaultMaxRecordings. Older ones win: they are indexed first.
	MaxRecordings int
	// Latency says how long replayed answers wait; the zero value does
	// not wait.
	Latency Latency

	// NoReload turns off watching File for changes; Server.Reload still
	// works.
	NoReload bool
	// ReloadDebounce is how long the file must stay unchanged before it is
	// reloaded; 0 means 100ms.
	ReloadDebounce time.Duration

	// Logger receives reloads, misses, validation failures and upstream
	// errors; nil discards.
	Logger *slog.Logger
	// AccessLog receives one line per request (fields: method, route,
	// path, status, duration_seconds, bytes, upstream, match, trace_id);
	// nil logs none.
	AccessLog *slog.Logger

	// NewLimiter makes the limiter of a rate limit of the document (policy
	// is "default" for security.rate_limiting, else the endpoint's name);
	// nil means an in-process ratelimit.Memory. A shared limiter (Redis,
	// say) plugs in here.
	NewLimiter func(policy string, rl *api.RateLimit) (ratelimit.Limiter, error)
}

// Server serves an API description: see the package documentation.
type Server struct {
	cfg     Config
	log     *slog.Logger
	load    func(string) (*api.Doc, error)
	metrics *metrics
	seqs    sync.Map // exact request key (uint64) -> *atomic.Uint32, for sequences

	cur      atomic.Pointer[site]
	reloadMu sync.Mutex // one reload at a time
	lastHash atomic.Uint64
	reloaded atomic.Int64 // unix nanoseconds of the last successful load

	mu       sync.Mutex
	srv      *http.Server
	ln       net.Listener
	addr     string
	started  bool
	closed   bool
	serveErr error
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the serve loop and the watcher
	served   chan struct{}
	conns    connTracker
}

// New loads the API description and builds everything needed to answer
// requests; it does not listen yet (see [Server.Start]). A load error is
// returned as is, so a file's FILE:LINE:COL problem reaches the user.
func New(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, log: cfg.Logger, load: cfg.Load, served: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.load == nil {
		s.load = loadDoc
	}
	if cfg.File == "" && cfg.Doc == nil {
		return nil, errors.New("serve: no API description (Config.File or Config.Doc)")
	}
	if s.cfg.ReloadDebounce <= 0 {
		s.cfg.ReloadDebounce = 100 * time.Millisecond
	}
	s.metrics = newMetrics(s)
	doc := cfg.Doc
	if cfg.File != "" {
		var err error
		if doc, err = s.load(cfg.File); err != nil {
			return nil, err
		}
		s.lastHash.Store(fileHash(cfg.File))
	}
	st, err := s.build(doc)
	if err != nil {
		return nil, err
	}
	s.cur.Store(st)
	s.reloaded.Store(time.Now().UnixNano())
	return s, nil
}

// listenAddr is Config.Listen, else the document's server block, else
// DefaultListen.
func (s *Server) listenAddr() string {
	if s.cfg.Listen != "" {
		return s.cfg.Listen
	}
	if d := s.cur.Load().doc; d.Server.Port > 0 {
		host := d.Server.Host
		if host == "" {
			host = "127.0.0.1"
		}
		return net.JoinHostPort(host, strconv.Itoa(d.Server.Port))
	}
	return DefaultListen
}

// Start listens and serves in the background until [Server.Close]. It
// returns once the listener is open, so a failure to listen (such as the
// address being in use) is its error; ctx only bounds that. It also starts
// watching the file for changes. Start may be called once.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errors.New("serve: server already started")
	}
	addr := s.listenAddr()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on %s: address already in use", addr)
		}
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	ln = trackedListener{Listener: ln, t: &s.conns}
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.started = true
	s.ln = ln
	s.addr = ln.Addr().String()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ConnState:         s.conns.connState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.served)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped serving", "err", err)
			s.mu.Lock()
			s.serveErr = err
			s.mu.Unlock()
		}
	}()
	if s.cfg.File != "" && !s.cfg.NoReload {
		if err := s.watch(wctx); err != nil {
			s.log.Warn("not watching the file for changes", "file", s.cfg.File, "err", err)
		}
	}
	s.log.Debug("serving", "addr", s.addr, "file", s.cfg.File)
	return nil
}

// Addr returns the address the server listens on, or "" before
// [Server.Start].
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Done is closed when the server stops serving: after [Server.Close], or
// when accepting connections failed (Close then returns the error).
func (s *Server) Done() <-chan struct{} { return s.served }

// Close stops accepting connections, waits for in-flight requests to
// finish (closing the rest when ctx ends), stops the file watcher and
// health checks, and releases the recordings file. It returns the error
// that stopped serving, if any, or ctx's error if it had to force.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()

	var err error
	if started {
		s.cancel()
		done := make(chan error, 1)
		go func() { done <- s.srv.Shutdown(ctx) }()
		tick := time.NewTicker(newConnGrace / 2)
	wait:
		for {
			select {
			case err = <-done:
				break wait
			case <-tick.C:
				s.conns.closeFresh()
			}
		}
		tick.Stop()
		if err != nil {
			s.srv.Close()
		}
	} else {
		close(s.served)
	}
	s.wg.Wait()
	s.reloadMu.Lock()
	if st := s.cur.Swap(nil); st != nil {
		st.retire()
	}
	s.reloadMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serveErr != nil {
		return fmt.Errorf("serve on %s: %w", s.addr, s.serveErr)
	}
	return err
}

// Reload reads the file again and, if the new document loads and builds,
// serves it from the next request on; requests in flight finish with the
// old one. On error the old document keeps serving and the error is
// returned. Reload does nothing for a Server made from Config.Doc.
func (s *Server) Reload() error {
	if s.cfg.File == "" {
		return nil
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.cur.Load() == nil {
		return errors.New("serve: server closed")
	}
	start := time.Now()
	hash := fileHash(s.cfg.File)
	doc, err := s.load(s.cfg.File)
	if err == nil {
		var st *site
		if st, err = s.build(doc); err == nil {
			old := s.cur.Swap(st)
			old.retire()
			s.lastHash.Store(hash)
			s.reloaded.Store(time.Now().UnixNano())
			s.metrics.reloads.WithLabelValues("ok").Inc()
			s.log.Info("reloaded", "file", s.cfg.File, "endpoints", len(doc.Endpoints),
				"duration_seconds", time.Since(start).Seconds())
			return nil
		}
	}
	s.metrics.reloads.WithLabelValues("error").Inc()
	s.log.Error("reload failed; still serving the previous version", "file", s.cfg.File, "err", err)
	return err
}

// acquire returns the site serving now, counted as in use until release.
func (s *Server) acquire() *site {
	for {
		st := s.cur.Load()
		if st == nil {
			return nil
		}
		st.refs.Add(1)
		if !st.retired.Load() {
			return st
		}
		st.release() // swapped out meanwhile: take the new one
	}
}

// ServeHTTP answers one request: the admin endpoints under /__bw/, else
// the API. Server is an http.Handler, so it can be mounted without Start.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &responseWriter{ResponseWriter: w}
	ri := &reqInfo{trace: continueTrace(r.Header.Get("Traceparent"))}
	if len(r.URL.Path) >= 6 && r.URL.Path[:6] == "/__bw/" {
		ri.route = r.URL.Path
		s.admin(rw, r, ri)
	} else if st := s.acquire(); st == nil {
		ri.route = ""
		writeProblem(rw, &Problem{Type: "about:blank", Status: http.StatusServiceUnavailable, Detail: "the server is shutting down"})
	} else {
		st.serve(rw, r, ri)
		st.release()
	}
	s.finish(rw, r, ri, time.Since(start))
}

// fileHash is a cheap fingerprint of a file's content, to tell a real
// change from a touch; 0 when it cannot be read.
func fileHash(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return hashBytes(b)
}

// recordingsPath is Config.DB, else the document's recordings file
// relative to its directory, else Config.FallbackDB if it exists.
func (s *Server) recordingsPath(doc *api.Doc) string {
	if s.cfg.DB != "" {
		return s.cfg.DB
	}
	if doc.Recordings == "" {
		if _, err := os.Stat(s.cfg.FallbackDB); s.cfg.FallbackDB == "" || err != nil {
			return ""
		}
		return s.cfg.FallbackDB
	}
	if filepath.IsAbs(doc.Recordings) {
		return doc.Recordings
	}
	base := doc.File
	if base == "" {
		base = s.cfg.File
	}
	return filepath.Join(filepath.Dir(base), doc.Recordings)
}
