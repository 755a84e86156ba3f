package replay

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Console writes a readable report: each failure with its diffs as it
// happens, then a summary. Verbose adds a line per passed or skipped
// exchange; Quiet leaves the summary out.
type Console struct {
	w       *bufio.Writer
	Verbose bool
	Quiet   bool
}

// NewConsole returns a console reporter writing to w.
func NewConsole(w io.Writer) *Console { return &Console{w: bufio.NewWriter(w)} }

// Report implements [Reporter].
func (c *Console) Report(r *Result) error {
	switch {
	case r.Outcome == Fail:
		fmt.Fprintf(c.w, "FAIL %s %s [%s] (%s)\n", r.Method, r.Path, r.ID, r.Layer())
		for _, d := range r.Diffs {
			fmt.Fprintf(c.w, "     %s\n", d)
		}
		if r.MoreDiffs > 0 {
			fmt.Fprintf(c.w, "     ... and %d more\n", r.MoreDiffs)
		}
		if r.WithoutValues != "" {
			fmt.Fprintf(c.w, "     checked without values: %s\n", r.WithoutValues)
		}
	case !c.Verbose:
		return nil
	case r.Outcome == Skip:
		fmt.Fprintf(c.w, "skip %s %s [%s]: %s\n", r.Method, r.Path, r.ID, r.Reason)
	default:
		fmt.Fprintf(c.w, "ok   %s %s [%s] %d %s", r.Method, r.Path, r.ID, r.Status, r.Duration.Round(time.Microsecond))
		if r.WithoutValues != "" {
			fmt.Fprintf(c.w, " (checked without values: %s)", r.WithoutValues)
		}
		fmt.Fprintln(c.w)
	}
	if r.Outcome == Fail || c.Verbose {
		// Failures show up as they happen, not when the buffer fills.
		return c.w.Flush()
	}
	return nil
}

// Finish implements [Reporter].
func (c *Console) Finish(s *Summary) error {
	if c.Quiet {
		return c.w.Flush()
	}
	if s.Failed > 0 {
		fmt.Fprintln(c.w)
	}
	fmt.Fprintf(c.w, "bw test: %d passed, %d failed, %d skipped of %d exchanges against %s in %s",
		s.Passed, s.Failed, s.Skipped, s.Total, s.Target, s.Duration.Round(time.Millisecond))
	if rate := s.Rate(); rate > 0 {
		fmt.Fprintf(c.w, " (%.0f/s)", rate)
	}
	fmt.Fprintln(c.w)
	fmt.Fprintf(c.w, "spec: %s", s.Spec)
	if s.Chained > 0 {
		fmt.Fprintf(c.w, "; %d requests sent live values in place of recorded ones", s.Chained)
	}
	fmt.Fprintln(c.w)
	if s.Failed > 0 {
		var parts []string
		for _, l := range Layers {
			if n := s.ByLayer[l]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", l, n))
			}
		}
		fmt.Fprintf(c.w, "failed at: %s\n", strings.Join(parts, ", "))
		fmt.Fprintln(c.w, "failing operations:")
		for _, o := range s.Operations {
			fmt.Fprintf(c.w, "  %5d  %s\n", o.Failed, o.Operation)
		}
		if s.OtherFailingOperations > 0 {
			fmt.Fprintf(c.w, "  and %d more\n", s.OtherFailingOperations)
		}
	}
	// One line per reason, most first: the reasons name their fix.
	for _, r := range byCount(s.SkipReasons) {
		fmt.Fprintf(c.w, "%d skipped: %s\n", s.SkipReasons[r], r)
	}
	// Passes that did not compare values are not the full check a pass
	// is otherwise: say so next to the skips that caused them.
	for _, r := range byCount(s.WithoutValues) {
		fmt.Fprintf(c.w, "%d checked without values: %s\n", s.WithoutValues[r], r)
	}
	return c.w.Flush()
}

// byCount returns the keys of m, most counted first, then in order.
func byCount(m map[string]int) []string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	return keys
}
