package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client connection states, for Close.
const (
	connIdle   int32 = iota // waiting for a request head
	connActive              // in an exchange
	connTunnel              // switched protocols: bytes pass both ways
)

// clientConn is one connection from a client. One goroutine reads requests
// off it and forwards them one after the other (pipelined requests wait
// their turn), writing each response before reading the next request.
type clientConn struct {
	p      *Proxy
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string // RemoteAddr().String()
	ip     string // the host part of remote, for X-Forwarded-For

	state atomic.Int32
	mu    sync.Mutex
	up    *upConn // the upstream connection in use, closed by kill
}

func newClientConn(p *Proxy, c net.Conn) *clientConn {
	remote := c.RemoteAddr().String()
	ip, _, err := net.SplitHostPort(remote)
	if err != nil {
		ip = ""
	}
	return &clientConn{
		p:      p,
		conn:   c,
		br:     bufio.NewReaderSize(c, readBufferSize),
		bw:     bufio.NewWriterSize(c, writeBufferSize),
		remote: remote,
		ip:     ip,
	}
}

// lingerTimeout bounds how long a closing connection waits for the client
// to read its last response.
const lingerTimeout = 500 * time.Millisecond

// aLongTimeAgo is a deadline that has passed: it wakes up a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

func (cc *clientConn) serve() {
	defer cc.p.forget(cc)
	defer cc.conn.Close()
	for {
		if !cc.idle() {
			return
		}
		cc.conn.SetReadDeadline(time.Now().Add(idleTimeout))
		head, _, err := peekHead(cc.br)
		if err != nil {
			if errors.Is(err, errHeadTooLarge) {
				cc.reject(http.StatusRequestHeaderFieldsTooLarge, "")
			}
			return
		}
		cc.state.Store(connActive)
		cc.conn.SetReadDeadline(time.Time{})
		raw := string(head)
		req, err := http.ReadRequest(cc.br)
		if err != nil {
			code := http.StatusBadRequest
			if strings.Contains(err.Error(), "transfer encoding") {
				code = http.StatusNotImplemented
			}
			cc.reject(code, err.Error())
			return
		}
		if req.Method == http.MethodConnect {
			cc.reject(http.StatusMethodNotAllowed, "this is a reverse proxy, not a forward proxy")
			return
		}
		if !cc.p.exchange(cc, req, raw) {
			if cc.state.Load() != connTunnel {
				cc.linger()
			}
			return
		}
	}
}

// linger half-closes the connection and reads what the client still sends
// for a moment before it is closed: closing a socket with unread input
// makes the kernel reset the connection, and the client might then lose
// the response it was sent.
func (cc *clientConn) linger() {
	if cw, ok := cc.conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	cc.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, cc.conn, maxDrain)
}

// idle marks the connection as waiting for a request, unless the proxy
// is closing.
func (cc *clientConn) idle() bool {
	if cc.p.closing.Load() {
		return false
	}
	cc.state.Store(connIdle)
	return !cc.p.closing.Load()
}

// shutdown ends the connection if it waits for a request or carries a
// switched protocol; an exchange in flight finishes first.
func (cc *clientConn) shutdown() {
	switch cc.state.Load() {
	case connIdle:
		cc.conn.SetReadDeadline(aLongTimeAgo)
	case connTunnel:
		cc.kill()
	}
}

// kill closes the connection and the upstream connection it uses.
func (cc *clientConn) kill() {
	cc.conn.Close()
	cc.mu.Lock()
	if cc.up != nil {
		cc.up.close()
	}
	cc.mu.Unlock()
}

// using records the upstream connection in use (nil when done), so that
// kill can close it.
func (cc *clientConn) using(pc *upConn) {
	cc.mu.Lock()
	cc.up = pc
	cc.mu.Unlock()
	if pc != nil && cc.p.force.Err() != nil {
		pc.close()
	}
}

// reject answers a request that cannot be forwarded, and closes.
func (cc *clientConn) reject(code int, detail string) {
	text := http.StatusText(code)
	body := fmt.Sprintf("%d %s", code, text)
	if detail != "" {
		body += ": " + detail
	}
	fmt.Fprintf(cc.bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, text, len(body), body)
	cc.bw.Flush()
	cc.linger()
}
