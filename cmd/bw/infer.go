package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/backworks/bw/infer"
	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

func inferCommand() *cli.Command {
	return &cli.Command{
		Name:  "infer",
		Usage: "infer the API behind the recordings",
		UsageText: "bw infer [--format yaml|openapi] [--openapi-version 3.0|3.1] [-o FILE] [--host HOST] [--hints FILE]\n\n" +
			"Examples:\n   bw infer > api.yaml\n   bw infer --format openapi -o openapi.json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "yaml", Usage: "yaml (Backworks) or openapi"},
			&cli.StringFlag{Name: "openapi-version", Value: "3.1", Usage: "3.0 or 3.1, with --format openapi"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` (.json writes JSON) instead of stdout (-)"},
			&cli.StringFlag{Name: "host", Usage: "the service to infer when several were recorded"},
			&cli.StringFlag{Name: "hints", Usage: "read infer.paths hints from `FILE` (a Backworks YAML file; - for stdin)"},
			&cli.StringFlag{Name: "title", Usage: "the API's name (default: the host)"},
		},
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			format, version, out := c.String("format"), c.String("openapi-version"), c.String("output")
			switch {
			case format != "yaml" && format != "openapi":
				return usageError("infer: --format must be yaml or openapi (got %q)", format)
			case version != "3.0" && version != "3.1":
				return usageError("infer: --openapi-version must be 3.0 or 3.1 (got %q)", version)
			case c.IsSet("openapi-version") && format != "openapi":
				return usageError("infer: --openapi-version applies to --format openapi; add --format openapi")
			case format == "yaml" && strings.HasSuffix(out, ".json"):
				return usageError("infer: Backworks YAML cannot be written as %s; use --format openapi for JSON", out)
			}
			opts := infer.Options{Host: c.String("host"), Title: c.String("title"), Logger: logger(c)}
			// Hints survive re-runs: those in the file being rewritten are kept.
			for _, f := range []string{c.String("hints"), existingOutput(out, format)} {
				if f == "" {
					continue
				}
				paths, err := readHints(c, f)
				if err != nil {
					return err
				}
				opts.Paths = appendNew(opts.Paths, paths...)
			}
			db, err := openDB(c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			if bar := newProgress(c, "inferring", -1); bar != nil {
				opts.Progress = func(n int64) { bar.Set64(n) }
				defer bar.Clear()
			}
			api, err := infer.Infer(c.Context, db, opts)
			if err != nil {
				return err
			}
			var doc []byte
			if format == "openapi" {
				doc, err = api.OpenAPI(version, strings.HasSuffix(out, ".json"))
			} else {
				doc, err = api.Backworks()
			}
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = c.App.Writer.Write(doc)
				return err
			}
			if keep := existingOutput(out, format); keep != "" {
				// A rewrite keeps what the user edited (formats.md).
				prev, err := os.ReadFile(keep)
				if err != nil {
					return err
				}
				if doc, err = infer.MergeBackworks(prev, doc); err != nil {
					return fmt.Errorf("%s: %w", keep, err)
				}
			}
			return writeFileAtomic(out, doc)
		},
	}
}

// existingOutput is the existing output file whose hints and edits a re-run
// keeps.
func existingOutput(out, format string) string {
	if out == "" || out == "-" || format != "yaml" {
		return ""
	}
	if _, err := os.Stat(out); err != nil {
		return ""
	}
	return out
}

// readHints reads infer.paths from a Backworks YAML file ("-": stdin).
func readHints(c *cli.Context, path string) ([]string, error) {
	data, name, err := readInput(c, path)
	if err != nil {
		return nil, fmt.Errorf("hints: %w", err)
	}
	var doc struct {
		Infer struct {
			Paths []string `yaml:"paths"`
		} `yaml:"infer"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return doc.Infer.Paths, nil
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		dup := false
		for _, l := range list {
			dup = dup || l == it
		}
		if !dup {
			list = append(list, it)
		}
	}
	return list
}

// writeFileAtomic replaces path only once the whole document is written.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, err)
	}
	os.Chmod(tmp.Name(), mode)
	return os.Rename(tmp.Name(), path)
}
