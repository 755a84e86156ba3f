package store

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Source says how an exchange was recorded.
type Source string

// The sources bw records from.
const (
	SourceProxy Source = "proxy" // bw capture --upstream
	SourceMITM  Source = "mitm"  // bw capture --proxy
	SourcePcap  Source = "pcap"  // bw capture --pcap / --iface
	SourceHAR   Source = "har"   // bw import
)

// ID identifies an exchange; IDs sort by the exchange's start time.
type ID [16]byte

// String returns the ID in its 26-character ULID form.
func (id ID) String() string { return ulid.ULID(id).String() }

// IsZero reports whether id is unset.
func (id ID) IsZero() bool { return id == ID{} }

// Time returns the start time encoded in id, to the millisecond.
func (id ID) Time() time.Time { return ulid.Time(ulid.ULID(id).Time()) }

// ParseID parses the ULID form returned by [ID.String].
func ParseID(s string) (ID, error) {
	u, err := ulid.ParseStrict(strings.ToUpper(s))
	if err != nil {
		return ID{}, fmt.Errorf("invalid exchange id %q: %w", s, err)
	}
	return ID(u), nil
}

// IDGen makes IDs that sort by time and stay unique when many share a millisecond.
// It is safe for concurrent use.
type IDGen struct {
	mu      sync.Mutex
	entropy io.Reader
}

// New returns a fresh ID for an exchange that started at t.
func (g *IDGen) New(t time.Time) ID {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.entropy == nil {
		g.entropy = ulid.Monotonic(rand.Reader, 0)
	}
	if t.Before(time.UnixMilli(0)) {
		t = time.UnixMilli(0) // ULIDs cannot hold earlier times
	}
	u, err := ulid.New(ulid.Timestamp(t), g.entropy)
	if err != nil {
		// Monotonic entropy overflows only after 2^80 IDs in one
		// millisecond: fall back to plain randomness.
		u = ulid.MustNew(ulid.Timestamp(t), rand.Reader)
	}
	return ID(u)
}

// Exchange is one recorded HTTP request and its response.
//
// Exchanges returned by the store own their memory: callers may keep and
// modify them.
type Exchange struct {
	ID         ID
	Session    string // groups a recording run (--session)
	Source     Source
	Start      time.Time
	Duration   time.Duration
	ClientAddr string // host:port of the client, when known
	ServerAddr string // host:port of the server that answered, when known
	Request    Request
	Response   Response
	// Error is set when the exchange failed upstream (connection refused,
	// timeout, ...); Response then holds what the client was sent, if anything.
	Error string
	// Meta holds source-specific fields bw has no model for, as a JSON object
	// (for example HAR timings and cookies), so that exports round-trip.
	Meta []byte
}

// Request is the request half of an exchange, as the client sent it.
type Request struct {
	Method   string
	Scheme   string // http or https
	Host     string // as in the Host header, with port if one was given
	Path     string // escaped path, as sent
	RawQuery string // without the leading '?'
	Proto    string // HTTP/1.1, HTTP/2.0, ...
	Header   Header
	Body     Body
}

// URL returns the absolute URL of the request.
func (r *Request) URL() string {
	u := r.Scheme + "://" + r.Host + r.Path
	if r.RawQuery != "" {
		u += "?" + r.RawQuery
	}
	return u
}

// Response is the response half of an exchange, as the server sent it.
type Response struct {
	Status int
	Reason string // status text as sent ("OK"); empty means the standard text
	Proto  string
	Header Header
	Body   Body
}

// Body is a message body with what bw knows about it.
type Body struct {
	Data []byte
	// Size is the full size of the body in bytes; it exceeds len(Data) when
	// the body was truncated at the capture limit.
	Size      int64
	Truncated bool
	// Decoded names the content coding (gzip, deflate, br) that was removed
	// before recording, when the source only had the decoded body (HAR);
	// empty when Data is the body as it went over the wire.
	Decoded string
}

// Field is one header line.
type Field struct {
	Name  string
	Value string
}

// Header is an ordered list of header lines; repeats and order are kept.
type Header []Field

// IsPseudoHeader reports whether name is an HTTP/2 or HTTP/3 pseudo-header
// (":authority", ":method", ":path", ":scheme", ":status", ":protocol").
// Those belong to the request or status line, not to the headers: files
// that hold them (HAR from browsers) must not make them look like headers.
func IsPseudoHeader(name string) bool { return strings.HasPrefix(name, ":") }

// Regular returns h without its pseudo-headers, for code that treats every
// field as a header (inference, replay); recordings imported by older bw
// versions still hold them. It returns h itself, not a copy, when there is
// none to leave out, which is the common case.
func (h Header) Regular() Header {
	for i, f := range h {
		if !IsPseudoHeader(f.Name) {
			continue
		}
		out := make(Header, i, len(h)-1)
		copy(out, h[:i])
		for _, f := range h[i+1:] {
			if !IsPseudoHeader(f.Name) {
				out = append(out, f)
			}
		}
		return out
	}
	return h
}

// Get returns the first value of the named header, ignoring case.
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns every value of the named header, ignoring case, in order.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// HeaderFromHTTP converts an http.Header; names come out sorted, since a
// map has no order, and each name's values keep theirs.
func HeaderFromHTTP(hh http.Header) Header {
	names := make([]string, 0, len(hh))
	n := 0
	for k, vs := range hh {
		names = append(names, k)
		n += len(vs)
	}
	sort.Strings(names)
	h := make(Header, 0, n)
	for _, k := range names {
		for _, v := range hh[k] {
			h = append(h, Field{k, v})
		}
	}
	return h
}

// HTTP converts h to an http.Header.
func (h Header) HTTP() http.Header {
	hh := make(http.Header, len(h))
	for _, f := range h {
		hh.Add(f.Name, f.Value)
	}
	return hh
}
