package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Memory is a Limiter that keeps one token bucket per key in this process.
// Create it with NewMemory and stop it with Close.
type Memory struct {
	policy   string
	limit    rate.Limit // tokens per second
	burst    int
	quota    int
	window   time.Duration
	perToken time.Duration // time for one token to accrue
	idle     int64         // nanoseconds after which a key's bucket is full

	seed   maphash.Seed
	shards []shard

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ Limiter = (*Memory)(nil)

// evictPerAllow bounds the idle keys one Allow drops from its shard, so a
// request never pays for a long scan.
const evictPerAllow = 2

// maxShards is the number of shards for a large MaxKeys.
const maxShards = 64

type shard struct {
	mu     sync.Mutex
	keys   map[string]*entry
	head   *entry // most recently used
	tail   *entry // least recently used
	max    int
	latest int64 // newest now seen by Allow, unix nanoseconds
	_      [64]byte
}

type entry struct {
	key        string
	lim        *rate.Limiter
	seen       int64 // last Allow, unix nanoseconds
	prev, next *entry
}

// NewMemory returns a Memory limiter for cfg and starts its sweeper (unless
// cfg.SweepInterval < 0); it panics if cfg.Validate fails, since the
// configuration is checked when it is loaded.
func NewMemory(cfg Config) *Memory {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.Policy == "" {
		cfg.Policy = defaultPolicy
	}
	if cfg.Burst == 0 {
		cfg.Burst = 1
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = defaultMaxKeys
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = defaultSweepInterval
	}
	perSec := cfg.RequestsPerMinute / 60
	m := &Memory{
		policy:   cfg.Policy,
		limit:    rate.Limit(perSec),
		burst:    cfg.Burst,
		perToken: seconds(1 / perSec),
		idle:     int64(math.Ceil(float64(cfg.Burst)/perSec*1e9)) + int64(time.Microsecond),
		seed:     maphash.MakeSeed(),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	m.quota, m.window = policyQuota(cfg.RequestsPerMinute)

	n := min(maxShards, cfg.MaxKeys)
	m.shards = make([]shard, n)
	for i := range m.shards {
		s := &m.shards[i]
		s.keys = make(map[string]*entry)
		s.max = cfg.MaxKeys / n // n shards of max keys stay within MaxKeys
	}

	if cfg.SweepInterval > 0 {
		go m.sweeper(cfg.SweepInterval)
	} else {
		close(m.done)
	}
	return m
}

// Allow takes one token from key's bucket if it has one. It never returns
// an error.
func (m *Memory) Allow(_ context.Context, key string, now time.Time) (Decision, error) {
	s := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]
	ns := now.UnixNano()

	s.mu.Lock()
	if ns > s.latest {
		s.latest = ns
	}
	e := s.keys[key]
	if e == nil {
		if len(s.keys) >= s.max {
			s.remove(s.tail)
		}
		e = &entry{key: key, lim: rate.NewLimiter(m.limit, m.burst)}
		s.keys[key] = e
	} else {
		s.unlink(e)
	}
	e.seen = ns
	s.pushFront(e)
	allowed := e.lim.AllowN(now, 1)
	tokens := e.lim.TokensAt(now)
	m.evictIdle(s, ns, evictPerAllow)
	s.mu.Unlock()

	return m.decide(allowed, tokens), nil
}

// decide turns the bucket's state after an Allow into a Decision.
func (m *Memory) decide(allowed bool, tokens float64) Decision {
	d := Decision{
		Allowed: allowed,
		Limit:   m.quota,
		Window:  m.window,
		Policy:  m.policy,
	}
	// Floating-point refill can land a hair below a whole token.
	const eps = 1e-9
	whole := math.Floor(tokens + eps)
	d.Remaining = max(0, int(whole))
	if tokens+eps >= float64(m.burst) {
		d.Reset = m.perToken
	} else {
		frac := max(0, tokens-whole)
		d.Reset = seconds((1 - frac) / float64(m.limit))
	}
	if !allowed {
		d.RetryAfter = d.Reset
	}
	return d
}

// Len reports how many keys the limiter holds.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.keys)
		s.mu.Unlock()
	}
	return n
}

// Close stops the sweeper and waits for it to return; it is safe to call
// more than once. Allow keeps working after Close.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		select {
		case <-m.done: // no sweeper was started
		default:
			close(m.stop)
			<-m.done
		}
	})
	return nil
}

// sweeper drops idle keys every interval until Close.
func (m *Memory) sweeper(interval time.Duration) {
	defer close(m.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sweep()
		}
	}
}

// sweep drops every idle key, locking one shard at a time. Idleness is
// measured against the newest time any Allow was given, not the wall clock,
// so a limiter driven by a test clock is swept consistently.
func (m *Memory) sweep() {
	var now int64
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		now = max(now, s.latest)
		s.mu.Unlock()
	}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		m.evictIdle(s, now, -1)
		s.mu.Unlock()
	}
}

// evictIdle drops up to limit (all if < 0) keys from the LRU end of s whose
// buckets have refilled completely by now. s.mu must be held.
func (m *Memory) evictIdle(s *shard, now int64, limit int) {
	for n := 0; s.tail != nil && n != limit; n++ {
		if now-s.tail.seen <= m.idle {
			return
		}
		s.remove(s.tail)
	}
}

func (s *shard) remove(e *entry) {
	s.unlink(e)
	delete(s.keys, e.key)
}

func (s *shard) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *shard) pushFront(e *entry) {
	e.next = s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}

// seconds converts seconds to a Duration, rounded to the microsecond so
// float noise does not add a second when rounded up for a header.
func seconds(sec float64) time.Duration {
	if sec >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(math.Round(sec*1e6)) * time.Microsecond
}
