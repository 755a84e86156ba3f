package capture

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/backworks/bw/store"
)

// exchange is the recording of one request in flight. The recording itself
// is handed to the sink when the exchange is over.
type exchange struct {
	p   *Proxy
	rec store.Exchange

	reqBody, resBody bodyTee
	requestWritten   bool  // the whole request went upstream
	err              error // the upstream failed before answering
	readErr          error // the upstream failed in the middle of the body
	clientErr        error // the client went away
	rebuilt          bool  // a header was rebuilt from net/http's parse
}

// recordRequest fills in the request as the client sent it.
func (x *exchange) recordRequest(req *http.Request, fields store.Header) {
	x.rec.ClientAddr = req.RemoteAddr
	q := &x.rec.Request
	q.Method = req.Method
	q.Scheme = "http"
	if req.TLS != nil {
		q.Scheme = "https"
	}
	q.Host = req.Host
	q.Path, q.RawQuery, _ = requestTarget(req)
	q.Proto = req.Proto
	q.Header = fields
}

// recordResponse fills in the response head as the upstream sent it.
func (x *exchange) recordResponse(res *http.Response, fields store.Header) {
	s := &x.rec.Response
	s.Status = res.StatusCode
	s.Reason = reason(res)
	s.Proto = res.Proto
	s.Header = fields
}

// finish completes the recording and hands it to the sink.
func (x *exchange) finish() {
	p := x.p
	ex := &x.rec
	ex.Duration = time.Since(ex.Start)
	ex.Session = p.cfg.Session
	ex.Source = store.SourceProxy
	if ex.ServerAddr == "" {
		ex.ServerAddr = p.upstream.addr
	}
	if x.reqBody.rc != nil {
		ex.Request.Body = x.reqBody.take()
	}
	if x.resBody.rc != nil {
		ex.Response.Body = x.resBody.take()
	}
	switch {
	case x.err != nil:
		ex.Error = x.err.Error()
	case x.readErr != nil:
		ex.Error = "read response body from upstream: " + x.readErr.Error()
	case x.clientErr != nil:
		ex.Error = "client went away before the exchange was complete: " + x.clientErr.Error()
	}
	if x.rebuilt {
		p.rebuilt.Add(1)
	}
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug("exchange", "method", ex.Request.Method, "url", ex.Request.URL(),
			"status", ex.Response.Status, "duration", ex.Duration, "err", ex.Error)
	}
	p.handOver(ex)
}

// bodyTee passes a body through and keeps a copy of its first max bytes.
// It is used by one goroutine.
type bodyTee struct {
	rc   io.ReadCloser
	max  int64
	hint int64 // the declared length, -1 if unknown

	data []byte
	size int64
	eof  bool
	done bool // taken: keep nothing more
}

func (t *bodyTee) init(rc io.ReadCloser, max, hint int64) {
	t.rc, t.max, t.hint = rc, max, hint
}

func (t *bodyTee) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if !t.done {
		t.size += int64(n)
		if keep := t.max - int64(len(t.data)); keep > 0 && n > 0 {
			t.keep(p[:min(int64(n), keep)])
		}
		t.eof = t.eof || err == io.EOF
	}
	return n, err
}

// atEOF reports whether the whole body was read.
func (t *bodyTee) atEOF() bool {
	return t.eof
}

// keep appends b, growing the copy in steps up to max rather than
// allocating max up front.
func (t *bodyTee) keep(b []byte) {
	if need := len(t.data) + len(b); need > cap(t.data) {
		c := int64(2 * cap(t.data))
		if t.data == nil && t.hint > 0 {
			c = t.hint // the declared length, usually right
		}
		c = max(c, int64(need), 512)
		c = min(c, t.max)
		data := make([]byte, len(t.data), c)
		copy(data, t.data)
		t.data = data
	}
	t.data = append(t.data, b...)
}

func (t *bodyTee) Close() error { return t.rc.Close() }

// take returns the body as recorded and stops recording. A body cut short
// of its declared length is marked truncated, with that length.
func (t *bodyTee) take() store.Body {
	t.done = true
	b := store.Body{Data: t.data, Size: t.size}
	if t.hint > b.Size {
		b.Size = t.hint
	}
	b.Truncated = int64(len(b.Data)) < b.Size
	return b
}
