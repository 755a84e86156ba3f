package main

import (
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// newProgress returns a progress bar on stderr for long work, or nil when
// stderr is not a terminal or --quiet is set (cli.md: quiet when piped).
// A max of -1 shows a counter and rate instead of a bar.
func newProgress(c *cli.Context, what string, max int64) *progressbar.ProgressBar {
	if c.Bool("quiet") {
		return nil
	}
	f, ok := c.App.ErrWriter.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100_000_000), // 100ms
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
}
