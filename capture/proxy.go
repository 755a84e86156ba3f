package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/backworks/bw/store"
)

// Defaults for the zero fields of [Config].
const (
	DefaultListen  = "127.0.0.1:8080"
	DefaultMaxBody = 10 << 20 // 10 MiB
)

const (
	// sinkTimeout is how long a finished exchange may wait for a busy sink
	// before it is dropped (and counted by the sink).
	sinkTimeout = 5 * time.Second
	// idleTimeout closes client connections that send nothing for this long,
	// between requests or in the middle of a request head.
	idleTimeout = 2 * time.Minute
)

// Config configures a [Proxy]. Only Upstream is required: the zero value of
// every other field means its documented default.
type Config struct {
	// Upstream is the absolute http:// or https:// URL requests are sent
	// to; a path in it is put before every request's path, a query before
	// every request's query.
	Upstream *url.URL
	// Listen is the address to listen on, DefaultListen if empty. Port 0
	// picks a free port; see [Proxy.Addr].
	Listen string
	// MaxBody is how many bytes of each request and response body are
	// kept: 0 means DefaultMaxBody, a negative value keeps none (sizes
	// only). Longer bodies are stored truncated, with their full size.
	MaxBody int64
	// Session names the recording run, stored with every exchange.
	Session string
	// PreserveHost sends the client's Host header upstream instead of the
	// upstream's host.
	PreserveHost bool
	// Logger receives upstream failures and, at debug level, every
	// exchange; nil discards.
	Logger *slog.Logger
}

// Stats reports what a [Proxy] has done since it was created.
type Stats struct {
	// Recorded counts the exchanges the sink accepted.
	Recorded uint64
	// Dropped counts the exchanges the sink refused, by reason (the store
	// drop reasons, such as store.DropQueueFull). A store.Writer counts the
	// same exchanges in its own stats.
	Dropped map[string]uint64
	// RebuiltHeaders counts exchanges whose request or response header
	// could not be recorded from the wire (a head net/http accepts but bw
	// does not parse, such as one with folded lines) and was rebuilt from
	// net/http's parse, with its names sorted.
	RebuiltHeaders uint64
}

// Proxy is a recording reverse proxy: see the package documentation.
type Proxy struct {
	cfg      Config
	maxBody  int64
	sink     store.Sink
	log      *slog.Logger
	upstream *upstreamPool
	basePath string // the upstream URL's escaped path, "" for "/"
	upHost   string // the Host header sent upstream

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*clientConn]struct{}
	started  bool
	closing  atomic.Bool
	serveErr error

	accepting sync.WaitGroup // the accept loop
	connWG    sync.WaitGroup // one per client connection
	served    chan struct{}  // closed when the accept loop ended

	force       context.Context // cancelled when Close gives up waiting
	forceCancel context.CancelFunc

	wmu  sync.Mutex
	wctx atomic.Pointer[writeContext]

	recorded atomic.Uint64
	rebuilt  atomic.Uint64
	dropMu   sync.Mutex
	dropped  map[string]uint64
}

// New checks cfg and returns a proxy that hands exchanges to sink; it does
// not listen yet (see [Proxy.Start]).
func New(cfg Config, sink store.Sink) (*Proxy, error) {
	if err := checkUpstream(cfg.Upstream); err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errors.New("capture: nil sink")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	p := &Proxy{
		cfg:      cfg,
		maxBody:  cfg.MaxBody,
		sink:     sink,
		log:      cfg.Logger,
		upstream: newUpstreamPool(cfg.Upstream),
		basePath: cfg.Upstream.EscapedPath(),
		upHost:   cfg.Upstream.Host,
		conns:    map[*clientConn]struct{}{},
		dropped:  map[string]uint64{},
		served:   make(chan struct{}),
	}
	if p.basePath == "/" {
		p.basePath = ""
	}
	switch {
	case p.maxBody == 0:
		p.maxBody = DefaultMaxBody
	case p.maxBody < 0:
		p.maxBody = 0
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.force, p.forceCancel = context.WithCancel(context.Background())
	return p, nil
}

// checkUpstream validates [Config.Upstream].
func checkUpstream(u *url.URL) error {
	switch {
	case u == nil:
		return errors.New("capture: no upstream URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("upstream %q: must be an http:// or https:// URL", u.Redacted())
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("upstream %q: no host", u.Redacted())
	case u.Opaque != "":
		return fmt.Errorf("upstream %q: must be an absolute http:// or https:// URL", u.Redacted())
	}
	return nil
}

// hostPort returns u's host with the scheme's default port if none is given.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// CheckUpstream reports whether u is a usable upstream URL whose host
// accepts TCP connections before ctx ends: a quick check to run before
// [Proxy.Start], so that a typo shows at once rather than as 502s.
func CheckUpstream(ctx context.Context, u *url.URL) error {
	if err := checkUpstream(u); err != nil {
		return err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", hostPort(u))
	if err != nil {
		return fmt.Errorf("upstream %s is unreachable: %w", u.Redacted(), err)
	}
	return c.Close()
}

// Start listens on [Config.Listen] and serves in the background until
// [Proxy.Close]. It returns once the listener is open, so a failure to
// listen (such as the address being in use) is its error; ctx only bounds
// that. Start may be called once.
func (p *Proxy) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closing.Load() {
		return errors.New("capture: proxy already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", p.cfg.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on %s: address already in use", p.cfg.Listen)
		}
		return fmt.Errorf("listen on %s: %w", p.cfg.Listen, err)
	}
	p.ln, p.started = ln, true
	p.accepting.Add(1)
	go p.accept(ln)
	p.log.Debug("proxy listening", "addr", ln.Addr().String(), "upstream", p.cfg.Upstream.Redacted())
	return nil
}

// accept serves each connection in its own goroutine until the listener
// is closed.
func (p *Proxy) accept(ln net.Listener) {
	defer p.accepting.Done()
	defer close(p.served)
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if p.closing.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors, say: wait and go on, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				p.log.Warn("accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			p.log.Error("proxy stopped accepting connections", "err", err)
			p.mu.Lock()
			p.serveErr = err
			p.mu.Unlock()
			return
		}
		backoff = 0
		cc := newClientConn(p, c)
		p.mu.Lock()
		if p.closing.Load() {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[cc] = struct{}{}
		p.connWG.Add(1)
		p.mu.Unlock()
		go cc.serve()
	}
}

// forget removes a finished client connection.
func (p *Proxy) forget(cc *clientConn) {
	p.mu.Lock()
	delete(p.conns, cc)
	p.mu.Unlock()
	p.connWG.Done()
}

// Addr returns the address the proxy listens on, or "" before [Proxy.Start].
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return ""
	}
	return p.ln.Addr().String()
}

// Done is closed when the proxy stops serving: after [Proxy.Close], or when
// accepting connections failed (then Close returns the error).
func (p *Proxy) Done() <-chan struct{} { return p.served }

// Close stops accepting connections, closes the idle ones and waits for
// in-flight exchanges to finish and reach the sink. When ctx ends first, the
// remaining connections are closed (their exchanges are still recorded,
// with an error). Switched-protocol connections (WebSocket) are closed right
// away. Close returns the error that stopped serving, if any, or ctx's
// error if it had to force.
func (p *Proxy) Close(ctx context.Context) error {
	if p.closing.Swap(true) {
		return nil
	}
	p.mu.Lock()
	ln := p.ln
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	} else {
		close(p.served)
	}
	p.accepting.Wait()

	p.mu.Lock()
	for cc := range p.conns {
		cc.shutdown()
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		p.connWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		p.forceCancel()
		p.mu.Lock()
		for cc := range p.conns {
			cc.kill()
		}
		p.mu.Unlock()
		<-done
	}
	p.forceCancel()
	p.upstream.close()
	if w := p.wctx.Load(); w != nil {
		w.cancel()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.serveErr != nil {
		return fmt.Errorf("serve on %s: %w", p.cfg.Listen, p.serveErr)
	}
	return err
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	p.dropMu.Lock()
	d := make(map[string]uint64, len(p.dropped))
	for k, v := range p.dropped {
		d[k] = v
	}
	p.dropMu.Unlock()
	return Stats{Recorded: p.recorded.Load(), Dropped: d, RebuiltHeaders: p.rebuilt.Load()}
}

// handOver gives a finished exchange to the sink.
func (p *Proxy) handOver(ex *store.Exchange) {
	err := p.sink.Write(p.writeContext(time.Now()), ex)
	if err == nil {
		p.recorded.Add(1)
		return
	}
	reason := "sink_error"
	switch {
	case errors.Is(err, store.ErrClosed):
		reason = store.DropClosed
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		reason = store.DropQueueFull
	}
	p.dropMu.Lock()
	p.dropped[reason]++
	p.dropMu.Unlock()
	p.log.Debug("exchange dropped", "reason", reason, "err", err)
}

// writeContext bounds how long an exchange waits for a busy sink. Exchanges
// share one deadline context, renewed every second, so that no timer is
// made per request; each gets between 4 and 5 seconds.
type writeContext struct {
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
}

func (p *Proxy) writeContext(now time.Time) context.Context {
	fresh := func(w *writeContext) bool { return w != nil && w.deadline.Sub(now) > sinkTimeout-time.Second }
	if w := p.wctx.Load(); fresh(w) {
		return w.ctx
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if w := p.wctx.Load(); fresh(w) {
		return w.ctx
	}
	// The previous context is left to expire: exchanges may still use it.
	deadline := now.Add(sinkTimeout)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	p.wctx.Store(&writeContext{ctx: ctx, cancel: cancel, deadline: deadline})
	return ctx
}

// copyBuffers lends 32 KiB buffers for copying bodies.
var copyBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// joinPath puts the upstream's base path before a request path, as
// httputil.ReverseProxy does.
func joinPath(base, path string) string {
	if base == "" || path == "*" {
		return path
	}
	switch a, b := strings.HasSuffix(base, "/"), strings.HasPrefix(path, "/"); {
	case a && b:
		return base + path[1:]
	case !a && !b:
		return base + "/" + path
	}
	return base + path
}
