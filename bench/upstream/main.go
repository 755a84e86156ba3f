// Command upstream is the origin server of the proxy benchmark: it answers
// every GET with the same small JSON body (about 200 bytes) over HTTP/1.1
// keep-alive, so that what the benchmark measures is the proxy in front.
//
//	upstream [-listen 127.0.0.1:0]
//
// It prints "listening on http://ADDR" to stderr once the socket is open and
// exits on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// body is the response to every GET; 200 bytes of JSON with a newline.
var body = []byte(`{"id":4711,"name":"Ada Lovelace","email":"ada@example.com","role":"member","active":true,` +
	`"created_at":"2024-03-01T12:00:00Z","tags":["beta","newsletter"],"address":{"city":"London","country":"GB"}}` + "\n")

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (port 0 picks a free port)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "upstream: %v\n", err)
		os.Exit(1)
	}
	length := strconv.Itoa(len(body))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["Content-Length"] = []string{length}
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				w.Write(body)
			}
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "upstream: %v\n", err)
		os.Exit(1)
	}
}
