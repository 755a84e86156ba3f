package capture

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"sync"
	"time"
)

// Limits of the connections to upstream.
const (
	maxIdleUpstream     = 1024             // idle connections kept
	upstreamIdleTimeout = 90 * time.Second // an idle connection older than this is closed
	probeIdleAfter      = time.Second      // an idle connection older than this is checked before use
	dialTimeout         = 10 * time.Second
	readBufferSize      = 16 << 10 // also the largest message head recorded and forwarded
	writeBufferSize     = 4 << 10
)

// upConn is a connection to the upstream, used by one exchange at a time.
type upConn struct {
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	idleAt time.Time
	reused bool
}

func (pc *upConn) close() { pc.conn.Close() }

// upstreamPool dials the upstream and keeps idle connections for reuse.
// It speaks HTTP/1.1 only and ignores proxy settings from the environment.
type upstreamPool struct {
	addr   string      // host:port
	tls    *tls.Config // nil for http://
	dialer net.Dialer

	mu     sync.Mutex
	idle   []*upConn // most recently used last
	closed bool
}

func newUpstreamPool(u *url.URL) *upstreamPool {
	p := &upstreamPool{addr: hostPort(u), dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}}
	if u.Scheme == "https" {
		p.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	}
	return p
}

// get returns an idle connection that still looks open, or a new one. An
// idle connection is checked for a close from the upstream when it has been
// idle a while, or always with check set (for a request that could not be
// sent again).
func (p *upstreamPool) get(ctx context.Context, check bool) (*upConn, error) {
	for {
		p.mu.Lock()
		var pc *upConn
		if n := len(p.idle); n > 0 {
			pc = p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
		}
		p.mu.Unlock()
		if pc == nil {
			return p.dial(ctx)
		}
		idle := time.Since(pc.idleAt)
		if idle > upstreamIdleTimeout || (check || idle > probeIdleAfter) && !alive(pc) {
			pc.close()
			continue
		}
		pc.reused = true
		return pc, nil
	}
}

func (p *upstreamPool) dial(ctx context.Context) (*upConn, error) {
	c, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if p.tls != nil {
		tc := tls.Client(c, p.tls)
		hctx, cancel := context.WithTimeout(ctx, dialTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	return &upConn{
		conn:   c,
		br:     bufio.NewReaderSize(c, readBufferSize),
		bw:     bufio.NewWriterSize(c, writeBufferSize),
		remote: c.RemoteAddr().String(),
	}, nil
}

// put gives back a connection whose last exchange ended cleanly.
func (p *upstreamPool) put(pc *upConn) {
	pc.idleAt = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdleUpstream || pc.br.Buffered() > 0 {
		p.mu.Unlock()
		pc.close()
		return
	}
	p.idle = append(p.idle, pc)
	p.mu.Unlock()
}

// close closes the idle connections; connections in use are closed when
// given back.
func (p *upstreamPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, pc := range idle {
		pc.close()
	}
}
