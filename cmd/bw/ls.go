package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/backworks/bw/store"
	"github.com/urfave/cli/v2"
)

var errStop = errors.New("stop")

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list recorded exchanges, oldest first",
		UsageText: "bw ls [--method M] [--path PREFIX] [--status CODE] [--host HOST] [--limit N] [--json|--ids]\n\nExamples:\n   bw ls --method POST --path /api/v1/users --limit 20\n   bw show $(bw ls --ids --status 500 --limit 1)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "method", Usage: "only this request method"},
			&cli.StringFlag{Name: "path", Usage: "only paths starting with `PREFIX`"},
			&cli.IntFlag{Name: "status", Usage: "only this response status `CODE`", DefaultText: "any"},
			&cli.StringFlag{Name: "host", Usage: "only this host"},
			&cli.IntFlag{Name: "limit", Usage: "at most `N` exchanges", DefaultText: "all"},
			&cli.BoolFlag{Name: "json", Usage: "one JSON object per line"},
			&cli.BoolFlag{Name: "ids", Usage: "only the exchange ids, one per line (for bw show)"},
		},
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			if c.Bool("json") && c.Bool("ids") {
				return usageError("ls: --json and --ids are two output formats; pick one")
			}
			if c.Int("limit") < 0 {
				return usageError("ls: --limit must be >= 0 (got %d)", c.Int("limit"))
			}
			db, err := openDB(c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			out := bufio.NewWriter(c.App.Writer)
			defer out.Flush()
			enc := json.NewEncoder(out)
			n, limit := 0, c.Int("limit")
			prefix, status := c.String("path"), c.Int("status")
			f := store.Filter{Host: c.String("host"), Method: c.String("method")}
			err = db.Scan(c.Context, f, func(ex *store.Exchange) error {
				if prefix != "" && !strings.HasPrefix(ex.Request.Path, prefix) ||
					status != 0 && ex.Response.Status != status {
					return nil
				}
				if limit > 0 && n >= limit {
					return errStop
				}
				n++
				switch {
				case c.Bool("json"):
					return enc.Encode(lsRecord(ex))
				case c.Bool("ids"):
					_, err := fmt.Fprintln(out, ex.ID)
					return err
				}
				_, err := fmt.Fprintf(out, "%s  %s  %-6s %s %s  %s  %s  %s/%s\n",
					ex.ID, ex.Start.UTC().Format("2006-01-02T15:04:05.000Z"),
					ex.Request.Method, ex.Request.Host, pathQuery(&ex.Request),
					statusText(ex), ex.Duration.Round(time.Microsecond),
					size(ex.Request.Body.Size), size(ex.Response.Body.Size))
				return err
			})
			if errors.Is(err, errStop) {
				err = nil
			}
			return err
		},
	}
}

// lsJSON is the --json form of one exchange; the field names are promised in cli.md.
type lsJSON struct {
	ID         string  `json:"id"`
	Time       string  `json:"time"`
	Session    string  `json:"session,omitempty"`
	Source     string  `json:"source"`
	Method     string  `json:"method"`
	URL        string  `json:"url"`
	Host       string  `json:"host"`
	Path       string  `json:"path"`
	Status     int     `json:"status"`
	Duration   float64 `json:"duration_seconds"`
	ReqBytes   int64   `json:"request_bytes"`
	RespBytes  int64   `json:"response_bytes"`
	Truncated  bool    `json:"truncated,omitempty"`
	Error      string  `json:"error,omitempty"`
	ClientAddr string  `json:"client_addr,omitempty"`
}

func lsRecord(ex *store.Exchange) lsJSON {
	return lsJSON{
		ID:         ex.ID.String(),
		Time:       ex.Start.UTC().Format(time.RFC3339Nano),
		Session:    ex.Session,
		Source:     string(ex.Source),
		Method:     ex.Request.Method,
		URL:        ex.Request.URL(),
		Host:       ex.Request.Host,
		Path:       ex.Request.Path,
		Status:     ex.Response.Status,
		Duration:   ex.Duration.Seconds(),
		ReqBytes:   ex.Request.Body.Size,
		RespBytes:  ex.Response.Body.Size,
		Truncated:  ex.Request.Body.Truncated || ex.Response.Body.Truncated,
		Error:      ex.Error,
		ClientAddr: ex.ClientAddr,
	}
}

func pathQuery(r *store.Request) string {
	if r.RawQuery == "" {
		return r.Path
	}
	return r.Path + "?" + r.RawQuery
}

func statusText(ex *store.Exchange) string {
	if ex.Error != "" {
		return fmt.Sprintf("%d (error)", ex.Response.Status)
	}
	return fmt.Sprint(ex.Response.Status)
}

// size formats a byte count the way ls -h would.
func size(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%dB", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1fKiB", float64(n)/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1024*1024))
	}
	return fmt.Sprintf("%.1fGiB", float64(n)/(1024*1024*1024))
}
