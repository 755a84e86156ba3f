package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/backworks/bw/har"
	"github.com/backworks/bw/store"
	"github.com/urfave/cli/v2"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "import HAR 1.2 files (browser DevTools, mitmproxy, Charles), all or nothing per file",
		UsageText: "bw import [--session NAME] [--no-redact] FILE.har [FILE.har...]\n\n" +
			"Each file is imported whole or not at all; - reads standard input.\n\n" +
			"Examples:\n   bw import capture.har\n   bw --db shop.db import --session checkout checkout.har",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "session", Usage: "group the exchanges under session `NAME` (default: the file name without its extension)"},
			&cli.BoolFlag{Name: "no-redact", Usage: "store credentials, cookies and tokens as the file has them"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError("import: expected a HAR file; see 'bw import --help'")
			}
			db, err := openDB(c, false)
			if err != nil {
				return err
			}
			defer db.Close()
			for _, file := range c.Args().Slice() {
				n, err := importHAR(c, db, file)
				if err != nil {
					return err
				}
				if !c.Bool("quiet") {
					fmt.Fprintf(c.App.ErrWriter, "imported %d exchanges from %s\n", n, file)
				}
			}
			return nil
		},
	}
}

// importHAR imports one file ("-" for standard input).
func importHAR(c *cli.Context, db *store.DB, file string) (int, error) {
	opts := har.ImportOptions{
		Name:     file,
		Session:  c.String("session"),
		NoRedact: c.Bool("no-redact"),
		Logger:   logger(c),
	}
	if opts.Session == "" {
		base := filepath.Base(file)
		opts.Session = strings.TrimSuffix(base, filepath.Ext(base))
		if file == "-" {
			opts.Session = "stdin"
		}
	}
	if bar := newProgress(c, "importing "+file, -1); bar != nil {
		opts.Progress = func(done, total int64) {
			bar.ChangeMax64(total)
			bar.Set64(done)
		}
		defer bar.Clear()
	}
	if file != "-" {
		return har.ImportFile(c.Context, db, file, opts)
	}
	// Import reads its input twice: keep standard input in a temporary file.
	opts.Name = "stdin"
	tmp, err := os.CreateTemp("", "bw-import-*.har")
	if err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, readerWithContext(c.Context, c.App.Reader)); err != nil {
		return 0, fmt.Errorf("import: read standard input: %w", err)
	}
	return har.Import(c.Context, db, tmp, opts)
}

// readerWithContext stops reading once ctx is done.
func readerWithContext(ctx context.Context, r io.Reader) io.Reader {
	if r == nil {
		r = os.Stdin
	}
	return readerFunc(func(p []byte) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return r.Read(p)
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
