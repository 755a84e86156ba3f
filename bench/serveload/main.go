// Command serveload is an open-loop HTTP load generator, a small stand-in
// for wrk2: it schedules GET requests at a fixed rate, whatever the server
// does, and measures each latency from the time the request was due, not
// from when it was sent, so a stalled server shows in the percentiles
// instead of hiding (no coordinated omission). bench/serve.sh uses it for
// the latency at half of the maximum throughput.
//
//	serveload -url http://127.0.0.1:3000/a,http://127.0.0.1:3000/b -rate 5000 -duration 10s [-header "api_key: x"]
//
// The URLs are requested in turn. It prints one line:
//
//	rate=5000 sent=50000 ok=50000 errors=0 achieved=4999.8 p50_ms=0.210 p90_ms=0.390 p99_ms=1.200 p999_ms=3.100 max_ms=7.000
//
// and exits 1 if any request failed or got a status >= 400 (unless
// -allow-errors).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	var (
		urls     = flag.String("url", "", "comma-separated URLs to GET in turn (required)")
		rate     = flag.Float64("rate", 1000, "requests per second")
		duration = flag.Duration("duration", 10*time.Second, "how long to send")
		warmup   = flag.Duration("warmup", time.Second, "unmeasured load at the same rate before the run")
		conns    = flag.Int("conns", 64, "concurrent connections (workers)")
		allowErr = flag.Bool("allow-errors", false, "exit 0 even when requests failed")
		headers  headerFlags
	)
	flag.Var(&headers, "header", "`NAME: VALUE` to send with every request (repeatable)")
	flag.Parse()
	targets := strings.Split(*urls, ",")
	if *urls == "" || *rate <= 0 || *duration <= 0 || *conns < 1 {
		fmt.Fprintln(os.Stderr, "usage: serveload -url URL[,URL...] -rate N -duration D [-warmup D] [-conns N]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reqs, addr, err := buildRequests(targets, headers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(2)
	}
	if *warmup > 0 {
		run(ctx, addr, reqs, *rate, *warmup, *conns)
	}
	r := run(ctx, addr, reqs, *rate, *duration, *conns)
	lat := r.latencies
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(p * float64(len(lat)-1))
		return float64(lat[i]) / 1e6
	}
	fmt.Printf("rate=%.0f sent=%d ok=%d errors=%d achieved=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
		*rate, r.sent, len(lat)-int(r.errors), r.errors, float64(len(lat))/r.elapsed.Seconds(),
		pct(0.50), pct(0.90), pct(0.99), pct(0.999), pct(1))
	if r.errors > 0 {
		fmt.Fprintf(os.Stderr, "serveload: %d requests failed; first: %s\n", r.errors, r.firstErr)
		if !*allowErr {
			os.Exit(1)
		}
	}
}

type result struct {
	sent      int64
	errors    int64
	firstErr  string
	latencies []time.Duration // of every completed request, failed ones too
	elapsed   time.Duration
}

// run sends requests at rate for d: a scheduler puts each request's due
// time on a queue, workers take them off and send them.
func run(ctx context.Context, addr string, reqs [][]byte, rate float64, d time.Duration, conns int) *result {
	total := int64(rate * d.Seconds())
	due := make(chan time.Time, total+1)
	res := &result{latencies: make([]time.Duration, 0, total)}
	var (
		mu       sync.Mutex
		errs     atomic.Int64
		errOnce  sync.Once
		firstErr string
		next     atomic.Int64
	)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			c := &conn{addr: addr}
			defer c.close()
			local := make([]time.Duration, 0, total/int64(conns)+16)
			for at := range due {
				err := c.do(reqs[int(next.Add(1)-1)%len(reqs)])
				local = append(local, time.Since(at))
				if err != nil {
					errs.Add(1)
					errOnce.Do(func() { firstErr = err.Error() })
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, local...)
			mu.Unlock()
		})
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	var sent int64
	for sent < total && ctx.Err() == nil {
		// everything due by now, then sleep until the next one is due
		now := time.Now()
		for sent < total {
			at := start.Add(time.Duration(sent) * interval)
			if at.After(now) {
				break
			}
			due <- at
			sent++
		}
		if sent < total {
			time.Sleep(time.Until(start.Add(time.Duration(sent) * interval)))
		}
	}
	close(due)
	wg.Wait()
	res.elapsed = time.Since(start)
	res.sent = sent
	res.errors = errs.Load()
	res.firstErr = firstErr
	return res
}

// buildRequests makes the raw HTTP/1.1 request of each URL; they must all
// have the same host.
func buildRequests(urls []string, headers headerFlags) ([][]byte, string, error) {
	var (
		out  [][]byte
		addr string
	)
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, "", fmt.Errorf("%q: want an http:// URL", raw)
		}
		if addr != "" && u.Host != addr {
			return nil, "", fmt.Errorf("%q: every URL must have the host %s", raw, addr)
		}
		addr = u.Host
		var b strings.Builder
		fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: serveload\r\nAccept: */*\r\n", u.RequestURI(), u.Host)
		for _, h := range headers {
			name, value, _ := strings.Cut(h, ":")
			fmt.Fprintf(&b, "%s: %s\r\n", strings.TrimSpace(name), strings.TrimSpace(value))
		}
		b.WriteString("\r\n")
		out = append(out, []byte(b.String()))
	}
	return out, addr, nil
}

// conn is one keep-alive connection that sends prebuilt requests and
// reads the responses with as little work as possible (status line,
// Content-Length or chunked framing), so the generator costs the server's
// CPU little: on a small machine they share the cores.
type conn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
	}
}

// do sends req and reads its response; an error or a status >= 400 is an
// error, and the connection is dropped after a transport error.
func (c *conn) do(req []byte) error {
	if c.c == nil {
		nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return err
		}
		c.c, c.br = nc, bufio.NewReaderSize(nc, 16<<10)
	}
	c.c.SetDeadline(time.Now().Add(30 * time.Second))
	status, err := c.roundTrip(req)
	if err != nil {
		c.c.Close()
		c.c = nil
		return err
	}
	if status >= 400 {
		return fmt.Errorf("status %d", status)
	}
	return nil
}

func (c *conn) roundTrip(req []byte) (int, error) {
	if _, err := c.c.Write(req); err != nil {
		return 0, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := int64(-1), false, false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		for {
			line, err := c.br.ReadSlice('\n')
			if err != nil {
				return 0, err
			}
			size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
			n, err := strconv.ParseInt(string(size), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("bad chunk size %q", line)
			}
			if n == 0 {
				for { // trailers, then the empty line
					l, err := c.br.ReadSlice('\n')
					if err != nil {
						return 0, err
					}
					if len(bytes.TrimSpace(l)) == 0 {
						break
					}
				}
				break
			}
			if _, err := c.br.Discard(int(n) + 2); err != nil {
				return 0, err
			}
		}
	case length >= 0:
		if _, err := c.br.Discard(int(length)); err != nil {
			return 0, err
		}
	default:
		return 0, errors.New("response without length; not supported")
	}
	if closing {
		c.c.Close()
		c.c = nil
	}
	return status, nil
}

// headerFlags collects -header values.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }
