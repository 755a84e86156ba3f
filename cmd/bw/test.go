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
	"strings"

	"github.com/backworks/bw/api"
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
		UsageText: `bw test --target URL [--spec FILE] [--junit FILE] [--json FILE] [--filter EXPR]... [-j N]
        [--header 'Name: value']... [--allow-writes] [--noise FILE] [--learn-noise]

Each response is checked in layers: transport, status, content type, required headers,
body shape against the recording, body against the spec (--spec FILE, else the one
'bw infer' would write), values of stable fields. Values that change on their own
(timestamps, UUIDs, Date, ETag, fields that differ between recordings of the same
request) are compared by type and format. Ids handed out by one response are sent
by later requests in place of the recorded ones. Exit status 1 when a check fails.

--filter EXPR (repeatable; an exchange runs when it matches all):
   KEY=PATTERN or KEY!=PATTERN, KEY one of method, path, session, host, status, id;
   PATTERN a glob (* any run of characters, ? one), commas separate alternatives:
   --filter 'method=GET,HEAD' --filter 'path=/api/v1/users*' --filter 'status!=5*'

Noise rules (--noise FILE, or test.noise in the --spec file):
   test:
     noise:
       body: ['$.items[*].score', '!$.created_at']   # JSON paths; ! compares by value
       headers: [X-Cache, '!ETag']                   # names, * globs; ! compares by value

Writes (POST, PUT, PATCH, DELETE) are replayed only against 127.0.0.0/8, ::1 and
localhost, or with --allow-writes. Recorded secrets are redacted: a header holding
one is not sent. --header supplies credentials: it replaces the header in the
requests recorded with it (only those recorded with this very secret, when the
recordings hold it, so a request recorded with a wrong token still goes without),
and is added to every request when the recordings never carry that header.

Examples:
   bw test --target http://127.0.0.1:3000
   bw test --target https://staging.example.com --allow-writes \
       --header "Authorization: Bearer $TOKEN" --junit report.xml
   bw test --target http://127.0.0.1:3000 --filter method=GET --filter 'path=/api/v1/users*'
   bw test --target http://127.0.0.1:3000 --learn-noise --noise noise.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "base `URL` of the service under test"},
			&cli.StringFlag{Name: "spec", Usage: "check bodies against `FILE` (Backworks YAML or OpenAPI); its test.noise rules apply"},
			&cli.BoolFlag{Name: "no-spec", Usage: "skip the spec check"},
			&cli.StringFlag{Name: "junit", Usage: "write a JUnit XML report to `FILE`"},
			&cli.StringFlag{Name: "json", Usage: "write a JSON report to `FILE`"},
			&cli.GenericFlag{Name: "filter", Value: new(listFlag), Usage: "replay only exchanges matching `EXPR` (repeatable)"},
			&cli.IntFlag{Name: "concurrency", Aliases: []string{"j"}, Value: replay.DefaultConcurrency, Usage: "requests in flight at once; 1 replays in capture order"},
			&cli.StringFlag{Name: "order", Value: string(replay.OrderSession), Usage: "what keeps its recorded order: session (writes are barriers in a session), collection, or strict"},
			&cli.GenericFlag{Name: "header", Value: new(listFlag), Usage: "send `'Name: value'` in place of the recorded (redacted) header, or in every request if none was recorded (repeatable)"},
			&cli.BoolFlag{Name: "allow-writes", Usage: "replay POST, PUT, PATCH, DELETE against a target that is not loopback"},
			&cli.StringFlag{Name: "noise", Usage: "read noise rules from `FILE`; with --learn-noise, add the learned rules to it"},
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
	if !learn && c.String("noise") != "" {
		data, err := os.ReadFile(c.String("noise"))
		if err != nil {
			return fmt.Errorf("read noise rules: %w", err)
		}
		n, err := replay.ParseNoise(data)
		if err != nil {
			return fmt.Errorf("%s: %w", c.String("noise"), err)
		}
		opts.Noise = opts.Noise.Merge(n)
	}

	db, err := openDB(c, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if bar := newProgress(c, "replaying", -1); bar != nil {
		opts.Progress = func(done, _ int64) { bar.Set64(done) }
		defer bar.Clear()
	}
	if learn {
		return learnNoise(c, db, opts)
	}

	console := replay.NewConsole(c.App.Writer)
	console.Verbose, console.Quiet = c.Bool("verbose"), c.Bool("quiet")
	opts.Reporters = []replay.Reporter{console}
	var outputs []*reportFile
	defer func() {
		for _, o := range outputs {
			o.abort()
		}
	}()
	if p := c.String("junit"); p != "" {
		f, err := createReport(p)
		if err != nil {
			return err
		}
		outputs = append(outputs, f)
		j, err := replay.NewJUnit(f.w, "bw test "+opts.Target.String())
		if err != nil {
			return err
		}
		defer j.Close()
		opts.Reporters = append(opts.Reporters, j)
	}
	if p := c.String("json"); p != "" {
		f, err := createReport(p)
		if err != nil {
			return err
		}
		outputs = append(outputs, f)
		opts.Reporters = append(opts.Reporters, replay.NewJSON(f.w))
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
	case learn && (c.IsSet("junit") || c.IsSet("json")):
		return opts, usageError("test: --learn-noise prints noise rules, not test reports; drop --junit/--json or run without --learn-noise")
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
		doc, err := api.Load(p)
		if err != nil {
			return opts, err
		}
		if doc.OpenAPI == nil {
			return opts, fmt.Errorf("%s: no OpenAPI document could be made of it", p)
		}
		opts.Spec, opts.SpecName = doc.OpenAPI, p
		opts.Noise = replay.Noise{Body: doc.Test.NoiseBody, Headers: doc.Test.NoiseHeaders}
	}
	return opts, nil
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
