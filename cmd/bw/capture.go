package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/backworks/bw/capture"
	"github.com/backworks/bw/store"
	"github.com/urfave/cli/v2"
)

const (
	// upstreamCheckTimeout bounds the reachability check before listening.
	upstreamCheckTimeout = 2 * time.Second
	// shutdownTimeout is how long in-flight exchanges get to finish after
	// SIGINT/SIGTERM before their connections are closed.
	shutdownTimeout = 10 * time.Second
)

func captureCommand() *cli.Command {
	return &cli.Command{
		Name:      "capture",
		Usage:     "record HTTP exchanges through a reverse proxy",
		UsageText: "bw capture --upstream URL [--listen ADDR] [--max-body SIZE] [--session NAME] [--no-redact] [--preserve-host]",
		Description: `Listens on --listen and forwards every request to --upstream, recording each
exchange (request and response, headers in order, bodies up to --max-body) in
the --db file. Point your client at the printed address. Secrets are redacted
unless --no-redact is given. SIGINT or SIGTERM stops accepting, lets in-flight
exchanges finish, and prints how many were recorded.

Example:
   bw capture --upstream http://127.0.0.1:3000 --listen 127.0.0.1:8080
   curl http://127.0.0.1:8080/users/42`,
		OnUsageError: onUsageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "upstream", Usage: "`URL` to forward requests to (http:// or https://)"},
			&cli.StringFlag{Name: "listen", Value: capture.DefaultListen, Usage: "`ADDR` to listen on"},
			&cli.StringFlag{Name: "max-body", Value: "10MiB", Usage: "bytes of each body to keep (`SIZE`: 10MiB, 512KB, 1048576; 0 keeps sizes only)"},
			&cli.StringFlag{Name: "session", Usage: "`NAME` of this recording run, stored with each exchange"},
			&cli.BoolFlag{Name: "no-redact", Usage: "store secrets (Authorization, cookies, API keys...) as they were sent"},
			&cli.BoolFlag{Name: "preserve-host", Usage: "send the client's Host header upstream instead of the upstream's host"},
		},
		Action: runCapture,
	}
}

// captureConfig turns the flags into a capture.Config, checking them all
// before any work is done.
func captureConfig(c *cli.Context) (capture.Config, error) {
	var cfg capture.Config
	if c.NArg() > 0 {
		return cfg, usageError("capture: unexpected argument %q; see 'bw capture --help'", c.Args().First())
	}
	raw := c.String("upstream")
	if raw == "" {
		return cfg, usageError("capture: --upstream URL is required; e.g. bw capture --upstream http://127.0.0.1:3000")
	}
	u, err := parseUpstream(raw)
	if err != nil {
		return cfg, err
	}
	maxBody, err := parseSize(c.String("max-body"))
	if err != nil {
		return cfg, usageError("capture: --max-body %q: %v; use a size like 10MiB, 512KB or 1048576", c.String("max-body"), err)
	}
	if maxBody == 0 {
		maxBody = -1 // capture.Config: negative keeps no body bytes
	}
	listen := c.String("listen")
	if listen == "" {
		return cfg, usageError("capture: --listen must not be empty; e.g. --listen 127.0.0.1:8080")
	}
	return capture.Config{
		Upstream:     u,
		Listen:       listen,
		MaxBody:      maxBody,
		Session:      c.String("session"),
		PreserveHost: c.Bool("preserve-host"),
		Logger:       logger(c),
	}, nil
}

// parseUpstream accepts absolute http:// and https:// URLs.
func parseUpstream(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usageError("capture: --upstream %q is not a URL: %v", raw, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		return nil, usageError("capture: --upstream %q must be an absolute http:// or https:// URL, e.g. http://127.0.0.1:3000", raw)
	}
	if u.Fragment != "" {
		return nil, usageError("capture: --upstream %q: a fragment (#...) has no meaning here", raw)
	}
	return u, nil
}

func runCapture(c *cli.Context) error {
	cfg, err := captureConfig(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	cctx, cancel := context.WithTimeout(ctx, upstreamCheckTimeout)
	err = capture.CheckUpstream(cctx, cfg.Upstream)
	cancel()
	if err != nil {
		return err
	}

	path := dbPath(c)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	db, err := openDB(c, false)
	if err != nil {
		return err
	}
	w := db.NewWriter(store.WriterOptions{NoRedact: c.Bool("no-redact"), Logger: cfg.Logger})
	// Less than serve: capture's live heap grows slowly with the file
	// (bbolt's page map), and a higher GOGC would multiply that in RSS.
	lowLatencyGC(200)
	p, err := capture.New(cfg, w)
	if err == nil {
		err = p.Start(ctx)
		if err != nil {
			err = fmt.Errorf("%w; pick another address with --listen", err)
		}
	}
	if err != nil {
		w.Close()
		db.Close()
		if created {
			os.Remove(path) // do not leave an empty file behind
		}
		return err
	}
	quiet := c.Bool("quiet")
	if !quiet {
		fmt.Fprintf(c.App.ErrWriter, "listening on http://%s\n", p.Addr())
	}

	select {
	case <-ctx.Done():
	case <-p.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	closeErr := p.Close(sctx)
	if errors.Is(closeErr, context.DeadlineExceeded) {
		cfg.Logger.Warn("in-flight exchanges did not finish in time; their connections were closed", "timeout", shutdownTimeout)
		closeErr = nil
	}
	w.Close()
	stats := w.Stats()
	dbErr := db.Close()
	if !quiet {
		fmt.Fprintln(c.App.ErrWriter, captureSummary(stats))
	}
	if closeErr != nil {
		return closeErr
	}
	if dbErr != nil {
		return fmt.Errorf("close %s: %w", path, dbErr)
	}
	return nil
}

// captureSummary says what a capture run stored, e.g. "recorded 20000
// exchanges (dropped 3: queue_full 3)". The writer counts every exchange the
// proxy could not hand over, by reason.
func captureSummary(s store.WriterStats) string {
	var dropped uint64
	reasons := make([]string, 0, len(s.Dropped))
	for reason, n := range s.Dropped {
		if n > 0 {
			dropped += n
			reasons = append(reasons, reason)
		}
	}
	noun := "exchanges"
	if s.Written == 1 {
		noun = "exchange"
	}
	if dropped == 0 {
		return fmt.Sprintf("recorded %d %s (dropped 0)", s.Written, noun)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s %d", r, s.Dropped[r])
	}
	return fmt.Sprintf("recorded %d %s (dropped %d: %s)", s.Written, noun, dropped, strings.Join(parts, ", "))
}

// parseSize parses a byte count: a plain number of bytes, or a number with a
// unit: B, KB/MB/GB (powers of 1000), KiB/MiB/GiB or K/M/G (powers of 1024).
// Case and a blank before the unit do not matter.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	if num == "" {
		return 0, errors.New("no number")
	}
	mult, ok := sizeUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", unit)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/mult {
			return 0, errors.New("too large")
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", num)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, errors.New("too large")
	}
	return int64(v), nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9,
	"k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}
