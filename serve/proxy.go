package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backworks/bw/api"
	"github.com/backworks/bw/upstream"
)

// proxier forwards the requests of proxy-mode endpoints to a target picked
// from the endpoint's upstream pool.
type proxier struct {
	st        *site
	rp        *httputil.ReverseProxy
	transport *http.Transport
}

// proxyCall is what Rewrite, the transport and ErrorHandler need to know
// about one forwarded request; it travels in the request's context.
type proxyCall struct {
	op      *operation
	backend *upstream.Backend
	ri      *reqInfo
}

type proxyCallKey struct{}

func newProxier(st *site) *proxier {
	p := &proxier{st: st}
	p.transport = &http.Transport{
		Proxy: nil, // never through HTTP_PROXY: the targets are what the file says
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass the upstream's encoding through
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    &timedTransport{base: p.transport, metrics: st.srv.metrics},
		BufferPool:   bufferPool{},
		ErrorHandler: p.fail,
		ErrorLog:     nil,
	}
	return p
}

func (p *proxier) close() { p.transport.CloseIdleConnections() }

// newBalancer builds the pool of an endpoint's targets.
func newBalancer(px *api.Proxy, s *Server) (*upstream.Pool, error) {
	return upstream.NewPool(px.Targets, px.LoadBalancing, upstream.Options{Logger: s.log})
}

// serve forwards r; body is the request body, read already.
func (p *proxier) serve(w http.ResponseWriter, r *http.Request, op *operation, body []byte, ri *reqInfo) {
	b, done, err := op.pool.Pick(clientIP(r))
	defer done()
	if err != nil {
		ri.upstream = ""
		writeProblem(w, &Problem{Type: typeUpstream, Status: http.StatusServiceUnavailable,
			Detail: fmt.Sprintf("no healthy upstream target for %s", op.route.template)})
		return
	}
	ri.upstream = b.Name()
	call := &proxyCall{op: op, backend: b, ri: ri}
	out := r.WithContext(context.WithValue(r.Context(), proxyCallKey{}, call))
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
	} else {
		out.Body = http.NoBody
		out.ContentLength = 0
	}
	p.rp.ServeHTTP(w, out)
}

// rewrite points the outgoing request at the picked target: its scheme and
// host, its path before the request's (less the strip prefix), the
// client's query; it continues the trace.
func (p *proxier) rewrite(pr *httputil.ProxyRequest) {
	call := pr.In.Context().Value(proxyCallKey{}).(*proxyCall)
	target := call.backend.URL()
	path, raw := pr.In.URL.Path, pr.In.URL.RawPath
	if sp := call.op.ep.Proxy.StripPrefix; sp != "" {
		path = strings.TrimPrefix(path, sp)
		raw = strings.TrimPrefix(raw, sp)
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		if raw != "" && !strings.HasPrefix(raw, "/") {
			raw = "/" + raw
		}
	}
	u := *pr.Out.URL
	u.Scheme, u.Host = target.Scheme, target.Host
	u.Path = joinPath(target.Path, path)
	if raw != "" {
		u.RawPath = joinPath(target.EscapedPath(), raw)
	} else {
		u.RawPath = ""
	}
	if target.RawQuery != "" && u.RawQuery != "" {
		u.RawQuery = target.RawQuery + "&" + u.RawQuery
	} else if target.RawQuery != "" {
		u.RawQuery = target.RawQuery
	}
	pr.Out.URL = &u
	pr.Out.Host = ""
	pr.SetXForwarded()
	pr.Out.Header.Set("Traceparent", call.ri.trace.child())
}

func joinPath(a, b string) string {
	switch {
	case a == "" || a == "/":
		return b
	case b == "" || b == "/":
		return a
	}
	return strings.TrimSuffix(a, "/") + "/" + strings.TrimPrefix(b, "/")
}

// fail answers a failed upstream request with a 502 problem and counts it
// against the target.
func (p *proxier) fail(w http.ResponseWriter, r *http.Request, err error) {
	call, _ := r.Context().Value(proxyCallKey{}).(*proxyCall)
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// the client went away; nobody reads the answer
		w.WriteHeader(499)
		return
	}
	name := ""
	if call != nil {
		name = call.backend.Name()
		call.op.pool.MarkFailure(call.backend)
	}
	p.st.log.Warn("upstream request failed", "target", name, "method", r.Method, "path", r.URL.Path, "err", err)
	writeProblem(w, &Problem{Type: typeUpstream, Status: http.StatusBadGateway,
		Detail: fmt.Sprintf("upstream %s failed: %v", name, err)})
}

// timedTransport measures upstream calls for http_client_request_duration_seconds.
type timedTransport struct {
	base    http.RoundTripper
	metrics *metrics
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := t.base.RoundTrip(r)
	target := ""
	if call, ok := r.Context().Value(proxyCallKey{}).(*proxyCall); ok {
		target = call.backend.Name()
	}
	status := "error"
	if err == nil {
		status = strconv.Itoa(res.StatusCode)
	}
	t.metrics.client.WithLabelValues(methodLabel(r.Method), target, status).Observe(time.Since(start).Seconds())
	return res, err
}

// bufferPool lends ReverseProxy its copy buffers.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// clientIP is the peer address without its port, the load-balancing key.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
