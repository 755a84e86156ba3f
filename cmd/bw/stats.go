package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/backworks/bw/store"
	"github.com/urfave/cli/v2"
)

// topEndpoints is how many endpoints the text form of bw stats lists.
const topEndpoints = 25

type count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

type statsJSON struct {
	File      string            `json:"file"`
	FileBytes int64             `json:"file_bytes"`
	Exchanges int               `json:"exchanges"`
	Errors    int               `json:"errors"`
	Truncated int               `json:"truncated"`
	Hosts     []count           `json:"hosts"`
	Endpoints []count           `json:"endpoints"`
	Statuses  []count           `json:"statuses"`
	Sources   []count           `json:"sources"`
	Sessions  []count           `json:"sessions"`
	Dropped   map[string]uint64 `json:"dropped"`
}

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "count exchanges per host, endpoint and status, and show capture losses",
		UsageText: "bw stats [--json]\n\nExample:\n   bw --db capture.db stats --json",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print one JSON object"}},
		Action: func(c *cli.Context) error {
			if err := requireArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			db, err := openDB(c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := collectStats(c, db)
			if err != nil {
				return err
			}
			out := bufio.NewWriter(c.App.Writer)
			defer out.Flush()
			if c.Bool("json") {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			printStats(out, s)
			return nil
		},
	}
}

func collectStats(c *cli.Context, db *store.DB) (*statsJSON, error) {
	info, err := db.Info()
	if err != nil {
		return nil, err
	}
	hosts, eps, statuses := map[string]int{}, map[string]int{}, map[string]int{}
	sources, sessions := map[string]int{}, map[string]int{}
	s := &statsJSON{File: db.Path(), FileBytes: info.FileSize, Dropped: info.Drops}
	err = db.Scan(c.Context, store.Filter{}, func(ex *store.Exchange) error {
		s.Exchanges++
		if ex.Error != "" {
			s.Errors++
		}
		if ex.Request.Body.Truncated || ex.Response.Body.Truncated {
			s.Truncated++
		}
		hosts[ex.Request.Host]++
		eps[ex.Request.Method+" "+ex.Request.Path]++
		statuses[strconv.Itoa(ex.Response.Status)]++
		sources[string(ex.Source)]++
		if ex.Session != "" {
			sessions[ex.Session]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Hosts, s.Endpoints, s.Statuses = ranked(hosts), ranked(eps), ranked(statuses)
	s.Sources, s.Sessions = ranked(sources), ranked(sessions)
	return s, nil
}

// ranked sorts counts by count, most first, then by key.
func ranked(m map[string]int) []count {
	cs := make([]count, 0, len(m))
	for k, v := range m {
		cs = append(cs, count{k, v})
	}
	slices.SortFunc(cs, func(a, b count) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key))
	})
	return cs
}

func printStats(w *bufio.Writer, s *statsJSON) {
	fmt.Fprintf(w, "%s: %d exchanges, %s on disk", s.File, s.Exchanges, size(s.FileBytes))
	if s.Errors > 0 {
		fmt.Fprintf(w, ", %d failed upstream", s.Errors)
	}
	if s.Truncated > 0 {
		fmt.Fprintf(w, ", %d with truncated bodies", s.Truncated)
	}
	fmt.Fprintln(w)
	var dropped uint64
	reasons := make([]string, 0, len(s.Dropped))
	for k, v := range s.Dropped {
		dropped += v
		reasons = append(reasons, k)
	}
	slices.Sort(reasons)
	fmt.Fprintf(w, "capture losses: %d", dropped)
	for _, r := range reasons {
		fmt.Fprintf(w, ", %s %d", r, s.Dropped[r])
	}
	fmt.Fprintln(w)
	section := func(title string, cs []count, max int) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", title)
		for i, c := range cs {
			if max > 0 && i == max {
				fmt.Fprintf(w, "  … %d more (bw stats --json lists all)\n", len(cs)-max)
				break
			}
			fmt.Fprintf(w, "  %8d  %s\n", c.Count, c.Key)
		}
	}
	section("hosts", s.Hosts, 0)
	section("statuses", s.Statuses, 0)
	section("sources", s.Sources, 0)
	section("sessions", s.Sessions, 0)
	section("endpoints", s.Endpoints, topEndpoints)
}
