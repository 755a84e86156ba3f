package api

import (
	"fmt"
	"sort"
	"strings"
)

// formatProblem writes FILE:LINE:COL: message, leaving out the column or the
// whole position when it is not known; warnings say so after the position.
func formatProblem(p Problem) string {
	msg := p.Message
	if p.Warning {
		msg = "warning: " + msg
	}
	switch {
	case p.Pos.Line > 0 && p.Pos.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Col, msg)
	case p.Pos.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Pos.Line, msg)
	default:
		return fmt.Sprintf("%s: %s", p.File, msg)
	}
}

// Problems is what [Load] and [Parse] return when a file cannot be used: its
// errors in file order, then its warnings, so the first one alone says what
// is wrong.
type Problems []Problem

// Error formats each problem on its own line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var errs Problems
	for _, p := range ps {
		if !p.Warning {
			errs = append(errs, p)
		}
	}
	return errs
}

// sortProblems orders errors before warnings, each by position, and drops
// exact duplicates.
func sortProblems(ps Problems) Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Warning != b.Warning {
			return !a.Warning
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Col < b.Pos.Col
	})
	out := ps[:0]
	for _, p := range ps {
		if len(out) > 0 && p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}
