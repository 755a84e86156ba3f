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
			"Prints each problem as FILE:LINE:COL: message (warnings too) on stderr and exits 1 if any\n" +
			"is an error, as linters do; 2 when FILE cannot be read. FILE - reads standard input.\n\n" +
			"Examples:\n   bw validate api.yaml\n   bw infer | bw validate -",
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 1, "one FILE"); err != nil {
				return err
			}
			file := c.Args().First()
			doc, err := loadAPI(c, file)
			if err != nil {
				var ps api.Problems
				if !errors.As(err, &ps) {
					return err
				}
				for _, p := range ps {
					fmt.Fprintln(c.App.ErrWriter, p.Error())
				}
				// Wrapped: urfave/cli exits by itself for an error with
				// ExitCode; main finds it with errors.As.
				return fmt.Errorf("%w", &invalidFile{file: displayName(file), errors: len(ps.Errors())})
			}
			for _, w := range doc.Warnings {
				fmt.Fprintln(c.App.ErrWriter, w.Error())
			}
			_, err = fmt.Fprintf(c.App.Writer, "%s: ok (%d endpoints)\n", doc.File, len(doc.Endpoints))
			return err
		},
	}
}

// invalidFile ends bw validate when the file has errors, each already
// printed: exit status 1, a check found problems.
type invalidFile struct {
	file   string
	errors int
}

// ExitCode implements exitCoder.
func (e *invalidFile) ExitCode() int { return 1 }

func (e *invalidFile) Error() string {
	if e.errors == 1 {
		return fmt.Sprintf("validate: %s has 1 error", e.file)
	}
	return fmt.Sprintf("validate: %s has %d errors", e.file, e.errors)
}
