//go:build unix

package capture

import (
	"crypto/tls"
	"errors"
	"syscall"
)

// alive reports whether an idle upstream connection is still open: the
// upstream may have closed it while it sat in the pool. It peeks at the
// socket without blocking: nothing to read means open.
func alive(pc *upConn) bool {
	c := pc.conn
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Unexpected bytes or EOF (n == 0) mean the connection cannot be used.
		open = n < 0 && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK))
		return true
	})
	return err == nil && open
}
