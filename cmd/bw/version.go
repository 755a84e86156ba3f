package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/urfave/cli/v2"
)

// buildDate is set by the Makefile (-ldflags "-X main.buildDate=..."); Go's
// build info records the commit, not when the binary was built.
var buildDate string

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the version, VCS revision, build date and Go version",
		UsageText: "bw version [--json]\n\nExamples:\n   bw version\n   bw version --json",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print one JSON object"}},
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			return writeVersion(c.App.Writer, c.Bool("json"))
		},
	}
}

// versionInfo is what bw knows of its own build; the JSON names are for scripts.
type versionInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Dirty     bool   `json:"dirty"`
	Committed string `json:"committed,omitempty"`
	Built     string `json:"built,omitempty"`
	Go        string `json:"go"`
	Platform  string `json:"platform"`
}

func readVersion() versionInfo {
	v := versionInfo{Version: "(devel)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.modified":
				v.Dirty = s.Value == "true"
			case "vcs.time":
				v.Committed = s.Value
			}
		}
	}
	v.Built = buildDate
	if v.Built == "" {
		// Without the Makefile's stamp, the binary's own time is when
		// go build or go install wrote it.
		if exe, err := os.Executable(); err == nil {
			if fi, err := os.Stat(exe); err == nil {
				v.Built = fi.ModTime().UTC().Format(time.RFC3339)
			}
		}
	}
	return v
}

func writeVersion(w io.Writer, asJSON bool) error {
	v := readVersion()
	if asJSON {
		return json.NewEncoder(w).Encode(v)
	}
	rev := v.Revision
	switch {
	case rev == "":
		rev = "unknown (built outside a git checkout)"
	case v.Dirty:
		rev += " (dirty)"
	}
	_, err := fmt.Fprintf(w, "bw %s\nrevision:  %s\n", v.Version, rev)
	if err == nil && v.Committed != "" {
		_, err = fmt.Fprintf(w, "committed: %s\n", v.Committed)
	}
	if err == nil && v.Built != "" {
		_, err = fmt.Fprintf(w, "built:     %s\n", v.Built)
	}
	if err == nil {
		_, err = fmt.Fprintf(w, "go:        %s %s\n", v.Go, v.Platform)
	}
	return err
}
