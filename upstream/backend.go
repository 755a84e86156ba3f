package upstream

import (
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backworks/bw/api"
)

// Backend is one target of a Pool. Its methods are safe for concurrent use.
type Backend struct {
	name     string
	url      *url.URL
	weight   int
	nameHash uint64
	check    *healthCheck // nil: passive checks only
	pool     *Pool
	release  func() // the done func Pick returns, allocated once

	inflight  atomic.Int64
	up        atomic.Bool
	downUntil atomic.Int64 // passive only: unix nanoseconds until which it stays down

	mu       sync.Mutex
	fails    int // consecutive failures
	oks      int // consecutive successes
	lastFail time.Time
}

// healthCheck is a target's active check with defaults applied.
type healthCheck struct {
	url                string
	interval, timeout  time.Duration
	healthy, unhealthy int
}

func newBackend(t *api.Target, p *Pool) (*Backend, error) {
	u, err := parseTargetURL(t.URL)
	if err != nil {
		return nil, err
	}
	b := &Backend{name: t.Name, url: u, weight: t.Weight, pool: p}
	if b.name == "" {
		b.name = u.Host
	}
	switch {
	case b.weight == 0:
		b.weight = 1
	case b.weight < 0:
		return nil, fmt.Errorf("target %q: weight: must be >= 0 (got %d)", b.name, b.weight)
	}
	if t.HealthCheck != nil {
		if b.check, err = newHealthCheck(u, t.HealthCheck); err != nil {
			return nil, fmt.Errorf("target %q: health_check.%w", b.name, err)
		}
	}
	b.nameHash = hashString(b.name)
	b.release = func() { b.inflight.Add(-1) }
	b.up.Store(true)
	return b, nil
}

func newHealthCheck(target *url.URL, hc *api.HealthCheck) (*healthCheck, error) {
	c := &healthCheck{
		interval:  hc.Interval,
		timeout:   hc.Timeout,
		healthy:   hc.HealthyThreshold,
		unhealthy: hc.UnhealthyThreshold,
	}
	switch {
	case c.interval < 0:
		return nil, fmt.Errorf("interval: must be >= 0 (got %v)", c.interval)
	case c.timeout < 0:
		return nil, fmt.Errorf("timeout: must be >= 0 (got %v)", c.timeout)
	case c.healthy < 0:
		return nil, fmt.Errorf("healthy_threshold: must be >= 0 (got %d)", c.healthy)
	case c.unhealthy < 0:
		return nil, fmt.Errorf("unhealthy_threshold: must be >= 0 (got %d)", c.unhealthy)
	}
	c.interval = cmpOr(c.interval, defaultInterval)
	c.timeout = cmpOr(c.timeout, defaultTimeout)
	c.healthy = cmpOr(c.healthy, defaultHealthyThreshold)
	c.unhealthy = cmpOr(c.unhealthy, defaultUnhealthyThreshold)

	path := hc.Path
	if path == "" {
		path = "/"
	}
	ref, err := url.Parse(path)
	if err != nil || ref.Scheme != "" || ref.Host != "" {
		return nil, fmt.Errorf("path %q: must be a path on the target", hc.Path)
	}
	c.url = target.ResolveReference(ref).String()
	return c, nil
}

// Name returns the target's name (its host when the configuration has none).
func (b *Backend) Name() string { return b.name }

// URL returns the target's URL; the caller must not modify it.
func (b *Backend) URL() *url.URL { return b.url }

// Weight returns the target's weight (1 unless configured).
func (b *Backend) Weight() int { return b.weight }

// InFlight returns how many picks of b have not called their done func yet.
func (b *Backend) InFlight() int { return int(b.inflight.Load()) }

// Healthy reports whether b is used by Pick.
func (b *Backend) Healthy() bool {
	if b.up.Load() {
		return true
	}
	if b.check != nil || time.Now().UnixNano() < b.downUntil.Load() {
		return false
	}
	// A target without a health check gets another chance after FailTimeout.
	b.mu.Lock()
	changed := !b.up.Load()
	if changed {
		b.up.Store(true)
		b.fails, b.oks = 0, 0
	}
	b.mu.Unlock()
	if changed {
		b.pool.changed(b, true)
	}
	return true
}

// unhealthyThreshold is how many consecutive failures take b down.
func (b *Backend) unhealthyThreshold() int {
	if b.check != nil {
		return b.check.unhealthy
	}
	return defaultUnhealthyThreshold
}

// record counts one probe result or passive failure and reports b's
// transition to the pool.
func (b *Backend) record(ok, passive bool) {
	now := time.Now()
	b.mu.Lock()
	changed := false
	if ok {
		b.fails = 0
		b.oks++
		if !b.up.Load() && b.oks >= b.check.healthy {
			b.up.Store(true)
			changed = true
		}
	} else {
		if passive && b.check == nil && now.Sub(b.lastFail) > b.pool.failTimeout {
			b.fails = 0 // passive failures are counted within FailTimeout
		}
		b.lastFail = now
		b.oks = 0
		b.fails++
		if b.up.Load() && b.fails >= b.unhealthyThreshold() {
			b.up.Store(false)
			b.downUntil.Store(now.Add(b.pool.failTimeout).UnixNano())
			changed = true
		}
	}
	up := b.up.Load()
	b.mu.Unlock()
	if changed {
		b.pool.changed(b, up)
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
