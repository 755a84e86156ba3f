package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/backworks/bw/infer"
	"github.com/backworks/bw/replay"
	"github.com/backworks/bw/store"
	"github.com/urfave/cli/v2"
)

// testFailed is returned when checks failed: exit status 1.
type testFailed struct{ failed, total int }

func (e *testFailed) Error() string {
	return fmt.Sprintf("%d of %d exchanges broke the contract", e.failed, e.total)
}

// ExitCode implements exitCoder.
func (e *testFailed) ExitCode() int { return 1 }

// noExchanges is returned when the flags select no exchange: exit status
// 1, like a failed check, since a CI job testing nothing has not passed.
type noExchanges struct {
	db        string
	selection []string // the flags that selected, as typed
	hint      string
}

func (e *noExchanges) Error() string {
	if len(e.selection) == 0 {
		return fmt.Sprintf("no exchanges in %s; record with 'bw capture' or 'bw import' first", e.db)
	}
	return fmt.Sprintf("no exchange in %s matches %s%s", e.db, strings.Join(e.selection, " "), e.hint)
}

// ExitCode implements exitCoder.
func (e *noExchanges) ExitCode() int { return 1 }

// listFlag collects every value of a repeatable flag as given (no comma
// splitting: filters use commas for alternatives). It must not have an
// alias: urfave/cli copies a value to its aliases with Set, which would
// append it again.
type listFlag []string

func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
func (l *listFlag) String() string     { return strings.Join(*l, " ") }

func testCommand() *cli.Command {
	return &cli.Command{
		Name:  "test",
		Usage: "replay recorded requests against a service and check its responses (contract tests)",
		UsageText: `bw test --target URL [--host HOST | --all-hosts] [--spec FILE] [--junit FILE] [--json FILE]
        [--filter EXPR]... [-j N] [--header 'Name: value']... [--allow-writes] [--noise FILE] [--learn-noise]

Each response is checked in layers: transport, status, content type, required headers,
body shape against the recording, body against the spec (--spec FILE, else the one
'bw infer' would write), values of stable fields. Values that change on their own
(timestamps, UUIDs, Date, ETag, fields that differ between recordings of the same
request) are compared by type and format. Ids handed out by one response are sent
by later requests in place of the recorded ones.

One service is tested: the host with the most recorded exchanges (among those the
filters select), as 'bw infer' picks it; bw says which on stderr when several were
recorded. --host HOST tests another, --all-hosts all of them.

Exit status: 0 when every exchange replayed passed, 1 when a check failed or nothing
was selected, 2 on bad usage or input that cannot be read (recordings, spec, noise).

--filter EXPR (repeatable; an exchange runs when it matches all):
   KEY=PATTERN or KEY!=PATTERN, KEY one of method, path, session, host, status, id;
   PATTERN a glob (* any run of characters, ? one), commas separate alternatives:
   --filter 'method=GET,HEAD' --filter 'path=/api/v1/users*' --filter 'status!=5*'

Noise rules (--noise FILE, or test.noise in the --spec file):
   test:
     noise:
       body: ['$.items[*].score', '!$.created_at']   # JSON paths; ! compares by value
       headers: [X-Cache, '!ETag']                   # names, * globs; ! compares by value

Skipped exchanges are counted, never failed; the summary says why and what to do.
Writes (POST, PUT, PATCH, DELETE) are replayed only against 127.0.0.0/8, ::1 and
localhost, or with --allow-writes. Secrets were redacted at capture, and a redacted
value is never sent: an exchange that needs one is skipped ("Authorization was
redacted at capture; pass --header 'Authorization: ...'"), unless a token handed
out by an earlier live response replaces it. --header supplies credentials: it
replaces the header in the requests recorded with it (only those recorded with this
very secret, when the recordings hold it; one recorded with another credential, a
wrong one to test a 401, is skipped), and is added to every request when the
recordings never carry that header. Secrets in the path, query or body cannot be
supplied: those exchanges are skipped; record with --no-redact to replay them.
After a skipped write the service holds other data than it did at capture, and a
read that ran while a write was in flight may or may not have seen it: such reads of
the write's collection are still checked, but not their values.

'-' is stdout for --json and --junit (the rest of the output then goes to stderr,
so stdout is only the report), and stdin for --spec and --noise.

Examples:
   bw test --target http://127.0.0.1:3000
   bw test --target https://staging.example.com --allow-writes \
       --header "Authorization: Bearer $TOKEN" --junit report.xml
   bw test --target http://127.0.0.1:3000 --filter method=GET --filter 'path=/api/v1/users*'
   bw test --target http://127.0.0.1:3000 --host api.example.com --json - | jq .summary
   bw test --target http://127.0.0.1:3000 --learn-noise --noise noise.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "base `URL` of the service under test"},
			&cli.StringFlag{Name: "host", Usage: "replay the exchanges recorded for `HOST` (host or host:port); default: the busiest host"},
			&cli.BoolFlag{Name: "all-hosts", Usage: "replay the exchanges of every recorded host"},
			&cli.StringFlag{Name: "spec", Usage: "check bodies against `FILE` (Backworks YAML or OpenAPI; - for stdin); its test.noise rules apply"},
			&cli.BoolFlag{Name: "no-spec", Usage: "skip the spec check"},
			&cli.StringFlag{Name: "junit", Usage: "write a JUnit XML report to `FILE` (- for stdout)"},
			&cli.StringFlag{Name: "json", Usage: "write a JSON report to `FILE` (- for stdout)"},
			&cli.GenericFlag{Name: "filter", Value: new(listFlag), Usage: "replay only exchanges matching `EXPR` (repeatable)"},
			&cli.IntFlag{Name: "concurrency", Aliases: []string{"j"}, Value: replay.DefaultConcurrency, Usage: "requests in flight at once; 1 replays in capture order"},
			&cli.StringFlag{Name: "order", Value: string(replay.OrderSession), Usage: "what keeps its recorded order: session (writes are barriers in a session), collection, or strict"},
			&cli.GenericFlag{Name: "header", Value: new(listFlag), Usage: "send `'Name: value'` in place of the recorded (redacted) header, or in every request if none was recorded (repeatable)"},
			&cli.BoolFlag{Name: "allow-writes", Usage: "replay POST, PUT, PATCH, DELETE against a target that is not loopback"},
			&cli.StringFlag{Name: "noise", Usage: "read noise rules from `FILE` (- for stdin); with --learn-noise, add the learned rules to it"},
			&cli.BoolFlag{Name: "learn-noise", Usage: "ask the target each read twice and print (or, with --noise, save) what changed on its own"},
			&cli.DurationFlag{Name: "timeout", Value: replay.DefaultTimeout, Usage: "per request"},
		},
		Action: runTest,
	}
}

func runTest(c *cli.Context) error {
	if err := requireArgs(c, 0, "no arguments; the service goes in --target"); err != nil {
		return err
	}
	opts, err := testOptions(c)
	if err != nil {
		return err
	}
	learn := c.Bool("learn-noise")
	if p := c.String("noise"); !learn && p != "" {
		data, name, err := readInput(c, p)
		if err != nil {
			return fmt.Errorf("noise rules: %w", err)
		}
		n, err := replay.ParseNoise(data)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		opts.Noise = opts.Noise.Merge(n)
	}

	db, err := openDB(c, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := selectHost(c, db, &opts); err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted")
		}
		return err
	}
	if bar := newProgress(c, "replaying", -1); bar != nil {
		opts.Progress = func(done, _ int64) { bar.Set64(done) }
		defer bar.Clear()
	}
	if learn {
		return learnNoise(c, db, opts)
	}

	// A report on stdout is all stdout carries, so that it can be piped
	// to a parser; the console report goes to stderr then.
	consoleOut := c.App.Writer
	if c.String("json") == "-" || c.String("junit") == "-" {
		consoleOut = c.App.ErrWriter
	}
	console := replay.NewConsole(consoleOut)
	console.Verbose, console.Quiet = c.Bool("verbose"), c.Bool("quiet")
	opts.Reporters = []replay.Reporter{console}
	var outputs []*reportFile
	defer func() {
		for _, o := range outputs {
			o.abort()
		}
	}()
	output := func(p string) (io.Writer, error) {
		if p == "-" {
			return c.App.Writer, nil
		}
		f, err := createReport(p)
		if err != nil {
			return nil, err
		}
		outputs = append(outputs, f)
		return f.w, nil
	}
	if p := c.String("junit"); p != "" {
		w, err := output(p)
		if err != nil {
			return err
		}
		j, err := replay.NewJUnit(w, "bw test "+opts.Target.String())
		if err != nil {
			return err
		}
		defer j.Close()
		opts.Reporters = append(opts.Reporters, j)
	}
	if p := c.String("json"); p != "" {
		w, err := output(p)
		if err != nil {
			return err
		}
		opts.Reporters = append(opts.Reporters, replay.NewJSON(w))
	}

	sum, err := replay.Run(c.Context, db, opts)
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	if err != nil {
		return err
	}
	for _, o := range outputs {
		if err := o.commit(); err != nil {
			return err
		}
	}
	if sum.Failed > 0 {
		// Wrapped: urfave/cli exits on its own (os.Exit, skipping main's
		// mapping and deferred calls) when the error it gets has ExitCode;
		// main finds testFailed with errors.As.
		return fmt.Errorf("%w", &testFailed{sum.Failed, sum.Total})
	}
	return nil
}

// testOptions checks the flags and fills replay.Options, before any work.
func testOptions(c *cli.Context) (replay.Options, error) {
	var opts replay.Options
	target := c.String("target")
	learn := c.Bool("learn-noise")
	switch {
	case target == "":
		return opts, usageError("test: --target URL is required, e.g. --target http://127.0.0.1:3000")
	case c.IsSet("spec") && c.Bool("no-spec"):
		return opts, usageError("test: --spec and --no-spec contradict each other; drop one")
	case c.IsSet("host") && c.Bool("all-hosts"):
		return opts, usageError("test: --host and --all-hosts contradict each other; drop one")
	case c.IsSet("host") && strings.TrimSpace(c.String("host")) == "":
		return opts, usageError("test: --host needs a host, e.g. --host api.example.com")
	case learn && (c.IsSet("junit") || c.IsSet("json")):
		return opts, usageError("test: --learn-noise prints noise rules, not test reports; drop --junit/--json or run without --learn-noise")
	case c.String("json") == "-" && c.String("junit") == "-":
		return opts, usageError("test: --json - and --junit - both write to stdout; give one of them a file")
	case learn && c.String("noise") == "-":
		return opts, usageError("test: --learn-noise --noise - has no file to add the rules to; drop --noise to print them to stdout")
	case c.String("spec") == "-" && c.String("noise") == "-":
		return opts, usageError("test: --spec - and --noise - both read stdin; give one of them a file")
	case c.Int("concurrency") < 1:
		return opts, usageError("test: -j must be at least 1 (got %d)", c.Int("concurrency"))
	case c.Duration("timeout") <= 0:
		return opts, usageError("test: --timeout must be positive (got %s)", c.Duration("timeout"))
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return opts, usageError("test: --target %q is not an absolute http:// or https:// URL", target)
	}
	opts.Target = u
	switch o := replay.Ordering(c.String("order")); o {
	case replay.OrderSession, replay.OrderCollection, replay.OrderStrict:
		opts.Order = o
	default:
		return opts, usageError("test: --order must be session, collection or strict (got %q)", o)
	}
	filters := *c.Generic("filter").(*listFlag)
	if opts.Filter, err = replay.ParseFilter(filters...); err != nil {
		return opts, usageError("test: %v", err)
	}
	for _, h := range *c.Generic("header").(*listFlag) {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return opts, usageError("test: --header %q: want 'Name: value'", h)
		}
		if opts.Header == nil {
			opts.Header = http.Header{}
		}
		opts.Header.Add(name, strings.TrimSpace(value))
	}
	opts.Concurrency = c.Int("concurrency")
	opts.Timeout = c.Duration("timeout")
	opts.AllowWrites = c.Bool("allow-writes")
	opts.NoSpec = c.Bool("no-spec")
	opts.Logger = logger(c)
	if p := c.String("spec"); p != "" {
		doc, err := loadAPI(c, p)
		if err != nil {
			return opts, err
		}
		if doc.OpenAPI == nil {
			return opts, fmt.Errorf("%s: no OpenAPI document could be made of it", displayName(p))
		}
		opts.Spec, opts.SpecName = doc.OpenAPI, displayName(p)
		opts.Noise = replay.Noise{Body: doc.Test.NoiseBody, Headers: doc.Test.NoiseHeaders}
	}
	return opts, nil
}

// selectHost sets opts.Host to the service --host names, or to the busiest
// (the one bw infer describes) unless --all-hosts, and fails when the
// selection is empty.
func selectHost(c *cli.Context, db *store.DB, opts *replay.Options) error {
	counts, err := replay.Services(c.Context, db, opts.Filter)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	none := &noExchanges{db: db.Path()}
	for _, f := range *c.Generic("filter").(*listFlag) {
		none.selection = append(none.selection, "--filter "+shellWord(f))
	}
	switch {
	case c.IsSet("host"):
		opts.Host = infer.ServiceOf(&store.Request{Host: strings.TrimSpace(c.String("host"))})
		if counts[opts.Host] == 0 {
			none.selection = append(none.selection, "--host "+shellWord(c.String("host")))
			if len(counts) > 0 {
				none.hint = "; hosts recorded: " + busiestFirst(counts, 5)
			}
			return fmt.Errorf("%w", none) // wrapped: see testFailed
		}
	case total == 0:
		return fmt.Errorf("%w", none)
	case c.Bool("all-hosts"):
	default:
		opts.Host = infer.Busiest(counts)
		if len(counts) > 1 && !c.Bool("quiet") {
			fmt.Fprintf(c.App.ErrWriter, "testing %s (%d of %d exchanges; --host to pick another, --all-hosts for all)\n",
				opts.Host, counts[opts.Host], total)
		}
	}
	return nil
}

// busiestFirst lists at most max services, those with the most exchanges
// first.
func busiestFirst(counts map[string]int, max int) string {
	names := make([]string, 0, len(counts))
	for h := range counts {
		names = append(names, h)
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := counts[b] - counts[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	more := ""
	if len(names) > max {
		more = fmt.Sprintf(" and %d more", len(names)-max)
		names = names[:max]
	}
	return strings.Join(names, ", ") + more
}

// shellWord quotes s for a shell when it needs it, so that a message
// shows the flags as they can be typed again.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// learnNoise runs --learn-noise: the learned rules go to stdout as YAML,
// or are added to the --noise file.
func learnNoise(c *cli.Context, db *store.DB, opts replay.Options) error {
	n, sum, err := replay.LearnNoise(c.Context, db, opts)
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	if err != nil {
		return err
	}
	out := c.String("noise")
	if out == "" {
		_, err := c.App.Writer.Write(n.YAML())
		return err
	}
	merged := n
	if data, err := os.ReadFile(out); err == nil {
		old, err := replay.ParseNoise(data)
		if err != nil {
			return fmt.Errorf("%s: %w", out, err)
		}
		merged = old.Merge(n)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read noise rules: %w", err)
	}
	if err := writeFileAtomic(out, merged.YAML()); err != nil {
		return err
	}
	if !c.Bool("quiet") {
		fmt.Fprintf(c.App.ErrWriter, "learned %d body and %d header rules from %d exchanges; wrote %s\n",
			len(n.Body), len(n.Headers), sum.Total-sum.Skipped, out)
	}
	return nil
}

// reportFile is a report being written next to its final name, renamed
// into place only when the run finished.
type reportFile struct {
	path string
	f    *os.File
	w    io.Writer
}

func createReport(path string) (*reportFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &reportFile{path: path, f: f, w: f}, nil
}

func (r *reportFile) commit() error {
	if r.f == nil {
		return nil
	}
	f := r.f
	r.f = nil
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", r.path, err)
	}
	os.Chmod(f.Name(), 0o644)
	if err := os.Rename(f.Name(), r.path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", r.path, err)
	}
	return nil
}

func (r *reportFile) abort() {
	if r.f != nil {
		r.f.Close()
		os.Remove(r.f.Name())
		r.f = nil
	}
}
