// Command bw records HTTP traffic, learns the API behind it and serves it back.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"
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
	err := app.RunContext(ctx, orderArgs(app, args))
	if err == nil || errors.Is(err, errDone) {
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
			&cli.StringFlag{Name: "db", Value: "./bw.db", EnvVars: []string{"BW_DB"}, Usage: "recordings file `PATH`"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print debug logs"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log `FORMAT` on stderr: text or json"},
			&cli.BoolFlag{Name: "version", Usage: "print the version and exit"},
		},
		Before: func(c *cli.Context) error {
			if c.Bool("version") {
				if err := writeVersion(c.App.Writer, false); err != nil {
					return err
				}
				return errDone
			}
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
			versionCommand(),
			completionCommand(),
		},
		Action: func(c *cli.Context) error {
			name := c.Args().First()
			if name == "help" {
				// "bw help [COMMAND]", as users of git and cobra tools type it.
				name = c.Args().Get(1)
				if c.App.Command(name) != nil {
					return cli.ShowCommandHelp(c, name)
				}
			}
			if name == "" {
				return cli.ShowAppHelp(c)
			}
			var names []string
			for _, cmd := range c.App.Commands {
				names = append(names, cmd.Name)
			}
			return usageError("unknown command %q%s; see 'bw --help'", name, didYouMean(name, names, ""))
		},
	}
	app.CustomAppHelpTemplate = cli.AppHelpTemplate + exitStatusHelp
	footer := globalFlagsHelp(app.Flags) + exitStatusHelp
	for _, cmd := range app.Commands {
		cmd.OnUsageError = onUsageError
		cmd.HideHelpCommand = true
		cmd.CustomHelpTemplate = cli.CommandHelpTemplate + footer
	}
	return app
}

// exitStatusHelp ends every --help: scripts branch on these.
const exitStatusHelp = `
EXIT STATUS:
   0 success; 1 a check found problems (bw validate, bw test); 2 bad usage or unreadable input
`

// globalFlagsHelp lists the global flags in every command's --help, since
// they work after the command too and urfave/cli shows only the command's.
func globalFlagsHelp(flags []cli.Flag) string {
	var b strings.Builder
	b.WriteString("\nGLOBAL OPTIONS (before or after the command):\n")
	for _, f := range flags {
		if f.Names()[0] != "version" {
			fmt.Fprintf(&b, "   %s\n", f)
		}
	}
	return b.String()
}

// errDone ends a run that did all it had to in a Before hook (--version).
var errDone = errors.New("done")

// onUsageError turns urfave/cli's flag errors into one line instead of a help dump.
func onUsageError(c *cli.Context, err error, _ bool) error {
	flags := c.App.Flags
	cmd := c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name
	if cmd {
		flags = slices.Concat(flags, c.Command.Flags)
	}
	hint := ""
	if _, bad, ok := strings.Cut(err.Error(), "flag provided but not defined: "); ok {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		hint = didYouMean(strings.TrimLeft(bad, "-"), names, "--")
	}
	if cmd {
		return usageError("%s: %v%s; see 'bw %s --help'", c.Command.Name, err, hint, c.Command.Name)
	}
	return usageError("%v%s; see 'bw --help'", err, hint)
}

// didYouMean suggests the known name closest to a mistyped one, as git and
// cobra do, or returns "" when none is close.
func didYouMean(typed string, known []string, prefix string) string {
	best, score := "", 0.0
	for _, k := range known {
		if len(k) < 2 {
			continue
		}
		// The thresholds are smetrics' own (boost 0.7, prefix 4).
		if s := smetrics.JaroWinkler(typed, k, 0.7, 4); s > score {
			best, score = k, s
		}
	}
	if score < 0.8 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s%s?)", prefix, best)
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

// lowLatencyGC trades memory for latency in the long-running servers: their
// live heap is a few MiB and they allocate fast, so at the default GOGC the
// collector runs hundreds of times a second, each time taking one of the
// few cores from requests. An explicit GOGC wins.
func lowLatencyGC(percent int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
}
