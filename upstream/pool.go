package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/backworks/bw/api"
)

// Errors returned by Pool.
var (
	// ErrNoHealthy is returned by Pick when every target is down.
	ErrNoHealthy = errors.New("upstream: no healthy target")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("upstream: pool closed")
)

// The algorithms, as NewPool spells them after normalizing.
const (
	RoundRobin       = "round_robin"
	Weighted         = "weighted"
	IPHash           = "ip_hash"
	LeastConnections = "least_connections"
	ConsistentHash   = "consistent_hash"
)

// Health check defaults (see api.HealthCheck and Options).
const (
	defaultInterval           = 5 * time.Second
	defaultTimeout            = time.Second
	defaultHealthyThreshold   = 2
	defaultUnhealthyThreshold = 3
	defaultFailTimeout        = 10 * time.Second
)

// Options tune a Pool; the zero value means the documented defaults.
type Options struct {
	// Client sends health probes; nil means a client of the pool's own
	// that does not follow redirects, ignores proxy environment variables,
	// and whose idle connections Close releases.
	Client *http.Client
	// OnChange, if set, is called after a backend turns healthy or
	// unhealthy, from the goroutine that saw the change (a health checker,
	// MarkFailure or Pick); it must be quick and safe for concurrent use.
	OnChange func(b *Backend, healthy bool)
	// FailTimeout is, for targets without a health check, the window in
	// which 3 passive failures (MarkFailure) take a target down and how
	// long it then stays down before it is tried again; 0 means 10s.
	FailTimeout time.Duration
	// Logger receives health changes (info) and failed probes (debug); nil
	// discards them.
	Logger *slog.Logger
}

// Pool is a set of upstream targets with a load-balancing policy. Pick,
// MarkFailure and Backends are safe for concurrent use.
type Pool struct {
	backends    []*Backend
	algorithm   string
	client      *http.Client
	ownClient   bool
	onChange    func(*Backend, bool)
	failTimeout time.Duration
	log         *slog.Logger

	balance balancer

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewPool checks targets and algorithm ("" means round_robin) and returns a
// Pool with every target healthy; call Start to begin health checks.
func NewPool(targets []*api.Target, algorithm string, opts Options) (*Pool, error) {
	alg, err := normalizeAlgorithm(algorithm)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, errors.New("upstream: no targets")
	}
	p := &Pool{
		algorithm:   alg,
		client:      opts.Client,
		onChange:    opts.OnChange,
		failTimeout: opts.FailTimeout,
		log:         opts.Logger,
	}
	if p.failTimeout <= 0 {
		p.failTimeout = defaultFailTimeout
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.client == nil {
		p.client, p.ownClient = newClient(), true
	}
	names := make(map[string]int, len(targets))
	for i, t := range targets {
		if t == nil {
			return nil, fmt.Errorf("upstream: targets[%d]: missing", i)
		}
		b, err := newBackend(t, p)
		if err != nil {
			return nil, fmt.Errorf("upstream: targets[%d]: %w", i, err)
		}
		if j, dup := names[b.name]; dup {
			return nil, fmt.Errorf("upstream: targets[%d]: name %q already used by targets[%d]", i, b.name, j)
		}
		names[b.name] = i
		p.backends = append(p.backends, b)
	}
	p.balance = newBalancer(alg, p.backends)
	return p, nil
}

// Algorithm returns the pool's normalized algorithm name.
func (p *Pool) Algorithm() string { return p.algorithm }

// Backends returns the pool's backends in configuration order; the slice is
// the caller's, the backends are shared.
func (p *Pool) Backends() []*Backend {
	return append([]*Backend(nil), p.backends...)
}

// Pick returns a healthy backend for key (the client IP or another hash
// key; only ip_hash and consistent_hash use it) and a done func that must
// be called exactly once when the request to the backend has finished. It
// returns ErrNoHealthy, and a done func that does nothing, when every
// target is down.
func (p *Pool) Pick(key string) (*Backend, func(), error) {
	b := p.balance.pick(key)
	if b == nil {
		return nil, func() {}, ErrNoHealthy
	}
	b.inflight.Add(1)
	return b, b.release, nil
}

// normalizeAlgorithm maps an algorithm name in snake_case, kebab-case or
// the original Backworks PascalCase to its constant.
func normalizeAlgorithm(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
			b.WriteByte('_')
		case 'A' <= c && c <= 'Z':
			// A word starts at an upper-case letter after a lower-case one,
			// or before a lower-case one (IPHash: IP_Hash).
			if i > 0 && (isLower(s[i-1]) || i+1 < len(s) && isLower(s[i+1]) && !isSep(s[i-1])) {
				b.WriteByte('_')
			}
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	switch n := b.String(); n {
	case "", RoundRobin:
		return RoundRobin, nil
	case Weighted, "weighted_round_robin":
		return Weighted, nil
	case IPHash:
		return IPHash, nil
	case LeastConnections, "least_conn":
		return LeastConnections, nil
	case ConsistentHash:
		return ConsistentHash, nil
	}
	return "", fmt.Errorf("upstream: load_balancing algorithm %q: unknown (want round_robin, weighted, ip_hash, least_connections or consistent_hash)", s)
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isSep(c byte) bool   { return c == '_' || c == '-' || c == ' ' }

// parseTargetURL checks that s is an absolute http or https URL.
func parseTargetURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q: missing host", s)
	}
	return u, nil
}
