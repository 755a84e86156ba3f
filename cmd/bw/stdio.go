package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/backworks/bw/api"
	"github.com/urfave/cli/v2"
)

// stdinName is how problems in a document read from standard input are
// located (FILE:LINE:COL), as Go's own tools name it.
const stdinName = "<stdin>"

// readInput reads a file argument; "-" is standard input. The name it
// returns is the one error messages should give.
func readInput(c *cli.Context, path string) (data []byte, name string, err error) {
	if path != "-" {
		data, err = os.ReadFile(path)
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if err != nil {
			return nil, path, fmt.Errorf("read %s: %w", path, err)
		}
		return data, path, nil
	}
	data, err = io.ReadAll(c.App.Reader)
	if err != nil {
		return nil, stdinName, fmt.Errorf("read standard input: %w", err)
	}
	return data, displayName(path), nil
}

// loadAPI loads an API description from a file, or from standard input
// for "-". A file that cannot be read is a plain error (exit 2); problems
// in its content are api.Problems.
func loadAPI(c *cli.Context, path string) (*api.Doc, error) {
	data, name, err := readInput(c, path)
	if err != nil {
		return nil, err
	}
	return api.Parse(name, data)
}

// displayName is how messages name a file argument.
func displayName(path string) string {
	if path == "-" {
		return stdinName
	}
	return path
}
