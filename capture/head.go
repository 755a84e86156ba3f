package capture

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/backworks/bw/store"
)

// A message head as it went over the wire keeps what net/http throws away:
// the order of distinct header names and their case. The functions here turn
// a raw head into a store.Header, checked against what net/http parsed of
// the same bytes, so that nothing but what net/http accepted is recorded
// and forwarded.

// parseHead splits a raw HTTP/1 message head (start line, header lines, blank
// line) into its start line and header fields. The fields are substrings of
// head; values lose the blanks around them, as net/http's do. ok is false for
// anything but plain CRLF-terminated "name: value" lines: bare LF line ends,
// folded lines, a line without a colon.
func parseHead(head string) (start string, h store.Header, ok bool) {
	if !strings.HasSuffix(head, "\r\n\r\n") {
		return "", nil, false
	}
	body := head[:len(head)-2] // every line, with its CRLF
	if strings.Count(body, "\n") != strings.Count(body, "\r\n") {
		return "", nil, false
	}
	i := strings.Index(body, "\r\n")
	start, rest := body[:i], body[i+2:]
	if n := strings.Count(rest, "\r\n"); n > 0 {
		h = make(store.Header, 0, n)
	}
	for rest != "" {
		i := strings.Index(rest, "\r\n")
		line := rest[:i]
		rest = rest[i+2:]
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			return "", nil, false
		}
		name := line[:colon]
		if strings.ContainsAny(name, " \t") {
			return "", nil, false
		}
		h = append(h, store.Field{Name: name, Value: trimBlanks(line[colon+1:])})
	}
	return start, h, true
}

// trimBlanks trims spaces and tabs, as net/textproto does with field values.
func trimBlanks(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// rewritten reports whether net/http may drop, merge or add this header
// while parsing a message (Host moves to Request.Host, Transfer-Encoding to
// TransferEncoding, duplicate Content-Lengths merge, Pragma: no-cache adds
// Cache-Control, ...). For these names the raw head is the only record of
// what was sent, so agrees does not compare them.
func rewritten(name string) bool {
	switch len(name) {
	case 4:
		return strings.EqualFold(name, "Host")
	case 7:
		return strings.EqualFold(name, "Trailer")
	case 10:
		return strings.EqualFold(name, "Connection")
	case 13:
		return strings.EqualFold(name, "Cache-Control")
	case 14:
		return strings.EqualFold(name, "Content-Length")
	case 17:
		return strings.EqualFold(name, "Transfer-Encoding")
	}
	return false
}

// agrees reports whether raw holds the same fields as hh: the same values
// under each name, in the same order per name, nothing more and nothing less,
// apart from the headers net/http rewrites.
func agrees(raw store.Header, hh http.Header) bool {
	n := 0
	for i, f := range raw {
		if rewritten(f.Name) {
			continue
		}
		vs, ok := hh[f.Name]
		if !ok {
			vs = hh[http.CanonicalHeaderKey(f.Name)]
		}
		seen := 0 // earlier fields of the same name
		for _, g := range raw[:i] {
			if len(g.Name) == len(f.Name) && strings.EqualFold(g.Name, f.Name) {
				seen++
			}
		}
		if seen >= len(vs) || vs[seen] != f.Value {
			return false
		}
		n++
	}
	m := 0
	for k, vs := range hh {
		if !rewritten(k) {
			m += len(vs)
		}
	}
	return n == m
}

// isRequestLine reports whether line is "METHOD URI PROTO".
func isRequestLine(line, method, uri, proto string) bool {
	return len(line) == len(method)+len(uri)+len(proto)+2 &&
		strings.HasPrefix(line, method) && line[len(method)] == ' ' &&
		line[len(method)+1:len(method)+1+len(uri)] == uri &&
		line[len(line)-len(proto)-1] == ' ' && strings.HasSuffix(line, proto)
}

// isStatusLine reports whether line is "PROTO STATUS", with the blanks
// net/http allows between them.
func isStatusLine(line, proto, status string) bool {
	if !strings.HasPrefix(line, proto) || len(line) <= len(proto) || line[len(proto)] != ' ' {
		return false
	}
	return strings.TrimLeft(line[len(proto):], " ") == status
}

// requestHeader returns the header of r as the client sent it: from the raw
// head when it agrees with r, else rebuilt from r (sorted names, with Host
// and Transfer-Encoding put back where net/http took them out).
func requestHeader(head string, r *http.Request) (h store.Header, raw bool) {
	if head != "" {
		if start, h, ok := parseHead(head); ok &&
			isRequestLine(start, r.Method, r.RequestURI, r.Proto) && agrees(h, r.Header) {
			return h, true
		}
	}
	h = make(store.Header, 0, len(r.Header)+2)
	if r.Host != "" {
		h = append(h, store.Field{Name: "Host", Value: r.Host})
	}
	h = append(h, store.HeaderFromHTTP(r.Header)...)
	if len(r.TransferEncoding) > 0 {
		h = append(h, store.Field{Name: "Transfer-Encoding", Value: strings.Join(r.TransferEncoding, ", ")})
	}
	return h, false
}

// responseHeader is requestHeader for a response from upstream.
func responseHeader(head string, res *http.Response) (h store.Header, raw bool) {
	if head != "" {
		if start, h, ok := parseHead(head); ok &&
			isStatusLine(start, res.Proto, res.Status) && agrees(h, res.Header) {
			return h, true
		}
	}
	h = store.HeaderFromHTTP(res.Header)
	if len(res.TransferEncoding) > 0 {
		h = append(h, store.Field{Name: "Transfer-Encoding", Value: strings.Join(res.TransferEncoding, ", ")})
	}
	return h, false
}

// errHeadTooLarge is returned by peekHead for a head that does not fit in
// the connection's read buffer.
var errHeadTooLarge = errors.New("message head too large")

// peekHead waits until br holds a whole message head (up to its empty line)
// and returns it without consuming it: net/http parses it next, and the
// bytes are what bw records and forwards. The slice is valid until the next
// read from br. got reports whether any byte arrived.
func peekHead(br *bufio.Reader) (head []byte, got bool, err error) {
	n := 1
	for {
		if _, err := br.Peek(n); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, true, errHeadTooLarge
			}
			return nil, br.Buffered() > 0, err
		}
		b, _ := br.Peek(br.Buffered())
		if end := headEnd(b, max(n-4, 0)); end >= 0 {
			return b[:end], true, nil
		}
		n = len(b) + 1
	}
}

// headEnd returns the length of the head at the start of b, ending with an
// empty line (CRLF or a bare LF, which parseHead refuses later), or -1. The
// search starts at from.
func headEnd(b []byte, from int) int {
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return -1
		}
		j := from + i + 1
		switch {
		case j < len(b) && b[j] == '\n':
			return j + 1
		case j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n':
			return j + 2
		}
		from = j
	}
}

// Header names the proxy treats specially.
const (
	hdrOther = iota
	hdrHost
	hdrContentLength
	hdrTransferEncoding
	hdrTE
	hdrTrailer
	hdrUpgrade
	hdrConnection
	hdrHopByHop // Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization
	hdrForwardedFor
	hdrForwardedHost
	hdrForwardedProto
)

// classify sorts a header name, ignoring case.
func classify(name string) int {
	is := func(s string) bool { return strings.EqualFold(name, s) }
	switch len(name) {
	case 2:
		if is("TE") {
			return hdrTE
		}
	case 4:
		if is("Host") {
			return hdrHost
		}
	case 7:
		switch {
		case is("Trailer"):
			return hdrTrailer
		case is("Upgrade"):
			return hdrUpgrade
		}
	case 10:
		switch {
		case is("Connection"):
			return hdrConnection
		case is("Keep-Alive"):
			return hdrHopByHop
		}
	case 14:
		if is("Content-Length") {
			return hdrContentLength
		}
	case 15:
		if is("X-Forwarded-For") {
			return hdrForwardedFor
		}
	case 16:
		switch {
		case is("Proxy-Connection"):
			return hdrHopByHop
		case is("X-Forwarded-Host"):
			return hdrForwardedHost
		}
	case 17:
		switch {
		case is("Transfer-Encoding"):
			return hdrTransferEncoding
		case is("X-Forwarded-Proto"):
			return hdrForwardedProto
		}
	case 18:
		if is("Proxy-Authenticate") {
			return hdrHopByHop
		}
	case 19:
		if is("Proxy-Authorization") {
			return hdrHopByHop
		}
	}
	return hdrOther
}

// hasToken reports whether a comma-separated header value list holds
// token, ignoring case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(trimBlanks(t), token) {
				return true
			}
		}
	}
	return false
}

// upgradeType returns the protocol a message asks to switch to, or "".
func upgradeType(h http.Header) string {
	if !hasToken(h["Connection"], "upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}
