package serve

import (
	"context"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Access-log keys, in one place (formats.md "HTTP conventions").
const (
	keyMethod   = "method"
	keyRoute    = "route"
	keyPath     = "path"
	keyStatus   = "status"
	keyDuration = "duration_seconds"
	keyBytes    = "bytes"
	keyUpstream = "upstream"
	keyMatch    = "match"
	keyTraceID  = "trace_id"
)

// reqInfo collects what the access log and the metrics say about a request.
type reqInfo struct {
	route    string // template; "" when no route matched
	upstream string // target name, proxy mode
	match    string // Bw-Match
	trace    traceContext
}

// finish records a request's metrics and access-log line.
func (s *Server) finish(w *responseWriter, r *http.Request, ri *reqInfo, d time.Duration) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	s.metrics.server.WithLabelValues(methodLabel(r.Method), ri.route, strconv.Itoa(status)).Observe(d.Seconds())
	if l := s.cfg.AccessLog; l != nil && l.Enabled(r.Context(), slog.LevelInfo) {
		l.LogAttrs(context.Background(), slog.LevelInfo, "request",
			slog.String(keyMethod, r.Method),
			slog.String(keyRoute, ri.route),
			slog.String(keyPath, r.URL.Path),
			slog.Int(keyStatus, status),
			slog.Float64(keyDuration, d.Seconds()),
			slog.Int64(keyBytes, w.bytes),
			slog.String(keyUpstream, ri.upstream),
			slog.String(keyMatch, ri.match),
			slog.String(keyTraceID, ri.trace.traceID()),
		)
	}
}

// responseWriter notes the status and the bytes written. Unwrap lets
// http.ResponseController (and so ReverseProxy's flushing) reach the
// connection's writer.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// traceContext is a W3C trace context: the caller's trace id (or a new
// one) and this server's span id.
type traceContext struct {
	id    [16]byte
	span  [8]byte
	flags byte
}

// continueTrace parses a traceparent header ("00-TRACEID-PARENTID-FLAGS")
// and continues its trace with a new span; without a valid one it starts
// a new trace.
func continueTrace(h string) traceContext {
	var tc traceContext
	if len(h) >= 55 && h[2] == '-' && h[35] == '-' && h[52] == '-' && h[:2] != "ff" &&
		(len(h) == 55 || h[:2] != "00" && h[55] == '-') {
		var ver [1]byte
		var flags [1]byte
		var parent [8]byte
		if _, err := hex.Decode(ver[:], []byte(h[:2])); err == nil && isLowerHex(h[:55]) {
			hex.Decode(tc.id[:], []byte(h[3:35]))
			hex.Decode(parent[:], []byte(h[36:52]))
			hex.Decode(flags[:], []byte(h[53:55]))
			if tc.id != [16]byte{} && parent != [8]byte{} {
				tc.flags = flags[0]
				fillRandom(tc.span[:])
				return tc
			}
			tc = traceContext{}
		}
	}
	fillRandom(tc.id[:])
	fillRandom(tc.span[:])
	return tc
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}

func fillRandom(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

func (tc traceContext) traceID() string { return hex.EncodeToString(tc.id[:]) }

// child is the traceparent sent upstream: this trace, this server's span.
func (tc traceContext) child() string {
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, tc.id[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, tc.span[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, []byte{tc.flags})
	return string(b)
}
