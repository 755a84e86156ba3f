// Package capture records HTTP exchanges as they pass through bw.
//
// # Reverse proxy
//
// A [Proxy] listens on an address, forwards every request to one upstream
// and hands each exchange to a [store.Sink] (a [store.Writer], usually):
//
//	p, err := capture.New(capture.Config{Upstream: u}, w)
//	if err != nil { ... }
//	if err := p.Start(ctx); err != nil { ... } // "address in use" shows here
//	...
//	err = p.Close(ctx) // in-flight exchanges finish and reach the sink
//
// Bodies stream through: server-sent events and other bodies of unknown
// length reach the client as the upstream sends them, and WebSocket
// upgrades are passed through (recorded as their 101 exchange, when the
// connection closes, without the frames). The proxy keeps a copy of each
// body up to [Config.MaxBody]; a longer body is stored truncated, with its
// full size. Bodies are stored as they went over the wire, still compressed
// if they were (transfer coding removed).
//
// # What is recorded and forwarded
//
// The request as the client sent it and the response as the upstream sent
// it, headers in their order, with their case and repeats. The proxy reads
// each message head off the connection itself and has net/http parse it;
// a head net/http accepts but bw does not parse (one with folded lines) is
// recorded from net/http's parse, names sorted ([Stats.RebuiltHeaders]).
//
// What goes upstream is the client's request in the client's order and
// case, minus hop-by-hop headers, with the upstream's Host (unless
// [Config.PreserveHost]), X-Forwarded-For appended to the client's, and
// X-Forwarded-Host and X-Forwarded-Proto set. The response goes back the
// same way. Message bodies are framed anew (Content-Length or chunked), so
// that the two connections never disagree about where a message ends.
//
// An upstream that cannot be reached, or fails mid-response, is recorded
// too: the exchange carries [store.Exchange.Error] and, when the client got
// a 502 from the proxy, a 502 response.
//
// # Performance
//
// Each client connection is served by one goroutine that forwards its
// requests one at a time over a pooled upstream connection, without the
// goroutine hand-offs of net/http's server and transport; the sink encodes
// and stores in its own goroutine.
//
// # Caveats
//
// The proxy speaks HTTP/1.1 (and 1.0) on both sides; it does not terminate
// TLS, and answers CONNECT with 405. Message heads are limited to 16 KiB: a
// longer request head gets 431, a longer response head a 502. An idle
// upstream connection found closed is replaced, and an idempotent request
// without a body that meets a closed connection is sent again.
package capture
