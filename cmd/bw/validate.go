package main

import (
	"errors"
	"fmt"

	"github.com/backworks/bw/api"
	"github.com/urfave/cli/v2"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:  "validate",
		Usage: "check a Backworks YAML or OpenAPI file",
		UsageText: "bw validate FILE\n\n" +
			"Prints each problem as FILE:LINE:COL: message (warnings too) and exits 2 if any is an error.\n\n" +
			"Examples:\n   bw validate api.yaml\n   bw validate openapi.json",
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 1, "one FILE"); err != nil {
				return err
			}
			file := c.Args().First()
			doc, err := api.Load(file)
			if err != nil {
				var ps api.Problems
				if !errors.As(err, &ps) {
					return err
				}
				for _, p := range ps {
					fmt.Fprintln(c.App.ErrWriter, p.Error())
				}
				return &invalidFile{file: file, errors: len(ps.Errors())}
			}
			for _, w := range doc.Warnings {
				fmt.Fprintln(c.App.ErrWriter, w.Error())
			}
			_, err = fmt.Fprintf(c.App.Writer, "%s: ok (%d endpoints)\n", file, len(doc.Endpoints))
			return err
		},
	}
}

// invalidFile ends bw validate when the file has errors, each already
// printed; main maps it to exit status 2 (bad input). It has no ExitCode
// method: urfave/cli would call os.Exit itself for one.
type invalidFile struct {
	file   string
	errors int
}

func (e *invalidFile) Error() string {
	if e.errors == 1 {
		return fmt.Sprintf("validate: %s has 1 error", e.file)
	}
	return fmt.Sprintf("validate: %s has %d errors", e.file, e.errors)
}
