// Command load sends a fixed number of GET requests to a URL from a fixed
// number of keep-alive connections, and, given the pid of the server under
// test, samples its memory from /proc while it works. bench/rss.sh uses it to
// show that bw capture's resident memory stays flat over a million requests.
//
//	load -url http://127.0.0.1:8080/ -n 1000000 -c 32 -pid 1234 -every 5s
//
// The samples of -metric (VmRSS by default, or RssAnon) after the warm-up
// (-warmup requests) must stay within -tolerance of their median, or load
// exits 1; it also exits 1 when any request failed. VmRSS = RssAnon (heap,
// stacks) + RssFile (mapped files: for bw, the pages of its bbolt database
// that it has touched) + RssShmem.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
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
		url       = flag.String("url", "", "URL to GET (required)")
		n         = flag.Int64("n", 1_000_000, "number of requests")
		conns     = flag.Int("c", 32, "concurrent connections")
		pid       = flag.Int("pid", 0, "pid whose memory to sample (0: none)")
		every     = flag.Duration("every", 5*time.Second, "sampling interval")
		warmup    = flag.Int64("warmup", 100_000, "requests before samples count towards the verdict")
		tolerance = flag.Float64("tolerance", 0.10, "allowed deviation of post-warm-up samples from their median")
		metric    = flag.String("metric", "VmRSS", "the memory figure the verdict is about: VmRSS or RssAnon")
	)
	flag.Parse()
	if *url == "" || *n < 1 || *conns < 1 || *every <= 0 || (*metric != "VmRSS" && *metric != "RssAnon") {
		fmt.Fprintln(os.Stderr, "usage: load -url URL [-n N] [-c CONNS] [-pid PID] [-every DUR] [-warmup N] [-tolerance F] [-metric VmRSS|RssAnon]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: *conns,
		DisableCompression:  true,
	}}
	var (
		next, done, failed, non2xx atomic.Int64
		firstErr                   sync.Once
		errMsg                     string
	)
	start := time.Now()
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			for next.Add(1) <= *n && ctx.Err() == nil {
				resp, err := client.Get(*url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						non2xx.Add(1)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { errMsg = err.Error() })
				}
				done.Add(1)
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	var samples []sample
	if *pid != 0 {
		fmt.Printf("%8s %10s %9s %11s %11s %11s %11s\n", "elapsed", "requests", "req/s", "VmRSS MiB", "RssAnon", "RssFile", "VmHWM")
	}
	tick := time.NewTicker(*every)
	defer tick.Stop()
	lastDone, lastT := int64(0), start
loop:
	for {
		select {
		case <-finished:
			break loop
		case now := <-tick.C:
			d := done.Load()
			rate := float64(d-lastDone) / now.Sub(lastT).Seconds()
			lastDone, lastT = d, now
			if *pid == 0 {
				fmt.Printf("%6.0fs %10d requests %9.0f req/s\n", now.Sub(start).Seconds(), d, rate)
				continue
			}
			m, err := readMem(*pid)
			if err != nil {
				fmt.Fprintf(os.Stderr, "load: %v\n", err)
				os.Exit(1)
			}
			s := sample{at: now.Sub(start), done: d, mem: m}
			samples = append(samples, s)
			fmt.Printf("%7.0fs %10d %9.0f %11.1f %11.1f %11.1f %11.1f\n", s.at.Seconds(), d, rate,
				mib(m.rss), mib(m.anon), mib(m.file), mib(m.hwm))
		}
	}
	elapsed := time.Since(start)
	total := done.Load()
	fmt.Printf("\n%d requests in %.1fs (%.0f req/s), %d failed, %d non-2xx\n",
		total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), failed.Load(), non2xx.Load())
	code := 0
	if failed.Load() > 0 {
		fmt.Printf("first error: %s\n", errMsg)
		code = 1
	}
	if ctx.Err() != nil {
		fmt.Println("interrupted")
		os.Exit(1)
	}
	if *pid != 0 {
		if m, err := readMem(*pid); err == nil {
			fmt.Printf("after the last request: VmRSS %.1f MiB (RssAnon %.1f, RssFile %.1f), VmHWM %.1f MiB\n",
				mib(m.rss), mib(m.anon), mib(m.file), mib(m.hwm))
		}
		rss := verdict("VmRSS", samples, func(m mem) int64 { return m.rss }, *warmup, *tolerance)
		anon := verdict("RssAnon", samples, func(m mem) int64 { return m.anon }, *warmup, *tolerance)
		if (*metric == "VmRSS" && !rss) || (*metric == "RssAnon" && !anon) {
			fmt.Printf("failing: %s is not flat (RssFile is the mapped database file; RssAnon is the heap and stacks)\n", *metric)
			code = 1
		}
	}
	os.Exit(code)
}

type sample struct {
	at   time.Duration
	done int64
	mem  mem
}

// mem is a process's memory from /proc/PID/status, in bytes.
type mem struct{ rss, anon, file, hwm int64 }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func readMem(pid int) (mem, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return mem{}, fmt.Errorf("reading memory of pid %d: %w", pid, err)
	}
	var m mem
	for line := range strings.Lines(string(data)) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.rss
		case "RssAnon":
			dst = &m.anon
		case "RssFile":
			dst = &m.file
		case "VmHWM":
			dst = &m.hwm
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return mem{}, fmt.Errorf("pid %d: bad %s line %q", pid, name, strings.TrimSpace(line))
		}
		*dst = kb << 10
	}
	return m, nil
}

// verdict prints min, max and median of one memory figure over the samples
// taken after warmup requests and reports whether all of them lie within
// tolerance of the median.
func verdict(name string, samples []sample, figure func(mem) int64, warmup int64, tolerance float64) bool {
	var vs []int64
	for _, s := range samples {
		if s.done >= warmup {
			vs = append(vs, figure(s.mem))
		}
	}
	if len(vs) < 3 {
		fmt.Printf("%s: too few samples after the %d-request warm-up (%d); lower -every or raise -n\n", name, warmup, len(vs))
		return false
	}
	slices.Sort(vs)
	lo, hi, med := vs[0], vs[len(vs)-1], vs[len(vs)/2]
	flat := float64(hi) <= float64(med)*(1+tolerance) && float64(lo) >= float64(med)*(1-tolerance)
	word := "flat"
	if !flat {
		word = "NOT flat"
	}
	fmt.Printf("%-7s after warm-up (%d samples): min %.1f MiB, max %.1f MiB, median %.1f MiB, %+.1f%%/%+.1f%% of median: %s (tolerance ±%.0f%%)\n",
		name, len(vs), mib(lo), mib(hi), mib(med),
		100*(float64(lo)/float64(med)-1), 100*(float64(hi)/float64(med)-1), word, 100*tolerance)
	return flat
}
