package upstream

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Start launches one goroutine per target with a health check, probing it
// at once and then every interval until ctx ends or Close is called. It
// returns an error if the pool was already started or closed.
func (p *Pool) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrClosed
	case p.started:
		return fmt.Errorf("upstream: pool already started")
	}
	p.started = true
	ctx, p.cancel = context.WithCancel(ctx)
	for _, b := range p.backends {
		if b.check != nil {
			p.wg.Add(1)
			go p.watch(ctx, b)
		}
	}
	return nil
}

// Close stops the health checks and waits for them to return; Pick keeps
// working with the last known health. It is safe to call more than once.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if p.ownClient {
		p.client.CloseIdleConnections()
	}
	return nil
}

// MarkFailure records a failed request to b (a transport error or timeout,
// not an HTTP error status); it counts toward b's unhealthy threshold like
// a failed probe.
func (p *Pool) MarkFailure(b *Backend) {
	b.record(false, true)
}

// watch probes b every interval until ctx ends.
func (p *Pool) watch(ctx context.Context, b *Backend) {
	defer p.wg.Done()
	t := time.NewTicker(b.check.interval)
	defer t.Stop()
	for {
		ok := p.probe(ctx, b)
		if ctx.Err() != nil {
			return // the probe was cut short by Close: not a result
		}
		b.record(ok, false)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe sends one health check request and reports whether it passed: a
// response with status 200-399 within the timeout.
func (p *Pool) probe(ctx context.Context, b *Backend) bool {
	ctx, cancel := context.WithTimeout(ctx, b.check.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.check.url, nil)
	if err != nil {
		p.log.Debug("health check failed", "target", b.name, "url", b.check.url, "err", err)
		return false
	}
	req.Header.Set("User-Agent", "bw-health-check")
	resp, err := p.client.Do(req)
	if err != nil {
		p.log.Debug("health check failed", "target", b.name, "url", b.check.url, "err", err)
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		p.log.Debug("health check failed", "target", b.name, "url", b.check.url, "status", resp.StatusCode)
		return false
	}
	return true
}

// changed reports a health transition of b.
func (p *Pool) changed(b *Backend, healthy bool) {
	p.log.Info("upstream health changed", "target", b.name, "healthy", healthy)
	if p.onChange != nil {
		p.onChange(b, healthy)
	}
}

// newClient returns the default health check client: direct connections
// (no proxy from the environment), no redirects followed, short dial.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 5 * time.Second,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
