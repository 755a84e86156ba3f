package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/backworks/bw/har"
	"github.com/urfave/cli/v2"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "export the recordings as HAR 1.2",
		UsageText: "bw export [--format har] [-o FILE]\n\n" +
			"Exchanges come out in capture order; bw import reads the file back unchanged.\n\n" +
			"Examples:\n   bw export -o capture.har\n   bw --db shop.db export > shop.har",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "har", Usage: "output format; only har"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout (- is stdout)"},
		},
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			if f := c.String("format"); f != "har" {
				return usageError("export: --format must be har (got %q)", f)
			}
			db, err := openDB(c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			opts := har.WriterOptions{CreatorVersion: c.App.Version}
			out := c.String("output")
			if out == "" || out == "-" {
				_, err := har.Export(c.Context, db, c.App.Writer, opts)
				return err
			}
			// Write next to the target and rename, so that a failed export
			// leaves no half-written file behind.
			tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			defer os.Remove(tmp.Name())
			n, err := har.Export(c.Context, db, tmp, opts)
			if err == nil {
				err = tmp.Chmod(0o644)
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), out)
			}
			if err != nil {
				return fmt.Errorf("export %s: %w", out, err)
			}
			if !c.Bool("quiet") {
				fmt.Fprintf(c.App.ErrWriter, "exported %d exchanges to %s\n", n, out)
			}
			return nil
		},
	}
}
