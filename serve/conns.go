package serve

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connTracker knows the server's connections that have not sent a request
// yet. http.Server.Shutdown waits up to 5 seconds for such a connection
// (it may be about to send one), and HTTP clients open them ahead of need
// (Go's transport keeps a connection it dialled for a request another
// connection served); Close closes them instead, once they have been
// silent for newConnGrace.
type connTracker struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

const newConnGrace = 100 * time.Millisecond

type trackedConn struct {
	net.Conn
	t     *connTracker
	fresh atomic.Bool // no request read yet
	since time.Time
}

type trackedListener struct {
	net.Listener
	t *connTracker
}

func (l trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: l.t, since: time.Now()}
	tc.fresh.Store(true)
	l.t.mu.Lock()
	if l.t.conns == nil {
		l.t.conns = map[*trackedConn]struct{}{}
	}
	l.t.conns[tc] = struct{}{}
	l.t.mu.Unlock()
	return tc, nil
}

// connState is the http.Server.ConnState hook.
func (t *connTracker) connState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tc, ok := c.(*trackedConn)
	if !ok {
		return
	}
	switch state {
	case http.StateActive:
		if tc.fresh.Load() {
			tc.fresh.Store(false)
		}
	case http.StateClosed, http.StateHijacked:
		t.mu.Lock()
		delete(t.conns, tc)
		t.mu.Unlock()
	}
}

// closeFresh closes the connections that have sent nothing for longer than
// newConnGrace.
func (t *connTracker) closeFresh() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		if c.fresh.Load() && time.Since(c.since) > newConnGrace {
			c.Conn.Close()
			delete(t.conns, c)
		}
	}
}
