package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/backworks/bw/store"
)

// How a response body is framed to the client.
const (
	frameNone    = iota // no body (HEAD, 204, 304, or empty)
	frameLength         // Content-Length, as from upstream
	frameChunked        // chunked: streamed as it arrives
	frameClose          // until the connection closes (HTTP/1.0 clients)
)

// expectContinueTimeout is how long the proxy waits for the upstream's
// 100 Continue before it sends the body anyway, as net/http does.
const expectContinueTimeout = time.Second

// maxDrain is how much of a request body the upstream did not read is
// skipped to keep the client connection; past it the connection closes.
const maxDrain = 256 << 10

// errClient marks a failure on the client's side of an exchange.
type errClient struct{ err error }

func (e errClient) Error() string { return e.err.Error() }
func (e errClient) Unwrap() error { return e.err }

// exchange forwards one request upstream, the response back, and records
// both. It reports whether the client connection can carry another request.
func (p *Proxy) exchange(cc *clientConn, req *http.Request, head string) (keepAlive bool) {
	x := &exchange{p: p}
	x.rec.Start = time.Now()
	req.RemoteAddr = cc.remote
	fields, raw := requestHeader(head, req)
	if !raw {
		x.rebuilt = true
	}
	x.recordRequest(req, fields)
	defer cc.using(nil)

	keepAlive = !req.Close && req.ProtoAtLeast(1, 1)
	hasBody := req.Body != http.NoBody
	if hasBody {
		x.reqBody.init(req.Body, p.maxBody, req.ContentLength)
	}
	upgrade := upgradeType(req.Header)
	expect := hasBody && hasToken(req.Header["Expect"], "100-continue")

	pc, res, resHead, sentBody, err := p.roundTrip(x, cc, req, fields, upgrade, expect)
	if err != nil {
		var ce errClient
		if errors.As(err, &ce) {
			x.clientErr = ce.err
			x.finish()
			return false
		}
		x.err = err
		if p.closing.Load() && p.force.Err() != nil {
			x.err = fmt.Errorf("proxy closed: %w", err)
		}
		p.log.Warn("upstream failed", "method", req.Method, "path", x.rec.Request.Path, "err", err)
		keepAlive = keepAlive && (!hasBody || x.reqBody.atEOF() || !expect && drain(&x.reqBody))
		x.rec.Response = store.Response{Status: http.StatusBadGateway, Proto: "HTTP/1.1"}
		if !req.ProtoAtLeast(1, 1) {
			x.rec.Response.Proto = "HTTP/1.0"
		}
		cc.bw.WriteString("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n")
		if !keepAlive {
			cc.bw.WriteString("Connection: close\r\n")
		}
		cc.bw.WriteString("\r\n")
		if err := cc.bw.Flush(); err != nil {
			keepAlive = false
		}
		x.finish()
		return keepAlive
	}
	resFields, raw := responseHeader(resHead, res)
	if !raw {
		x.rebuilt = true
	}
	x.recordResponse(res, resFields)

	if res.StatusCode == http.StatusSwitchingProtocols {
		p.switchProtocols(x, cc, pc, res, resFields, upgrade)
		return false
	}

	framing := frameNone
	switch {
	case res.Body == http.NoBody:
	case res.ContentLength > 0 && len(res.TransferEncoding) == 0:
		framing = frameLength
	case req.ProtoAtLeast(1, 1):
		framing = frameChunked
	default:
		framing = frameClose
		keepAlive = false
	}
	if hasBody && !x.reqBody.atEOF() && (expect && !sentBody || !drain(&x.reqBody)) {
		// The upstream answered without reading the whole request body.
		keepAlive = false
	}
	writeResponseHead(cc.bw, res, resFields, framing, keepAlive)
	if res.Body != http.NoBody {
		x.resBody.init(res.Body, p.maxBody, res.ContentLength)
	}
	readErr, writeErr := copyResponse(cc.bw, &x.resBody, res, framing)
	if writeErr == nil {
		writeErr = cc.bw.Flush()
	}
	x.readErr, x.clientErr = readErr, writeErr
	cc.using(nil)
	if readErr == nil && writeErr == nil && !res.Close && x.requestWritten {
		p.upstream.put(pc)
	} else {
		pc.close()
	}
	x.finish()
	return keepAlive && readErr == nil && writeErr == nil
}

// roundTrip sends the request upstream and reads the response head,
// forwarding interim (1xx) responses to the client. An idempotent request
// without a body that fails on a reused connection before any response
// byte arrives is tried once more on a new connection: the upstream may
// have closed the idle connection as it was taken.
func (p *Proxy) roundTrip(x *exchange, cc *clientConn, req *http.Request, fields store.Header, upgrade string, expect bool) (pc *upConn, res *http.Response, head string, sentBody bool, err error) {
	hasBody := req.Body != http.NoBody
	chunked := hasBody && req.ContentLength < 0
	// sendBody sends the request body upstream. A client that sent
	// "Expect: 100-continue" hears "100 Continue" first: it may wait for it.
	continued := false
	sendBody := func() error {
		sentBody = true
		if expect && !continued {
			continued = true
			cc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := cc.bw.Flush(); err != nil {
				return errClient{err}
			}
		}
		if err := writeBody(pc.bw, &x.reqBody, req, chunked); err != nil {
			return err
		}
		return pc.bw.Flush()
	}
	for attempt := 0; ; attempt++ {
		if attempt == 0 {
			pc, err = p.upstream.get(p.force, !replayable(req))
		} else {
			pc, err = p.upstream.dial(p.force)
		}
		if err != nil {
			return nil, nil, "", false, err
		}
		cc.using(pc)
		x.rec.ServerAddr = pc.remote
		p.writeRequestHead(pc.bw, cc, req, fields, upgrade, chunked)
		sentBody = false
		var werr error
		if hasBody && !expect {
			werr = sendBody()
		} else {
			werr = pc.bw.Flush()
		}
		waiting := expect // for 100 Continue, with a deadline
		if waiting {
			// An upstream that does not know Expect waits for the body.
			pc.conn.SetReadDeadline(time.Now().Add(expectContinueTimeout))
		}
		for {
			if ce := (errClient{}); errors.As(werr, &ce) {
				pc.close()
				return nil, nil, "", sentBody, werr
			}
			// Even when writing failed, the upstream may have answered
			// (413, say) before closing.
			h, got, rerr := peekHead(pc.br)
			if waiting {
				waiting = false
				pc.conn.SetReadDeadline(time.Time{})
				if !got && isTimeout(rerr) && werr == nil {
					werr = sendBody()
					continue
				}
			}
			if rerr == nil {
				head = string(h)
				res, rerr = http.ReadResponse(pc.br, req)
			}
			if rerr != nil {
				pc.close()
				if attempt == 0 && pc.reused && !got && replayable(req) {
					break // try again on a new connection
				}
				if werr != nil && !got {
					rerr = werr
				}
				if errors.Is(rerr, errHeadTooLarge) {
					rerr = fmt.Errorf("response head larger than %d bytes", readBufferSize)
				}
				return nil, nil, "", sentBody, rerr
			}
			if res.StatusCode >= 100 && res.StatusCode < 200 && res.StatusCode != http.StatusSwitchingProtocols {
				switch {
				case res.StatusCode == http.StatusContinue && expect && !sentBody && werr == nil:
					werr = sendBody()
				case res.StatusCode != http.StatusContinue && req.ProtoAtLeast(1, 1):
					cc.bw.WriteString(head) // 103 Early Hints and the like
					if err := cc.bw.Flush(); err != nil {
						werr = errClient{err}
					}
				}
				continue
			}
			x.requestWritten = werr == nil && (sentBody || !hasBody)
			return pc, res, head, sentBody, nil
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// replayable reports whether a request may be sent twice.
func replayable(req *http.Request) bool {
	if req.Body != http.NoBody {
		return false
	}
	switch req.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return req.Header["Idempotency-Key"] != nil || req.Header["X-Idempotency-Key"] != nil
}

// writeField writes one header line.
func writeField(w *bufio.Writer, name, value string) {
	w.WriteString(name)
	w.WriteString(": ")
	w.WriteString(value)
	w.WriteString("\r\n")
}

// writeRequestHead writes the request head for upstream: the client's
// fields in the client's order and case, minus hop-by-hop ones, with the
// upstream's Host (unless PreserveHost), the body framing the proxy uses,
// and X-Forwarded-For (appended to the client's), X-Forwarded-Host and
// X-Forwarded-Proto.
func (p *Proxy) writeRequestHead(w *bufio.Writer, cc *clientConn, req *http.Request, fields store.Header, upgrade string, chunked bool) {
	w.WriteString(req.Method)
	w.WriteByte(' ')
	path, query, hasQuery := requestTarget(req)
	w.WriteString(joinPath(p.basePath, path))
	if uq := p.cfg.Upstream.RawQuery; uq != "" {
		w.WriteByte('?')
		w.WriteString(uq)
		if query != "" {
			w.WriteByte('&')
			w.WriteString(query)
		}
	} else if hasQuery {
		w.WriteByte('?')
		w.WriteString(query)
	}
	w.WriteString(" HTTP/1.1\r\n")

	host := p.upHost
	if p.cfg.PreserveHost {
		host = req.Host
	}
	conn := req.Header["Connection"]
	var wroteHost, wroteLength, wroteTE bool
	for _, f := range fields {
		switch classify(f.Name) {
		case hdrHost:
			if !wroteHost && host != "" {
				writeField(w, f.Name, host)
				wroteHost = true
			}
			continue
		case hdrContentLength:
			if !chunked && !wroteLength {
				writeField(w, f.Name, strconv.FormatInt(max(req.ContentLength, 0), 10))
				wroteLength = true
			}
			continue
		case hdrTransferEncoding:
			if chunked && !wroteTE {
				writeField(w, f.Name, "chunked")
				wroteTE = true
			}
			continue
		case hdrTE:
			if hasToken([]string{f.Value}, "trailers") {
				writeField(w, f.Name, "trailers")
			}
			continue
		case hdrTrailer:
			if chunked {
				writeField(w, f.Name, f.Value)
			}
			continue
		case hdrUpgrade:
			if upgrade != "" {
				writeField(w, f.Name, f.Value)
			}
			continue
		case hdrConnection, hdrHopByHop, hdrForwardedFor, hdrForwardedHost, hdrForwardedProto:
			continue
		}
		if len(conn) > 0 && hasToken(conn, f.Name) {
			continue
		}
		writeField(w, f.Name, f.Value)
	}
	if !wroteHost && host != "" {
		writeField(w, "Host", host)
	}
	if chunked && !wroteTE {
		writeField(w, "Transfer-Encoding", "chunked")
	}
	if upgrade != "" {
		writeField(w, "Connection", "Upgrade")
	}
	if cc.ip != "" {
		w.WriteString("X-Forwarded-For: ")
		for _, v := range req.Header["X-Forwarded-For"] {
			w.WriteString(v)
			w.WriteString(", ")
		}
		w.WriteString(cc.ip)
		w.WriteString("\r\n")
	}
	if req.Host != "" {
		writeField(w, "X-Forwarded-Host", req.Host)
	}
	writeField(w, "X-Forwarded-Proto", "http")
	w.WriteString("\r\n")
}

// requestTarget returns the escaped path and the raw query as the client
// sent them.
func requestTarget(req *http.Request) (path, query string, hasQuery bool) {
	if strings.HasPrefix(req.RequestURI, "/") || req.RequestURI == "*" {
		return strings.Cut(req.RequestURI, "?")
	}
	// Absolute form: GET http://host/path?q HTTP/1.1
	return req.URL.EscapedPath(), req.URL.RawQuery, req.URL.ForceQuery || req.URL.RawQuery != ""
}

// writeBody copies the request body upstream, chunked if the client sent
// it chunked. Failures to read from the client come back as errClient.
func writeBody(w *bufio.Writer, body *bodyTee, req *http.Request, chunked bool) error {
	buf := copyBuffers.Get().(*[32 << 10]byte)
	defer copyBuffers.Put(buf)
	for {
		n, rerr := body.Read(buf[:])
		if n > 0 {
			if chunked {
				w.WriteString(strconv.FormatInt(int64(n), 16))
				w.WriteString("\r\n")
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if chunked {
				w.WriteString("\r\n")
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return errClient{rerr}
		}
	}
	if chunked {
		w.WriteString("0\r\n")
		writeTrailer(w, req.Trailer)
		w.WriteString("\r\n")
	}
	return nil
}

func writeTrailer(w *bufio.Writer, t http.Header) {
	for k, vs := range t {
		for _, v := range vs {
			writeField(w, k, v)
		}
	}
}

// drain reads what is left of a request body the upstream did not read,
// up to maxDrain, so that the next request on the connection can be read.
func drain(body io.Reader) bool {
	_, err := io.CopyN(io.Discard, body, maxDrain)
	return err == io.EOF
}

// writeResponseHead writes the response head to the client: the upstream's
// fields in its order and case, minus hop-by-hop ones, with the framing the
// proxy uses.
func writeResponseHead(w *bufio.Writer, res *http.Response, fields store.Header, framing int, keepAlive bool) {
	w.WriteString("HTTP/1.1 ")
	w.WriteString(strconv.Itoa(res.StatusCode))
	w.WriteByte(' ')
	w.WriteString(reason(res))
	w.WriteString("\r\n")
	conn := res.Header["Connection"]
	var wroteLength, wroteTE bool
	for _, f := range fields {
		switch classify(f.Name) {
		case hdrContentLength:
			if (framing == frameNone || framing == frameLength) && !wroteLength {
				writeField(w, f.Name, f.Value)
				wroteLength = true
			}
			continue
		case hdrTransferEncoding:
			if framing == frameChunked && !wroteTE {
				writeField(w, f.Name, "chunked")
				wroteTE = true
			}
			continue
		case hdrTrailer:
			if framing == frameChunked {
				writeField(w, f.Name, f.Value)
			}
			continue
		case hdrConnection, hdrHopByHop, hdrTE, hdrUpgrade:
			continue
		}
		if len(conn) > 0 && hasToken(conn, f.Name) {
			continue
		}
		writeField(w, f.Name, f.Value)
	}
	if framing == frameChunked && !wroteTE {
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if !keepAlive {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
}

// reason returns the status text the upstream sent.
func reason(res *http.Response) string {
	code := strconv.Itoa(res.StatusCode)
	return strings.TrimLeft(strings.TrimPrefix(res.Status, code), " ")
}

// copyResponse streams the response body to the client. Bodies of unknown
// length and event streams are flushed as they arrive.
func copyResponse(w *bufio.Writer, body *bodyTee, res *http.Response, framing int) (readErr, writeErr error) {
	if framing == frameNone {
		return nil, nil
	}
	flushEach := framing != frameLength || isEventStream(res)
	buf := copyBuffers.Get().(*[32 << 10]byte)
	defer copyBuffers.Put(buf)
	for {
		n, rerr := body.Read(buf[:])
		if n > 0 {
			if framing == frameChunked {
				w.WriteString(strconv.FormatInt(int64(n), 16))
				w.WriteString("\r\n")
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return nil, err
			}
			if framing == frameChunked {
				w.WriteString("\r\n")
			}
			if flushEach {
				if err := w.Flush(); err != nil {
					return nil, err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr, nil
		}
	}
	if framing == frameChunked {
		w.WriteString("0\r\n")
		writeTrailer(w, res.Trailer)
		w.WriteString("\r\n")
	}
	return nil, nil
}

func isEventStream(res *http.Response) bool {
	ct := res.Header.Get("Content-Type")
	return len(ct) >= 17 && strings.EqualFold(ct[:17], "text/event-stream")
}

// switchProtocols completes a protocol switch (WebSocket): the 101 goes to
// the client, then bytes pass both ways until either side closes. The
// exchange is recorded when the tunnel closes.
func (p *Proxy) switchProtocols(x *exchange, cc *clientConn, pc *upConn, res *http.Response, fields store.Header, upgrade string) {
	defer pc.close()
	if got := upgradeType(res.Header); upgrade == "" || !strings.EqualFold(got, upgrade) {
		x.err = fmt.Errorf("upstream switched to protocol %q when %q was asked for", got, upgrade)
		cc.bw.WriteString("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		cc.bw.Flush()
		x.rec.Response = store.Response{Status: http.StatusBadGateway, Proto: "HTTP/1.1"}
		x.finish()
		return
	}
	cc.bw.WriteString("HTTP/1.1 101 ")
	cc.bw.WriteString(reason(res))
	cc.bw.WriteString("\r\n")
	for _, f := range fields {
		writeField(cc.bw, f.Name, f.Value)
	}
	cc.bw.WriteString("\r\n")
	if err := cc.bw.Flush(); err != nil {
		x.clientErr = err
		x.finish()
		return
	}
	cc.state.Store(connTunnel)
	if p.closing.Load() {
		cc.kill()
	}
	errc := make(chan error, 2)
	go tunnelCopy(errc, pc.conn, cc.br)
	go tunnelCopy(errc, cc.conn, pc.br)
	pending := 2
	// Both directions ended cleanly (half-closes passed on), or one failed.
	for pending > 0 {
		pending--
		if err := <-errc; err != nil {
			break
		}
	}
	cc.conn.Close()
	pc.close()
	for ; pending > 0; pending-- {
		<-errc
	}
	x.finish()
}

// tunnelCopy copies one direction of a switched protocol and passes the
// end on as a half-close. Buffered bytes go first.
func tunnelCopy(errc chan<- error, dst net.Conn, src *bufio.Reader) {
	_, err := io.Copy(dst, src)
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			err = cw.CloseWrite()
		} else {
			err = errors.New("tunnel done")
		}
	}
	errc <- err
}
