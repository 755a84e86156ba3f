// Command bw records HTTP traffic, learns the API behind it and serves it back.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes bw with args and returns the exit code: 0 on success, 1 when a
// check failed, 2 on bad usage or bad input.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return 0
	}
	var ec exitCoder
	code := 2
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	if msg := oneLine(err.Error()); msg != "" {
		fmt.Fprintf(stderr, "bw: %s\n", msg)
	}
	return code
}

type exitCoder interface{ ExitCode() int }

// usageError is a bad flag or argument; the hint after ";" says what to do.
func usageError(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "; ")
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "bw",
		Usage:                "record HTTP traffic, learn the API behind it, serve it back",
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "db", Value: "./bw.db", EnvVars: []string{"BW_DB"}, Usage: "recordings file"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print debug logs"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
		},
		Before: func(c *cli.Context) error {
			if f := c.String("log-format"); f != "text" && f != "json" {
				return usageError("--log-format must be text or json (got %q)", f)
			}
			if c.Bool("quiet") && c.Bool("verbose") {
				return usageError("--quiet and --verbose contradict each other; pick one")
			}
			return nil
		},
		OnUsageError: onUsageError,
		// run maps errors to exit codes; urfave/cli must not exit by itself.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			captureCommand(),
			importCommand(),
			exportCommand(),
			lsCommand(),
			showCommand(),
			statsCommand(),
			inferCommand(),
			validateCommand(),
			initCommand(),
			serveCommand(),
			caCommand(),
			testCommand(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("unknown command %q; see 'bw --help'", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = onUsageError
		cmd.HideHelpCommand = true
		if !hasFlag(cmd, "db") {
			cmd.Flags = append(cmd.Flags, &cli.StringFlag{Name: "db", Usage: "recordings `PATH` (as the global --db)"})
		}
	}
	return app
}

// onUsageError turns urfave/cli's flag errors into one line instead of a help dump.
func onUsageError(c *cli.Context, err error, _ bool) error {
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		return usageError("%s: %v; see 'bw %s --help'", c.Command.Name, err, c.Command.Name)
	}
	return usageError("%v; see 'bw --help'", err)
}

// logger builds the process logger from the global flags; libraries get it
// passed down and never build their own.
func logger(c *cli.Context) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case c.Bool("verbose"):
		level = slog.LevelDebug
	case c.Bool("quiet"):
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.String("log-format") == "json" {
		return slog.New(slog.NewJSONHandler(c.App.ErrWriter, opts))
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, opts))
}

// requireArgs checks the number of positional arguments.
func requireArgs(c *cli.Context, n int, what string) error {
	if c.NArg() != n {
		return usageError("%s: expected %s, got %d argument(s); see 'bw %s --help'",
			c.Command.Name, what, c.NArg(), c.Command.Name)
	}
	return nil
}

// errShownHelp ends a command whose help was asked for among its
// arguments; the command then succeeds.
var errShownHelp = errors.New("help shown")

// interspersed returns the positional arguments, applying the command's
// flags found among or after them: urfave/cli v2 stops parsing flags at
// the first positional argument, and "bw serve api.yaml --listen ADDR" is
// the documented order.
func interspersed(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	var pos []string
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return append(pos, args[1:]...), nil
		case a == "-" || !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		fs := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		for _, f := range c.Command.Flags {
			if err := f.Apply(fs); err != nil {
				return nil, err
			}
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cli.ShowSubcommandHelp(c)
				return nil, errShownHelp
			}
			return nil, usageError("%s: %v; see 'bw %s --help'", c.Command.Name, err, c.Command.Name)
		}
		var err error
		help := false
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "help" || f.Name == "h" {
				help = true
				return
			}
			if e := c.Set(f.Name, f.Value.String()); e != nil && err == nil {
				err = usageError("%s: --%s: %v", c.Command.Name, f.Name, e)
			}
		})
		if err != nil {
			return nil, err
		}
		if help {
			cli.ShowSubcommandHelp(c)
			return nil, errShownHelp
		}
		args = fs.Args()
	}
	return pos, nil
}

// lowLatencyGC trades memory for latency in the long-running servers: their
// live heap is a few MiB and they allocate fast, so at the default GOGC the
// collector runs hundreds of times a second, each time taking one of the
// few cores from requests. An explicit GOGC wins.
func lowLatencyGC(percent int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}
